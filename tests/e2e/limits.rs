//! The edge's defences against slow and abusive clients, over raw sockets: header, idle and body
//! timeouts, the connection cap, HTTP/2 settings, per-key rate limits and the upload caps, and a
//! slow but steady client that must still get through.

use std::time::{Duration, Instant};

use assetd_tests::{Assetd, Engine, Options, fixture};
use reqwest::{Client, StatusCode};
use serde_json::Value;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::bad_input::{assert_nothing_left, png_of_len, snapshot};
use crate::{metric, metrics};

fn options(args: &[&str]) -> Options {
    Options {
        extra_args: args.iter().map(|a| (*a).to_owned()).collect(),
    }
}

async fn connect(app: &Assetd) -> TcpStream {
    TcpStream::connect(app.http.trim_start_matches("http://"))
        .await
        .expect("connect")
}

/// Reads until the server closes the connection; returns what it sent and when it closed.
async fn read_until_closed(socket: &mut TcpStream, within: Duration) -> (Vec<u8>, Instant) {
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, socket.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (received, Instant::now()),
            Ok(Ok(n)) => received.extend_from_slice(&buf[..n]),
            Err(_) => panic!(
                "the server kept the connection open for {within:?}; it sent {:?}",
                String::from_utf8_lossy(&received)
            ),
        }
    }
}

/// Reads one HTTP/1.1 response with a `content-length` body; returns its status line and head.
async fn read_response(socket: &mut TcpStream) -> (u16, String) {
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(Duration::from_secs(10), socket.read(&mut buf))
            .await
            .expect("a response within 10 s")
            .expect("read");
        assert!(n > 0, "closed before a whole response");
        received.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&received).to_string();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let len: usize = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().expect("length"))
                })
                .unwrap_or(0);
            if body.len() >= len {
                let status = head
                    .split_whitespace()
                    .nth(1)
                    .and_then(|s| s.parse().ok())
                    .expect("status");
                return (status, head.to_owned());
            }
        }
    }
}

#[tokio::test]
async fn stalled_connections_are_closed_and_busy_ones_kept() {
    let Some(app) = Assetd::serve(
        Engine::Sqlite,
        None,
        options(&[
            "--http-header-timeout-secs",
            "1",
            "--http-idle-timeout-secs",
            "2",
        ]),
    )
    .await
    else {
        return;
    };

    // Half a request's headers, then nothing: closed after the header timeout.
    let mut half = connect(&app).await;
    let opened = Instant::now();
    half.write_all(b"POST /v1/uploads HTTP/1.1\r\nHost: x\r\nx-file-name: a")
        .await
        .expect("write");
    let (_, closed) = read_until_closed(&mut half, Duration::from_secs(10)).await;
    let took = closed - opened;
    assert!(
        (Duration::from_millis(900)..Duration::from_secs(4)).contains(&took),
        "half headers closed after {took:?}"
    );

    // A connection that never sends a byte: the header timeout as well.
    let mut silent = connect(&app).await;
    let opened = Instant::now();
    let (_, closed) = read_until_closed(&mut silent, Duration::from_secs(10)).await;
    assert!(
        closed - opened < Duration::from_secs(4),
        "silent connection kept {:?}",
        closed - opened
    );

    // Kept alive: used again within the idle timeout it stays, idle past it it is closed.
    let mut kept = connect(&app).await;
    let get = b"GET /openapi.json HTTP/1.1\r\nHost: x\r\n\r\n";
    kept.write_all(get).await.expect("write");
    assert_eq!(read_response(&mut kept).await.0, 200);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    kept.write_all(get).await.expect("write");
    assert_eq!(
        read_response(&mut kept).await.0,
        200,
        "1.5 s idle is within the 2 s idle timeout (and past the 1 s header timeout)"
    );
    let answered = Instant::now();
    let (_, closed) = read_until_closed(&mut kept, Duration::from_secs(10)).await;
    let idle = closed - answered;
    assert!(
        (Duration::from_millis(1800)..Duration::from_secs(5)).contains(&idle),
        "idle keep-alive closed after {idle:?}"
    );

    let text = metrics(&app).await;
    assert!(
        metric(
            &text,
            "assetd_http_connections_closed_total{reason=\"header_timeout\"}"
        ) >= 2.0,
        "{text}"
    );
    assert!(
        metric(
            &text,
            "assetd_http_connections_closed_total{reason=\"idle_timeout\"}"
        ) >= 1.0,
        "{text}"
    );
}

