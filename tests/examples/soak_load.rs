//! The soak test's client: sends uploads at a steady rate while the script breaks things, then
//! checks the end state through the public API only.
//!
//! ```text
//! soak_load upload URL KEY PROJECT MEDIA_DIR RATE SECONDS LOG.jsonl
//! soak_load verify URL KEY PROJECT MEDIA_DIR LOG.jsonl STORAGE_DIR WAIT_SECS
//! ```
//!
//! `upload` cycles through every fixture in `MEDIA_DIR/expected.json` (each family assetd
//! probes), RATE uploads a second for SECONDS (open loop: a slow answer does not slow the
//! arrivals), each bound to PROJECT (`x-project-id`), and writes one JSON line per request: the fixture, the status, whether
//! `Retry-After` came, the `errorCode`, the asset id or the transport error. It prints a summary.
//!
//! `verify` waits (up to WAIT_SECS) until every 201 is probed and the project's asset listing
//! (`GET /v1/projects/{id}/assets`: the contract has no account-wide listing, and every upload
//! of the soak, answered or not, is bound to the project in its own transaction) holds exactly
//! the answered assets, then checks: every 201 is `ready` with the fixture's kind, width,
//! height and duration; the listing has no asset that was not answered 201; the storage
//! directory holds exactly the listed assets' files and nothing under `.incoming/`; every refusal
//! was a 503 with `Retry-After`. It prints a report and exits 1 on any violation.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

#[derive(Deserialize)]
struct Expected {
    file: String,
    kind: String,
    width: Option<u64>,
    height: Option<u64>,
    duration: Option<f64>,
}

fn fixtures(media: &Path) -> anyhow::Result<Vec<Expected>> {
    let text = std::fs::read_to_string(media.join("expected.json"))
        .context("reading expected.json in the media directory")?;
    Ok(serde_json::from_str(&text)?)
}

async fn upload(args: &[String]) -> anyhow::Result<()> {
    let [url, key, project, media, rate, seconds, log] = args else {
        bail!("usage: soak_load upload URL KEY PROJECT MEDIA_DIR RATE SECONDS LOG.jsonl");
    };
    let media = PathBuf::from(media);
    let (rate, seconds): (f64, f64) = (rate.parse()?, seconds.parse()?);
    let files: Vec<(String, bytes::Bytes)> = fixtures(&media)?
        .into_iter()
        .map(|f| {
            let body = std::fs::read(media.join(&f.file))?;
            Ok((f.file, body.into()))
        })
        .collect::<anyhow::Result<_>>()?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .timeout(Duration::from_secs(60))
        .build()?;
    let (lines, mut received) = tokio::sync::mpsc::unbounded_channel::<Value>();
    let mut out = tokio::fs::File::create(log).await?;
    let writer = tokio::spawn(async move {
        let mut counts: BTreeMap<String, u64> = BTreeMap::new();
        while let Some(line) = received.recv().await {
            let outcome = match (&line["status"], &line["error"]) {
                (Value::Number(n), _) => n.to_string(),
                _ => "transport error".to_owned(),
            };
            *counts.entry(outcome).or_default() += 1;
            let mut text = line.to_string();
            text.push('\n');
            out.write_all(text.as_bytes()).await.expect("write the log");
        }
        out.flush().await.expect("flush the log");
        counts
    });

    let url = Arc::new(format!("{}/v1/uploads", url.trim_end_matches('/')));
    let key = Arc::new(key.clone());
    let project = Arc::new(project.clone());
    let total = (rate * seconds).round() as u64;
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..total {
        tokio::time::sleep_until((started + Duration::from_secs_f64(n as f64 / rate)).into()).await;
        let (file, body) = files[n as usize % files.len()].clone();
        let (client, url, key, project, lines) = (
            client.clone(),
            url.clone(),
            key.clone(),
            project.clone(),
            lines.clone(),
        );
        tasks.spawn(async move {
            let sent_at = started.elapsed().as_secs_f64();
            let result = client
                .post(url.as_str())
                .header("x-api-key", key.as_str())
                .header("x-file-name", &file)
                .header("x-project-id", project.as_str())
                .body(body)
                .send()
                .await;
            let mut line = json!({"n": n, "file": file, "sentAt": sent_at});
            match result {
                Ok(response) => {
                    let status = response.status().as_u16();
                    let retry_after = response.headers().contains_key("retry-after");
                    let body: Value = response.json().await.unwrap_or(Value::Null);
                    line["status"] = status.into();
                    line["retryAfter"] = retry_after.into();
                    line["assetId"] = body["data"]["assetId"].clone();
                    line["errorCode"] = body["errorCode"].clone();
                }
                Err(err) => line["error"] = format!("{err:#}").into(),
            }
            let _ = lines.send(line);
        });
        while tasks.try_join_next().is_some() {}
    }
    while tasks.join_next().await.is_some() {}
    drop(lines);
    let counts = writer.await?;
    println!(
        "{}",
        json!({
            "sent": total,
            "seconds": started.elapsed().as_secs_f64(),
            "outcomes": counts,
        })
    );
    Ok(())
}

