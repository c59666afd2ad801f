//! The probe pipeline through the real binary: upload, queue, prober, record, read back; on SQLite
//! with the embedded queue and on Postgres with RabbitMQ; and its faults (killed prober, broker
//! outage, unreadable media, objects gone, re-probing).

use std::{
    path::Path,
    time::{Duration, Instant},
};

use assetd_tests::{
    Assetd, Engine, Options, Proxy, Role, Split, TestAmqp, TestDb, TestStorage, cli, fixture,
};
use reqwest::{Client, StatusCode};
use serde_json::Value;

use crate::upload;

#[derive(serde::Deserialize, Debug)]
struct Expected {
    file: String,
    kind: String,
    width: Option<f64>,
    height: Option<f64>,
    duration: Option<f64>,
}

fn corpus() -> Vec<(Expected, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/media");
    let expected: Vec<Expected> =
        serde_json::from_slice(&std::fs::read(dir.join("expected.json")).expect("expected.json"))
            .expect("parse");
    expected
        .into_iter()
        .map(|e| {
            let bytes = std::fs::read(dir.join(&e.file)).expect("fixture");
            (e, bytes)
        })
        .collect()
}

/// Polls `GET /v1/assets/{id}` until the probe has run; returns the asset.
pub async fn wait_probed(base: &str, key: &str, asset_id: &str, within: Duration) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let response = Client::new()
            .get(format!("{base}/v1/assets/{asset_id}"))
            .header("x-api-key", key)
            .send()
            .await
            .expect("GET asset");
        if response.status() == StatusCode::OK {
            let body: Value = response.json().await.expect("json");
            if body["data"]["probeStatus"] != "pending" {
                return body["data"].clone();
            }
        }
        assert!(
            Instant::now() < deadline,
            "asset {asset_id} still pending after {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub(crate) async fn probe_status(base: &str, key: &str, asset_id: &str) -> String {
    let body: Value = Client::new()
        .get(format!("{base}/v1/assets/{asset_id}"))
        .header("x-api-key", key)
        .send()
        .await
        .expect("GET asset")
        .json()
        .await
        .expect("json");
    body["data"]["probeStatus"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

pub(crate) fn close(actual: &Value, expected: Option<f64>, tolerance: f64, what: &str) {
    match expected {
        None => assert!(actual.is_null(), "{what}: expected null, got {actual}"),
        Some(expected) => {
            let actual = actual
                .as_f64()
                .unwrap_or_else(|| panic!("{what}: expected {expected}, got {actual}"));
            assert!(
                (actual - expected).abs() <= tolerance,
                "{what}: expected {expected}, got {actual}"
            );
        }
    }
}

async fn corpus_is_probed_right(app: &Assetd) {
    let key = app.create_key("acme");
    let mut uploaded = Vec::new();
    for (expected, bytes) in corpus() {
        let (status, body) = upload(app, &key, &[("x-file-name", &expected.file)], bytes).await;
        assert_eq!(status, StatusCode::CREATED, "{}: {body}", expected.file);
        assert_eq!(body["data"]["type"], expected.kind, "{}", expected.file);
        uploaded.push((
            expected,
            body["data"]["assetId"].as_str().expect("id").to_owned(),
        ));
    }
    for (expected, asset_id) in uploaded {
        let asset = wait_probed(&app.http, &key, &asset_id, Duration::from_secs(60)).await;
        let name = &expected.file;
        assert_eq!(asset["probeStatus"], "ready", "{name}: {asset}");
        close(
            &asset["width"],
            expected.width,
            1.0,
            &format!("{name} width"),
        );
        close(
            &asset["height"],
            expected.height,
            1.0,
            &format!("{name} height"),
        );
        close(
            &asset["duration"],
            expected.duration,
            0.05,
            &format!("{name} duration"),
        );
    }
}

#[tokio::test]
async fn corpus_is_probed_right_embedded_sqlite() {
    let Some(app) = Assetd::serve(Engine::Sqlite, None, Options::default()).await else {
        return;
    };
    corpus_is_probed_right(&app).await;
}

#[tokio::test]
async fn corpus_is_probed_right_rabbitmq_postgres() {
    let Some(amqp) = TestAmqp::create().await else {
        return;
    };
    let Some(app) = Assetd::serve(
        Engine::Postgres,
        None,
        Options {
            extra_args: amqp.args(),
        },
    )
    .await
    else {
        return;
    };
    corpus_is_probed_right(&app).await;
}

/// Unreadable media ends `failed` with a reason; an object that vanished is retried, then given
/// up on; `assetd reprobe --all-failed` queues them again.
async fn failures_are_recorded(app: &Assetd) {
    let key = app.create_key("acme");
    let garbage = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/media/malformed/garbage.png"),
    )
    .expect("fixture");
    let (status, body) = upload(app, &key, &[("x-file-name", "garbage.png")], garbage).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let garbage_id = body["data"]["assetId"].as_str().expect("id").to_owned();
    let asset = wait_probed(&app.http, &key, &garbage_id, Duration::from_secs(30)).await;
    assert_eq!(asset["probeStatus"], "failed");
    assert!(
        asset["probeError"].as_str().is_some_and(|r| !r.is_empty()),
        "{asset}"
    );
    assert!(asset["width"].is_null() && asset["height"].is_null() && asset["duration"].is_null());

    // The object disappears behind the prober's back: every attempt fails for the storage.
    let (status, body) = upload(
        app,
        &key,
        &[("x-file-name", "hero.png")],
        fixture("hero.png"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let gone_id = body["data"]["assetId"].as_str().expect("id").to_owned();
    // Probed first (the prober is faster than a test can delete), then deleted and re-probed.
    let asset = wait_probed(&app.http, &key, &gone_id, Duration::from_secs(30)).await;
    assert_eq!(asset["probeStatus"], "ready", "{asset}");
    let TestStorage::Fs { dir } = &app.storage else {
        unreachable!()
    };
    std::fs::remove_file(dir.join(body["data"]["fileKey"].as_str().expect("key")))
        .expect("delete the object");
    let queued = cli(&[
        "reprobe",
        "--asset-id",
        &gone_id,
        "--catalog-url",
        &app.grpc,
    ]);
    assert_eq!(queued, "1");
    let asset = wait_probed(&app.http, &key, &gone_id, Duration::from_secs(60)).await;
    assert_eq!(asset["probeStatus"], "failed");
    assert!(
        asset["probeError"]
            .as_str()
            .is_some_and(|r| r.contains("gave up after 2 attempts")),
        "{asset}"
    );

    // Re-probing puts both back in the queue (they fail again, but ran again).
    let queued = cli(&["reprobe", "--all-failed", "--catalog-url", &app.grpc]);
    assert_eq!(queued, "2");
    let asset = wait_probed(&app.http, &key, &garbage_id, Duration::from_secs(30)).await;
    assert_eq!(asset["probeStatus"], "failed");
}

fn two_attempts() -> Vec<String> {
    vec!["--probe-max-attempts".into(), "2".into()]
}

#[tokio::test]
async fn failures_are_recorded_embedded_sqlite() {
    let Some(app) = Assetd::serve(
        Engine::Sqlite,
        None,
        Options {
            extra_args: two_attempts(),
        },
    )
    .await
    else {
        return;
    };
    failures_are_recorded(&app).await;
}

#[tokio::test]
async fn failures_are_recorded_rabbitmq_postgres() {
    let Some(amqp) = TestAmqp::create().await else {
        return;
    };
    let mut args = amqp.args();
    args.extend(two_attempts());
    let Some(app) = Assetd::serve(Engine::Postgres, None, Options { extra_args: args }).await
    else {
        return;
    };
    failures_are_recorded(&app).await;
    // The job that used up its attempts sits in the dead-letter queue.
    assert!(amqp.queue_len(&format!("{}.probe.dead", amqp.prefix)).await >= 1);
}

/// Uploads while the broker is unreachable succeed; once it is back, every asset gets probed.
#[tokio::test]
async fn rabbitmq_outage_delays_probes_but_loses_none() {
    let Some(amqp) = TestAmqp::create().await else {
        return;
    };
    let proxy = Proxy::start(&amqp.addr()).await;
    proxy.set_enabled(false);
    let through_proxy = amqp.via(&proxy.addr);
    let Some(app) = Assetd::serve(
        Engine::Postgres,
        None,
        Options {
            extra_args: through_proxy.args(),
        },
    )
    .await
    else {
        return;
    };
    let key = app.create_key("acme");
    let mut ids = Vec::new();
    for i in 0..5 {
        let (status, body) = upload(
            &app,
            &key,
            &[("x-file-name", &format!("hero-{i}.png"))],
            fixture("hero.png"),
        )
        .await;
        assert_eq!(
            status,
            StatusCode::CREATED,
            "uploads must not depend on RabbitMQ: {body}"
        );
        ids.push(body["data"]["assetId"].as_str().expect("id").to_owned());
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    for id in &ids {
        assert_eq!(
            probe_status(&app.http, &key, id).await,
            "pending",
            "probed while RabbitMQ was down"
        );
    }
    proxy.set_enabled(true);
    for id in &ids {
        let asset = wait_probed(&app.http, &key, id, Duration::from_secs(60)).await;
        assert_eq!(asset["probeStatus"], "ready");
        assert_eq!(asset["width"], 64);
    }
}

/// Uploads the corpus through a gateway at `base`; returns the asset ids.
async fn upload_corpus(base: &str, key: &str) -> Vec<String> {
    let mut ids = Vec::new();
    for (expected, bytes) in corpus() {
        let response = Client::new()
            .post(format!("{base}/v1/uploads"))
            .header("x-api-key", key)
            .header("x-file-name", &expected.file)
            .body(bytes)
            .send()
            .await
            .expect("upload");
        assert_eq!(response.status(), StatusCode::CREATED);
        let body: Value = response.json().await.expect("json");
        ids.push(body["data"]["assetId"].as_str().expect("id").to_owned());
    }
    ids
}

/// Waits until some (not all) assets have been probed; returns how many are done.
pub async fn wait_some_probed(db: &TestDb) -> i64 {
    let pool = db.pool().await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let done = loop {
        let (done,): (i64,) = sqlx::query_as(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM assets WHERE probe_status <> 'pending'",
        )
        .fetch_one(&pool)
        .await
        .expect("count probed");
        if done > 0 {
            break done;
        }
        assert!(Instant::now() < deadline, "the prober never started");
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    pool.close().await;
    done
}

/// Kills the prober with SIGKILL as soon as it has recorded some results, but not all.
async fn kill_mid_work(prober: &mut Role, db: &TestDb, total: usize) {
    let done = wait_some_probed(db).await;
    prober.kill();
    assert!(
        (done as usize) < total,
        "the prober finished before it could be killed"
    );
}

/// The corpus, several times over: enough work that a prober can be caught in the middle of it.
pub async fn upload_corpus_times(base: &str, key: &str, times: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for _ in 0..times {
        ids.extend(upload_corpus(base, key).await);
    }
    ids
}

/// A prober killed with SIGKILL while holding deliveries loses none of them: the broker redelivers.
#[tokio::test]
async fn a_killed_prober_loses_no_job_rabbitmq() {
    let Some(amqp) = TestAmqp::create().await else {
        return;
    };
    let Some(split) = Split::start(Engine::Postgres, Some(&amqp)).await else {
        return;
    };
    let ids = upload_corpus_times(&split.gateway.addr, &split.key, 4).await;
    let args = split.prober_args();
    let mut prober = Role::spawn(&args, &split.scratch.path().join("prober-1.log"));
    kill_mid_work(&mut prober, &split.db, ids.len()).await;
    let _replacement = Role::spawn(&args, &split.scratch.path().join("prober-2.log"));
    for id in &ids {
        let asset = wait_probed(&split.gateway.addr, &split.key, id, Duration::from_secs(60)).await;
        assert_eq!(asset["probeStatus"], "ready", "{asset}");
    }
}

/// The embedded queue is as durable as the database: after a prober and the catalog are killed
/// mid-work, `assetd serve` on the same database runs every pending and half-done job.
#[tokio::test]
async fn embedded_jobs_survive_a_crash() {
    let Some(mut split) = Split::start(Engine::Sqlite, None).await else {
        return;
    };
    let ids = upload_corpus_times(&split.gateway.addr, &split.key, 4).await;
    let mut prober = split.start_prober("prober");
    kill_mid_work(&mut prober, &split.db, ids.len()).await;
    split.catalog_mut().kill();
    split.gateway.kill();

    let mut serve_args: Vec<String> = [
        "serve",
        "--http-addr",
        "127.0.0.1:0",
        "--catalog-grpc-addr",
        "127.0.0.1:0",
        "--database-url",
        &split.db.url,
        "--probe-timeout-secs",
        "2",
    ]
    .map(String::from)
    .to_vec();
    serve_args.extend(split.storage.args());
    let serve = Role::start(&serve_args, &split.scratch.path().join("serve.log"), true).await;
    for id in &ids {
        let asset = wait_probed(&serve.addr, &split.key, id, Duration::from_secs(60)).await;
        assert_eq!(asset["probeStatus"], "ready", "{asset}");
    }
}

/// A canonical WAV header (16-bit stereo, 48 kHz) followed by `data_len` bytes of silence.
fn silent_wav(data_len: u32) -> Vec<u8> {
    pcm_wav(&vec![0; data_len as usize])
}

/// A 48 kHz stereo 16-bit PCM WAV holding `samples`.
pub(crate) fn pcm_wav(samples: &[u8]) -> Vec<u8> {
    let (rate, channels, bits) = (48_000u32, 2u16, 16u16);
    let block = channels * bits / 8;
    let data_len = u32::try_from(samples.len()).expect("WAV data under 4 GiB");
    let mut wav = Vec::with_capacity(44 + samples.len());
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + data_len).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes());
    wav.extend_from_slice(&channels.to_le_bytes());
    wav.extend_from_slice(&rate.to_le_bytes());
    wav.extend_from_slice(&(rate * u32::from(block)).to_le_bytes());
    wav.extend_from_slice(&block.to_le_bytes());
    wav.extend_from_slice(&bits.to_le_bytes());
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&data_len.to_le_bytes());
    wav.extend_from_slice(samples);
    wav
}

/// Probing a 20 MiB file reads a few chunks of it, as counted by the storage layer's own
/// counters (not the prober's), on the filesystem and on S3.
async fn probing_reads_little(app: &Assetd) {
    let key = app.create_key("acme");
    let data_len = 20 * 1024 * 1024;
    let wav = silent_wav(data_len);
    let before = crate::metrics(app).await;
    let (status, body) = crate::upload(app, &key, &[("x-file-name", "silence.wav")], wav).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let asset_id = body["data"]["assetId"].as_str().expect("id").to_owned();
    let asset = wait_probed(&app.http, &key, &asset_id, Duration::from_secs(60)).await;
    assert_eq!(asset["probeStatus"], "ready", "{asset}");
    let seconds = f64::from(data_len) / (48_000.0 * 4.0);
    close(&asset["duration"], Some(seconds), 0.01, "duration");
    let after = crate::metrics(app).await;
    let read = crate::metric(&after, "assetd_storage_range_read_bytes_total")
        - crate::metric(&before, "assetd_storage_range_read_bytes_total");
    let reads = crate::metric(&after, "assetd_storage_range_reads_total")
        - crate::metric(&before, "assetd_storage_range_reads_total");
    assert!(
        reads >= 1.0,
        "the probe read through the storage layer: {after}"
    );
    assert!(
        read > 0.0 && read <= 512.0 * 1024.0,
        "probing a 20 MiB file read {read} bytes in {reads} reads from storage"
    );
}

#[tokio::test]
async fn probing_reads_little_fs() {
    let Some(app) = Assetd::serve(Engine::Sqlite, None, Options::default()).await else {
        return;
    };
    probing_reads_little(&app).await;
}

#[tokio::test]
async fn probing_reads_little_s3() {
    let Some(storage) = TestStorage::s3().await else {
        return;
    };
    let Some(app) = Assetd::serve(Engine::Sqlite, Some(storage), Options::default()).await else {
        return;
    };
    probing_reads_little(&app).await;
}
