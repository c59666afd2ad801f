//! Outages answer 503 with Retry-After and leave nothing behind: catalog gone, database gone,
//! storage gone; a prober whose catalog is gone keeps its jobs and retries them on schedule.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use assetd_tests::{Assetd, Engine, Options, Proxy, Role, Split, TestAmqp, TestStorage, fixture};
use bytes::Bytes;
use reqwest::{Client, StatusCode};
use tokio::sync::mpsc;

type Chunk = Result<Bytes, std::io::Error>;

/// Starts an upload whose body the test feeds by hand; returns the feeder and the pending response.
fn held_upload(
    base: &str,
    key: &str,
) -> (
    mpsc::Sender<Chunk>,
    tokio::task::JoinHandle<reqwest::Response>,
) {
    let (tx, rx) = mpsc::channel::<Chunk>(4);
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    let request = Client::new()
        .post(format!("{base}/v1/uploads"))
        .header("x-api-key", key)
        .header("x-file-name", "hero.png")
        .body(reqwest::Body::wrap_stream(stream));
    let task = tokio::spawn(async move { request.send().await.expect("upload response") });
    (tx, task)
}

/// Sends the first part of a PNG and waits until the gateway has started writing it.
async fn feed_first_part(tx: &mpsc::Sender<Chunk>, png: &[u8]) {
    tx.send(Ok(Bytes::copy_from_slice(&png[..2000])))
        .await
        .expect("feed");
    // The gateway needs 8 KiB or the end of the body to sniff; send filler beyond that.
    tx.send(Ok(Bytes::from(vec![0u8; 10_000])))
        .await
        .expect("feed");
    tokio::time::sleep(Duration::from_millis(500)).await;
}

async fn assert_unavailable(response: reqwest::Response) {
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        response.headers().contains_key("retry-after"),
        "503 without Retry-After"
    );
    let body: serde_json::Value = response.json().await.expect("problem json");
    assert_eq!(body["errorCode"], "SERVICE_UNAVAILABLE");
    assert_eq!(body["type"], "SERVICE_UNAVAILABLE");
}

#[tokio::test]
async fn catalog_lost_mid_upload_leaves_no_object() {
    let mut split = Split::start(Engine::Sqlite, None).await.expect("sqlite");
    let (key, storage) = (split.key.clone(), split.storage.clone());
    let gateway_addr = split.gateway.addr.clone();

    // The roles work apart.
    let png = fixture("hero.png");
    let response = Client::new()
        .post(format!("{}/v1/uploads", gateway_addr))
        .header("x-api-key", &key)
        .header("x-file-name", "hero.png")
        .body(png.clone())
        .send()
        .await
        .expect("upload");
    assert_eq!(response.status(), StatusCode::CREATED);
    let files_before = storage.all_files().await;

    // The catalog dies while an upload is streaming: the object must go.
    let (tx, pending) = held_upload(&gateway_addr, &key);
    feed_first_part(&tx, &png).await;
    split.catalog_mut().kill();
    drop(tx);
    assert_unavailable(pending.await.expect("response")).await;
    assert_eq!(storage.all_files().await, files_before);

    // And with the catalog gone, a new upload is refused up front.
    let response = Client::new()
        .post(format!("{}/v1/uploads", gateway_addr))
        .header("x-api-key", &key)
        .header("x-file-name", "hero.png")
        .body(png)
        .send()
        .await
        .expect("upload");
    assert_unavailable(response).await;
    assert_eq!(storage.all_files().await, files_before);
}

#[tokio::test]
async fn database_lost_mid_upload_leaves_no_object_postgres() {
    let Some(app) = Assetd::serve(Engine::Postgres, None, Options::default()).await else {
        return;
    };
    let key = app.create_key("acme");
    let png = fixture("hero.png");
    let files_before = app.storage.all_files().await;
    let (tx, pending) = held_upload(&app.http, &key);
    feed_first_part(&tx, &png).await;
    app.db.drop_database().await;
    drop(tx);
    assert_unavailable(pending.await.expect("response")).await;
    assert_eq!(app.storage.all_files().await, files_before);
}

#[tokio::test]
async fn storage_unreachable_answers_503_and_records_nothing() {
    // An S3 endpoint where nothing listens.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let storage = TestStorage::S3 {
        endpoint: format!("http://127.0.0.1:{port}"),
        bucket: "gone".into(),
    };
    let Some(app) = Assetd::serve(Engine::Sqlite, Some(storage), Options::default()).await else {
        return;
    };
    let key = app.create_key("acme");
    let response = Client::new()
        .post(app.url("/v1/uploads"))
        .header("x-api-key", &key)
        .header("x-file-name", "hero.png")
        .body(fixture("hero.png"))
        .send()
        .await
        .expect("upload");
    assert_unavailable(response).await;
    assert_eq!(app.row_counts().await, (0, 0));
}

