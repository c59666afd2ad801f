//! Every upload error code, table-driven; after each case no asset row, binding, stored object or
//! open multipart upload remains.

use std::time::{Duration, Instant};

use assetd_tests::{Assetd, Engine, Options, TestStorage, fixture};
use bytes::Bytes;
use reqwest::{Client, StatusCode};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::{account_of, create_project};

/// Image limit the bad-input app runs with, so "too large" needs only a few KiB.
pub const IMAGE_LIMIT: u64 = 4096;

pub fn small_limits() -> Options {
    Options {
        extra_args: vec!["--image-max-bytes".into(), IMAGE_LIMIT.to_string()],
    }
}

/// A PNG of `len` bytes: the fixture, zero-padded (past sniffing and, when large, into the
/// storage writer).
pub(crate) fn png_of_len(len: usize) -> Vec<u8> {
    let mut bytes = fixture("hero.png");
    bytes.resize(len, 0);
    bytes
}

enum Body {
    Fixed(Vec<u8>),
    Chunked(Vec<u8>),
}

struct Case {
    name: &'static str,
    key: Key,
    headers: Vec<(&'static str, String)>,
    body: Body,
    status: StatusCode,
    error_code: &'static str,
}

enum Key {
    Valid,
    Disabled,
    Missing,
    Wrong,
}

/// Runs the whole table against `app` and checks that nothing is left behind after each case.
pub async fn run_table(app: &Assetd) {
    let key = app.create_key("acme");
    let disabled = app.create_key("dormant");
    app.disable_account("dormant");
    let other_key = app.create_key("other");
    let other_project = create_project(app, &account_of(app, &other_key).await).await;
    let name = || ("x-file-name", "hero.png".to_owned());
    let png = fixture("hero.png");

    let cases = vec![
        Case {
            name: "no key",
            key: Key::Missing,
            headers: vec![name()],
            body: Body::Fixed(png.clone()),
            status: StatusCode::UNAUTHORIZED,
            error_code: "OPEN_API_KEY_INVALID",
        },
        Case {
            name: "wrong key",
            key: Key::Wrong,
            headers: vec![name()],
            body: Body::Fixed(png.clone()),
            status: StatusCode::UNAUTHORIZED,
            error_code: "OPEN_API_KEY_INVALID",
        },
        Case {
            name: "disabled account",
            key: Key::Disabled,
            headers: vec![name()],
            body: Body::Fixed(png.clone()),
            status: StatusCode::FORBIDDEN,
            error_code: "OPEN_API_RUNTIME_ACCESS_FORBIDDEN",
        },
        Case {
            name: "no file name",
            key: Key::Valid,
            headers: vec![],
            body: Body::Fixed(png.clone()),
            status: StatusCode::BAD_REQUEST,
            error_code: "UPLOAD_FILE_NAME_INVALID",
        },
        Case {
            name: "empty file name",
            key: Key::Valid,
            headers: vec![("x-file-name", String::new())],
            body: Body::Fixed(png.clone()),
            status: StatusCode::BAD_REQUEST,
            error_code: "UPLOAD_FILE_NAME_INVALID",
        },
        Case {
            name: "513-char file name",
            key: Key::Valid,
            headers: vec![("x-file-name", "a".repeat(513))],
            body: Body::Fixed(png.clone()),
            status: StatusCode::BAD_REQUEST,
            error_code: "UPLOAD_FILE_NAME_INVALID",
        },
        Case {
            name: "project id not a uuid",
            key: Key::Valid,
            headers: vec![name(), ("x-project-id", "p-1".into())],
            body: Body::Fixed(png.clone()),
            status: StatusCode::BAD_REQUEST,
            error_code: "UPLOAD_PROJECT_ID_INVALID",
        },
        Case {
            name: "unknown project",
            key: Key::Valid,
            headers: vec![name(), ("x-project-id", uuid::Uuid::new_v4().to_string())],
            body: Body::Fixed(png.clone()),
            status: StatusCode::NOT_FOUND,
            error_code: "PROJECT_NOT_FOUND",
        },
        Case {
            name: "another account's project",
            key: Key::Valid,
            headers: vec![name(), ("x-project-id", other_project.clone())],
            body: Body::Fixed(png.clone()),
            status: StatusCode::NOT_FOUND,
            error_code: "PROJECT_NOT_FOUND",
        },
        Case {
            name: "empty body",
            key: Key::Valid,
            headers: vec![name()],
            body: Body::Fixed(vec![]),
            status: StatusCode::BAD_REQUEST,
            error_code: "UPLOAD_BODY_EMPTY",
        },
        Case {
            name: "empty chunked body",
            key: Key::Valid,
            headers: vec![name()],
            body: Body::Chunked(vec![]),
            status: StatusCode::BAD_REQUEST,
            error_code: "UPLOAD_BODY_EMPTY",
        },
        Case {
            name: "lottie json",
            key: Key::Valid,
            headers: vec![
                ("x-file-name", "anim.json".into()),
                ("content-type", "application/json".into()),
            ],
            body: Body::Fixed(fixture("lottie.json")),
            status: StatusCode::UNPROCESSABLE_ENTITY,
            error_code: "UPLOAD_FILE_TYPE_UNSUPPORTED",
        },
        Case {
            name: "pdf declared as png",
            key: Key::Valid,
            headers: vec![name(), ("content-type", "image/png".into())],
            body: Body::Fixed(fixture("doc.pdf")),
            status: StatusCode::UNPROCESSABLE_ENTITY,
            error_code: "UPLOAD_FILE_TYPE_UNSUPPORTED",
        },
        Case {
            name: "plain text",
            key: Key::Valid,
            headers: vec![("x-file-name", "notes.srt".into())],
            body: Body::Chunked(b"just some words\n".repeat(1000)),
            status: StatusCode::UNPROCESSABLE_ENTITY,
            error_code: "UPLOAD_FILE_TYPE_UNSUPPORTED",
        },
        Case {
            name: "over the limit by content-length",
            key: Key::Valid,
            headers: vec![name()],
            body: Body::Fixed(png_of_len(IMAGE_LIMIT as usize + 1)),
            status: StatusCode::PAYLOAD_TOO_LARGE,
            error_code: "UPLOAD_TOO_LARGE",
        },
        Case {
            name: "over the limit, chunked",
            key: Key::Valid,
            headers: vec![name()],
            body: Body::Chunked(png_of_len(IMAGE_LIMIT as usize * 50)),
            status: StatusCode::PAYLOAD_TOO_LARGE,
            error_code: "UPLOAD_TOO_LARGE",
        },
        Case {
            name: "over every limit by content-length",
            key: Key::Valid,
            headers: vec![
                name(),
                ("content-length-override", (2u64 << 40).to_string()),
            ],
            body: Body::Fixed(png.clone()),
            status: StatusCode::PAYLOAD_TOO_LARGE,
            error_code: "UPLOAD_TOO_LARGE",
        },
    ];

    for case in cases {
        let before = snapshot(app).await;
        let (status, body) = if let Some((_, declared)) = case
            .headers
            .iter()
            .find(|(n, _)| *n == "content-length-override")
        {
            raw_declared_length(app, &key, declared).await
        } else {
            send(app, &case, &key, &disabled).await
        };
        assert_eq!(status, case.status, "{}: {body}", case.name);
        assert_eq!(body["errorCode"], case.error_code, "{}: {body}", case.name);
        assert_eq!(body["status"], case.status.as_u16(), "{}", case.name);
        assert!(
            body["type"].is_string() && body["title"].is_string() && body["detail"].is_string(),
            "{}: {body}",
            case.name
        );
        assert_nothing_left(app, &before, case.name).await;
    }

    // A client that declares more than it sends, then stops sending.
    let before = snapshot(app).await;
    let (status, body) = short_body(app, &key, false).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "short body: {body}");
    assert_eq!(body["errorCode"], "UPLOAD_INCOMPLETE");
    assert_nothing_left(app, &before, "short body").await;

