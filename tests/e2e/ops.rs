//! Running it in production: health that tells the truth, every metric series, request ids that
//! follow an upload into the prober, and graceful shutdown that loses nothing.

use std::time::{Duration, Instant};

use assetd_tests::{Assetd, Engine, Options, Role, Split, TestAmqp, fixture};
use bytes::Bytes;
use reqwest::{Client, StatusCode};
use serde_json::Value;
use tokio::sync::mpsc;

use crate::{log_lines, probe::wait_probed, upload};

async fn status_of(url: &str) -> Option<StatusCode> {
    Client::new()
        .get(url)
        .timeout(Duration::from_secs(2))
        .send()
        .await
        .ok()
        .map(|r| r.status())
}

/// Waits until `GET url` answers `want` (or fails the test after `within`).
async fn wait_status(url: &str, want: StatusCode, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        if status_of(url).await == Some(want) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{url} did not answer {want} within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Every series the README lists, after an upload, a rejection, a probe and a failed probe.
const SERIES: &[&str] = &[
    "assetd_http_requests_total",
    "assetd_http_request_duration_seconds",
    "assetd_http_errors_total",
    "assetd_upload_bytes_total",
    "assetd_upload_size_bytes",
    "assetd_grpc_requests_total",
    "assetd_grpc_request_duration_seconds",
    "assetd_outbox_backlog",
    "assetd_outbox_oldest_age_seconds",
    "assetd_probe_jobs_total",
    "assetd_probe_duration_seconds",
    "assetd_probe_failures_total",
    "assetd_upload_to_probed_seconds",
];

#[tokio::test]
async fn health_metrics_and_request_ids() {
    let Some(app) = Assetd::serve(Engine::Sqlite, None, Options::default()).await else {
        return;
    };
    let admin = app.admin();
    assert_eq!(
        status_of(&format!("{admin}/livez")).await,
        Some(StatusCode::OK)
    );
    wait_status(
        &format!("{admin}/readyz"),
        StatusCode::OK,
        Duration::from_secs(10),
    )
    .await;

    let key = app.create_key("acme");
    let response = Client::new()
        .post(app.url("/v1/uploads"))
        .header("x-api-key", &key)
        .header("x-file-name", "hero.png")
        .header("x-request-id", "trace-me-42")
        .body(fixture("hero.png"))
        .send()
        .await
        .expect("upload");
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(
        response.headers()["x-request-id"],
        "trace-me-42",
        "the request id comes back"
    );
    let body: Value = response.json().await.expect("json");
    let asset_id = body["data"]["assetId"].as_str().expect("id").to_owned();
    let (status, _) = upload(&app, &key, &[("x-file-name", "a.json")], b"{}".to_vec()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let generated = Client::new()
        .get(app.url("/v1/assets/not-a-uuid"))
        .send()
        .await
        .expect("get");
    assert!(
        !generated.headers()["x-request-id"].is_empty(),
        "a request id is generated when none is sent"
    );
    let garbage = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/media/malformed/garbage.png"),
    )
    .expect("fixture");
    let (status, body) = upload(&app, &key, &[("x-file-name", "garbage.png")], garbage).await;
    assert_eq!(status, StatusCode::CREATED);
    let garbage_id = body["data"]["assetId"].as_str().expect("id").to_owned();
    wait_probed(&app.http, &key, &asset_id, Duration::from_secs(30)).await;
    wait_probed(&app.http, &key, &garbage_id, Duration::from_secs(30)).await;

    // The outbox gauges are refreshed every few seconds.
    let deadline = Instant::now() + Duration::from_secs(15);
    let metrics = loop {
        let text = Client::new()
            .get(format!("{admin}/metrics"))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text");
        if SERIES.iter().all(|series| text.contains(series)) {
            break text;
        }
        assert!(
            Instant::now() < deadline,
            "missing series: {:?}\n{text}",
            SERIES
                .iter()
                .filter(|s| !text.contains(*s))
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert!(
        metrics.contains(r#"error_code="UPLOAD_FILE_TYPE_UNSUPPORTED""#),
        "{metrics}"
    );
    assert!(metrics.contains(r#"route="/v1/uploads""#), "{metrics}");

    // The upload's request id reaches the catalog's and the prober's log lines.
    let log = app.log();
    let lines = log_lines(&log);
    let traced = |message: &str| {
        lines
            .iter()
            .any(|line| line["message"] == message && line["span"]["request_id"] == "trace-me-42")
    };
    assert!(
        traced("upload stored"),
        "gateway log line without the request id:\n{log}"
    );
    assert!(
        traced("probed"),
        "prober log line without the request id:\n{log}"
    );
}

#[tokio::test]
async fn readiness_follows_the_catalog() {
    let mut split = Split::start(Engine::Sqlite, None).await.expect("sqlite");
    let gateway_log = split.scratch.path().join("gateway.log");
    let catalog_log = split.scratch.path().join("catalog.log");
    let admin = |log| async move {
        let addresses = assetd_tests::Addresses::of(log).await.expect("addresses");
        addresses.url("admin").expect("admin")
    };
    let gateway_ready = format!("{}/readyz", admin(&gateway_log).await);
    let catalog_ready = format!("{}/readyz", admin(&catalog_log).await);
    wait_status(&catalog_ready, StatusCode::OK, Duration::from_secs(10)).await;
    wait_status(&gateway_ready, StatusCode::OK, Duration::from_secs(10)).await;

    // SIGTERM: the catalog turns not-ready first, then exits cleanly.
    assert!(
        split.catalog_mut().terminate(),
        "the catalog exits 0 on SIGTERM"
    );
    wait_status(
        &gateway_ready,
        StatusCode::SERVICE_UNAVAILABLE,
        Duration::from_secs(10),
    )
    .await;
}

type Chunk = Result<Bytes, std::io::Error>;

fn held_upload(
    base: &str,
    key: &str,
    name: &str,
) -> (
    mpsc::Sender<Chunk>,
    tokio::task::JoinHandle<Option<StatusCode>>,
) {
    let (tx, rx) = mpsc::channel::<Chunk>(4);
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    let request = Client::new()
        .post(format!("{base}/v1/uploads"))
        .header("x-api-key", key)
        .header("x-file-name", name)
        .body(reqwest::Body::wrap_stream(stream));
    let task = tokio::spawn(async move { request.send().await.ok().map(|r| r.status()) });
    (tx, task)
}

/// SIGTERM during uploads: readiness drops at once, an upload that completes within the grace
/// period is kept, one still streaming at the deadline is cut and leaves nothing; exit is clean.
#[tokio::test]
async fn sigterm_drains_uploads() {
    let grace = vec!["--shutdown-grace-secs".into(), "2".into()];
    let Some(mut app) = Assetd::serve(Engine::Sqlite, None, Options { extra_args: grace }).await
    else {
        return;
    };
    let key = app.create_key("acme");
    let admin = app.admin();
    wait_status(
        &format!("{admin}/readyz"),
        StatusCode::OK,
        Duration::from_secs(10),
    )
    .await;
    let png = fixture("hero.png");

    let (finishing, finished) = held_upload(&app.http, &key, "finishing.png");
    let (stalling, stalled) = held_upload(&app.http, &key, "stalling.png");
    for tx in [&finishing, &stalling] {
        tx.send(Ok(Bytes::copy_from_slice(&png)))
            .await
            .expect("feed");
        tx.send(Ok(Bytes::from(vec![0u8; 64 * 1024])))
            .await
            .expect("feed");
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let files_before = app.storage.all_files().await;

    let pid = app.pid().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill")
            .success()
    );
    wait_status(
        &format!("{admin}/readyz"),
        StatusCode::SERVICE_UNAVAILABLE,
        Duration::from_secs(2),
    )
    .await;

    // One upload finishes inside the grace period; the other never does.
    finishing
        .send(Ok(Bytes::from(vec![1u8; 64 * 1024])))
        .await
        .expect("feed");
    drop(finishing);
    assert_eq!(finished.await.expect("join"), Some(StatusCode::CREATED));
    let cut = tokio::time::timeout(Duration::from_secs(10), stalled)
        .await
        .expect("cut in time")
        .expect("join");
    assert_ne!(
        cut,
        Some(StatusCode::CREATED),
        "the stalled upload must not be recorded"
    );
    drop(stalling);

    assert!(
        app.wait_exit(Duration::from_secs(15)),
        "assetd exits 0 after draining"
    );
    let files = app.storage.all_files().await;
    assert_eq!(
        files.len(),
        files_before.len() + 1,
        "only the finished upload is stored: {files:?}"
    );
    assert_eq!(
        app.row_counts().await.0,
        1,
        "only the finished upload is recorded"
    );
}

/// SIGTERM during probing on RabbitMQ: the prober stops taking deliveries, finishes or returns
/// what it holds, exits cleanly, and a new prober finishes every job.
#[tokio::test]
async fn sigterm_during_probes_loses_nothing() {
    let Some(amqp) = TestAmqp::create().await else {
        return;
    };
    let Some(split) = Split::start(Engine::Postgres, Some(&amqp)).await else {
        return;
    };
    let ids = crate::probe::upload_corpus_times(&split.gateway.addr, &split.key, 3).await;
    let args = split.prober_args();
    let mut prober = Role::spawn(&args, &split.scratch.path().join("prober-1.log"));
    crate::probe::wait_some_probed(&split.db).await;
    assert!(prober.terminate(), "the prober exits 0 on SIGTERM");
    let _replacement = Role::spawn(&args, &split.scratch.path().join("prober-2.log"));
    for id in &ids {
        let asset = wait_probed(&split.gateway.addr, &split.key, id, Duration::from_secs(60)).await;
        assert_eq!(asset["probeStatus"], "ready", "{asset}");
    }
}
