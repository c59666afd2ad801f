//! `assetd upload`, the real binary against a real `assetd serve`: through a pipe (progress
//! lines, result lines, `--json`, `--wait`, exit statuses 0, 1 and 2), under a pseudo-terminal
//! (tmux: the bars and the total), resumable (tus) uploads with a cut connection resumed, and
//! 503 / 429 answers retried after their `Retry-After`.

use std::{
    path::{Path, PathBuf},
    process::Output,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use assetd_tests::{Assetd, Engine, Options, Proxy, assetd_binary, skipped};
use reqwest::Client;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::watch,
};

use crate::{account_of, create_project, metric, metrics};

const REQUIRE_TMUX_VAR: &str = "ASSETD_TEST_REQUIRE_TMUX";

fn fixture_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

/// A WAV of `secs` seconds of 8 kHz 16-bit mono near-silence (`16_000 * secs + 44` bytes): real
/// media, probed to its duration, large enough to show progress.
fn write_wav(path: &Path, secs: u32) -> Vec<u8> {
    let data = 16_000 * secs;
    let mut bytes = Vec::with_capacity(data as usize + 44);
    bytes.extend_from_slice(b"RIFF");
    bytes.extend_from_slice(&(36 + data).to_le_bytes());
    bytes.extend_from_slice(b"WAVEfmt ");
    bytes.extend_from_slice(&16u32.to_le_bytes());
    bytes.extend_from_slice(&1u16.to_le_bytes());
    bytes.extend_from_slice(&1u16.to_le_bytes());
    bytes.extend_from_slice(&8_000u32.to_le_bytes());
    bytes.extend_from_slice(&16_000u32.to_le_bytes());
    bytes.extend_from_slice(&2u16.to_le_bytes());
    bytes.extend_from_slice(&16u16.to_le_bytes());
    bytes.extend_from_slice(b"data");
    bytes.extend_from_slice(&data.to_le_bytes());
    bytes.resize(data as usize + 44, 0);
    for (i, byte) in bytes.iter_mut().enumerate().skip(44).step_by(4099) {
        *byte = (i % 251) as u8;
    }
    std::fs::write(path, &bytes).expect("write the WAV");
    bytes
}

/// Runs `assetd upload ARGS` with the server and key in the environment, through pipes.
async fn upload_cli(url: &str, key: &str, args: &[&str]) -> Output {
    tokio::process::Command::new(assetd_binary())
        .arg("upload")
        .args(args)
        .env("ASSETD_URL", url)
        .env("ASSETD_API_KEY", key)
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .expect("run assetd upload")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn explain(output: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}--- stderr\n{}",
        output.status.code(),
        text(&output.stdout),
        text(&output.stderr)
    )
}

/// The JSON objects of `--json` output: every stdout line must be one.
fn json_lines(output: &Output) -> Vec<Value> {
    text(&output.stdout)
        .lines()
        .map(|line| {
            serde_json::from_str(line)
                .unwrap_or_else(|err| panic!("not a JSON line ({err}): {line:?}"))
        })
        .collect()
}

