//! Third-party Python clients from PyPI, each installed once into its own virtualenv under the
//! target directory. Without `python3` or when the install fails (no network) a test using one
//! is skipped, unless `ASSETD_TEST_REQUIRE_PYTHON=1` makes that a failure.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    process::Command,
    sync::Mutex,
};

use crate::assetd_binary;

pub const REQUIRE_PYTHON_VAR: &str = "ASSETD_TEST_REQUIRE_PYTHON";

fn required() -> bool {
    std::env::var(REQUIRE_PYTHON_VAR).is_ok_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
}

/// The python of virtualenv `name` with `packages` (pinned `name==version` specs) installed,
/// installing them on first use; `None` (the test is skipped) when that fails and Python is not
/// required. Blocking: call it from `spawn_blocking`.
pub fn venv(name: &str, packages: &[&str]) -> Option<PathBuf> {
    static VENVS: Mutex<Option<HashMap<String, Result<PathBuf, String>>>> = Mutex::new(None);
    let mut venvs = VENVS.lock().unwrap_or_else(|e| e.into_inner());
    let result = venvs
        .get_or_insert_with(HashMap::new)
        .entry(name.to_owned())
        .or_insert_with(|| install(name, packages))
        .clone();
    match result {
        Ok(python) => Some(python),
        Err(err) if !required() => {
            crate::skipped(&format!(
                "cannot install {packages:?}: {err}; set {REQUIRE_PYTHON_VAR}=1 to fail instead"
            ));
            None
        }
        Err(err) => panic!("{packages:?} are required ({REQUIRE_PYTHON_VAR}=1): {err}"),
    }
}

fn install(name: &str, packages: &[&str]) -> Result<PathBuf, String> {
    let target = assetd_binary()
        .parent()
        .and_then(Path::parent)
        .ok_or("no target dir")?;
    let venv = target.join(name);
    let python = venv.join("bin/python");
    let marker = venv.join(".installed");
    let wanted = packages.join("\n");
    if std::fs::read_to_string(&marker).is_ok_and(|installed| installed == wanted) {
        return Ok(python);
    }
    let _ = std::fs::remove_dir_all(&venv);
    let run = |command: &mut Command| -> Result<(), String> {
        let output = command
            .output()
            .map_err(|err| format!("{command:?}: {err}"))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{command:?} failed: {}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ))
        }
    };
    run(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
    run(Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .args(packages))?;
    std::fs::write(&marker, wanted).map_err(|err| err.to_string())?;
    Ok(python)
}

/// A script under `tests/e2e/python/`.
pub fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("e2e/python")
        .join(name)
}
