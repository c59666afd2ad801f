//! Where a test's objects go (a directory, or an S3 bucket of the local S3 server), and looking
//! behind assetd at what is stored.

use std::path::PathBuf;

use crate::{ScratchDir, required, skipped};

/// Endpoint of the S3-compatible server for S3 tests (the test script starts one).
pub const S3_ENDPOINT_VAR: &str = "ASSETD_TEST_S3_ENDPOINT";
/// Set to 1 (CI does) to make S3 tests fail instead of skipping when no S3 endpoint is given.
pub const REQUIRE_S3_VAR: &str = "ASSETD_TEST_REQUIRE_S3";

/// Where a test's objects go.
#[derive(Clone, Debug)]
pub enum TestStorage {
    Fs { dir: PathBuf },
    S3 { endpoint: String, bucket: String },
}

impl TestStorage {
    pub fn fs(scratch: &ScratchDir) -> Self {
        Self::Fs {
            dir: scratch.path().join("objects"),
        }
    }

    /// A fresh bucket on the test S3 server; `None` when none is configured and it is not required.
    pub async fn s3() -> Option<Self> {
        let endpoint = match std::env::var(S3_ENDPOINT_VAR) {
            Ok(endpoint) => endpoint,
            Err(_) if !required(REQUIRE_S3_VAR) => {
                skipped(&format!(
                    "no S3 endpoint; set {S3_ENDPOINT_VAR} (the test script does) or run tests/run"
                ));
                return None;
            }
            Err(_) => panic!(
                "S3 tests are required ({REQUIRE_S3_VAR}=1) but {S3_ENDPOINT_VAR} is not set"
            ),
        };
        let bucket = format!(
            "assetd-e2e-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        );
        let response = reqwest::Client::new()
            .put(format!("{endpoint}/{bucket}"))
            .send()
            .await
            .unwrap_or_else(|err| panic!("S3 server at {endpoint} unreachable: {err}"));
        assert!(
            response.status().is_success(),
            "create bucket: {}",
            response.status()
        );
        Some(Self::S3 { endpoint, bucket })
    }

    pub fn args(&self) -> Vec<String> {
        match self {
            Self::Fs { dir } => vec![
                "--storage".into(),
                "fs".into(),
                "--storage-dir".into(),
                dir.display().to_string(),
            ],
            Self::S3 { endpoint, bucket } => vec![
                "--storage".into(),
                "s3".into(),
                "--s3-endpoint".into(),
                endpoint.clone(),
                "--s3-bucket".into(),
                bucket.clone(),
                "--s3-access-key-id".into(),
                "test".into(),
                "--s3-secret-access-key".into(),
                "test".into(),
                "--storage-timeout-secs".into(),
                "5".into(),
            ],
        }
    }

    fn operator(&self) -> opendal::Operator {
        opendal::install_default();
        match self {
            Self::Fs { dir } => {
                std::fs::create_dir_all(dir).expect("storage dir");
                opendal::Operator::new(
                    opendal::services::Fs::default().root(&dir.display().to_string()),
                )
                .expect("fs operator")
            }
            Self::S3 { endpoint, bucket } => opendal::Operator::new(
                opendal::services::S3::default()
                    .endpoint(endpoint)
                    .bucket(bucket)
                    .region("us-east-1")
                    .access_key_id("test")
                    .secret_access_key("test"),
            )
            .expect("s3 operator"),
        }
    }

    /// Every stored file, including half-written ones, as storage paths.
    pub async fn all_files(&self) -> Vec<String> {
        let entries = self
            .operator()
            .list_with("/")
            .recursive(true)
            .await
            .expect("list storage");
        let mut files: Vec<String> = entries
            .into_iter()
            .filter(|e| e.metadata().is_file())
            .map(|e| e.path().to_owned())
            .collect();
        files.sort();
        files
    }

    /// Keys of the multipart uploads open in the bucket (S3 `ListMultipartUploads`); always empty
    /// on the filesystem, whose unfinished writes are files under `.incoming/` instead.
    pub async fn open_uploads(&self) -> Vec<String> {
        let Self::S3 { endpoint, bucket } = self else {
            return Vec::new();
        };
        let listing = reqwest::Client::new()
            .get(format!("{endpoint}/{bucket}?uploads"))
            .send()
            .await
            .expect("ListMultipartUploads")
            .text()
            .await
            .expect("ListMultipartUploads body");
        assert!(
            listing.contains("<ListMultipartUploadsResult"),
            "ListMultipartUploads: {listing}"
        );
        let mut keys: Vec<String> = listing
            .split("<Upload>")
            .skip(1)
            .filter_map(|upload| {
                let (_, rest) = upload.split_once("<Key>")?;
                Some(rest.split_once("</Key>")?.0.to_owned())
            })
            .collect();
        keys.sort();
        keys
    }

    /// Writes begun and not finished: open multipart uploads on S3, files under `.incoming/` on
    /// the filesystem.
    pub async fn partial_writes(&self) -> usize {
        match self {
            Self::S3 { .. } => self.open_uploads().await.len(),
            Self::Fs { .. } => self
                .all_files()
                .await
                .iter()
                .filter(|path| path.starts_with(".incoming/"))
                .count(),
        }
    }

    pub async fn read(&self, key: &str) -> Vec<u8> {
        self.operator()
            .read(key)
            .await
            .expect("read object")
            .to_vec()
    }
}