async fn get_asset(app: &Assetd, key: &str, asset_id: &str) -> Value {
    let body: Value = Client::new()
        .get(app.url(&format!("/v1/assets/{asset_id}")))
        .header("x-api-key", key)
        .send()
        .await
        .expect("GET asset")
        .json()
        .await
        .expect("asset JSON");
    body["data"].clone()
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[tokio::test]
async fn cli_uploads_through_a_pipe_with_progress_lines_sqlite() {
    let Some(app) = Assetd::serve(Engine::Sqlite, None, Options::default()).await else {
        return;
    };
    let key = app.create_key("cli");
    let project = create_project(&app, &account_of(&app, &key).await).await;
    let big = app.scratch.path().join("long.wav");
    let bytes = write_wav(&big, 200); // 3.05 MiB
    let hero = fixture_path("hero.png");
    let output = upload_cli(
        &app.http,
        &key,
        &[
            hero.to_str().expect("utf-8"),
            big.to_str().expect("utf-8"),
            "--project",
            &project,
        ],
    )
    .await;
    assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
    let stdout = text(&output.stdout);
    let stderr = text(&output.stderr);

    // One result line per file on stdout.
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", explain(&output));
    let big_line = lines
        .iter()
        .find(|l| l.contains("long.wav"))
        .expect("a line for long.wav");
    assert!(
        big_line.starts_with("ok ") && big_line.contains(" 3.05 MiB asset="),
        "{big_line}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("ok ") && l.contains("hero.png 3.77 KiB asset=")),
        "{stdout}"
    );

    // Plain progress lines on stderr (no terminal): the big file at each quarter.
    let progress: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("long.wav ") && l.contains("% ") && l.ends_with("/3.05 MiB"))
        .collect();
    assert!(progress.len() >= 3, "progress lines: {stderr}");
    assert!(!stderr.contains('\u{1b}'), "no terminal escapes in a pipe");
    assert!(stderr.contains("2 uploaded, 0 failed"), "{stderr}");

    // The assets are there, bound to the project, with the file's bytes.
    let asset_id = big_line
        .split("asset=")
        .nth(1)
        .expect("asset id")
        .trim()
        .to_owned();
    let asset = get_asset(&app, &key, &asset_id).await;
    assert_eq!(asset["sha256"], sha256_hex(&bytes));
    assert_eq!(asset["filename"], "long.wav");
    let bound: Value = Client::new()
        .get(app.url(&format!("/v1/projects/{project}/assets")))
        .header("x-api-key", &key)
        .send()
        .await
        .expect("list project assets")
        .json()
        .await
        .expect("JSON");
    assert_eq!(
        bound["data"].as_array().map(Vec::len),
        Some(2),
        "both assets bound: {bound}"
    );
}

#[tokio::test]
async fn cli_json_wait_and_a_refused_file_sqlite() {
    let Some(app) = Assetd::serve(Engine::Sqlite, None, Options::default()).await else {
        return;
    };
    let key = app.create_key("cli");
    let files = [
        fixture_path("hero.png"),
        fixture_path("media/h264.mp4"),
        fixture_path("tone.wav"),
        fixture_path("doc.pdf"),
    ];
    let mut args: Vec<&str> = files.iter().map(|f| f.to_str().expect("utf-8")).collect();
    args.extend(["--json", "--wait"]);
    let output = upload_cli(&app.http, &key, &args).await;
    assert_eq!(output.status.code(), Some(1), "{}", explain(&output));
    let objects = json_lines(&output);
    assert_eq!(objects.len(), 4, "{}", explain(&output));
    let of = |name: &str| {
        objects
            .iter()
            .find(|o| o["path"].as_str().is_some_and(|p| p.ends_with(name)))
            .unwrap_or_else(|| panic!("no object for {name}: {objects:?}"))
            .clone()
    };

    let hero = of("hero.png");
    assert_eq!(hero["status"], "ok", "{hero}");
    assert_eq!(hero["probeStatus"], "ready");
    assert_eq!(
        (hero["width"].as_u64(), hero["height"].as_u64()),
        (Some(64), Some(32))
    );
    assert!(hero["duration"].is_null());
    assert_eq!(
        hero["sha256"],
        sha256_hex(&std::fs::read(&files[0]).expect("read"))
    );
    let stored = get_asset(&app, &key, hero["assetId"].as_str().expect("assetId")).await;
    assert_eq!(stored["width"], 64);

    let video = of("h264.mp4");
    assert_eq!(video["status"], "ok", "{video}");
    assert_eq!(
        (video["width"].as_u64(), video["height"].as_u64()),
        (Some(64), Some(36))
    );
    assert_eq!(video["duration"].as_f64(), Some(2.0));
    assert_eq!(video["type"], "VIDEO");

    let audio = of("tone.wav");
    assert_eq!(audio["status"], "ok", "{audio}");
    assert!(
        audio["duration"].as_f64().is_some_and(|d| d > 0.0),
        "{audio}"
    );
    assert!(audio["width"].is_null() && audio.get("width").is_some());

    let pdf = of("doc.pdf");
    assert_eq!(pdf["status"], "failed");
    assert_eq!(pdf["errorCode"], "UPLOAD_FILE_TYPE_UNSUPPORTED");
    assert_eq!(pdf["httpStatus"], 422);
    assert!(pdf["detail"].as_str().is_some_and(|d| !d.is_empty()));
    assert_eq!(
        app.row_counts().await.0,
        3,
        "the refused file stored nothing"
    );

    // Without --json the refusal is a line with the server's errorCode and detail; --wait
    // prints the probe's numbers.
    let output = upload_cli(
        &app.http,
        &key,
        &[
            files[3].to_str().expect("utf-8"),
            files[1].to_str().expect("utf-8"),
            "--wait",
        ],
    )
    .await;
    assert_eq!(output.status.code(), Some(1), "{}", explain(&output));
    let stdout = text(&output.stdout);
    assert!(
        stdout.lines().any(|l| l.starts_with("failed ")
            && l.contains("doc.pdf UPLOAD_FILE_TYPE_UNSUPPORTED (422): ")),
        "{stdout}"
    );
    assert!(
        stdout.lines().any(|l| l.starts_with("ok ")
            && l.contains("h264.mp4")
            && l.ends_with("width=64 height=36 duration=2.0")),
        "{stdout}"
    );
    assert!(text(&output.stderr).contains("1 uploaded, 1 failed"));
}

