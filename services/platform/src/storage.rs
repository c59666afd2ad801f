//! Object storage: the one module that talks to opendal (local filesystem, S3-compatible, or memory).

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use opendal::{
    Operator,
    layers::{RetryLayer, TimeoutLayer},
    services,
};

use crate::secret::Secret;

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum StorageBackend {
    /// A directory on the local filesystem (the embedded default).
    Fs,
    /// An S3-compatible object store (production).
    S3,
    /// Process memory; objects vanish on exit. For tests and experiments only.
    Memory,
}

#[derive(clap::Args, Clone, Debug)]
pub struct StorageConfig {
    /// Where objects are stored.
    #[arg(
        long = "storage",
        env = "ASSETD_STORAGE",
        value_enum,
        default_value = "fs"
    )]
    pub backend: StorageBackend,
    /// Directory of the `fs` backend; created if missing.
    #[arg(
        long,
        env = "ASSETD_STORAGE_DIR",
        default_value = "assetd-data/objects"
    )]
    pub storage_dir: PathBuf,
    /// S3 endpoint URL, e.g. `https://s3.eu-west-1.amazonaws.com` or a MinIO address.
    #[arg(long, env = "ASSETD_S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,
    /// S3 bucket that holds the objects.
    #[arg(long, env = "ASSETD_S3_BUCKET")]
    pub s3_bucket: Option<String>,
    /// S3 region.
    #[arg(long, env = "ASSETD_S3_REGION", default_value = "us-east-1")]
    pub s3_region: String,
    /// S3 access key id; without it the standard AWS credential chain is used.
    #[arg(long, env = "ASSETD_S3_ACCESS_KEY_ID")]
    pub s3_access_key_id: Option<String>,
    /// S3 secret access key.
    #[arg(long, env = "ASSETD_S3_SECRET_ACCESS_KEY", hide_env_values = true)]
    pub s3_secret_access_key: Option<Secret>,
    /// Public base URL under which the bucket's objects are readable (a CDN or a public bucket).
    /// Without it, `fileUrl` is a presigned GET URL.
    #[arg(long, env = "ASSETD_S3_PUBLIC_BASE_URL")]
    pub s3_public_base_url: Option<String>,
    /// Lifetime of presigned `fileUrl`s, in seconds.
    #[arg(long, env = "ASSETD_S3_PRESIGN_TTL_SECS", default_value_t = 3600)]
    pub s3_presign_ttl_secs: u64,
    /// Deadline of one storage request, in seconds; a slower store counts as unavailable.
    #[arg(long, env = "ASSETD_STORAGE_TIMEOUT_SECS", default_value_t = 30)]
    pub storage_timeout_secs: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("storage configuration: {0}")]
    Config(String),
    #[error("object not found")]
    NotFound,
    #[error("storage unavailable")]
    Unavailable(#[source] opendal::Error),
}

impl From<opendal::Error> for StorageError {
    fn from(err: opendal::Error) -> Self {
        match err.kind() {
            opendal::ErrorKind::NotFound => Self::NotFound,
            _ => Self::Unavailable(err),
        }
    }
}

/// How a stored object is reached from outside.
#[derive(Clone, Debug)]
pub enum PublicAccess {
    /// The gateway serves objects itself (filesystem and memory backends).
    ViaGateway,
    /// Objects are public under this base URL.
    BaseUrl(String),
    /// Presigned GET URLs valid this long.
    Presigned(Duration),
}

/// Size of the buffer a writer fills before it writes to the backend.
const FS_WRITE_CHUNK: usize = 1024 * 1024;
/// S3 multipart parts must be at least 5 MiB; 8 MiB keeps memory per upload bounded.
const S3_WRITE_CHUNK: usize = 8 * 1024 * 1024;

#[derive(Clone, Debug)]
pub struct Storage {
    op: Operator,
    backend: StorageBackend,
    access: PublicAccess,
    /// The `fs` backend's root directory, for [`Storage::put`]'s one-task write.
    fs_root: Option<PathBuf>,
    /// S3's multipart calls, for uploads that span requests (S3 only).
    multipart: Option<crate::multipart::Multipart>,
}

