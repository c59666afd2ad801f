//! What `assetd upload` shows: progress on standard error (a bar per file and a total bar on a
//! terminal, throttled plain lines otherwise, nothing with `--quiet`) and the result of each
//! file on standard output (one line, or one JSON object with `--json`).

use std::{
    io::{IsTerminal, Write},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use indicatif::{BinaryBytes, MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::Value;

/// How progress is shown on standard error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    /// indicatif bars: standard error is a terminal.
    Bars,
    /// A line per file at every quarter of it (and every [`LINE_EVERY`] on a slow file).
    Lines,
    /// Nothing (`--quiet`).
    Quiet,
}

impl ProgressMode {
    pub fn detect(quiet: bool) -> Self {
        if quiet {
            Self::Quiet
        } else if std::io::stderr().is_terminal() {
            Self::Bars
        } else {
            Self::Lines
        }
    }
}

/// How often bars are redrawn when nothing moved.
const TICK: Duration = Duration::from_millis(200);

/// On a slow file, a plain progress line at least this often (when bytes moved).
const LINE_EVERY: Duration = Duration::from_secs(5);

/// How one file ended.
#[derive(Debug)]
pub enum Outcome {
    /// The asset as the API answered it (`data` of the envelope), after probing with `--wait`.
    Uploaded {
        asset: Value,
        resumable: bool,
    },
    Failed(Failure),
}

/// Why a file was not uploaded: the API's problem details (`errorCode`, `detail`, the status),
/// or one of the client's own codes when no answer said.
#[derive(Debug, Clone)]
pub struct Failure {
    pub code: String,
    pub detail: String,
    pub status: Option<u16>,
    /// The asset, when the upload worked but what came after did not (`--wait`).
    pub asset_id: Option<String>,
}

impl Failure {
    pub fn client(code: &str, detail: impl Into<String>) -> Self {
        Self {
            code: code.to_owned(),
            detail: detail.into(),
            status: None,
            asset_id: None,
        }
    }
}

/// The progress and results of every file of one run.
#[derive(Clone)]
pub struct Reporter {
    mode: ProgressMode,
    json: bool,
    bars: Option<Bars>,
    started: Instant,
    /// Serializes writes of whole lines from concurrent uploads.
    out: Arc<Mutex<()>>,
}

#[derive(Clone)]
struct Bars {
    multi: MultiProgress,
    total: ProgressBar,
    files: u64,
    done: Arc<std::sync::atomic::AtomicU64>,
}

fn bar_style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

impl Reporter {
    pub fn new(mode: ProgressMode, json: bool, files: usize, total_bytes: u64) -> Self {
        let bars = (mode == ProgressMode::Bars).then(|| {
            let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
            let total = multi.add(ProgressBar::new(total_bytes).with_style(bar_style(
                "{prefix:.bold} [{bar:40}] {binary_bytes}/{binary_total_bytes} {msg} \
                     {binary_bytes_per_sec} {elapsed}, eta {eta}",
            )));
            total.set_prefix(format!("{:<32}", "total"));
            // Draws are rate-limited: a tick redraws what the last, skipped update changed.
            total.enable_steady_tick(TICK);
            total.set_message(format!("0/{files} files"));
            Bars {
                multi,
                total,
                files: files as u64,
                done: Arc::default(),
            }
        });
        Self {
            mode,
            json,
            bars,
            started: Instant::now(),
            out: Arc::new(Mutex::new(())),
        }
    }

    /// A file starts: its bar (on a terminal) or its progress lines.
    pub fn start(&self, display: &str, size: u64) -> FileProgress {
        let bar = self.bars.as_ref().map(|bars| {
            let bar = bars.multi.insert_before(
                &bars.total,
                ProgressBar::new(size).with_style(bar_style(
                    "{prefix} [{bar:40}] {binary_bytes}/{binary_total_bytes} {msg}",
                )),
            );
            bar.set_prefix(format!("{:<32}", shorten(display, 32)));
            bar.enable_steady_tick(TICK);
            bar
        });
        FileProgress {
            display: display.to_owned(),
            size,
            mode: self.mode,
            bar,
            total: self.bars.as_ref().map(|bars| bars.total.clone()),
            state: Arc::new(Mutex::new(LineState {
                position: 0,
                quarter: 0,
                last_line: Instant::now(),
            })),
        }
    }

    /// A note about a file (a retry, a resume) on standard error, above the bars.
    pub fn note(&self, line: &str) {
        match (&self.bars, self.mode) {
            (_, ProgressMode::Quiet) => {}
            (Some(bars), _) => bars.multi.suspend(|| eprintln!("{line}")),
            (None, _) => {
                let _guard = self.out.lock();
                eprintln!("{line}");
            }
        }
    }

    /// A file ended: its bar goes, its result is printed on standard output.
    pub fn finish(&self, progress: FileProgress, outcome: &Outcome) {
        let line = if self.json {
            result_json(&progress.display, outcome)
        } else {
            result_line(&progress.display, outcome)
        };
        let print = || {
            let mut stdout = std::io::stdout().lock();
            let _ = writeln!(stdout, "{line}");
            let _ = stdout.flush();
        };
        match &self.bars {
            Some(bars) => {
                if let Some(bar) = &progress.bar {
                    bar.finish_and_clear();
                    bars.multi.remove(bar);
                }
                // The file counts in full once done, whatever its bytes did (a failure, a retry).
                let sent = progress.position();
                bars.total.inc(progress.size.saturating_sub(sent));
                let done = 1 + bars.done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                bars.total
                    .set_message(format!("{done}/{} files", bars.files));
                bars.multi.suspend(print);
            }
            None => {
                let _guard = self.out.lock();
                print();
            }
        }
    }

    /// Every file ended: the total bar stays, with a summary on standard error.
    pub fn done(&self, uploaded: usize, failed: usize, bytes: u64) {
        let summary = format!(
            "{uploaded} uploaded, {failed} failed, {} in {:.1} s",
            BinaryBytes(bytes),
            self.started.elapsed().as_secs_f64()
        );
        match (&self.bars, self.mode) {
            (_, ProgressMode::Quiet) => {}
            (Some(bars), _) => {
                bars.total.finish();
                let _ = bars.multi.println(&summary);
            }
            (None, _) => eprintln!("{summary}"),
        }
    }
}

/// One file's progress, updated as its bytes are handed to the connection.
pub struct FileProgress {
    display: String,
    size: u64,
    mode: ProgressMode,
    bar: Option<ProgressBar>,
    total: Option<ProgressBar>,
    state: Arc<Mutex<LineState>>,
}

struct LineState {
    position: u64,
    /// The last quarter (1..=3) a plain line was printed for.
    quarter: u64,
    last_line: Instant,
}

impl FileProgress {
    /// A handle for the body stream of one request.
    pub fn handle(&self) -> ProgressHandle {
        ProgressHandle {
            display: self.display.clone(),
            size: self.size,
            mode: self.mode,
            bar: self.bar.clone(),
            total: self.total.clone(),
            state: self.state.clone(),
        }
    }

    fn position(&self) -> u64 {
        self.state.lock().map(|s| s.position).unwrap_or(0)
    }

    /// Shown beside the bar, e.g. "probing".
    pub fn set_message(&self, message: &'static str) {
        if let Some(bar) = &self.bar {
            bar.set_message(message);
        }
    }
}

/// Moves one file's progress; cheap to clone into a body stream.
#[derive(Clone)]
pub struct ProgressHandle {
    display: String,
    size: u64,
    mode: ProgressMode,
    bar: Option<ProgressBar>,
    total: Option<ProgressBar>,
    state: Arc<Mutex<LineState>>,
}

impl ProgressHandle {
    /// The file's bytes handed over so far: `position` (a restart sets it back to 0, a resume to
    /// the server's offset).
    pub fn set(&self, position: u64) {
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        let before = state.position;
        state.position = position;
        if let Some(bar) = &self.bar {
            bar.set_position(position);
        }
        if let Some(total) = &self.total {
            if position >= before {
                total.inc(position - before);
            } else {
                total.dec(before - position);
            }
        }
        if self.mode != ProgressMode::Lines || self.size == 0 || position >= self.size {
            return;
        }
        let quarter = position.saturating_mul(4) / self.size;
        let slow = state.last_line.elapsed() >= LINE_EVERY && position != before;
        if quarter > state.quarter || slow {
            state.quarter = state.quarter.max(quarter);
            state.last_line = Instant::now();
            eprintln!(
                "{} {}% {}/{}",
                self.display,
                position.saturating_mul(100) / self.size,
                BinaryBytes(position),
                BinaryBytes(self.size)
            );
        }
    }

    pub fn add(&self, bytes: u64) {
        let position = self.state.lock().map(|s| s.position).unwrap_or(0);
        self.set(position + bytes);
    }
}

/// `…` and the end of `text` when it is longer than `width` characters.
fn shorten(text: &str, width: usize) -> String {
    let count = text.chars().count();
    if count <= width {
        return text.to_owned();
    }
    let tail: String = text.chars().skip(count - (width - 1)).collect();
    format!("…{tail}")
}

/// The probe's numbers, those the asset has.
fn measures(asset: &Value) -> String {
    ["width", "height", "duration"]
        .iter()
        .filter(|field| !asset[**field].is_null())
        .map(|field| format!(" {field}={}", asset[*field]))
        .collect()
}

/// `ok hero.png 3.77 KiB asset=… [width=64 height=32]` or `failed doc.pdf CODE (422): detail`.
pub fn result_line(display: &str, outcome: &Outcome) -> String {
    match outcome {
        Outcome::Uploaded { asset, .. } => {
            let size = asset["size"].as_u64().unwrap_or(0);
            let id = asset["assetId"].as_str().unwrap_or("?");
            let probed = match asset["probeStatus"].as_str() {
                Some("ready") => measures(asset),
                _ => String::new(),
            };
            format!("ok {display} {} asset={id}{probed}", BinaryBytes(size))
        }
        Outcome::Failed(failure) => {
            let status = failure
                .status
                .map(|s| format!(" ({s})"))
                .unwrap_or_default();
            let asset = failure
                .asset_id
                .as_ref()
                .map(|id| format!(" asset={id}"))
                .unwrap_or_default();
            format!(
                "failed {display} {}{status}{asset}: {}",
                failure.code, failure.detail
            )
        }
    }
}

/// One `--json` object, its fields in this order: `path`, `status` (`ok` | `failed`), then the
/// asset's fields (the probe's `width`, `height`, `duration` once `ready`) or the error's.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct ResultObject<'a> {
    path: &'a str,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    asset_id: Option<&'a str>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    size: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sha256: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    file_url: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resumable: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    probe_status: Option<&'a Value>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    probed: Option<Measures<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<&'a str>,
    /// The answer's status; `null` for the client's own codes.
    #[serde(skip_serializing_if = "Option::is_none")]
    http_status: Option<Option<u16>>,
}