/// The prober reaches the catalog through a proxy the test turns off while the prober holds
/// deliveries: no job is acknowledged away. Each failed attempt waits in the broker's retry queue
/// (2 s, then 10 s, measured between the attempts' log lines), the assets stay `pending`, and once
/// the catalog is back every result is recorded, no sooner than the 10 s delay allows.
#[tokio::test]
async fn catalog_lost_while_a_prober_holds_deliveries_loses_no_job_rabbitmq() {
    const JOBS: usize = 4;
    let Some(amqp) = TestAmqp::create().await else {
        return;
    };
    let Some(split) = Split::start(Engine::Postgres, Some(&amqp)).await else {
        return;
    };
    let catalog = split
        .catalog()
        .addr
        .trim_start_matches("http://")
        .to_owned();
    let proxy = Proxy::start(&catalog).await;
    proxy.set_enabled(false);
    let mut ids = Vec::new();
    for i in 0..JOBS {
        let response = Client::new()
            .post(format!("{}/v1/uploads", split.gateway.addr))
            .header("x-api-key", &split.key)
            .header("x-file-name", format!("hero-{i}.png"))
            .body(fixture("hero.png"))
            .send()
            .await
            .expect("upload");
        assert_eq!(response.status(), StatusCode::CREATED);
        let body: serde_json::Value = response.json().await.expect("json");
        ids.push(body["data"]["assetId"].as_str().expect("id").to_owned());
    }

    let mut args = split.prober_args();
    let at = args
        .iter()
        .position(|a| a == "--catalog-url")
        .expect("catalog url")
        + 1;
    args[at] = format!("http://{}", proxy.addr);
    let log = split.scratch.path().join("prober.log");
    let _prober = Role::spawn(&args, &log);

    // When each (asset, attempt) failure first shows in the prober's log.
    let mut failed: HashMap<(String, u64), Instant> = HashMap::new();
    let watch = |failed: &mut HashMap<(String, u64), Instant>| {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        for line in text.lines() {
            let Ok(value) = serde_json::from_str::<serde_json::Value>(line) else {
                continue;
            };
            if value["message"] != "probe failed for now; retrying later" {
                continue;
            }
            let span = &value["span"];
            let (Some(asset), Some(attempt)) =
                (span["asset_id"].as_str(), span["attempt"].as_u64())
            else {
                continue;
            };
            failed
                .entry((asset.to_owned(), attempt))
                .or_insert_with(Instant::now);
        }
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ids.iter().all(|id| failed.contains_key(&(id.clone(), 2))) {
        assert!(
            Instant::now() < deadline,
            "not every job failed twice: {failed:?}\nlog:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        watch(&mut failed);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let second_failed = Instant::now();
    for id in &ids {
        let waited = failed[&(id.clone(), 2)] - failed[&(id.clone(), 1)];
        assert!(
            waited >= Duration::from_millis(1_800) && waited < Duration::from_secs(8),
            "attempt 2 of {id} came {waited:?} after attempt 1 (the first retry waits 2 s)"
        );
        assert_eq!(
            crate::probe::probe_status(&split.gateway.addr, &split.key, id).await,
            "pending"
        );
    }
    // Every job is held by the broker, waiting out its second delay; none was dropped.
    let topology = |suffix: &str| format!("{}.probe.{suffix}", amqp.prefix);
    assert_eq!(amqp.queue_len(&topology("retry.10s")).await as usize, JOBS);
    assert_eq!(amqp.queue_len(&topology("dead")).await, 0);

    proxy.set_enabled(true);
    for id in &ids {
        let asset =
            crate::probe::wait_probed(&split.gateway.addr, &split.key, id, Duration::from_secs(60))
                .await;
        assert_eq!(asset["probeStatus"], "ready", "{asset}");
        assert_eq!(asset["width"], 64, "{asset}");
    }
    assert!(
        second_failed.elapsed() >= Duration::from_millis(9_500),
        "recorded {:?} after the second failures; the second retry waits 10 s",
        second_failed.elapsed()
    );
    for queue in ["jobs", "retry.2s", "retry.10s", "retry.60s", "dead"] {
        assert_eq!(amqp.queue_len(&topology(queue)).await, 0, "{queue}");
    }
}

/// The catalog commits an upload's record but its answer never reaches the gateway (the
/// connection stalls, then is cut): the client is told 503, so the record is deleted through the
/// catalog and then the object; no row is left pointing at nothing, no object without a row.
#[tokio::test]
async fn a_lost_create_answer_leaves_no_record_and_no_object() {
    let Some(split) = Split::start(Engine::Sqlite, None).await else {
        return;
    };
    let proxy = Proxy::start(split.catalog().addr.trim_start_matches("http://")).await;
    let args = split.gateway_args(&format!("http://{}", proxy.addr));
    let gateway = Role::start(&args, &split.scratch.path().join("gateway-2.log"), true).await;
    let pool = split.db.pool().await;
    let assets = || async {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM assets")
            .fetch_one(&pool)
            .await
            .expect("count")
    };

    // Authenticated before the stall (the key is checked before the body is read) ...
    let (tx, upload) = held_upload(&gateway.addr, &split.key);
    tx.send(Ok(fixture("hero.png").into())).await.expect("feed");
    tokio::time::sleep(Duration::from_millis(500)).await;
    proxy.set_stalled(true);
    drop(tx);
    // ... and recorded while the answer is being dropped.
    let deadline = Instant::now() + Duration::from_secs(10);
    while assets().await == 0 {
        assert!(
            Instant::now() < deadline,
            "the catalog never recorded the upload"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        !upload.is_finished(),
        "answered before the catalog's answer came"
    );
    proxy.set_stalled(false);
    let response = upload.await.expect("upload task");
    assert_unavailable(response).await;

    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (rows, files) = (assets().await, split.storage.all_files().await);
        if rows == 0 && files.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "left behind: {rows} asset rows, files {files:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
