//! Resumable uploads with real third-party clients: npm's `tus-js-client` 4.3.1 in its `tus-v1`,
//! `ietf-draft-03` and `ietf-draft-05` modes (tests/e2e/node/tus_upload.mjs) and PyPI's `tuspy`
//! 1.1.0 with checksums (tests/e2e/python/tus_upload.py), each killed mid-upload and resumed to
//! completion through the other of two gateway processes, on SQLite + filesystem and on
//! Postgres + S3. Termination and expiry leave nothing behind, and a resumable upload makes the
//! same asset as a single-request upload of the same file.

use std::{path::Path, process::Stdio, time::Duration};

use assetd_tests::{Assetd, Engine, Options, Proxy, Role, Split, TestStorage, node, python};
use reqwest::{Client, StatusCode};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::{metric, metrics, upload_to};

const TUSPY: &str = "tuspy==1.1.0";

/// A WAV of `secs` seconds of 8 kHz 16-bit mono silence: real media (probed to its duration),
/// `16_000 * secs + 44` bytes.
fn wav(secs: u32) -> Vec<u8> {
    let data = 16_000 * secs;
    let mut bytes = Vec::with_capacity(data as usize + 44);
    bytes.extend_from_slice(b"RIFF");
    bytes.extend_from_slice(&(36 + data).to_le_bytes());
    bytes.extend_from_slice(b"WAVEfmt ");
    bytes.extend_from_slice(&16u32.to_le_bytes());
    bytes.extend_from_slice(&1u16.to_le_bytes()); // PCM
    bytes.extend_from_slice(&1u16.to_le_bytes()); // mono
    bytes.extend_from_slice(&8_000u32.to_le_bytes());
    bytes.extend_from_slice(&16_000u32.to_le_bytes());
    bytes.extend_from_slice(&2u16.to_le_bytes());
    bytes.extend_from_slice(&16u16.to_le_bytes());
    bytes.extend_from_slice(b"data");
    bytes.extend_from_slice(&data.to_le_bytes());
    bytes.resize(data as usize + 44, 0);
    // Not all zeros: a few bytes vary so two files' digests tell them apart.
    for (i, byte) in bytes.iter_mut().enumerate().skip(44).step_by(4099) {
        *byte = (i % 251) as u8;
    }
    bytes
}

/// The JSON event lines a client script printed.
fn events(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect()
}

/// Runs a client script to its end; its events, or a panic with its output.
async fn run_to_end(mut command: tokio::process::Command, what: &str) -> Vec<Value> {
    let output = command.output().await.expect("run the client");
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let events = events(&output.stdout);
    assert!(
        events.iter().any(|e| e["event"] == "success"),
        "{what} did not succeed: {events:?}"
    );
    events
}

/// Starts a client script and SIGKILLs it once it reports at least `bytes` sent; returns the
/// upload URL it reported.
async fn kill_after(mut command: tokio::process::Command, bytes: u64, what: &str) -> String {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn the client");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut url = None;
    let read = async {
        while let Some(line) = lines.next_line().await.expect("read the client") {
            let Ok(event) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            if event["event"] == "created" && url.is_none() {
                url = event["url"].as_str().map(str::to_owned);
            }
            let sent = event["sent"]
                .as_u64()
                .or_else(|| event["accepted"].as_u64())
                .or_else(|| event["offset"].as_u64())
                .unwrap_or(0);
            if url.is_some() && sent >= bytes {
                return true;
            }
            assert_ne!(
                event["event"], "success",
                "{what} finished before it was killed"
            );
            assert_ne!(event["event"], "error", "{what} failed: {event}");
        }
        false
    };
    let reached = tokio::time::timeout(Duration::from_secs(60), read)
        .await
        .unwrap_or(false);
    child.start_kill().expect("SIGKILL the client");
    let _ = child.wait().await;
    assert!(reached, "{what} never reported {bytes} bytes sent");
    url.expect("an upload URL")
}

/// The path of an upload URL (`/v1/uploads/{id}`), to continue it through another gateway.
fn path_of(url: &str) -> String {
    let start = url.find("/v1/uploads/").expect("an upload URL");
    url[start..].to_owned()
}

async fn head(base: &str, key: &str, path: &str) -> reqwest::Response {
    Client::new()
        .head(format!("{base}{path}"))
        .header("x-api-key", key)
        .header("tus-resumable", "1.0.0")
        .send()
        .await
        .expect("HEAD")
}

