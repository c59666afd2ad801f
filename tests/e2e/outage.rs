//! Outages answer 503 with Retry-After and leave nothing behind: catalog gone, database gone, storage gone.

use std::time::Duration;

use assetd_tests::{Assetd, Engine, Options, TestStorage, fixture};
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
    let mut split = crate::probe::Split::start(Engine::Sqlite, None)
        .await
        .expect("sqlite");
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
    split.catalog.kill();
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
