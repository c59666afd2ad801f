//! The S3 backend against a real S3-compatible server: objects land in the bucket and presigned fileUrls serve them.

use assetd_tests::{Assetd, Engine, Options, TestStorage, fixture};
use reqwest::{Client, StatusCode};

use crate::upload;

#[tokio::test]
async fn uploads_land_in_the_bucket_and_presigned_urls_serve_them() {
    let Some(storage) = TestStorage::s3().await else {
        return;
    };
    let Some(app) = Assetd::serve(Engine::Sqlite, Some(storage), Options::default()).await else {
        return;
    };
    let key = app.create_key("acme");
    for name in ["hero.png", "tone.wav", "sample.srt"] {
        let bytes = fixture(name);
        let (status, body) = upload(&app, &key, &[("x-file-name", name)], bytes.clone()).await;
        assert_eq!(status, StatusCode::CREATED, "{name}: {body}");
        let file_key = body["data"]["fileKey"].as_str().expect("fileKey");
        assert_eq!(
            app.storage.read(file_key).await,
            bytes,
            "{name}: object in the bucket"
        );
        let url = body["data"]["fileUrl"].as_str().expect("fileUrl");
        assert!(
            url.contains("X-Amz-Signature"),
            "expected a presigned URL, got {url}"
        );
        let served = Client::new().get(url).send().await.expect("GET presigned");
        assert_eq!(served.status(), StatusCode::OK, "{name}");
        assert_eq!(
            served.bytes().await.expect("bytes").to_vec(),
            bytes,
            "{name}: presigned bytes"
        );
    }
    assert_eq!(app.storage.all_files().await.len(), 3);
}
