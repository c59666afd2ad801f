//! Uploads that fail after the storage writer has begun (bodies larger than its buffer and than
//! an S3 multipart part): a client cut, a body over the limit, a body shorter than its
//! `Content-Length`, storage failing mid-write and the shutdown deadline each leave no row, no
//! object, nothing under `.incoming/` and no open multipart upload.

use std::time::{Duration, Instant};

use assetd_tests::{Assetd, Engine, Options, Proxy, TestStorage};
use reqwest::StatusCode;
use serde_json::Value;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::bad_input::{assert_nothing_left, parse_response, png_of_len, snapshot};

const MIB: usize = 1024 * 1024;
/// The image limit these apps run with: three S3 parts (8 MiB each), 24 filesystem writes.
const LIMIT: usize = 24 * MIB;
/// What a cut upload declares, and how much of it arrives before the failure: more than two S3
/// parts (the writer starts the multipart upload once a second part is full), so a multipart
/// upload is open when the failure comes.
const DECLARED: usize = 20 * MIB;
const BEFORE_FAILURE: usize = 17 * MIB;

fn options() -> Options {
    Options {
        extra_args: vec![
            "--image-max-bytes".into(),
            LIMIT.to_string(),
            "--shutdown-grace-secs".into(),
            "1".into(),
        ],
    }
}

/// One upload over a raw socket, so the test decides when each byte goes and when to stop.
struct RawUpload {
    writer: tokio::net::tcp::OwnedWriteHalf,
    chunked: bool,
    /// Reads the answer while the body is still being sent: the server may answer early.
    answer: tokio::task::JoinHandle<Vec<u8>>,
}

impl RawUpload {
    /// Starts `POST /v1/uploads` with a `Content-Length` of `declared`, or chunked without one.
    async fn start(app: &Assetd, key: &str, declared: Option<usize>) -> Self {
        let addr = app.http.trim_start_matches("http://").to_owned();
        let socket = TcpStream::connect(&addr).await.expect("connect");
        let (mut reader, mut writer) = socket.into_split();
        let length = match declared {
            Some(len) => format!("content-length: {len}"),
            None => "transfer-encoding: chunked".to_owned(),
        };
        let head = format!(
            "POST /v1/uploads HTTP/1.1\r\nHost: x\r\nx-api-key: {key}\r\nx-file-name: big.png\r\n{length}\r\nconnection: close\r\n\r\n"
        );
        writer.write_all(head.as_bytes()).await.expect("write head");
        let answer = tokio::spawn(async move {
            let mut answer = Vec::new();
            let _ = reader.read_to_end(&mut answer).await;
            answer
        });
        Self {
            writer,
            chunked: declared.is_none(),
            answer,
        }
    }

    /// Sends `bytes` in 64 KiB writes; stops quietly once the server no longer reads.
    async fn send(&mut self, bytes: &[u8]) {
        for piece in bytes.chunks(64 * 1024) {
            let written = if self.chunked {
                let mut framed = format!("{:x}\r\n", piece.len()).into_bytes();
                framed.extend_from_slice(piece);
                framed.extend_from_slice(b"\r\n");
                self.writer.write_all(&framed).await
            } else {
                self.writer.write_all(piece).await
            };
            if written.is_err() {
                return;
            }
        }
    }

    /// Ends the body (or stops sending, for a body shorter than declared) and reads the answer.
    async fn finish(mut self, app: &Assetd) -> (StatusCode, Value) {
        if self.chunked {
            let _ = self.writer.write_all(b"0\r\n\r\n").await;
        }
        let _ = self.writer.shutdown().await;
        let answer = within_a_minute(self.answer, app).await;
        parse_response(&answer)
    }

    /// Waits for the answer while the body is still open (the server answers on its own).
    async fn answer(self, app: &Assetd) -> (StatusCode, Value) {
        let answer = within_a_minute(self.answer, app).await;
        drop(self.writer);
        parse_response(&answer)
    }

    /// Hangs up mid-body without reading the answer.
    fn hang_up(self) {
        self.answer.abort();
        drop(self.writer);
    }
}

/// The answer the reader task collected, or a panic with assetd's log after a minute.
async fn within_a_minute(reader: tokio::task::JoinHandle<Vec<u8>>, app: &Assetd) -> Vec<u8> {
    match tokio::time::timeout(Duration::from_secs(60), reader).await {
        Ok(answer) => answer.expect("reader"),
        Err(_) => panic!("no answer within 60 s; assetd's log:\n{}", app.log()),
    }
}