#[tokio::test]
async fn cli_usage_errors_exit_2_and_send_nothing_sqlite() {
    let Some(app) = Assetd::serve(Engine::Sqlite, None, Options::default()).await else {
        return;
    };
    let key = app.create_key("cli");
    let hero = fixture_path("hero.png");
    let hero = hero.to_str().expect("utf-8");
    let nothing = format!("{}/*.png", app.scratch.path().display());
    let cases: Vec<(&str, Vec<&str>, &str)> = vec![
        ("no file matched", vec![&nothing], "no file matches"),
        ("missing file", vec!["/nonexistent/x.png"], "no such file"),
        ("no paths", vec![], "PATH"),
        ("bad flag", vec![hero, "--frobnicate"], "--frobnicate"),
        (
            "zero concurrency",
            vec![hero, "--concurrency", "0"],
            "concurrency",
        ),
        ("bad project", vec![hero, "--project", "nope"], "--project"),
        (
            "bad size",
            vec![hero, "--resumable-threshold", "12 parsecs"],
            "unit",
        ),
    ];
    for (what, args, says) in cases {
        let output = upload_cli(&app.http, &key, &args).await;
        assert_eq!(
            output.status.code(),
            Some(2),
            "{what}: {}",
            explain(&output)
        );
        assert!(
            text(&output.stderr).contains(says),
            "{what}: stderr should say {says:?}: {}",
            explain(&output)
        );
    }
    // No key, no URL: flags and environment both empty.
    let output = tokio::process::Command::new(assetd_binary())
        .args(["upload", hero, "--url", &app.http])
        .env_remove("ASSETD_API_KEY")
        .output()
        .await
        .expect("run");
    assert_eq!(output.status.code(), Some(2), "{}", explain(&output));
    assert!(text(&output.stderr).contains("ASSETD_API_KEY"));
    let output = tokio::process::Command::new(assetd_binary())
        .args(["upload", hero, "--api-key", &key])
        .env_remove("ASSETD_URL")
        .output()
        .await
        .expect("run");
    assert_eq!(output.status.code(), Some(2), "{}", explain(&output));
    assert!(text(&output.stderr).contains("ASSETD_URL"));
    // A wrong key is not a usage error: each file fails with the server's code.
    let output = upload_cli(&app.http, "wrong-key", &[hero]).await;
    assert_eq!(output.status.code(), Some(1), "{}", explain(&output));
    assert!(text(&output.stdout).contains("OPEN_API_KEY_INVALID (401)"));
    assert_eq!(app.row_counts().await.0, 0, "nothing was uploaded");
}

