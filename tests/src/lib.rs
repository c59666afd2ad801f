//! The end-to-end harness: builds and starts the real `assetd` binary on free ports against a fresh
//! database (SQLite file or a new Postgres database) and fresh storage (a directory or an S3 bucket),
//! and gives tests what they need to look behind it (rows, objects), one module per concern;
//! split-role tests start from [`topology::Split`].

pub mod broker;
pub mod databases;
pub mod faults;
pub mod node;
pub mod otlp;
pub mod processes;
pub mod python;
pub mod storage;
pub mod topology;

pub use broker::*;
pub use databases::*;
pub use faults::*;
pub use processes::*;
pub use storage::*;
pub use topology::*;

use std::path::{Path, PathBuf};

use anyhow::Context;

/// Where [`skipped`] also records each skip, one line per test; `tests/run` sets it and lists
/// the file at the end.
pub const SKIPPED_LOG_VAR: &str = "ASSETD_TEST_SKIPPED_LOG";

/// Reports that the running test skips its body, and why: on standard error (shown with
/// `--nocapture`) and as a line `test name: reason` appended to `$ASSETD_TEST_SKIPPED_LOG`.
pub fn skipped(reason: &str) {
    use std::io::Write as _;
    let test = std::thread::current()
        .name()
        .unwrap_or("(unnamed test)")
        .to_owned();
    eprintln!("SKIPPED: {test}: {reason}");
    if let Ok(path) = std::env::var(SKIPPED_LOG_VAR) {
        let line = format!("{test}: {reason}\n");
        let appended = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut file| file.write_all(line.as_bytes()));
        if let Err(err) = appended {
            eprintln!("cannot record the skip in {path}: {err}");
        }
    }
}

pub(crate) fn required(var: &str) -> bool {
    std::env::var(var).is_ok_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
}

/// A scratch directory removed on drop.
#[derive(Debug)]
pub struct ScratchDir(PathBuf);

impl ScratchDir {
    pub fn new() -> Self {
        let path =
            std::env::temp_dir().join(format!("assetd-e2e-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&path).expect("create scratch dir");
        Self(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Default for ScratchDir {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for ScratchDir {
    /// Kept for a post-mortem when `ASSETD_TEST_KEEP=1`.
    fn drop(&mut self) {
        if std::env::var("ASSETD_TEST_KEEP").is_ok_and(|v| v == "1") {
            eprintln!("kept {}", self.0.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// The fixture file's bytes.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name);
    std::fs::read(&path)
        .with_context(|| format!("read fixture {}", path.display()))
        .expect("fixture")
}