#[derive(serde::Serialize)]
struct Measures<'a> {
    width: &'a Value,
    height: &'a Value,
    duration: &'a Value,
}

fn result_object<'a>(display: &'a str, outcome: &'a Outcome) -> ResultObject<'a> {
    let mut object = ResultObject {
        path: display,
        status: "ok",
        asset_id: None,
        kind: None,
        size: None,
        sha256: None,
        file_url: None,
        resumable: None,
        probe_status: None,
        probed: None,
        error_code: None,
        detail: None,
        http_status: None,
    };
    match outcome {
        Outcome::Uploaded { asset, resumable } => {
            object.asset_id = asset["assetId"].as_str();
            object.kind = Some(&asset["type"]);
            object.size = Some(&asset["size"]);
            object.sha256 = Some(&asset["sha256"]);
            object.file_url = Some(&asset["fileUrl"]);
            object.resumable = Some(*resumable);
            object.probe_status = Some(&asset["probeStatus"]);
            if asset["probeStatus"] == "ready" {
                object.probed = Some(Measures {
                    width: &asset["width"],
                    height: &asset["height"],
                    duration: &asset["duration"],
                });
            }
        }
        Outcome::Failed(failure) => {
            object.status = "failed";
            object.error_code = Some(&failure.code);
            object.detail = Some(&failure.detail);
            object.http_status = Some(failure.status);
            object.asset_id = failure.asset_id.as_deref();
        }
    }
    object
}