#[tokio::test]
async fn cli_large_files_go_through_tus_and_match_a_single_upload_sqlite() {
    let Some(app) = Assetd::serve(Engine::Sqlite, None, Options::default()).await else {
        return;
    };
    let key = app.create_key("cli");
    let big = app.scratch.path().join("long.wav");
    let bytes = write_wav(&big, 200);
    let path = big.to_str().expect("utf-8");
    let resumable = upload_cli(
        &app.http,
        &key,
        &[
            path,
            "--resumable-threshold",
            "1MiB",
            "--chunk-size",
            "1MiB",
            "--json",
            "--wait",
        ],
    )
    .await;
    assert_eq!(resumable.status.code(), Some(0), "{}", explain(&resumable));
    let single = upload_cli(&app.http, &key, &[path, "--json"]).await;
    assert_eq!(single.status.code(), Some(0), "{}", explain(&single));
    let (resumable, single) = (&json_lines(&resumable)[0], &json_lines(&single)[0]);
    assert_eq!(resumable["resumable"], true);
    assert_eq!(single["resumable"], false);
    assert_eq!(resumable["sha256"], sha256_hex(&bytes));
    assert_eq!(resumable["sha256"], single["sha256"]);
    assert_eq!(resumable["size"], single["size"]);
    assert_eq!(resumable["duration"].as_f64(), Some(200.0), "{resumable}");
    let page = metrics(&app).await;
    assert_eq!(
        metric(
            &page,
            "assetd_resumable_uploads_completed_total{protocol=\"tus\"}"
        ),
        1.0
    );
    assert_eq!(
        metric(
            &page,
            "assetd_resumable_upload_bytes_total{protocol=\"tus\"}"
        ),
        bytes.len() as f64
    );
}

#[tokio::test]
async fn cli_resumable_upload_resumes_after_a_cut_sqlite() {
    let Some(app) = Assetd::serve(Engine::Sqlite, None, Options::default()).await else {
        return;
    };
    let key = app.create_key("cli");
    let big = app.scratch.path().join("long.wav");
    let bytes = write_wav(&big, 200);
    let proxy = Proxy::start(app.http.trim_start_matches("http://")).await;
    // The connection carries the creation and the first 1 MiB PATCH, and is cut within the second.
    proxy.cut_after(1_500_000);
    let output = upload_cli(
        &format!("http://{}", proxy.addr),
        &key,
        &[
            big.to_str().expect("utf-8"),
            "--resumable-threshold",
            "1MiB",
            "--chunk-size",
            "1MiB",
            "--json",
        ],
    )
    .await;
    assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
    let stderr = text(&output.stderr);
    let resumed = stderr
        .lines()
        .find(|l| l.contains("resuming at"))
        .unwrap_or_else(|| panic!("no resume: {}", explain(&output)));
    let offset: u64 = resumed
        .rsplit("(offset ")
        .next()
        .and_then(|rest| rest.trim_end_matches(')').parse().ok())
        .unwrap_or_else(|| panic!("no offset in {resumed:?}"));
    assert!(
        offset > 0 && offset < bytes.len() as u64,
        "resumed mid-file: {resumed}"
    );
    let object = &json_lines(&output)[0];
    assert_eq!(object["status"], "ok");
    assert_eq!(object["sha256"], sha256_hex(&bytes), "the whole file, once");
    assert_eq!(object["size"], bytes.len() as u64);
    assert_eq!(app.row_counts().await.0, 1);
}

/// A front for the real server: its first `refusals` connections are answered with `status`
/// and `Retry-After` (after the whole request arrived, and once `hold` turns true), the rest
/// are passed through.
struct Front {
    addr: String,
    served: Arc<AtomicUsize>,
    accept: tokio::task::JoinHandle<()>,
}

