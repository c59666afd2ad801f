//! The pipeline benchmark's load and measurement tool: uploads a small file to a running assetd
//! (a burst as fast as the clients can, a fixed rate, or one at a time at idle), then reads the
//! asset rows back from the catalog's database to see when each asset became `ready`.
//!
//! ```text
//! pipeline_load burst URL KEY DATABASE_URL FILE COUNT CONCURRENCY [PID ...]
//! pipeline_load rate  URL KEY DATABASE_URL FILE RATE SECONDS      [PID ...]
//! pipeline_load idle  URL KEY DATABASE_URL FILE COUNT GAP_MS      [PID ...]
//! pipeline_load send  URL KEY DATABASE_URL FILE COUNT CONCURRENCY [PID ...]
//! ```
//!
//! `send` is `burst` without waiting for the probes: the CPU figures end at the last 201, for
//! measuring the upload edge alone (with no prober running).
//!
//! Prints one JSON object: uploads/s, probes/s, the lag from the last 201 to the last `ready`,
//! 201-to-ready percentiles (the row's `updated_at`, written when the probe result is recorded,
//! minus the moment the client read the 201; both from this machine's clock), the largest probe
//! backlog seen, and the CPU time each given process used during the phase.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use anyhow::{Context, bail};
use serde_json::json;
use sqlx::{AnyPool, Row, any::AnyPoolOptions};

fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

/// utime + stime of a process, in clock ticks (100 per second on Linux).
fn cpu_ticks(pid: u32) -> anyhow::Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let after = stat.rsplit_once(')').context("unreadable /proc stat")?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    Ok(fields[11].parse::<u64>()? + fields[12].parse::<u64>()?)
}

struct Upload {
    asset_id: String,
    answered_micros: i64,
}

#[derive(Clone)]
struct Sender {
    client: reqwest::Client,
    url: String,
    key: String,
    body: bytes::Bytes,
    done: Arc<Mutex<Vec<Upload>>>,
    errors: Arc<Mutex<u64>>,
}

impl Sender {
    async fn send(&self, n: u64) {
        let result = self
            .client
            .post(format!("{}/v1/uploads", self.url))
            .header("x-api-key", &self.key)
            .header("x-file-name", format!("p{n}.png"))
            .header("content-type", "image/png")
            .body(self.body.clone())
            .send()
            .await;
        let answered_micros = now_micros();
        let asset_id = match result {
            Ok(response) if response.status().as_u16() == 201 => response
                .json::<serde_json::Value>()
                .await
                .ok()
                .and_then(|v| v["data"]["assetId"].as_str().map(str::to_owned)),
            _ => None,
        };
        match asset_id {
            Some(asset_id) => self.done.lock().expect("lock").push(Upload {
                asset_id,
                answered_micros,
            }),
            None => *self.errors.lock().expect("lock") += 1,
        }
    }
}

