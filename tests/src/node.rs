//! npm's `tus-js-client` (pinned by `tests/e2e/node/package.json` and its lock), installed once
//! with `npm ci` into `target/node-tus/`. Without `npm` or when the install fails (no network) a
//! test using it is skipped, unless `ASSETD_TEST_REQUIRE_NODE=1` makes that a failure.
//!
//! The scripts under `tests/e2e/node/` load the client with `require()` (through
//! `createRequire(import.meta.url)`), which honours `NODE_PATH` where an ESM `import` would not,
//! so they run in place:
//!
//! ```text
//! NODE_PATH=<tus_js_client()>/node_modules node tests/e2e/node/tus_upload.mjs
//! ```
//!
//! [`command`] builds exactly that.

use std::{
    path::{Path, PathBuf},
    process::Command,
    sync::Mutex,
};

use crate::assetd_binary;

pub const REQUIRE_NODE_VAR: &str = "ASSETD_TEST_REQUIRE_NODE";

/// `tests/e2e/node/`: the package manifest, its lock and the scripts.
fn package_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("e2e/node")
}

/// The directory (`target/node-tus/`) whose `node_modules` holds tus-js-client, installing it on
/// first use; `None` (the test is skipped) when that fails and Node is not required. Blocking:
/// call it from `spawn_blocking`.
pub fn tus_js_client() -> Option<PathBuf> {
    static INSTALLED: Mutex<Option<Result<PathBuf, String>>> = Mutex::new(None);
    let mut installed = INSTALLED.lock().unwrap_or_else(|e| e.into_inner());
    let result = installed.get_or_insert_with(install).clone();
    match result {
        Ok(dir) => Some(dir),
        Err(err) if !crate::required(REQUIRE_NODE_VAR) => {
            crate::skipped(&format!(
                "cannot install tus-js-client: {err}; set {REQUIRE_NODE_VAR}=1 to fail instead"
            ));
            None
        }
        Err(err) => panic!("tus-js-client is required ({REQUIRE_NODE_VAR}=1): {err}"),
    }
}

fn install() -> Result<PathBuf, String> {
    let target = assetd_binary()
        .parent()
        .and_then(Path::parent)
        .ok_or("no target dir")?;
    let dir = target.join("node-tus");
    let marker = dir.join(".installed");
    let source = package_dir();
    let lock = std::fs::read_to_string(source.join("package-lock.json"))
        .map_err(|err| format!("read tests/e2e/node/package-lock.json: {err}"))?;
    if std::fs::read_to_string(&marker).is_ok_and(|installed| installed == lock)
        && dir
            .join("node_modules/tus-js-client/package.json")
            .is_file()
    {
        return Ok(dir);
    }
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|err| format!("create {}: {err}", dir.display()))?;
    for file in ["package.json", "package-lock.json"] {
        std::fs::copy(source.join(file), dir.join(file))
            .map_err(|err| format!("copy {file}: {err}"))?;
    }
    let mut npm = Command::new("npm");
    npm.args(["ci", "--no-audit", "--no-fund"])
        .current_dir(&dir);
    let output = npm.output().map_err(|err| format!("{npm:?}: {err}"))?;
    if !output.status.success() {
        return Err(format!(
            "{npm:?} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    std::fs::write(&marker, lock).map_err(|err| err.to_string())?;
    Ok(dir)
}

/// A script under `tests/e2e/node/`.
pub fn script(name: &str) -> PathBuf {
    package_dir().join(name)
}

/// `node <script>` with `NODE_PATH` pointing at `<dir>/node_modules`, `dir` being what
/// [`tus_js_client`] returned.
pub fn command(dir: &Path, script_name: &str) -> tokio::process::Command {
    let mut command = tokio::process::Command::new("node");
    command
        .arg(script(script_name))
        .env("NODE_PATH", dir.join("node_modules"));
    command
}