/// Waits until the storage holds an unfinished write: the failure that follows comes after the
/// writer began, so only an abort can clean it up.
async fn wait_partial_write(storage: &TestStorage, case: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while storage.partial_writes().await == 0 {
        assert!(
            Instant::now() < deadline,
            "{case}: no unfinished write appeared in storage"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The failures that need nothing but the client: a hang-up, a short body, a body over the limit.
async fn client_failures(app: &Assetd, key: &str) {
    let body = png_of_len(LIMIT + 6 * MIB);

    let before = snapshot(app).await;
    let mut upload = RawUpload::start(app, key, Some(DECLARED)).await;
    upload.send(&body[..BEFORE_FAILURE]).await;
    wait_partial_write(&app.storage, "hang-up").await;
    upload.hang_up();
    assert_nothing_left(app, &before, "hang-up mid-body").await;

    let before = snapshot(app).await;
    let mut upload = RawUpload::start(app, key, Some(DECLARED)).await;
    upload.send(&body[..BEFORE_FAILURE]).await;
    wait_partial_write(&app.storage, "short body").await;
    let (status, answer) = upload.finish(app).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "short body: {answer}");
    assert_eq!(answer["errorCode"], "UPLOAD_INCOMPLETE", "{answer}");
    assert_nothing_left(app, &before, "shorter than Content-Length").await;

    let before = snapshot(app).await;
    let mut upload = RawUpload::start(app, key, None).await;
    upload.send(&body).await;
    let (status, answer) = upload.finish(app).await;
    assert_eq!(
        status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "over the limit: {answer}"
    );
    assert_eq!(answer["errorCode"], "UPLOAD_TOO_LARGE", "{answer}");
    assert_nothing_left(app, &before, "over the limit, chunked").await;
}

/// SIGTERM while an upload streams: at the grace deadline it is cut, answered 503 and undone.
async fn shutdown_deadline(mut app: Assetd, key: &str) {
    let body = png_of_len(DECLARED);
    let before = snapshot(&app).await;
    let mut upload = RawUpload::start(&app, key, Some(DECLARED)).await;
    upload.send(&body[..BEFORE_FAILURE]).await;
    wait_partial_write(&app.storage, "shutdown deadline").await;
    let pid = app.pid().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill")
            .success()
    );
    let (status, answer) = upload.answer(&app).await;
    assert_eq!(
        status,
        StatusCode::SERVICE_UNAVAILABLE,
        "cut at the deadline: {answer}"
    );
    assert_eq!(answer["errorCode"], "SERVICE_UNAVAILABLE", "{answer}");
    assert!(
        app.wait_exit(Duration::from_secs(15)),
        "assetd exits 0 after the deadline"
    );
    assert_nothing_left(&app, &before, "shutdown deadline").await;
}

#[tokio::test]
async fn midstream_failures_leave_nothing_fs() {
    let Some(app) = Assetd::serve(Engine::Sqlite, None, options()).await else {
        return;
    };
    let key = app.create_key("acme");
    client_failures(&app, &key).await;
    shutdown_deadline(app, &key).await;
}

#[tokio::test]
async fn midstream_failures_leave_nothing_s3() {
    let Some(TestStorage::S3 { endpoint, bucket }) = TestStorage::s3().await else {
        return;
    };
    // The app reaches the bucket through a proxy the test can cut; the checks go through it too,
    // once it is back on.
    let proxy = Proxy::start(endpoint.trim_start_matches("http://")).await;
    let storage = TestStorage::S3 {
        endpoint: format!("http://{}", proxy.addr),
        bucket,
    };
    let Some(app) = Assetd::serve(Engine::Sqlite, Some(storage), options()).await else {
        return;
    };
    let key = app.create_key("acme");
    client_failures(&app, &key).await;

    // Storage goes away once the multipart upload is open: the upload fails with 503, and the
    // multipart upload is aborted once storage is back.
    let body = png_of_len(DECLARED);
    let before = snapshot(&app).await;
    let mut upload = RawUpload::start(&app, &key, Some(DECLARED)).await;
    upload.send(&body[..BEFORE_FAILURE]).await;
    wait_partial_write(&app.storage, "storage failing").await;
    proxy.set_enabled(false);
    upload.send(&body[BEFORE_FAILURE..]).await;
    // The body is complete; the answer comes once the write has failed (no half-close, which
    // HTTP/1 servers take for a hang-up).
    let (status, answer) = upload.answer(&app).await;
    proxy.set_enabled(true);
    assert_eq!(
        status,
        StatusCode::SERVICE_UNAVAILABLE,
        "storage failing: {answer}\nlog:\n{}",
        app.log()
    );
    assert_eq!(answer["errorCode"], "SERVICE_UNAVAILABLE", "{answer}");
    assert_nothing_left(&app, &before, "storage failing mid-write").await;

    shutdown_deadline(app, &key).await;
}