#[tokio::test]
async fn a_stalled_upload_is_cut_and_leaves_nothing() {
    let Some(app) = Assetd::serve(
        Engine::Sqlite,
        None,
        options(&["--upload-idle-timeout-secs", "1"]),
    )
    .await
    else {
        return;
    };
    let key = app.create_key("acme");
    let before = snapshot(&app).await;
    // Three times the storage writer's 1 MiB buffer: the object is being written when the
    // body stops, so only the writer's abort can leave nothing behind.
    let body = png_of_len(3 * 1024 * 1024);
    let mut socket = connect(&app).await;
    socket
        .write_all(
            format!(
                "POST /v1/uploads HTTP/1.1\r\nHost: x\r\nx-api-key: {key}\r\nx-file-name: hero.png\r\ncontent-length: {}\r\n\r\n",
                body.len() * 4
            )
            .as_bytes(),
        )
        .await
        .expect("head");
    socket.write_all(&body).await.expect("part of the body");
    let sent = Instant::now();
    let (received, _) = read_until_closed(&mut socket, Duration::from_secs(10)).await;
    let text = String::from_utf8_lossy(&received);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(
        text.to_ascii_lowercase().contains("connection: close"),
        "{text}"
    );
    let json: Value = serde_json::from_str(text.split_once("\r\n\r\n").expect("body").1)
        .expect("problem details");
    assert_eq!(json["errorCode"], "UPLOAD_STALLED", "{json}");
    assert!(sent.elapsed() >= Duration::from_millis(900));
    assert_nothing_left(&app, &before, "stalled upload").await;
}