fn offset_of(response: &reqwest::Response) -> u64 {
    response.headers()["upload-offset"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("a number")
}

/// The asset once probed (ready or failed).
async fn probed(base: &str, key: &str, asset_id: &str) -> Value {
    for _ in 0..300 {
        let body: Value = Client::new()
            .get(format!("{base}/v1/assets/{asset_id}"))
            .header("x-api-key", key)
            .send()
            .await
            .expect("GET asset")
            .json()
            .await
            .expect("asset JSON");
        if body["data"]["probeStatus"] != "pending" {
            return body["data"].clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("asset {asset_id} was never probed");
}

/// An asset without what differs between two uploads of one file: ids, key, URL, timestamps.
fn comparable(mut asset: Value) -> Value {
    let key = asset["fileKey"].as_str().expect("fileKey").to_owned();
    let id = asset["assetId"].as_str().expect("assetId").to_owned();
    let account_and_file = key.strip_prefix("assets/").expect("an asset key");
    let (_account, file) = account_and_file
        .split_once('/')
        .expect("assets/{account}/{file}");
    assert!(
        file.starts_with(&format!("{id}.")),
        "fileKey {key} names asset {id}"
    );
    for field in ["assetId", "fileKey", "fileUrl", "createdAt"] {
        asset.as_object_mut().expect("object").remove(field);
    }
    asset
}

/// The asset a resumable upload became, from the final response's `x-asset-id`.
fn asset_of(events: &[Value]) -> String {
    let success = events
        .iter()
        .find(|e| e["event"] == "success")
        .expect("success");
    success["lastResponseHeaders"]["x-asset-id"]
        .as_str()
        .unwrap_or_else(|| panic!("no x-asset-id in {success}"))
        .to_owned()
}

/// No chunk object, and no open multipart upload, is left in storage.
async fn no_chunks_left(storage: &TestStorage) {
    for _ in 0..50 {
        let left: Vec<String> = storage
            .all_files()
            .await
            .into_iter()
            .filter(|f| f.starts_with("uploads/"))
            .collect();
        if left.is_empty() && storage.open_uploads().await.is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "chunks left behind: {:?}, open multipart uploads: {:?}",
        storage.all_files().await,
        storage.open_uploads().await
    );
}

async fn two_gateways(engine: Engine, storage: Option<TestStorage>) -> Option<(Split, Role, Role)> {
    let mut builder = Split::builder(engine);
    if let Some(storage) = storage {
        builder = builder.storage(storage);
    }
    let split = builder.start().await?;
    let args = split.gateway_args(&split.catalog().addr);
    let second = Role::start(&args, &split.scratch.path().join("gateway-2.log"), true).await;
    let prober = split.start_prober("prober");
    Some((split, second, prober))
}

/// Every mode of tus-js-client and tuspy with checksums: killed mid-upload through gateway A,
/// resumed through gateway B, each upload the same asset as a single-request upload of the file.
async fn real_clients_resume_across_gateways(engine: Engine, storage: Option<TestStorage>) {
    let Some(tus_js) = tokio::task::spawn_blocking(node::tus_js_client)
        .await
        .expect("npm task")
    else {
        return;
    };
    let Some(tuspy) = tokio::task::spawn_blocking(|| python::venv("tuspy-venv", &[TUSPY]))
        .await
        .expect("venv task")
    else {
        return;
    };
    let Some((split, second, _prober)) = two_gateways(engine, storage).await else {
        return;
    };
    let (a, b, key) = (&split.gateway.addr, &second.addr, &split.key);
    // 24 MB: on S3 two full 8 MiB parts and a remainder.
    let bytes = wav(1500);
    let file = split.scratch.path().join("voice.wav");
    std::fs::write(&file, &bytes).expect("write the file");
    let (status, single) = upload_to(a, key, &[("x-file-name", "voice.wav")], bytes.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{single}");
    let reference =
        comparable(probed(a, key, single["data"]["assetId"].as_str().expect("assetId")).await);
    assert_eq!(reference["probeStatus"], "ready", "{reference}");

    let tus_js_command = |endpoint: &str, protocol: &str, file: &Path| {
        let mut command = node::command(&tus_js, "tus_upload.mjs");
        command
            .env("TUS_ENDPOINT", endpoint)
            .env("TUS_KEY", key)
            .env("TUS_FILE", file)
            .env("TUS_PROTOCOL", protocol);
        command
    };
    let proxy = Proxy::start(a.trim_start_matches("http://")).await;
    for protocol in ["tus-v1", "ietf-draft-03", "ietf-draft-05"] {
        // One PATCH for the whole file through a proxy that cuts the connection 2 MB into it,
        // without retries: the server keeps what arrived before the cut.
        let mut first = tus_js_command(
            &format!("http://{}/v1/uploads", proxy.addr),
            protocol,
            &file,
        );
        first.env("TUS_RETRY_DELAYS", "[]");
        proxy.cut_after(10_000_000);
        let output = first.output().await.expect("run tus-js-client");
        assert!(
            !output.status.success(),
            "{protocol}: the cut upload failed"
        );
        let url = events(&output.stdout)
            .iter()
            .find_map(|e| (e["event"] == "created").then(|| e["url"].as_str().map(str::to_owned)))
            .flatten()
            .unwrap_or_else(|| {
                panic!(
                    "{protocol}: no upload created: {}",
                    String::from_utf8_lossy(&output.stdout)
                )
            });
        let path = path_of(&url);
        let mut kept = 0;
        for _ in 0..50 {
            kept = offset_of(&head(b, key, &path).await);
            if kept > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(
            kept > 0 && kept < bytes.len() as u64,
            "{protocol}: the cut request's bytes are kept (offset {kept})"
        );
        if matches!(split.storage, TestStorage::S3 { .. }) {
            // A part is full: the upload's own multipart upload is open in the bucket.
            assert_eq!(
                split.storage.open_uploads().await.len(),
                1,
                "{protocol}: one multipart upload"
            );
        }
        let mut resume = tus_js_command("", protocol, &file);
        resume.env("TUS_UPLOAD_URL", format!("{b}{path}"));
        let resumed = run_to_end(resume, protocol).await;
        let asset = probed(b, key, &asset_of(&resumed)).await;
        assert_eq!(comparable(asset), reference, "{protocol}: the same asset");
    }

    // tus-js-client SIGKILLed between 1 MB PATCHes through A, resumed through B.
    let mut first = tus_js_command(&format!("{a}/v1/uploads"), "tus-v1", &file);
    first.env("TUS_CHUNK_SIZE", "1000000");
    let url = kill_after(first, 2_000_000, "killed tus-js-client").await;
    let path = path_of(&url);
    assert!(offset_of(&head(b, key, &path).await) >= 2_000_000);
    let mut resume = tus_js_command("", "tus-v1", &file);
    resume
        .env("TUS_UPLOAD_URL", format!("{b}{path}"))
        .env("TUS_CHUNK_SIZE", "1000000");
    let resumed = run_to_end(resume, "killed tus-js-client").await;
    let asset = probed(b, key, &asset_of(&resumed)).await;
    assert_eq!(
        comparable(asset),
        reference,
        "killed and resumed: the same asset"
    );

    // tuspy, a checksum on every PATCH: stopped after two chunks through A, resumed through B.
    let tuspy_command = |extra: &[(&str, String)]| {
        let mut command = tokio::process::Command::new(&tuspy);
        command
            .arg(python::script("tus_upload.py"))
            .env("TUS_KEY", key)
            .env("TUS_FILE", &file)
            .env("TUS_CHUNK_SIZE", "1000000")
            .env("TUS_CHECKSUM", "1");
        for (name, value) in extra {
            command.env(name, value);
        }
        command
    };
    let stopped = tuspy_command(&[
        ("TUS_ENDPOINT", format!("{a}/v1/uploads")),
        ("TUS_STOP_AFTER_BYTES", "10000000".to_owned()),
    ])
    .output()
    .await
    .expect("run tuspy");
    let stopped_events = events(&stopped.stdout);
    let url = stopped_events
        .iter()
        .find_map(|e| (e["event"] == "created").then(|| e["url"].as_str().map(str::to_owned)))
        .flatten()
        .unwrap_or_else(|| {
            panic!(
                "tuspy created no upload: {stopped_events:?} {}",
                String::from_utf8_lossy(&stopped.stderr)
            )
        });
    let path = path_of(&url);
    assert_eq!(offset_of(&head(b, key, &path).await), 10_000_000);
    let events = run_to_end(
        tuspy_command(&[
            ("TUS_ENDPOINT", format!("{b}/v1/uploads")),
            ("TUS_UPLOAD_URL", format!("{b}{path}")),
        ]),
        "tuspy",
    )
    .await;
    let asset = probed(b, key, &asset_of(&events)).await;
    assert_eq!(comparable(asset), reference, "tuspy: the same asset");

    // tus-js-client's parallel uploads (concatenation), deferred length and data sent with the
    // creation (tus, and both drafts), through A.
    for (protocol, name) in [
        ("tus-v1", "TUS_PARALLEL"),
        ("tus-v1", "TUS_DEFER_LENGTH"),
        ("tus-v1", "TUS_DATA_DURING_CREATION"),
        ("ietf-draft-03", "TUS_DATA_DURING_CREATION"),
        ("ietf-draft-05", "TUS_DATA_DURING_CREATION"),
    ] {
        let mut command = tus_js_command(&format!("{a}/v1/uploads"), protocol, &file);
        let value = if name == "TUS_PARALLEL" { "3" } else { "1" };
        command.env(name, value).env("TUS_CHUNK_SIZE", "5000000");
        let events = run_to_end(command, name).await;
        let asset = probed(a, key, &asset_of(&events)).await;
        assert_eq!(
            comparable(asset),
            reference,
            "{protocol} {name}: the same asset"
        );
    }
    no_chunks_left(&split.storage).await;
}

#[tokio::test]
async fn real_clients_resume_across_gateways_sqlite_fs() {
    real_clients_resume_across_gateways(Engine::Sqlite, None).await;
}

#[tokio::test]
async fn real_clients_resume_across_gateways_postgres_s3() {
    let Some(storage) = TestStorage::s3().await else {
        return;
    };
    real_clients_resume_across_gateways(Engine::Postgres, Some(storage)).await;
}

fn tus(request: reqwest::RequestBuilder, key: &str) -> reqwest::RequestBuilder {
    request
        .header("x-api-key", key)
        .header("tus-resumable", "1.0.0")
}

fn filename_metadata(name: &str) -> String {
    use base64::Engine as _;
    format!(
        "filename {}",
        base64::engine::general_purpose::STANDARD.encode(name)
    )
}

/// Creates a tus upload of `length` bytes named `name`; its path.
async fn create(app: &Assetd, key: &str, length: usize, name: &str) -> String {
    let response = tus(Client::new().post(app.url("/v1/uploads")), key)
        .header("upload-length", length.to_string())
        .header("upload-metadata", filename_metadata(name))
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), StatusCode::CREATED);
    response.headers()["location"]
        .to_str()
        .expect("ascii")
        .to_owned()
}

async fn patch(
    app: &Assetd,
    key: &str,
    path: &str,
    offset: u64,
    body: Vec<u8>,
) -> reqwest::Response {
    tus(Client::new().patch(app.url(path)), key)
        .header("upload-offset", offset.to_string())
        .header("content-type", "application/offset+octet-stream")
        .body(body)
        .send()
        .await
        .expect("PATCH")
}

/// Termination removes the bytes at once; an upload of a refused kind goes at its first append;
/// a checksum mismatch keeps nothing of the request; versions and content types are checked;
/// and another account cannot see the upload.
#[tokio::test]
async fn termination_refusals_and_checks_leave_nothing_behind() {
    let Some(app) = Assetd::serve(Engine::Sqlite, None, Options::default()).await else {
        return;
    };
    let key = app.create_key("acme");
    let other = app.create_key("other");
    let bytes = wav(100);

    // Discovery.
    let options = Client::new()
        .request(reqwest::Method::OPTIONS, app.url("/v1/uploads"))
        .send()
        .await
        .expect("OPTIONS");
    assert_eq!(options.status(), StatusCode::NO_CONTENT);
    assert_eq!(options.headers()["tus-version"], "1.0.0");
    let extensions = options.headers()["tus-extension"].to_str().expect("ascii");
    for extension in [
        "creation",
        "creation-with-upload",
        "creation-defer-length",
        "termination",
        "checksum",
        "expiration",
        "concatenation",
    ] {
        assert!(extensions.split(',').any(|e| e == extension), "{extension}");
    }
    assert_eq!(options.headers()["tus-checksum-algorithm"], "sha1,sha256");

    // Termination after a partial append.
    let path = create(&app, &key, bytes.len(), "voice.wav").await;
    let appended = patch(&app, &key, &path, 0, bytes[..600_000].to_vec()).await;
    assert_eq!(appended.status(), StatusCode::NO_CONTENT);
    assert_eq!(offset_of(&appended), 600_000);
    assert!(
        app.storage
            .all_files()
            .await
            .iter()
            .any(|f| f.starts_with("uploads/"))
    );
    assert_eq!(
        head(&app.http, &other, &path).await.status(),
        StatusCode::NOT_FOUND,
        "another account's upload"
    );
    let deleted = tus(Client::new().delete(app.url(&path)), &key)
        .send()
        .await
        .expect("DELETE");
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        head(&app.http, &key, &path).await.status(),
        StatusCode::NOT_FOUND
    );
    assert!(
        app.storage.all_files().await.is_empty(),
        "{:?}",
        app.storage.all_files().await
    );

    // A checksum mismatch: 460, nothing kept.
    let path = create(&app, &key, bytes.len(), "voice.wav").await;
    let wrong = tus(Client::new().patch(app.url(&path)), &key)
        .header("upload-offset", "0")
        .header("content-type", "application/offset+octet-stream")
        .header("upload-checksum", "sha1 AAAAAAAAAAAAAAAAAAAAAAAAAAA=")
        .body(bytes[..100_000].to_vec())
        .send()
        .await
        .expect("PATCH");
    assert_eq!(wrong.status().as_u16(), 460);
    assert_eq!(offset_of(&head(&app.http, &key, &path).await), 0);
    assert!(app.storage.all_files().await.is_empty());
    let right = {
        use base64::Engine as _;
        use sha2::Digest as _;
        let digest = sha2::Sha256::digest(&bytes[..100_000]);
        base64::engine::general_purpose::STANDARD.encode(digest)
    };
    let verified = tus(Client::new().patch(app.url(&path)), &key)
        .header("upload-offset", "0")
        .header("content-type", "application/offset+octet-stream")
        .header("upload-checksum", format!("sha256 {right}"))
        .body(bytes[..100_000].to_vec())
        .send()
        .await
        .expect("PATCH");
    assert_eq!(
        verified.status(),
        StatusCode::NO_CONTENT,
        "a matching sha256 is kept"
    );
    assert_eq!(offset_of(&verified), 100_000);
    let deleted = tus(Client::new().delete(app.url(&path)), &key)
        .send()
        .await
        .expect("DELETE");
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let path = create(&app, &key, bytes.len(), "voice.wav").await;
    let mismatch = patch(&app, &key, &path, 5, bytes[..10].to_vec()).await;
    assert_eq!(mismatch.status(), StatusCode::CONFLICT);
    assert_eq!(
        offset_of(&mismatch),
        0,
        "409 names the offset to resume from"
    );

    // Wrong version, wrong content type.
    let old = Client::new()
        .post(app.url("/v1/uploads"))
        .header("x-api-key", &key)
        .header("tus-resumable", "0.2.2")
        .header("upload-length", "10")
        .send()
        .await
        .expect("POST");
    assert_eq!(old.status(), StatusCode::PRECONDITION_FAILED);
    assert_eq!(old.headers()["tus-version"], "1.0.0");
    let typed = tus(Client::new().patch(app.url(&path)), &key)
        .header("upload-offset", "0")
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .expect("PATCH");
    assert_eq!(typed.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    // A refused kind: decided from the first bytes, the upload goes.
    let pdf = std::iter::repeat_n(b"%PDF-1.7 not media ".as_slice(), 1000)
        .flatten()
        .copied()
        .collect::<Vec<u8>>();
    let path = create(&app, &key, pdf.len() * 2, "doc.pdf").await;
    let refused = patch(&app, &key, &path, 0, pdf.clone()).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: Value = refused.json().await.expect("problem");
    assert_eq!(problem["errorCode"], "UPLOAD_FILE_TYPE_UNSUPPORTED");
    assert_eq!(
        head(&app.http, &key, &path).await.status(),
        StatusCode::NOT_FOUND
    );

    // Too large for its kind, declared at creation: refused before any byte.
    let huge = tus(Client::new().post(app.url("/v1/uploads")), &key)
        .header("upload-length", (10u64 << 40).to_string())
        .header("upload-metadata", filename_metadata("big.mp4"))
        .send()
        .await
        .expect("POST");
    assert_eq!(huge.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // A declared audio length over the audio limit: refused at the first append.
    let path = create(&app, &key, 200 * 1024 * 1024, "long.wav").await;
    let over = patch(&app, &key, &path, 0, bytes[..20_000].to_vec()).await;
    assert_eq!(over.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        head(&app.http, &key, &path).await.status(),
        StatusCode::NOT_FOUND
    );

    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        app.storage.all_files().await.is_empty(),
        "{:?}",
        app.storage.all_files().await
    );
    assert_eq!(app.row_counts().await.0, 0, "no asset was recorded");
}

/// An unfinished upload expires (410, `Upload-Expires` given), the reaper removes its bytes and
/// its row, and the metric counts it.
#[tokio::test]
async fn expired_uploads_are_reaped() {
    let options = Options {
        extra_args: [
            "--resumable-upload-expiry-secs",
            "2",
            "--resumable-reap-every-secs",
            "1",
        ]
        .map(String::from)
        .to_vec(),
    };
    let Some(app) = Assetd::serve(Engine::Sqlite, None, options).await else {
        return;
    };
    let key = app.create_key("acme");
    let bytes = wav(20);
    let path = create(&app, &key, bytes.len(), "voice.wav").await;
    let appended = patch(&app, &key, &path, 0, bytes[..100_000].to_vec()).await;
    assert_eq!(appended.status(), StatusCode::NO_CONTENT);
    assert!(appended.headers().contains_key("upload-expires"));
    assert!(!app.storage.all_files().await.is_empty());
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let gone = head(&app.http, &key, &path).await.status();
    assert!(
        matches!(gone, StatusCode::GONE | StatusCode::NOT_FOUND),
        "{gone}"
    );
    for _ in 0..100 {
        let expired = metric(
            &metrics(&app).await,
            "assetd_resumable_uploads_expired_total{state=\"unfinished\"}",
        );
        if expired >= 1.0 && app.storage.all_files().await.is_empty() {
            let pool = app.db.pool().await;
            let rows: i64 = sqlx::Row::get(
                &sqlx::query("SELECT CAST(COUNT(*) AS BIGINT) AS n FROM resumable_uploads")
                    .fetch_one(&pool)
                    .await
                    .expect("count"),
                "n",
            );
            assert_eq!(rows, 0, "the row is gone");
            assert_eq!(
                head(&app.http, &key, &path).await.status(),
                StatusCode::NOT_FOUND
            );
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "the expired upload was not reaped: {:?}",
        app.storage.all_files().await
    );
}

/// Two appends to one upload at once, through two gateways: the second is refused with 423 and
/// `Retry-After` while the first holds the upload's lease in the catalog, and goes through once
/// the first has finished.
#[tokio::test]
async fn concurrent_appends_are_serialized_across_gateways() {
    let Some((split, second, _prober)) = two_gateways(Engine::Sqlite, None).await else {
        return;
    };
    let (a, b, key) = (&split.gateway.addr, &second.addr, &split.key);
    let bytes = wav(100);
    let created = tus(Client::new().post(format!("{a}/v1/uploads")), key)
        .header("upload-length", bytes.len().to_string())
        .header("upload-metadata", filename_metadata("voice.wav"))
        .send()
        .await
        .expect("POST");
    assert_eq!(created.status(), StatusCode::CREATED);
    let path = created.headers()["location"]
        .to_str()
        .expect("ascii")
        .to_owned();

    // The first append streams its body slowly through A.
    let (feed, body) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
    let first = {
        let url = format!("{a}{path}");
        let key = key.clone();
        tokio::spawn(async move {
            tus(Client::new().patch(url), &key)
                .header("upload-offset", "0")
                .header("content-type", "application/offset+octet-stream")
                .header("content-length", "800000")
                .body(reqwest::Body::wrap_stream(
                    tokio_stream::wrappers::ReceiverStream::new(body),
                ))
                .send()
                .await
                .expect("first PATCH")
        })
    };
    feed.send(Ok(bytes[..400_000].to_vec()))
        .await
        .expect("feed");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let locked = tus(Client::new().patch(format!("{b}{path}")), key)
        .header("upload-offset", "0")
        .header("content-type", "application/offset+octet-stream")
        .body(bytes[..1000].to_vec())
        .send()
        .await
        .expect("second PATCH");
    assert_eq!(locked.status(), StatusCode::LOCKED);
    assert_eq!(locked.headers()["retry-after"], "1");
    feed.send(Ok(bytes[400_000..800_000].to_vec()))
        .await
        .expect("feed");
    drop(feed);
    let first = first.await.expect("first task");
    assert_eq!(first.status(), StatusCode::NO_CONTENT);
    assert_eq!(offset_of(&first), 800_000);
    // Now B continues from where A left it, and the upload completes.
    let rest = tus(Client::new().patch(format!("{b}{path}")), key)
        .header("upload-offset", "800000")
        .header("content-type", "application/offset+octet-stream")
        .body(bytes[800_000..].to_vec())
        .send()
        .await
        .expect("last PATCH");
    assert_eq!(rest.status(), StatusCode::NO_CONTENT);
    let asset_id = rest.headers()["x-asset-id"]
        .to_str()
        .expect("ascii")
        .to_owned();
    let asset = probed(b, key, &asset_id).await;
    assert_eq!(asset["size"], bytes.len());
    assert_eq!(asset["probeStatus"], "ready", "{asset}");
}

/// The newest draft (interop 8), which no client library speaks yet: creation without data,
/// offset retrieval, a mismatched offset, an append in `application/partial-upload`, and the
/// completing append answered like `POST /v1/uploads` (201 and the asset).
#[tokio::test]
async fn the_newest_draft_interop_8() {
    let Some(app) = Assetd::serve(Engine::Sqlite, None, Options::default()).await else {
        return;
    };
    let key = app.create_key("acme");
    let bytes = wav(10);
    let ietf = |request: reqwest::RequestBuilder| {
        request
            .header("x-api-key", &key)
            .header("upload-draft-interop-version", "8")
    };
    let created = ietf(Client::new().post(app.url("/v1/uploads")))
        .header("upload-complete", "?0")
        .header("upload-length", bytes.len().to_string())
        .header("x-file-name", "voice.wav")
        .send()
        .await
        .expect("POST");
    assert_eq!(created.status(), StatusCode::CREATED);
    let path = created.headers()["location"]
        .to_str()
        .expect("ascii")
        .to_owned();
    let limit = created.headers()["upload-limit"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(
        limit.contains("max-size=") && limit.contains("max-age="),
        "{limit}"
    );
    let append = |offset: usize, end: usize, complete: &str| {
        ietf(Client::new().patch(app.url(&path)))
            .header("upload-offset", offset.to_string())
            .header("upload-complete", complete.to_owned())
            .header("content-type", "application/partial-upload")
            .body(bytes[offset..end].to_vec())
            .send()
    };
    let first = append(0, 50_000, "?0").await.expect("PATCH");
    assert_eq!(first.status(), StatusCode::NO_CONTENT);
    assert_eq!(first.headers()["upload-complete"], "?0");
    let offset = ietf(Client::new().head(app.url(&path)))
        .send()
        .await
        .expect("HEAD");
    assert_eq!(offset.status(), StatusCode::NO_CONTENT);
    assert_eq!(offset.headers()["upload-offset"], "50000");
    assert_eq!(offset.headers()["cache-control"], "no-store");
    assert_eq!(
        offset.headers()["upload-length"],
        bytes.len().to_string().as_str()
    );
    let conflict = append(10, 20, "?0").await.expect("PATCH");
    assert_eq!(conflict.status(), StatusCode::CONFLICT);
    assert_eq!(conflict.headers()["upload-offset"], "50000");
    let last = append(50_000, bytes.len(), "?1").await.expect("PATCH");
    assert_eq!(last.status(), StatusCode::CREATED);
    assert_eq!(last.headers()["upload-complete"], "?1");
    let body: Value = last.json().await.expect("the asset");
    assert_eq!(body["data"]["size"], bytes.len());
    assert_eq!(body["data"]["type"], "AUDIO");
    let done = ietf(Client::new().head(app.url(&path)))
        .send()
        .await
        .expect("HEAD");
    assert_eq!(done.headers()["upload-complete"], "?1");
    assert_eq!(
        done.headers()["x-asset-id"],
        body["data"]["assetId"].as_str().expect("id")
    );
}
