//! RFC 9530 digests on uploads: a matching `Content-Digest` / `Repr-Digest` is accepted and the
//! 201 carries `Repr-Digest`; a mismatch (small or streamed body, sha-256 or sha-512) is 400
//! `UPLOAD_DIGEST_MISMATCH` with nothing stored and no record.

use assetd_tests::{Assetd, Engine, Options, fixture};
use base64::Engine as _;
use reqwest::StatusCode;
use sha2::{Digest, Sha256, Sha512};

use crate::upload;

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[tokio::test]
async fn digests_are_checked_and_answered() {
    let Some(app) = Assetd::serve(Engine::Sqlite, None, Options::default()).await else {
        return;
    };
    let key = app.create_key("acme");
    let small = fixture("hero.png");
    // Larger than the sniff window: streamed, checked before the object becomes visible.
    let large = fixture("tone.wav").repeat(8);
    for (name, bytes) in [("hero.png", &small), ("tone.wav", &large)] {
        let sha256 = Sha256::digest(bytes);
        let sha512 = Sha512::digest(bytes);
        let content = format!("sha-512=:{}:, sha-256=:{}:", b64(&sha512), b64(&sha256));
        let response = reqwest::Client::new()
            .post(app.url("/v1/uploads"))
            .header("x-api-key", &key)
            .header("x-file-name", name)
            .header("content-digest", &content)
            .body(bytes.clone())
            .send()
            .await
            .expect("upload");
        assert_eq!(response.status(), StatusCode::CREATED, "{name}");
        assert_eq!(
            response.headers()["repr-digest"],
            format!("sha-256=:{}:", b64(&sha256)).as_str(),
            "{name}"
        );
        // GET /files carries the same digest, on a range too (the whole representation's).
        let body: serde_json::Value = response.json().await.expect("json");
        let file_url = body["data"]["fileUrl"]
            .as_str()
            .expect("fileUrl")
            .to_owned();
        for range in [None, Some("bytes=0-9")] {
            let mut request = reqwest::Client::new().get(&file_url);
            if let Some(range) = range {
                request = request.header("range", range);
            }
            let file = request.send().await.expect("GET file");
            assert!(file.status().is_success(), "{name} {range:?}");
            assert_eq!(
                file.headers()["repr-digest"],
                format!("sha-256=:{}:", b64(&sha256)).as_str(),
                "{name} {range:?}"
            );
        }
        for (field, wrong) in [
            ("content-digest", format!("sha-256=:{}:", b64(&[0u8; 32]))),
            ("repr-digest", format!("sha-512=:{}:", b64(&[0u8; 64]))),
        ] {
            let (status, body) = upload(
                &app,
                &key,
                &[("x-file-name", name), (field, wrong.as_str())],
                bytes.clone(),
            )
            .await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{name} {field}: {body}");
            assert_eq!(
                body["errorCode"], "UPLOAD_DIGEST_MISMATCH",
                "{name} {field}"
            );
        }
    }
    let (status, body) = upload(
        &app,
        &key,
        &[
            ("x-file-name", "hero.png"),
            ("content-digest", "sha-256=abc"),
        ],
        small.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["errorCode"], "UPLOAD_DIGEST_INVALID");
    // Only the two accepted uploads are stored and recorded.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        app.storage.all_files().await.len(),
        2,
        "{:?}",
        app.storage.all_files().await
    );
    assert_eq!(app.row_counts().await.0, 2);
}
