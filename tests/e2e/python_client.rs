//! The official Python client, PyPI's `indream-client` 1.1.0, against the real binary, plus a
//! 1.0-style plain HTTP flow (`x-api-key`); both in `tests/e2e/python/indream_flow.py`.
//!
//! The client is installed once into a virtualenv under `target/indream-venv`. Without `python3`
//! or when the install fails (no network), the test is skipped unless
//! `ASSETD_TEST_REQUIRE_PYTHON=1`.

use std::{
    path::{Path, PathBuf},
    process::Command,
    sync::OnceLock,
};

use assetd_tests::{Assetd, Engine, Options, assetd_binary};

const REQUIRE_PYTHON_VAR: &str = "ASSETD_TEST_REQUIRE_PYTHON";
const CLIENT: &str = "indream-client==1.1.0";

fn required() -> bool {
    std::env::var(REQUIRE_PYTHON_VAR).is_ok_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
}

/// The virtualenv's python with the client installed, or why there is none.
fn venv_python() -> Result<PathBuf, String> {
    static VENV: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    VENV.get_or_init(|| {
        let target = assetd_binary()
            .parent()
            .and_then(Path::parent)
            .ok_or("no target dir")?;
        let venv = target.join("indream-venv");
        let python = venv.join("bin/python");
        let marker = venv.join(".installed-indream-client-1.1.0");
        if marker.exists() {
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
        run(Command::new(&python).args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            CLIENT,
        ]))?;
        std::fs::write(&marker, CLIENT).map_err(|err| err.to_string())?;
        Ok(python)
    })
    .clone()
}

async fn official_client_flow(engine: Engine) {
    let python = match tokio::task::spawn_blocking(venv_python)
        .await
        .expect("venv task")
    {
        Ok(python) => python,
        Err(err) if !required() => {
            assetd_tests::skipped(&format!(
                "cannot install {CLIENT}: {err}; set {REQUIRE_PYTHON_VAR}=1 to fail instead"
            ));
            return;
        }
        Err(err) => panic!("{CLIENT} is required ({REQUIRE_PYTHON_VAR}=1): {err}"),
    };
    let Some(app) = Assetd::serve(engine, None, Options::default()).await else {
        return;
    };
    let key = app.create_key("python");
    let other_key = app.create_key("python-other");
    let disabled_key = app.create_key("python-disabled");
    app.disable_account("python-disabled");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("e2e/python/indream_flow.py");
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/hero.png");
    let output = tokio::process::Command::new(&python)
        .arg(&script)
        .env("ASSETD_URL", &app.http)
        .env("ASSETD_KEY", &key)
        .env("ASSETD_OTHER_KEY", &other_key)
        .env("ASSETD_DISABLED_KEY", &disabled_key)
        .env("ASSETD_FIXTURE", &fixture)
        .output()
        .await
        .expect("run the Python flow");
    assert!(
        output.status.success(),
        "the Python flow failed:\n{}\n{}\nassetd log:\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
        app.log()
    );
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("flow passed"),
        "the Python flow did not run to its end"
    );
    // Everything the flow created, it deleted: no object is left in storage.
    assert_eq!(app.storage.all_files().await, Vec::<String>::new());
}

#[tokio::test]
async fn official_python_client_sqlite() {
    official_client_flow(Engine::Sqlite).await;
}

#[tokio::test]
async fn official_python_client_postgres() {
    official_client_flow(Engine::Postgres).await;
}