#[tokio::test]
async fn a_slow_but_steady_client_gets_through() {
    let Some(app) = Assetd::serve(
        Engine::Sqlite,
        None,
        options(&[
            "--http-header-timeout-secs",
            "1",
            "--http-idle-timeout-secs",
            "1",
            "--upload-idle-timeout-secs",
            "1",
        ]),
    )
    .await
    else {
        return;
    };
    let key = app.create_key("acme");
    let body = png_of_len(64 * 1024);
    // Headers a few bytes at a time, then the body in small pieces: 6 s in all, longer than
    // every timeout, but never 1 s without a byte.
    let head = format!(
        "POST /v1/uploads HTTP/1.1\r\nHost: x\r\nx-api-key: {key}\r\nx-file-name: hero.png\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let mut socket = connect(&app).await;
    for piece in head.as_bytes().chunks(head.len() / 3 + 1) {
        socket.write_all(piece).await.expect("head piece");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    for piece in body.chunks(body.len() / 16) {
        socket.write_all(piece).await.expect("body piece");
        tokio::time::sleep(Duration::from_millis(350)).await;
    }
    let (received, _) = read_until_closed(&mut socket, Duration::from_secs(10)).await;
    let text = String::from_utf8_lossy(&received);
    assert!(text.starts_with("HTTP/1.1 201"), "{text}");
}

#[tokio::test]
async fn connections_over_the_cap_wait_for_a_free_one() {
    let Some(app) = Assetd::serve(
        Engine::Sqlite,
        None,
        options(&["--http-max-connections", "2"]),
    )
    .await
    else {
        return;
    };
    let get = b"GET /openapi.json HTTP/1.1\r\nHost: x\r\n\r\n";
    let mut first = connect(&app).await;
    let mut second = connect(&app).await;
    for socket in [&mut first, &mut second] {
        socket.write_all(get).await.expect("write");
        assert_eq!(read_response(socket).await.0, 200);
    }
    // The kernel completes the handshake; assetd does not take the connection yet.
    let mut third = connect(&app).await;
    third.write_all(get).await.expect("write");
    let mut byte = [0u8; 1];
    assert!(
        tokio::time::timeout(Duration::from_millis(700), third.read(&mut byte))
            .await
            .is_err(),
        "a third connection was served past a cap of two"
    );
    drop(first);
    assert_eq!(read_response(&mut third).await.0, 200);
}

#[tokio::test]
async fn http2_settings_carry_the_stream_and_header_limits() {
    let Some(app) = Assetd::serve(
        Engine::Sqlite,
        None,
        options(&[
            "--http2-max-streams",
            "7",
            "--http2-max-header-bytes",
            "12345",
        ]),
    )
    .await
    else {
        return;
    };
    let mut socket = connect(&app).await;
    // The client preface and an empty SETTINGS frame (prior knowledge, as gRPC clients do).
    socket
        .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        .await
        .expect("preface");
    let mut frame = [0u8; 9];
    tokio::time::timeout(Duration::from_secs(5), socket.read_exact(&mut frame))
        .await
        .expect("server SETTINGS in time")
        .expect("read");
    assert_eq!(frame[3], 0x4, "the server's first frame is SETTINGS");
    let len = usize::from(frame[0]) << 16 | usize::from(frame[1]) << 8 | usize::from(frame[2]);
    let mut payload = vec![0u8; len];
    socket.read_exact(&mut payload).await.expect("payload");
    let settings: Vec<(u16, u32)> = payload
        .chunks(6)
        .map(|s| {
            (
                u16::from_be_bytes([s[0], s[1]]),
                u32::from_be_bytes([s[2], s[3], s[4], s[5]]),
            )
        })
        .collect();
    assert!(
        settings.contains(&(0x3, 7)),
        "MAX_CONCURRENT_STREAMS in {settings:?}"
    );
    assert!(
        settings.contains(&(0x6, 12345)),
        "MAX_HEADER_LIST_SIZE in {settings:?}"
    );
}

/// An HTTP/1 request with more header fields than `--http-max-headers` is refused 431 and its
/// connection closed; one just under the limit is served.
#[tokio::test]
async fn too_many_header_fields_get_431() {
    let Some(app) =
        Assetd::serve(Engine::Sqlite, None, options(&["--http-max-headers", "20"])).await
    else {
        return;
    };
    let request = |fields: usize| {
        let mut head = String::from(
            "GET /v1/assets/6f9619ff-8b86-d011-b42d-00c04fc964ff HTTP/1.1\r\nhost: assetd\r\n",
        );
        for i in 1..fields {
            head.push_str(&format!("x-filler-{i}: {i}\r\n"));
        }
        head + "\r\n"
    };

    let mut socket = connect(&app).await;
    socket
        .write_all(request(19).as_bytes())
        .await
        .expect("write");
    let (status, _) = read_response(&mut socket).await;
    assert_eq!(
        status, 401,
        "19 fields are under the limit: the API answers"
    );

    let mut socket = connect(&app).await;
    socket
        .write_all(request(40).as_bytes())
        .await
        .expect("write");
    let (received, _) = read_until_closed(&mut socket, Duration::from_secs(10)).await;
    let received = String::from_utf8_lossy(&received);
    assert!(
        received.starts_with("HTTP/1.1 431"),
        "40 fields over a limit of 20: {received:?}"
    );
}

async fn get_asset(app: &Assetd, key: &str) -> reqwest::Response {
    Client::new()
        .get(app.url("/v1/assets/6f9619ff-8b86-d011-b42d-00c04fc964ff"))
        .header("x-api-key", key)
        .send()
        .await
        .expect("get")
}

#[tokio::test]
async fn a_key_over_its_rate_gets_429_with_retry_after() {
    let Some(app) = Assetd::serve(
        Engine::Sqlite,
        None,
        options(&["--rate-limit-per-second", "1", "--rate-limit-burst", "3"]),
    )
    .await
    else {
        return;
    };
    let key = app.create_key("acme");
    let other = app.create_key("other");
    for _ in 0..3 {
        assert_eq!(get_asset(&app, &key).await.status(), StatusCode::NOT_FOUND);
    }
    let refused = get_asset(&app, &key).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = refused.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=2).contains(&retry_after), "Retry-After {retry_after}");
    let json: Value = refused.json().await.expect("problem");
    assert_eq!(
        json["errorCode"], "OPEN_API_REQUEST_LIMIT_EXCEEDED",
        "{json}"
    );
    assert_eq!(json["type"], "RATE_LIMITED");
    assert_eq!(
        get_asset(&app, &other).await.status(),
        StatusCode::NOT_FOUND,
        "keys are limited apart"
    );
    tokio::time::sleep(Duration::from_secs(retry_after)).await;
    assert_eq!(
        get_asset(&app, &key).await.status(),
        StatusCode::NOT_FOUND,
        "after Retry-After"
    );
}