impl Front {
    async fn start(
        target: &str,
        refusals: Vec<(u16, &'static str, Option<&'static str>)>,
        hold: Option<watch::Receiver<bool>>,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr").to_string();
        let served = Arc::new(AtomicUsize::new(0));
        let count = served.clone();
        let target = target.to_owned();
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let n = count.fetch_add(1, Ordering::SeqCst);
                let refusal = refusals.get(n).copied();
                let (target, mut hold) = (target.clone(), hold.clone());
                tokio::spawn(async move {
                    match refusal {
                        Some((status, code, retry_after)) => {
                            read_request(&mut inbound).await;
                            if let Some(hold) = hold.as_mut() {
                                let _ = hold.wait_for(|released| *released).await;
                            }
                            let body = format!(
                                r#"{{"type":"about:blank","title":"refused","status":{status},"detail":"try again","errorCode":"{code}"}}"#
                            );
                            let retry = retry_after
                                .map(|secs| format!("retry-after: {secs}\r\n"))
                                .unwrap_or_default();
                            let response = format!(
                                "HTTP/1.1 {status} Refused\r\ncontent-type: application/problem+json\r\n\
                                 {retry}content-length: {}\r\nconnection: close\r\n\r\n{body}",
                                body.len()
                            );
                            let _ = inbound.write_all(response.as_bytes()).await;
                            let _ = inbound.shutdown().await;
                        }
                        None => {
                            let Ok(mut outbound) = TcpStream::connect(&target).await else {
                                return;
                            };
                            let _ =
                                tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                        }
                    }
                });
            }
        });
        Self {
            addr: format!("http://{addr}"),
            served,
            accept,
        }
    }
}

impl Drop for Front {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// Reads one request: its headers and `Content-Length` bytes of body.
async fn read_request(stream: &mut TcpStream) {
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    let header_end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    let mut body = buf.len() - header_end;
    while body < length {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => body += n,
        }
    }
}

#[tokio::test]
async fn cli_retries_503_and_429_after_retry_after_sqlite() {
    let Some(app) = Assetd::serve(Engine::Sqlite, None, Options::default()).await else {
        return;
    };
    let key = app.create_key("cli");
    let hero = fixture_path("hero.png");
    let hero = hero.to_str().expect("utf-8");
    let front = Front::start(
        app.http.trim_start_matches("http://"),
        vec![
            (503, "SERVICE_UNAVAILABLE", Some("1")),
            (429, "OPEN_API_REQUEST_LIMIT_EXCEEDED", Some("1")),
        ],
        None,
    )
    .await;
    let started = Instant::now();
    let output = upload_cli(&front.addr, &key, &[hero]).await;
    assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "waited Retry-After twice"
    );
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("upload: 503 SERVICE_UNAVAILABLE; retrying in 1.0 s (attempt 2 of 5)"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "upload: 429 OPEN_API_REQUEST_LIMIT_EXCEEDED; retrying in 1.0 s (attempt 3 of 5)"
        ),
        "{stderr}"
    );
    assert_eq!(front.served.load(Ordering::SeqCst), 3);
    assert!(text(&output.stdout).starts_with("ok "));
    assert_eq!(app.row_counts().await.0, 1, "one asset, uploaded once");

    // Attempts are bounded: a server that keeps answering 503 fails the file with its code.
    let front = Front::start(
        app.http.trim_start_matches("http://"),
        vec![(503, "SERVICE_UNAVAILABLE", Some("0")); 3],
        None,
    )
    .await;
    let output = upload_cli(&front.addr, &key, &[hero, "--max-attempts", "3"]).await;
    assert_eq!(output.status.code(), Some(1), "{}", explain(&output));
    assert!(
        text(&output.stdout).contains("SERVICE_UNAVAILABLE (503): try again"),
        "{}",
        explain(&output)
    );
    assert_eq!(front.served.load(Ordering::SeqCst), 3);
    assert_eq!(app.row_counts().await.0, 1);
}

/// A tmux server of its own (`-L`), killed on drop.
struct Tmux {
    socket: String,
}

