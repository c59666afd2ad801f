//! The official Python client, PyPI's `indream-client` 1.1.0, against the real binary, plus a
//! 1.0-style plain HTTP flow (`x-api-key`); both in `tests/e2e/python/indream_flow.py`.
//!
//! The client is installed once into a virtualenv under `target/indream-venv` (see
//! [`assetd_tests::python`]).

use std::path::Path;

use assetd_tests::{Assetd, Engine, Options, python};

const CLIENT: &str = "indream-client==1.1.0";

async fn official_client_flow(engine: Engine) {
    let Some(python) = tokio::task::spawn_blocking(|| python::venv("indream-venv", &[CLIENT]))
        .await
        .expect("venv task")
    else {
        return;
    };
    let Some(app) = Assetd::serve(engine, None, Options::default()).await else {
        return;
    };
    let key = app.create_key("python");
    let other_key = app.create_key("python-other");
    let disabled_key = app.create_key("python-disabled");
    app.disable_account("python-disabled");
    let script = python::script("indream_flow.py");
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
