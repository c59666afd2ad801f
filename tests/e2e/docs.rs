//! The API docs: `GET /openapi.json` and `GET /docs` need no key, and the Swagger UI page works in
//! headless Chromium: authorize, upload `fixtures/hero.png` with "Try it out", see the 201
//! (`tests/e2e/docs/docs_test.mjs`, with playwright-core installed under `target/docs-test`).
//!
//! Without `node`, `npm` or a Chromium (`CHROMIUM`, default `/usr/bin/chromium`), or when
//! playwright-core cannot be installed (no network), the browser part is skipped unless
//! `ASSETD_TEST_REQUIRE_BROWSER=1`.

use std::{
    path::{Path, PathBuf},
    process::Command,
    sync::OnceLock,
};

use assetd_tests::{Assetd, Engine, Options, assetd_binary};
use reqwest::{Client, StatusCode};
use serde_json::Value;

const REQUIRE_BROWSER_VAR: &str = "ASSETD_TEST_REQUIRE_BROWSER";

fn required() -> bool {
    std::env::var(REQUIRE_BROWSER_VAR).is_ok_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
}

fn chromium() -> PathBuf {
    std::env::var_os("CHROMIUM").map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from)
}

/// `target/docs-test`, with playwright-core installed, or why there is none.
fn browser_kit() -> Result<PathBuf, String> {
    static KIT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    KIT.get_or_init(|| {
        let chromium = chromium();
        if !chromium.exists() {
            return Err(format!("no Chromium at {}", chromium.display()));
        }
        let node = Command::new("node").arg("--version").output();
        if !node.is_ok_and(|out| out.status.success()) {
            return Err("no node".into());
        }
        let dir = assetd_binary()
            .parent()
            .and_then(Path::parent)
            .ok_or("no target dir")?
            .join("docs-test");
        if dir
            .join("node_modules/playwright-core/package.json")
            .exists()
        {
            return Ok(dir);
        }
        let output = Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--prefix"])
            .arg(&dir)
            .arg("playwright-core@1")
            .output()
            .map_err(|err| format!("npm: {err}"))?;
        if !output.status.success() {
            return Err(format!(
                "npm install playwright-core failed: {}",
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        Ok(dir)
    })
    .clone()
}

#[tokio::test]
async fn docs_page_uploads_from_the_browser() {
    let Some(app) = Assetd::serve(Engine::Sqlite, None, Options::default()).await else {
        return;
    };
    let client = Client::new();

    // The document and the page are public; the assets are cached for a year.
    let doc = client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .expect("GET /openapi.json");
    assert_eq!(doc.status(), StatusCode::OK);
    let doc: Value = doc.json().await.expect("the document is JSON");
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"]["/v1/uploads"]["post"].is_object());
    let page = client
        .get(app.url("/docs"))
        .send()
        .await
        .expect("GET /docs");
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.expect("page");
    assert!(html.contains("/docs/swagger-ui-bundle.js"), "{html}");
    for asset in ["/docs/swagger-ui-bundle.js", "/docs/swagger-ui.css"] {
        let response = client.get(app.url(asset)).send().await.expect(asset);
        assert_eq!(response.status(), StatusCode::OK, "{asset}");
        let cache = response.headers()["cache-control"].to_str().unwrap_or("");
        assert!(cache.contains("max-age=31536000"), "{asset}: {cache}");
    }

    let kit = match tokio::task::spawn_blocking(browser_kit)
        .await
        .expect("kit task")
    {
        Ok(kit) => kit,
        Err(err) if !required() => {
            assetd_tests::skipped(&format!(
                "{err}; set {REQUIRE_BROWSER_VAR}=1 to fail instead"
            ));
            return;
        }
        Err(err) => panic!("the browser test is required ({REQUIRE_BROWSER_VAR}=1): {err}"),
    };
    let key = app.create_key("docs");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("e2e/docs/docs_test.mjs");
    let output = tokio::process::Command::new("node")
        .arg(&script)
        .arg(&app.http)
        .arg(&key)
        .arg(kit.join("docs.png"))
        .env("CHROMIUM", chromium())
        .output()
        .await
        .expect("run the browser script");
    assert!(
        output.status.success(),
        "the docs page test failed:\n{}\n{}\nassetd log:\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
        app.log()
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("upload from /docs: 201"));
}