impl Tmux {
    /// `None` (a skip) when tmux is not installed, unless it is required.
    fn start(command: &str) -> Option<Self> {
        let socket = format!("assetd-e2e-{}", uuid::Uuid::new_v4().simple());
        let started = std::process::Command::new("tmux")
            .args([
                "-L",
                &socket,
                "new-session",
                "-d",
                "-x",
                "200",
                "-y",
                "50",
                command,
            ])
            .status();
        match started {
            Ok(status) if status.success() => Some(Self { socket }),
            Ok(status) => panic!("tmux new-session failed: {status}"),
            Err(err) if assetd_tests_required(REQUIRE_TMUX_VAR) => {
                panic!("tmux is required ({REQUIRE_TMUX_VAR}=1): {err}")
            }
            Err(err) => {
                skipped(&format!(
                    "tmux not available ({err}); set {REQUIRE_TMUX_VAR}=1 to fail instead"
                ));
                None
            }
        }
    }

    fn screen(&self) -> String {
        let output = std::process::Command::new("tmux")
            .args(["-L", &self.socket, "capture-pane", "-p"])
            .output()
            .expect("tmux capture-pane");
        text(&output.stdout)
    }

    /// The screen once `ready` holds for it (within 30 s), or a panic with the last screen.
    async fn wait_for(&self, what: &str, ready: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let screen = self.screen();
            if ready(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: never on screen:\n{screen}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = std::process::Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}

fn assetd_tests_required(var: &str) -> bool {
    std::env::var(var).is_ok_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
}

#[tokio::test]
async fn cli_draws_bars_and_a_total_on_a_terminal_sqlite() {
    let Some(app) = Assetd::serve(Engine::Sqlite, None, Options::default()).await else {
        return;
    };
    let key = app.create_key("cli");
    let big = app.scratch.path().join("long.wav");
    write_wav(&big, 200);
    let hero = fixture_path("hero.png");
    // Both first attempts are held once their bytes arrived, so the bars stay on screen at
    // 100%; then answered 503 and retried through to the server.
    let (release, hold) = watch::channel(false);
    let front = Front::start(
        app.http.trim_start_matches("http://"),
        vec![(503, "SERVICE_UNAVAILABLE", Some("0")); 2],
        Some(hold),
    )
    .await;
    let exit_file = app.scratch.path().join("exit-status");
    let command = format!(
        "env ASSETD_URL={} ASSETD_API_KEY={key} {} upload {} {} --concurrency 2 --wait; echo $? > {}; sleep 60",
        front.addr,
        assetd_binary().display(),
        big.display(),
        hero.display(),
        exit_file.display()
    );
    let Some(tmux) = Tmux::start(&command) else {
        return;
    };
    let screen = tmux
        .wait_for("both bars at 100% and the total", |s| {
            s.contains("long.wav")
                && s.contains("3.05 MiB/3.05 MiB")
                && s.contains("hero.png")
                && s.contains("3.77 KiB/3.77 KiB")
                && s.lines()
                    .any(|l| l.starts_with("total") && l.contains("0/2 files"))
        })
        .await;
    assert!(
        screen.contains("[========================================]"),
        "a full bar:\n{screen}"
    );
    release.send(true).expect("release");
    let screen = tmux
        .wait_for("the results and the finished total", |s| {
            s.contains("2 uploaded, 0 failed")
        })
        .await;
    assert!(
        screen.lines().any(|l| l.starts_with("ok ")
            && l.contains("long.wav 3.05 MiB asset=")
            && l.ends_with("duration=200.0")),
        "{screen}"
    );
    assert!(
        screen.lines().any(|l| l.starts_with("ok ")
            && l.contains("hero.png")
            && l.ends_with("width=64 height=32")),
        "{screen}"
    );
    assert!(
        screen
            .lines()
            .any(|l| l.starts_with("total") && l.contains("2/2 files")),
        "{screen}"
    );
    assert!(
        screen.contains("503 SERVICE_UNAVAILABLE; retrying"),
        "{screen}"
    );
    for _ in 0..50 {
        if exit_file.exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        std::fs::read_to_string(&exit_file)
            .map(|s| s.trim().to_owned())
            .ok(),
        Some("0".to_owned())
    );
}