/// Every asset bound to the project, through the paged listing.
async fn list_all(
    client: &reqwest::Client,
    url: &str,
    key: &str,
    project: &str,
) -> anyhow::Result<Vec<Value>> {
    let mut assets = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut request = client
            .get(format!("{url}/v1/projects/{project}/assets"))
            .header("x-api-key", key)
            .query(&[("pageSize", "100")]);
        if let Some(cursor) = &cursor {
            request = request.query(&[("pageCursor", cursor)]);
        }
        let response = request.send().await?;
        if response.status() == reqwest::StatusCode::TOO_MANY_REQUESTS {
            // The listing is paged by 100 and the key's rate limit applies to it too.
            let wait = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok()?.parse().ok())
                .unwrap_or(1);
            tokio::time::sleep(Duration::from_secs(wait)).await;
            continue;
        }
        if !response.status().is_success() {
            bail!("listing answered {}", response.status());
        }
        let page: Value = response.json().await?;
        assets.extend(page["data"].as_array().cloned().unwrap_or_default());
        match page["meta"]["nextPageCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return Ok(assets),
        }
    }
}

/// Stored files under `dir`, relative to it.
fn stored_files(dir: &Path) -> Vec<String> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(at) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&at) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if let Ok(relative) = path.strip_prefix(dir) {
                files.push(relative.to_string_lossy().into_owned());
            }
        }
    }
    files
}