impl Storage {
    pub fn open(config: &StorageConfig) -> Result<Self, StorageError> {
        opendal::install_default();
        let mut fs_root = None;
        let mut multipart = None;
        let (op, access) = match config.backend {
            StorageBackend::Fs => {
                std::fs::create_dir_all(&config.storage_dir).map_err(|err| {
                    StorageError::Config(format!(
                        "cannot create storage dir {}: {err}",
                        config.storage_dir.display()
                    ))
                })?;
                let root = std::fs::canonicalize(&config.storage_dir).map_err(|err| {
                    StorageError::Config(format!(
                        "storage dir {}: {err}",
                        config.storage_dir.display()
                    ))
                })?;
                fs_root = Some(root.clone());
                let root = root.to_string_lossy().into_owned();
                // Objects are written beside, then renamed into place on close: a cut upload leaves no partial object.
                let incoming = format!("{root}/{INCOMING_DIR}");
                sweep_incoming(Path::new(&incoming), INCOMING_MAX_AGE);
                let builder = services::Fs::default()
                    .root(&root)
                    .atomic_write_dir(&incoming);
                (
                    Operator::new(builder).map_err(config_error)?,
                    PublicAccess::ViaGateway,
                )
            }
            StorageBackend::S3 => {
                let bucket = config.s3_bucket.as_deref().ok_or_else(|| {
                    StorageError::Config(
                        "--s3-bucket (ASSETD_S3_BUCKET) is required with --storage s3".into(),
                    )
                })?;
                multipart = Some(crate::multipart::Multipart::new(config, bucket));
                let mut builder = services::S3::default()
                    .bucket(bucket)
                    .region(&config.s3_region);
                if let Some(endpoint) = &config.s3_endpoint {
                    builder = builder.endpoint(endpoint);
                }
                if let Some(key_id) = &config.s3_access_key_id {
                    builder = builder.access_key_id(key_id);
                }
                if let Some(secret) = &config.s3_secret_access_key {
                    builder = builder.secret_access_key(secret.expose());
                }
                let access = match &config.s3_public_base_url {
                    Some(base) => PublicAccess::BaseUrl(base.trim_end_matches('/').to_owned()),
                    None => {
                        PublicAccess::Presigned(Duration::from_secs(config.s3_presign_ttl_secs))
                    }
                };
                (Operator::new(builder).map_err(config_error)?, access)
            }
            StorageBackend::Memory => (
                Operator::new(services::Memory::default()).map_err(config_error)?,
                PublicAccess::ViaGateway,
            ),
        };
        let timeout = Duration::from_secs(config.storage_timeout_secs.max(1));
        let op = op
            .layer(
                TimeoutLayer::new()
                    .with_timeout(timeout)
                    .with_io_timeout(timeout),
            )
            .layer(RetryLayer::new().with_max_times(2).with_jitter());
        Ok(Self {
            op,
            backend: config.backend,
            access,
            fs_root,
            multipart,
        })
    }

    pub fn backend(&self) -> StorageBackend {
        self.backend
    }

    /// S3's multipart calls; `None` on other backends.
    pub fn multipart(&self) -> Option<&crate::multipart::Multipart> {
        self.multipart.as_ref()
    }

    pub fn public_access(&self) -> &PublicAccess {
        &self.access
    }

    /// Opens a streaming writer; nothing is visible under `key` until [`opendal::Writer::close`] succeeds.
    pub async fn writer(&self, key: &str) -> Result<opendal::Writer, StorageError> {
        let chunk = match self.backend {
            StorageBackend::S3 => S3_WRITE_CHUNK,
            StorageBackend::Fs | StorageBackend::Memory => FS_WRITE_CHUNK,
        };
        Ok(self.op.writer_with(key).chunk(chunk).await?)
    }

