//! Successful uploads on SQLite and Postgres: the 201 body, the stored bytes, the project binding.

use assetd_tests::{Assetd, Engine, Options, fixture};
use reqwest::{Client, StatusCode};
use sha2::{Digest, Sha256};

use crate::{account_of, create_project, upload};

const CONTRACT_FIELDS: [&str; 11] = [
    "assetId", "type", "source", "filename", "mimetype", "size", "fileUrl", "fileKey", "width",
    "height", "duration",
];

async fn every_kind_is_stored_and_served(engine: Engine) {
    let Some(app) = Assetd::serve(engine, None, Options::default()).await else {
        return;
    };
    let key = app.create_key("acme");
    let cases = [
        ("hero.png", "image/png", "IMAGE", "image/png"),
        ("dot.gif", "image/gif", "GIF", "image/gif"),
        ("tone.wav", "application/octet-stream", "AUDIO", "audio/wav"),
        (
            "sample.srt",
            "text/plain",
            "CAPTION",
            "application/x-subrip",
        ),
        (
            "sample.ass",
            "application/octet-stream",
            "CAPTION",
            "text/x-ssa",
        ),
        ("sample.lrc", "text/plain", "CAPTION", "text/x-lrc"),
    ];
    for (name, declared, kind, mimetype) in cases {
        let bytes = fixture(name);
        let (status, body) = upload(
            &app,
            &key,
            &[("x-file-name", name), ("content-type", declared)],
            bytes.clone(),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{name}: {body}");
        let asset = &body["data"];
        assert_eq!(body["meta"], serde_json::json!({}));
        for field in CONTRACT_FIELDS {
            assert!(
                asset.get(field).is_some(),
                "{name}: missing {field} in {asset}"
            );
        }
        assert_eq!(asset["type"], kind, "{name}");
        assert_eq!(asset["mimetype"], mimetype, "{name}");
        assert_eq!(asset["filename"], name);
        assert_eq!(asset["source"], "UPLOAD");
        assert_eq!(
            asset["size"].as_u64(),
            Some(bytes.len() as u64),
            "size must be an integer"
        );
        assert!(
            asset["width"].is_null() && asset["height"].is_null() && asset["duration"].is_null()
        );
        assert_eq!(asset["probeStatus"], "pending");
        assert_eq!(asset["sha256"], hex::encode(Sha256::digest(&bytes)));
        let file_key = asset["fileKey"].as_str().expect("fileKey");
        assert!(
            !file_key.contains(name),
            "the storage key must not contain the file name"
        );

        // The fileUrl serves the exact bytes, whole and by range.
        let file_url = asset["fileUrl"].as_str().expect("fileUrl");
        let served = Client::new()
            .get(file_url)
            .send()
            .await
            .expect("GET fileUrl");
        assert_eq!(served.status(), StatusCode::OK);
        assert_eq!(served.headers()["x-content-type-options"], "nosniff");
        assert_eq!(
            served.headers()["content-security-policy"],
            "sandbox; default-src 'none'"
        );
        assert_eq!(
            served.bytes().await.expect("body").to_vec(),
            bytes,
            "{name}: fileUrl bytes"
        );
        let ranged = Client::new()
            .get(file_url)
            .header("range", "bytes=2-9")
            .send()
            .await
            .expect("range");
        assert_eq!(ranged.status(), StatusCode::PARTIAL_CONTENT);
        assert_eq!(
            ranged.headers()["content-range"].to_str().expect("header"),
            format!("bytes 2-9/{}", bytes.len())
        );
        assert_eq!(
            ranged.bytes().await.expect("body").to_vec(),
            bytes[2..10].to_vec()
        );
        assert_eq!(app.storage.read(file_key).await, bytes);

        // And the asset reads back the same.
        let got = Client::new()
            .get(app.url(&format!(
                "/v1/assets/{}",
                asset["assetId"].as_str().expect("id")
            )))
            .bearer_auth(&key)
            .send()
            .await
            .expect("GET asset");
        assert_eq!(got.status(), StatusCode::OK);
        let got: serde_json::Value = got.json().await.expect("json");
        assert_eq!(got["data"]["assetId"], asset["assetId"]);
        assert_eq!(got["data"]["sha256"], asset["sha256"]);
    }
    let (assets, _) = app.row_counts().await;
    assert_eq!(assets, cases.len() as i64);
    // The upload example of the public docs, as a 1.1 client sends it (Bearer auth).
    let response = Client::new()
        .post(app.url("/v1/uploads"))
        .bearer_auth(&key)
        .header("x-file-name", "hero.png")
        .header("content-type", "image/png")
        .body(fixture("hero.png"))
        .send()
        .await
        .expect("upload");
    assert_eq!(response.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn every_kind_is_stored_and_served_sqlite() {
    every_kind_is_stored_and_served(Engine::Sqlite).await;
}

#[tokio::test]
async fn every_kind_is_stored_and_served_postgres() {
    every_kind_is_stored_and_served(Engine::Postgres).await;
}

async fn upload_binds_to_project(engine: Engine) {
    let Some(app) = Assetd::serve(engine, None, Options::default()).await else {
        return;
    };
    let key = app.create_key("acme");
    let account = account_of(&app, &key).await;
    let project = create_project(&app, &account).await;
    let (status, body) = upload(
        &app,
        &key,
        &[("x-file-name", "hero.png"), ("x-project-id", &project)],
        fixture("hero.png"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(app.row_counts().await, (1, 1));
    // The binding is real: the catalog refuses to delete a bound asset.
    let asset_id = body["data"]["assetId"].as_str().expect("id").to_owned();
    let refused = app
        .catalog()
        .await
        .delete_asset(assetd_proto::catalog::v1::DeleteAssetRequest {
            account_id: account.clone(),
            asset_id,
        })
        .await
        .expect_err("bound asset cannot be deleted");
    assert_eq!(refused.code(), tonic::Code::FailedPrecondition);
}

#[tokio::test]
async fn upload_binds_to_project_sqlite() {
    upload_binds_to_project(Engine::Sqlite).await;
}

#[tokio::test]
async fn upload_binds_to_project_postgres() {
    upload_binds_to_project(Engine::Postgres).await;
}

#[tokio::test]
async fn concurrent_uploads_all_land_sqlite() {
    let Some(app) = Assetd::serve(Engine::Sqlite, None, Options::default()).await else {
        return;
    };
    let key = app.create_key("acme");
    let bytes = fixture("hero.png");
    let uploads = (0..24).map(|i| {
        let name = format!("hero-{i}.png");
        let (app, key, bytes) = (&app, &key, bytes.clone());
        async move { upload(app, key, &[("x-file-name", &name)], bytes).await.0 }
    });
    let statuses = futures::future::join_all(uploads).await;
    assert!(
        statuses.iter().all(|s| *s == StatusCode::CREATED),
        "{statuses:?}"
    );
    assert_eq!(app.row_counts().await.0, 24);
}