async fn pending(db: &AnyPool) -> anyhow::Result<i64> {
    Ok(sqlx::query(
        "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM assets WHERE probe_status = 'pending'",
    )
    .fetch_one(db)
    .await?
    .try_get("n")?)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 8 {
        bail!("usage: pipeline_load burst|rate|idle URL KEY DATABASE_URL FILE N M [PID ...]");
    }
    let (mode, url, key, database_url, file) = (&args[1], &args[2], &args[3], &args[4], &args[5]);
    let (n, m): (u64, u64) = (args[6].parse()?, args[7].parse()?);
    let pids: Vec<u32> = args[8..]
        .iter()
        .map(|p| p.parse())
        .collect::<Result<_, _>>()?;

    sqlx::any::install_default_drivers();
    let db = AnyPoolOptions::new()
        .max_connections(2)
        .connect(database_url)
        .await?;
    let sender = Sender {
        client: reqwest::Client::builder()
            .pool_max_idle_per_host(256)
            .build()?,
        url: url.trim_end_matches('/').to_owned(),
        key: key.clone(),
        body: std::fs::read(file)?.into(),
        done: Arc::default(),
        errors: Arc::default(),
    };
    let cpu_before: Vec<u64> = pids
        .iter()
        .map(|&p| cpu_ticks(p))
        .collect::<Result<_, _>>()?;

    // The backlog, sampled every 100 ms while uploads are sent.
    let max_backlog = Arc::new(Mutex::new(0_i64));
    let sampling = {
        let (db, max_backlog) = (db.clone(), max_backlog.clone());
        tokio::spawn(async move {
            loop {
                if let Ok(p) = pending(&db).await {
                    let mut max = max_backlog.lock().expect("lock");
                    *max = (*max).max(p);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };

    let started = Instant::now();
    let first_micros = now_micros();
    match mode.as_str() {
        // COUNT uploads from CONCURRENCY clients, each sending its next one as soon as it has an answer.
        "burst" | "send" => {
            let next = Arc::new(std::sync::atomic::AtomicU64::new(0));
            let mut clients = Vec::new();
            for _ in 0..m.max(1) {
                let (sender, next) = (sender.clone(), next.clone());
                clients.push(tokio::spawn(async move {
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if i >= n {
                            break;
                        }
                        sender.send(i).await;
                    }
                }));
            }
            for client in clients {
                client.await?;
            }
        }
        // RATE uploads a second for SECONDS, each started on its schedule (open loop).
        "rate" => {
            let total = n * m;
            let mut interval = tokio::time::interval(Duration::from_secs_f64(1.0 / n as f64));
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            let mut sends = tokio::task::JoinSet::new();
            for i in 0..total {
                interval.tick().await;
                let sender = sender.clone();
                sends.spawn(async move { sender.send(i).await });
            }
            while sends.join_next().await.is_some() {}
        }
        // COUNT uploads one at a time, each after the previous asset is ready and GAP_MS more.
        "idle" => {
            for i in 0..n {
                sender.send(i).await;
                let last = sender
                    .done
                    .lock()
                    .expect("lock")
                    .last()
                    .map(|u| u.asset_id.clone());
                if let Some(asset_id) = last {
                    let deadline = Instant::now() + Duration::from_secs(10);
                    while Instant::now() < deadline {
                        let status: String =
                            sqlx::query("SELECT probe_status FROM assets WHERE asset_id = $1")
                                .bind(&asset_id)
                                .fetch_one(&db)
                                .await?
                                .try_get("probe_status")?;
                        if status != "pending" {
                            break;
                        }
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                }
                tokio::time::sleep(Duration::from_millis(m)).await;
            }
        }
        other => bail!("unknown mode {other:?}"),
    }
    let send_secs = started.elapsed().as_secs_f64();
    let backlog_at_last_201 = pending(&db).await?;

    // Wait (at most 10 minutes) until nothing is pending any more.
    let drain_deadline = Instant::now() + Duration::from_secs(600);
    while mode != "send" && pending(&db).await? > 0 && Instant::now() < drain_deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    sampling.abort();
    let cpu_after: Vec<u64> = pids
        .iter()
        .map(|&p| cpu_ticks(p))
        .collect::<Result<_, _>>()?;

    let uploads = std::mem::take(&mut *sender.done.lock().expect("lock"));
    let errors = *sender.errors.lock().expect("lock");
    let mut updated: HashMap<String, (i64, String)> = HashMap::new();
    for row in sqlx::query("SELECT asset_id, updated_at, probe_status FROM assets")
        .fetch_all(&db)
        .await?
    {
        updated.insert(
            row.try_get("asset_id")?,
            (row.try_get("updated_at")?, row.try_get("probe_status")?),
        );
    }
    let mut latencies = Vec::new();
    let (mut ready, mut not_ready) = (0_u64, 0_u64);
    let mut last_201 = first_micros;
    let mut last_ready = first_micros;
    for upload in &uploads {
        last_201 = last_201.max(upload.answered_micros);
        match updated.get(&upload.asset_id) {
            Some((at, status)) if status == "ready" => {
                ready += 1;
                last_ready = last_ready.max(*at);
                latencies.push((at - upload.answered_micros).max(0) as f64 / 1000.0);
            }
            _ => not_ready += 1,
        }
    }
    latencies.sort_by(f64::total_cmp);
    let created = uploads.len() as f64;
    let probe_secs = (last_ready - first_micros) as f64 / 1e6;
    let cpu_ms: Vec<f64> = cpu_before
        .iter()
        .zip(&cpu_after)
        .map(|(b, a)| (a - b) as f64 * 10.0)
        .collect();
    println!(
        "{}",
        json!({
            "mode": mode,
            "created": uploads.len(),
            "errors": errors,
            "ready": ready,
            "not_ready": not_ready,
            "send_secs": send_secs,
            "uploads_per_sec": created / send_secs,
            "probes_per_sec": ready as f64 / probe_secs.max(1e-6),
            "lag_after_last_201_ms": (last_ready - last_201).max(0) as f64 / 1000.0,
            "backlog_at_last_201": backlog_at_last_201,
            "max_backlog": *max_backlog.lock().expect("lock"),
            "ready_p50_ms": percentile(&latencies, 0.50),
            "ready_p99_ms": percentile(&latencies, 0.99),
            "ready_max_ms": latencies.last().copied().unwrap_or(f64::NAN),
            "cpu_ms": cpu_ms,
        })
    );
    Ok(())
}