    /// Stores a whole object that is already in memory (a small upload); nothing is visible
    /// under `key` unless it succeeds, and a failure leaves nothing behind.
    ///
    /// On the filesystem this is one blocking task: a temporary file in `.incoming/`, written,
    /// fsynced and renamed into place, as opendal's writer does, but opendal's fs writer runs
    /// each of its nine steps (two directory creations, an existence check, open, write, flush,
    /// fsync, rename, stat) as its own blocking-pool task. For a 4 KiB upload those hand-offs
    /// between threads cost more CPU than the write itself (`tests/bench/cpu-RESULTS.md`).
    /// Elsewhere it is opendal's one-shot write (one `PutObject` on S3).
    pub async fn put(&self, key: &str, bytes: bytes::Bytes) -> Result<(), StorageError> {
        let Some(root) = &self.fs_root else {
            self.op.write(key, bytes).await?;
            return Ok(());
        };
        let target = fs_object_path(root, key)?;
        let incoming = root.join(INCOMING_DIR);
        let written = tokio::task::spawn_blocking(move || write_file(&incoming, &target, &bytes))
            .await
            .map_err(|err| std::io::Error::other(format!("storage write task failed: {err}")));
        written.and_then(|result| result).map_err(|err| {
            StorageError::Unavailable(
                opendal::Error::new(opendal::ErrorKind::Unexpected, "cannot write the object")
                    .with_context("key", key)
                    .set_source(err),
            )
        })
    }

    /// Size in bytes of the object under `key`.
    pub async fn size(&self, key: &str) -> Result<u64, StorageError> {
        Ok(self.op.stat(key).await?.content_length())
    }

    /// Streams `range` of the object under `key`.
    pub async fn read_stream(
        &self,
        key: &str,
        range: std::ops::Range<u64>,
    ) -> Result<
        impl futures::Stream<Item = std::io::Result<bytes::Bytes>> + Send + 'static,
        StorageError,
    > {
        let reader = self.op.reader_with(key).chunk(FS_WRITE_CHUNK).await?;
        Ok(reader.into_bytes_stream(range).await?)
    }

    /// Reads `range` of the object under `key` into memory; for small ranges only. Counts the
    /// reads and the bytes they returned (`assetd_storage_range_reads_total`,
    /// `assetd_storage_range_read_bytes_total`): what probing really costs the storage.
    pub async fn read_range(
        &self,
        key: &str,
        range: std::ops::Range<u64>,
    ) -> Result<bytes::Bytes, StorageError> {
        let bytes = self.op.read_with(key).range(range).await?.to_bytes();
        metrics::counter!("assetd_storage_range_reads_total").increment(1);
        metrics::counter!("assetd_storage_range_read_bytes_total").increment(bytes.len() as u64);
        Ok(bytes)
    }

    /// Deletes the object under `key`; deleting a missing object succeeds.
    pub async fn delete(&self, key: &str) -> Result<(), StorageError> {
        Ok(self.op.delete(key).await?)
    }

    /// Deletes every object under the directory `prefix` (ending in `/`); a missing directory
    /// succeeds.
    pub async fn delete_all(&self, prefix: &str) -> Result<(), StorageError> {
        debug_assert!(prefix.ends_with('/'));
        Ok(self.op.delete_with(prefix).recursive(true).await?)
    }

    pub async fn exists(&self, key: &str) -> Result<bool, StorageError> {
        Ok(self.op.exists(key).await?)
    }

    /// Every object key under `prefix` (recursively); for tests and administration.
    pub async fn list(&self, prefix: &str) -> Result<Vec<String>, StorageError> {
        let entries = self.op.list_with(prefix).recursive(true).await?;
        Ok(entries
            .into_iter()
            .filter(|entry| entry.metadata().is_file())
            .map(|entry| entry.path().to_owned())
            .collect())
    }

    /// A presigned GET URL for `key`.
    pub async fn presign_read(&self, key: &str, ttl: Duration) -> Result<String, StorageError> {
        Ok(self.op.presign_read(key, ttl).await?.uri().to_string())
    }