    // A client that hangs up mid-body: nobody reads the answer, but nothing may stay.
    let before = snapshot(app).await;
    short_body(app, &key, true).await;
    assert_nothing_left(app, &before, "hang-up").await;

    // The server is still healthy afterwards.
    let (status, _) = crate::upload(app, &key, &[("x-file-name", "hero.png")], png).await;
    assert_eq!(status, StatusCode::CREATED);
}

async fn send(
    app: &Assetd,
    case: &Case,
    key: &str,
    disabled: &str,
) -> (StatusCode, serde_json::Value) {
    let mut request = Client::new().post(app.url("/v1/uploads"));
    request = match case.key {
        Key::Valid => request.header("x-api-key", key),
        Key::Disabled => request.bearer_auth(disabled),
        Key::Missing => request,
        Key::Wrong => request.header("x-api-key", "adk_0000"),
    };
    for (name, value) in &case.headers {
        request = request.header(*name, value);
    }
    request = match &case.body {
        Body::Fixed(bytes) => request.body(bytes.clone()),
        Body::Chunked(bytes) => {
            let chunks: Vec<Result<Bytes, std::io::Error>> = bytes
                .chunks(1000)
                .map(|c| Ok(Bytes::copy_from_slice(c)))
                .collect();
            request.body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
        }
    };
    let response = request.send().await.expect("send");
    let status = response.status();
    (
        status,
        response.json().await.unwrap_or(serde_json::Value::Null),
    )
}

async fn raw_request(
    app: &Assetd,
    head: String,
    body: &[u8],
    hang_up: bool,
) -> (StatusCode, serde_json::Value) {
    let addr = app.http.trim_start_matches("http://").to_owned();
    let mut socket = TcpStream::connect(&addr).await.expect("connect");
    socket.write_all(head.as_bytes()).await.expect("write head");
    let _ = socket.write_all(body).await;
    if hang_up {
        drop(socket);
        return (StatusCode::OK, serde_json::Value::Null);
    }
    let _ = socket.shutdown().await;
    let mut response = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), socket.read_to_end(&mut response)).await;
    parse_response(&response)
}