/// Opens a connection and sends the headers of an 8 KiB PNG upload, no body yet.
async fn upload_head(app: &Assetd, key: &str) -> TcpStream {
    let mut socket = connect(app).await;
    socket
        .write_all(
            format!(
                "POST /v1/uploads HTTP/1.1\r\nHost: x\r\nx-api-key: {key}\r\nx-file-name: hero.png\r\ncontent-length: 8192\r\nconnection: close\r\n\r\n"
            )
            .as_bytes(),
        )
        .await
        .expect("head");
    socket
}

/// Starts an upload that sends its headers and a first part of the body, then holds it open.
async fn hold_upload(app: &Assetd, key: &str) -> TcpStream {
    let body = png_of_len(4096);
    let mut socket = upload_head(app, key).await;
    socket.write_all(&body).await.expect("first half");
    socket
}

/// An upload that declares a body but sends none: it can only be answered before reading.
async fn refused_before_the_body(app: &Assetd, key: &str) -> (u16, String) {
    let mut socket = upload_head(app, key).await;
    let (received, _) = read_until_closed(&mut socket, Duration::from_secs(5)).await;
    let text = String::from_utf8_lossy(&received).to_string();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text)
}

#[tokio::test]
async fn upload_caps_per_account_and_per_process() {
    let Some(app) = Assetd::serve(
        Engine::Sqlite,
        None,
        options(&[
            "--max-concurrent-uploads",
            "2",
            "--max-concurrent-uploads-per-account",
            "1",
        ]),
    )
    .await
    else {
        return;
    };
    let acme = app.create_key("acme");
    let other = app.create_key("other");
    let third = app.create_key("third");
    let before = snapshot(&app).await;

    let mut held = hold_upload(&app, &acme).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (status, text) = refused_before_the_body(&app, &acme).await;
    assert_eq!(status, 429, "{text}");
    assert!(text.contains("OPEN_API_REQUEST_LIMIT_EXCEEDED"), "{text}");
    assert!(
        text.to_ascii_lowercase().contains("retry-after: 1"),
        "{text}"
    );

    let _held_other = hold_upload(&app, &other).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (status, text) = refused_before_the_body(&app, &third).await;
    assert_eq!(status, 503, "{text}");
    assert!(text.contains("SERVER_BUSY"), "{text}");
    assert!(
        text.to_ascii_lowercase().contains("retry-after: 1"),
        "{text}"
    );
    assert_eq!(snapshot(&app).await, before, "refusals stored nothing");

    // The held upload finishes; its slot frees and acme uploads again.
    held.write_all(&vec![0u8; 4096]).await.expect("second half");
    let (received, _) = read_until_closed(&mut held, Duration::from_secs(10)).await;
    assert!(String::from_utf8_lossy(&received).starts_with("HTTP/1.1 201"));
    let (status, body) = crate::upload(
        &app,
        &acme,
        &[("x-file-name", "hero.png")],
        fixture("hero.png"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}