    /// Writes a small probe object and deletes it; for readiness checks.
    pub async fn check(&self) -> Result<(), StorageError> {
        Ok(self.op.check().await?)
    }
}

/// Where the `fs` backend keeps files being written, under its root.
const INCOMING_DIR: &str = ".incoming";

/// The path of `key` under `root`; keys are relative paths of plain names (assetd makes them of
/// ids), anything else is refused rather than resolved outside the root.
fn fs_object_path(root: &Path, key: &str) -> Result<PathBuf, StorageError> {
    let plain = !key.is_empty()
        && key
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..");
    if !plain {
        return Err(StorageError::Config(format!(
            "object key {key:?} is not a relative path of plain names"
        )));
    }
    Ok(root.join(key))
}

/// Writes `bytes` to a new file in `incoming`, fsyncs it and renames it to `target` (creating
/// `target`'s directory); on any failure the temporary file is removed.
fn write_file(incoming: &Path, target: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let name = target.file_name().unwrap_or_default().to_string_lossy();
    let temp = incoming.join(format!("{name}.{}", uuid::Uuid::new_v4().simple()));
    let result = (|| {
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let mut file = match std::fs::File::create_new(&temp) {
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(incoming)?;
                std::fs::File::create_new(&temp)?
            }
            opened => opened?,
        };
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temp, target)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

/// Half-written files older than this are left over from a crash (no upload runs that long).
const INCOMING_MAX_AGE: Duration = Duration::from_secs(24 * 3600);

/// Removes what a killed process left half-written in the filesystem backend's `.incoming/`.
fn sweep_incoming(dir: &Path, max_age: Duration) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let stale = entry
            .metadata()
            .and_then(|meta| meta.modified())
            .ok()
            .and_then(|modified| modified.elapsed().ok())
            .is_some_and(|age| age > max_age);
        if stale {
            match std::fs::remove_file(entry.path()) {
                Ok(()) => {
                    tracing::info!(path = %entry.path().display(), "removed a stale half-written upload")
                }
                Err(err) => {
                    tracing::warn!(path = %entry.path().display(), error = %err, "cannot remove a stale half-written upload")
                }
            }
        }
    }
}

fn config_error(err: opendal::Error) -> StorageError {
    StorageError::Config(err.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn memory() -> Storage {
        let config = StorageConfig {
            backend: StorageBackend::Memory,
            storage_dir: PathBuf::new(),
            s3_endpoint: None,
            s3_bucket: None,
            s3_region: "us-east-1".into(),
            s3_access_key_id: None,
            s3_secret_access_key: None,
            s3_public_base_url: None,
            s3_presign_ttl_secs: 60,
            storage_timeout_secs: 5,
        };
        Storage::open(&config).expect("memory storage opens")
    }

    #[test]
    fn sweep_removes_only_stale_files() {
        let dir = std::env::temp_dir().join(format!("assetd-sweep-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        std::fs::write(dir.join("fresh"), b"x").expect("write");
        sweep_incoming(&dir, Duration::from_secs(3600));
        assert!(dir.join("fresh").exists());
        sweep_incoming(&dir, Duration::ZERO);
        assert!(!dir.join("fresh").exists());
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[tokio::test]
    async fn aborted_writer_leaves_nothing() {
        let storage = memory();
        let mut writer = storage.writer("a/b").await.expect("writer");
        writer.write(vec![1u8; 1000]).await.expect("write");
        writer.abort().await.expect("abort");
        assert!(!storage.exists("a/b").await.expect("exists"));
    }

    #[tokio::test]
    async fn closed_writer_is_readable_by_range() {
        let storage = memory();
        let mut writer = storage.writer("a/b").await.expect("writer");
        writer.write(b"hello world".to_vec()).await.expect("write");
        writer.close().await.expect("close");
        assert_eq!(storage.size("a/b").await.expect("size"), 11);
        assert_eq!(
            &storage.read_range("a/b", 6..11).await.expect("read")[..],
            b"world"
        );
        storage.delete("a/b").await.expect("delete");
        assert!(!storage.exists("a/b").await.expect("exists"));
    }
}