/// The status and problem-details body of a raw HTTP/1.1 answer; 418 when there is none.
pub(crate) fn parse_response(response: &[u8]) -> (StatusCode, serde_json::Value) {
    let text = String::from_utf8_lossy(response);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse::<u16>().ok())
        .and_then(|code| StatusCode::from_u16(code).ok())
        .unwrap_or(StatusCode::IM_A_TEAPOT);
    let json = text
        .split_once("\r\n\r\n")
        .and_then(|(_, b)| serde_json::from_str(b).ok())
        .unwrap_or_default();
    (status, json)
}

async fn raw_declared_length(
    app: &Assetd,
    key: &str,
    declared: &str,
) -> (StatusCode, serde_json::Value) {
    let head = format!(
        "POST /v1/uploads HTTP/1.1\r\nHost: x\r\nx-api-key: {key}\r\nx-file-name: hero.png\r\ncontent-length: {declared}\r\nconnection: close\r\n\r\n"
    );
    raw_request(app, head, &[], false).await
}

async fn short_body(app: &Assetd, key: &str, hang_up: bool) -> (StatusCode, serde_json::Value) {
    let body = png_of_len(3000);
    let head = format!(
        "POST /v1/uploads HTTP/1.1\r\nHost: x\r\nx-api-key: {key}\r\nx-file-name: hero.png\r\ncontent-length: 4000\r\nconnection: close\r\n\r\n"
    );
    raw_request(app, head, &body, hang_up).await
}

#[derive(Debug, PartialEq)]
pub(crate) struct Snapshot {
    rows: (i64, i64),
    files: Vec<String>,
    open_uploads: Vec<String>,
}

pub(crate) async fn snapshot(app: &Assetd) -> Snapshot {
    Snapshot {
        rows: app.row_counts().await,
        files: app.storage.all_files().await,
        open_uploads: app.storage.open_uploads().await,
    }
}

/// Cleanup after a cut connection runs in the background: allow it a few seconds.
pub(crate) async fn assert_nothing_left(app: &Assetd, before: &Snapshot, case: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let now = snapshot(app).await;
        if &now == before {
            return;
        }
        if Instant::now() > deadline {
            panic!(
                "{case}: left something behind: before {before:?}, after {now:?}\nlog:\n{}",
                app.log()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn bad_input_leaves_nothing_sqlite() {
    let Some(app) = Assetd::serve(Engine::Sqlite, None, small_limits()).await else {
        return;
    };
    run_table(&app).await;
}

#[tokio::test]
async fn bad_input_leaves_nothing_postgres() {
    let Some(app) = Assetd::serve(Engine::Postgres, None, small_limits()).await else {
        return;
    };
    run_table(&app).await;
}

#[tokio::test]
async fn bad_input_leaves_nothing_s3() {
    let Some(storage) = TestStorage::s3().await else {
        return;
    };
    let Some(app) = Assetd::serve(Engine::Sqlite, Some(storage), small_limits()).await else {
        return;
    };
    run_table(&app).await;
}

/// The probe job's insert fails inside the asset's transaction (a trigger raises): the upload
/// is refused, and neither the asset row nor the object remains; later uploads work again.
#[tokio::test]
async fn a_failing_probe_job_insert_leaves_nothing_postgres() {
    let Some(app) = Assetd::serve(Engine::Postgres, None, Options::default()).await else {
        return;
    };
    let key = app.create_key("acme");
    let (status, _) = crate::upload(
        &app,
        &key,
        &[("x-file-name", "hero.png")],
        fixture("hero.png"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "the first upload works");
    let before = snapshot(&app).await;

    let pool = app.db.pool().await;
    for statement in [
        "CREATE FUNCTION e2e_refuse_probe_job() RETURNS trigger LANGUAGE plpgsql AS \
         $$ BEGIN RAISE EXCEPTION 'e2e: probe job insert refused'; END $$",
        "CREATE TRIGGER e2e_refuse_probe_job BEFORE INSERT ON probe_jobs \
         FOR EACH ROW EXECUTE FUNCTION e2e_refuse_probe_job()",
    ] {
        sqlx::query(statement)
            .execute(&pool)
            .await
            .expect("install the trigger");
    }
    let (status, body) = crate::upload(
        &app,
        &key,
        &[("x-file-name", "hero.png")],
        png_of_len(3 * 1024 * 1024),
    )
    .await;
    assert!(
        status.is_server_error(),
        "an upload whose probe job cannot be written must fail, got {status} {body}"
    );
    assert!(body["errorCode"].is_string(), "problem details: {body}");
    assert_nothing_left(&app, &before, "failed probe-job insert").await;

    sqlx::query("DROP TRIGGER e2e_refuse_probe_job ON probe_jobs")
        .execute(&pool)
        .await
        .expect("drop the trigger");
    pool.close().await;
    let (status, _) = crate::upload(
        &app,
        &key,
        &[("x-file-name", "hero.png")],
        fixture("hero.png"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "uploads work again");
}