/// The `--json` line of one file.
pub fn result_json(display: &str, outcome: &Outcome) -> String {
    let object = result_object(display, outcome);
    let line = serde_json::to_string(&object);
    // Serializing borrowed JSON values into a string cannot fail; say so if it ever does.
    line.unwrap_or_else(|err| {
        format!(
            r#"{{"path":{display:?},"status":"failed","errorCode":"INTERNAL","detail":"{err}"}}"#
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    use serde_json::json;

    fn object(display: &str, outcome: &Outcome) -> Value {
        serde_json::from_str(&result_json(display, outcome)).expect("JSON")
    }

    fn asset(probe: &str) -> Value {
        json!({"assetId": "a1", "type": "IMAGE", "size": 2048, "sha256": "ab", "fileUrl": "u",
               "probeStatus": probe, "width": 64, "height": 32, "duration": null})
    }

    #[test]
    fn result_lines() {
        let ok = Outcome::Uploaded {
            asset: asset("ready"),
            resumable: false,
        };
        assert_eq!(
            result_line("hero.png", &ok),
            "ok hero.png 2.00 KiB asset=a1 width=64 height=32"
        );
        let pending = Outcome::Uploaded {
            asset: asset("pending"),
            resumable: false,
        };
        assert_eq!(
            result_line("hero.png", &pending),
            "ok hero.png 2.00 KiB asset=a1"
        );
        let failed = Outcome::Failed(Failure {
            code: "UPLOAD_FILE_TYPE_UNSUPPORTED".into(),
            detail: "not media".into(),
            status: Some(422),
            asset_id: None,
        });
        assert_eq!(
            result_line("doc.pdf", &failed),
            "failed doc.pdf UPLOAD_FILE_TYPE_UNSUPPORTED (422): not media"
        );
    }

    #[test]
    fn result_objects() {
        let ok = object(
            "hero.png",
            &Outcome::Uploaded {
                asset: asset("ready"),
                resumable: true,
            },
        );
        assert_eq!(ok["status"], "ok");
        assert_eq!(ok["width"], 64);
        assert!(ok["duration"].is_null() && ok.get("duration").is_some());
        let pending = object(
            "hero.png",
            &Outcome::Uploaded {
                asset: asset("pending"),
                resumable: false,
            },
        );
        assert!(pending.get("width").is_none());
        let failed = object(
            "x",
            &Outcome::Failed(Failure::client("FILE_UNREADABLE", "gone")),
        );
        assert_eq!(failed["errorCode"], "FILE_UNREADABLE");
        assert!(failed["httpStatus"].is_null() && failed.get("httpStatus").is_some());
        assert!(failed.get("assetId").is_none());
        // A probe that failed after the upload worked names the asset.
        let probe = Outcome::Failed(Failure {
            asset_id: Some("a1".into()),
            ..Failure::client("PROBE_FAILED", "png: truncated")
        });
        assert_eq!(object("x", &probe)["assetId"], "a1");
        assert_eq!(
            result_line("x", &probe),
            "failed x PROBE_FAILED asset=a1: png: truncated"
        );
    }

    #[test]
    fn long_names_keep_their_end() {
        assert_eq!(shorten("abc", 5), "abc");
        assert_eq!(shorten("abcdefgh.png", 6), "…h.png");
    }
}