async fn verify(args: &[String]) -> anyhow::Result<bool> {
    let [url, key, project, media, log, storage, wait] = args else {
        bail!("usage: soak_load verify URL KEY PROJECT MEDIA_DIR LOG.jsonl STORAGE_DIR WAIT_SECS");
    };
    let url = url.trim_end_matches('/');
    let expected: HashMap<String, Expected> = fixtures(Path::new(media))?
        .into_iter()
        .map(|f| (f.file.clone(), f))
        .collect();
    let lines: Vec<Value> = std::fs::read_to_string(log)?
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    let mut created: HashMap<String, String> = HashMap::new(); // asset id -> fixture
    let mut refused: BTreeMap<String, u64> = BTreeMap::new();
    let mut violations: Vec<String> = Vec::new();
    for line in &lines {
        match (line["status"].as_u64(), line["assetId"].as_str()) {
            (Some(201), Some(id)) => {
                created.insert(
                    id.to_owned(),
                    line["file"].as_str().unwrap_or("").to_owned(),
                );
            }
            (Some(503), _) if line["retryAfter"] == true => {
                *refused.entry("503 with Retry-After".into()).or_default() += 1;
            }
            (Some(status), _) => {
                *refused
                    .entry(format!("{status} {}", line["errorCode"]))
                    .or_default() += 1;
                violations.push(format!("refused without cause: {line}"));
            }
            (None, _) => {
                *refused.entry("transport error".into()).or_default() += 1;
                violations.push(format!("transport error: {line}"));
            }
        }
    }

    // Wait until nothing is pending and the listing holds exactly the answered assets (an upload
    // answered 503 after the catalog committed it is deleted in the background).
    let client = reqwest::Client::new();
    let started = Instant::now();
    let deadline = started + Duration::from_secs(wait.parse()?);
    let listed = loop {
        let listed = list_all(&client, url, key, project).await?;
        let pending = listed
            .iter()
            .filter(|a| a["probeStatus"] == "pending")
            .count();
        let ids: HashSet<&str> = listed
            .iter()
            .filter_map(|a| a["assetId"].as_str())
            .collect();
        let settled = pending == 0
            && ids.len() == created.len()
            && created.keys().all(|id| ids.contains(id.as_str()));
        if settled || Instant::now() >= deadline {
            break listed;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    };
    let settled_after = started.elapsed().as_secs_f64();

    let by_id: HashMap<&str, &Value> = listed
        .iter()
        .filter_map(|a| Some((a["assetId"].as_str()?, a)))
        .collect();
    let mut probed_right = 0_u64;
    for (id, file) in &created {
        let Some(asset) = by_id.get(id.as_str()) else {
            violations.push(format!("answered 201 but not listed: {id} ({file})"));
            continue;
        };
        let want = &expected[file];
        let duration_ok = match (asset["duration"].as_f64(), want.duration) {
            (Some(got), Some(want)) => (got - want).abs() <= 0.05,
            (None, None) => true,
            _ => false,
        };
        if asset["probeStatus"] == "ready"
            && asset["type"] == want.kind.as_str()
            && asset["width"].as_u64() == want.width
            && asset["height"].as_u64() == want.height
            && duration_ok
        {
            probed_right += 1;
        } else {
            violations.push(format!("{file} probed wrong: {asset}"));
        }
    }
    let extra: Vec<&str> = by_id
        .keys()
        .filter(|id| !created.contains_key(**id))
        .copied()
        .collect();
    for id in &extra {
        violations.push(format!("stored but never answered 201: {}", by_id[id]));
    }

    let files = stored_files(Path::new(storage));
    let keys: HashSet<&str> = listed
        .iter()
        .filter_map(|a| a["fileKey"].as_str())
        .collect();
    let incoming = files.iter().filter(|f| f.starts_with(".incoming")).count();
    let unowned: Vec<&String> = files
        .iter()
        .filter(|f| !f.starts_with(".incoming") && !keys.contains(f.as_str()))
        .collect();
    let missing = keys
        .iter()
        .filter(|k| !files.iter().any(|f| f == *k))
        .count();
    if incoming > 0 {
        violations.push(format!("{incoming} partial writes under .incoming/"));
    }
    if !unowned.is_empty() {
        violations.push(format!(
            "{} stored objects no asset owns, e.g. {:?}",
            unowned.len(),
            &unowned[..unowned.len().min(5)]
        ));
    }
    if missing > 0 {
        violations.push(format!("{missing} assets whose object is missing"));
    }

    let ok = violations.is_empty();
    println!(
        "{}",
        json!({
            "requests": lines.len(),
            "created": created.len(),
            "probedRight": probed_right,
            "refused": refused,
            "listed": listed.len(),
            "storedObjects": files.len() - incoming,
            "settledAfterSeconds": settled_after,
            "violations": violations.len(),
            "firstViolations": &violations[..violations.len().min(20)],
            "ok": ok,
        })
    );
    Ok(ok)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("upload") => upload(&args[2..]).await,
        Some("verify") => {
            if verify(&args[2..]).await? {
                Ok(())
            } else {
                std::process::exit(1)
            }
        }
        _ => bail!("usage: soak_load upload|verify ..."),
    }
}
