//! The HTTP API calls of `assetd upload`: a single-request `POST /v1/uploads` streamed from the
//! file, a tus 1.0 upload (creation, `PATCH` chunks, `HEAD` to resume after a cut), `GET
//! /v1/assets/{id}` until probed; each retried on 429, 5xx and lost connections.

use std::{
    io::SeekFrom,
    path::Path,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use base64::{Engine as _, engine::general_purpose::STANDARD as BASE64};
use futures::TryStreamExt as _;
use reqwest::{
    Body, Client, Response, StatusCode, Url,
    header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, HeaderValue, LOCATION},
};
use serde_json::Value;
use tokio::io::{AsyncReadExt as _, AsyncSeekExt as _};
use tokio_util::io::ReaderStream;

use super::{
    report::{Failure, FileProgress, Reporter},
    retry::{Attempts, retry_after, retryable},
};

const TUS_VERSION: &str = "1.0.0";
/// Bytes read from the file per body frame.
const READ_BUFFER: usize = 256 * 1024;

/// Client-side error codes, for failures no answer of the API names.
pub mod codes {
    pub const FILE_UNREADABLE: &str = "FILE_UNREADABLE";
    pub const CONNECTION_FAILED: &str = "CONNECTION_FAILED";
    pub const UNEXPECTED_RESPONSE: &str = "UNEXPECTED_RESPONSE";
    pub const PROBE_FAILED: &str = "PROBE_FAILED";
    pub const WAIT_TIMED_OUT: &str = "WAIT_TIMED_OUT";
}

/// Where and as whom to upload, and how persistently.
pub struct Api {
    client: Client,
    base: Url,
    key: HeaderValue,
    project: Option<String>,
    max_attempts: u32,
    chunk_size: u64,
}

/// One file being uploaded: what to read, what to call it, where its progress goes.
pub struct Job<'a> {
    pub path: &'a Path,
    pub display: &'a str,
    pub file_name: &'a str,
    pub size: u64,
    pub progress: &'a FileProgress,
    pub reporter: &'a Reporter,
}

impl Job<'_> {
    fn note(&self, what: &str) {
        self.reporter.note(&format!("{}: {what}", self.display));
    }
}

/// What a request that failed says: retry (after the server's delay, if it named one) or give up.
enum Failed {
    Retry {
        why: String,
        retry_after: Option<Duration>,
        failure: Failure,
    },
    Fatal(Failure),
}

fn unreadable(path: &Path, err: &std::io::Error) -> Failure {
    Failure::client(
        codes::FILE_UNREADABLE,
        format!("cannot read {}: {err}", path.display()),
    )
}

fn unexpected(what: &str) -> Failure {
    Failure::client(codes::UNEXPECTED_RESPONSE, what)
}

/// The failure a problem-details answer describes (`errorCode`, `detail`), or the status alone.
async fn problem(response: Response) -> (Failure, Option<Duration>) {
    let status = response.status();
    let wait = retry_after(response.headers());
    let body: Value = response
        .bytes()
        .await
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or(Value::Null);
    let code = body["errorCode"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| format!("HTTP_{}", status.as_u16()));
    let detail = body["detail"]
        .as_str()
        .or_else(|| body["title"].as_str())
        .or_else(|| status.canonical_reason())
        .unwrap_or("")
        .to_owned();
    (
        Failure {
            code,
            detail,
            status: Some(status.as_u16()),
            asset_id: None,
        },
        wait,
    )
}

/// A non-success answer as [`Failed`]: 429 and 5xx are worth another attempt.
async fn refused(response: Response) -> Failed {
    let status = response.status();
    let (failure, wait) = problem(response).await;
    if retryable(status) {
        Failed::Retry {
            why: format!("{} {}", status.as_u16(), failure.code),
            retry_after: wait,
            failure,
        }
    } else {
        Failed::Fatal(failure)
    }
}

/// A request that got no answer (connection refused, reset, cut mid-body): worth another attempt.
fn lost(err: &reqwest::Error) -> Failed {
    let mut detail = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        detail = format!("{detail}: {cause}");
        source = cause.source();
    }
    Failed::Retry {
        why: "connection lost".into(),
        retry_after: None,
        failure: Failure::client(codes::CONNECTION_FAILED, detail),
    }
}

/// `data` of a success envelope.
async fn envelope_data(response: Response) -> Result<Value, Failure> {
    let body: Value = response
        .bytes()
        .await
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(|| unexpected("the answer is not JSON"))?;
    match body.get("data") {
        Some(data) if data["assetId"].is_string() => Ok(data.clone()),
        _ => Err(unexpected("the answer has no data.assetId")),
    }
}

/// A body that streams `len` bytes of the file from `offset`, counting them into the progress;
/// a read error is kept in `read_error` (so it is told apart from a network failure).
async fn file_body(
    job: &Job<'_>,
    offset: u64,
    len: u64,
    read_error: &Arc<Mutex<Option<std::io::Error>>>,
) -> Result<Body, Failure> {
    let mut file = tokio::fs::File::open(job.path)
        .await
        .map_err(|err| unreadable(job.path, &err))?;
    if offset > 0 {
        file.seek(SeekFrom::Start(offset))
            .await
            .map_err(|err| unreadable(job.path, &err))?;
    }
    let progress = job.progress.handle();
    progress.set(offset);
    let slot = read_error.clone();
    let stream = ReaderStream::with_capacity(file.take(len), READ_BUFFER)
        .inspect_ok(move |chunk| progress.add(chunk.len() as u64))
        .inspect_err(move |err| {
            if let Ok(mut slot) = slot.lock() {
                *slot = Some(std::io::Error::new(err.kind(), err.to_string()));
            }
        });
    Ok(Body::wrap_stream(stream))
}

/// A send that failed: the file's read error if that was the cause, else a lost connection.
fn send_failed(
    job: &Job<'_>,
    err: &reqwest::Error,
    read_error: &Arc<Mutex<Option<std::io::Error>>>,
) -> Failed {
    match read_error.lock().ok().and_then(|mut slot| slot.take()) {
        Some(io) => Failed::Fatal(unreadable(job.path, &io)),
        None => lost(err),
    }
}

fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

fn header_string(headers: &HeaderMap, name: &str) -> Option<String> {
    Some(headers.get(name)?.to_str().ok()?.trim().to_owned())
}

impl Api {
    pub fn new(
        base: Url,
        key: &str,
        project: Option<String>,
        max_attempts: u32,
        chunk_size: u64,
    ) -> anyhow::Result<Self> {
        let client = Client::builder()
            .user_agent(concat!("assetd-upload/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .build()?;
        let mut key = HeaderValue::from_str(key)?;
        key.set_sensitive(true);
        Ok(Self {
            client,
            base,
            key,
            project,
            max_attempts,
            chunk_size: chunk_size.max(1),
        })
    }

    fn url(&self, path: &str) -> Result<Url, Failure> {
        self.base
            .join(path)
            .map_err(|err| unexpected(&format!("cannot form a URL from {path:?}: {err}")))
    }

    /// Runs `attempt` until it succeeds, fails for good, or the attempts are spent; each retry
    /// is noted on standard error with its delay.
    async fn retrying<T, F, Fut>(
        &self,
        job: &Job<'_>,
        what: &str,
        mut attempt: F,
    ) -> Result<T, Failure>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, Failed>>,
    {
        let mut attempts = Attempts::new(self.max_attempts);
        loop {
            match attempt().await {
                Ok(value) => return Ok(value),
                Err(Failed::Fatal(failure)) => return Err(failure),
                Err(Failed::Retry {
                    why,
                    retry_after,
                    failure,
                }) => {
                    let Some(wait) = attempts.failed(retry_after) else {
                        return Err(failure);
                    };
                    job.note(&format!(
                        "{what}: {why}; retrying in {:.1} s (attempt {} of {})",
                        wait.as_secs_f64(),
                        attempts.failures() + 1,
                        self.max_attempts
                    ));
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    /// `POST /v1/uploads` with the whole file as the body: the asset of the 201.
    pub async fn upload_single(&self, job: &Job<'_>) -> Result<Value, Failure> {
        let url = self.url("v1/uploads")?;
        let file_name = HeaderValue::from_bytes(job.file_name.as_bytes()).map_err(|_| {
            unreadable(
                job.path,
                &std::io::Error::other("the file name cannot be sent"),
            )
        })?;
        let (url, file_name) = (&url, &file_name);
        self.retrying(job, "upload", move || async move {
            let read_error = Arc::new(Mutex::new(None));
            let body = file_body(job, 0, job.size, &read_error)
                .await
                .map_err(Failed::Fatal)?;
            let mut request = self
                .client
                .post(url.clone())
                .header("x-api-key", self.key.clone())
                .header("x-file-name", file_name.clone())
                // The server decides the format from the bytes, not from this.
                .header(CONTENT_TYPE, "application/octet-stream")
                .header(CONTENT_LENGTH, job.size)
                .body(body);
            if let Some(project) = &self.project {
                request = request.header("x-project-id", project);
            }
            match request.send().await {
                Ok(response) if response.status() == StatusCode::CREATED => {
                    envelope_data(response).await.map_err(Failed::Fatal)
                }
                Ok(response) => Err(refused(response).await),
                Err(err) => Err(send_failed(job, &err, &read_error)),
            }
        })
        .await
    }

    /// A tus 1.0 upload: creation, then `PATCH` chunks of `chunk_size`; after a cut, a `HEAD`
    /// says how much arrived and the upload goes on from there. The asset it became.
    pub async fn upload_resumable(&self, job: &Job<'_>) -> Result<Value, Failure> {
        let upload = self.create(job).await?;
        let mut offset = 0;
        let mut attempts = Attempts::new(self.max_attempts);
        loop {
            // Every byte is there but the asset is not (yet): ask again, as after a cut.
            let outcome = if offset >= job.size {
                Err(Failed::Retry {
                    why: "every byte sent, no asset yet".into(),
                    retry_after: None,
                    failure: unexpected("the server has every byte but made no asset"),
                })
            } else {
                let len = self.chunk_size.min(job.size - offset);
                self.patch(job, &upload, offset, len).await
            };
            let failed = match outcome {
                Ok(Appended {
                    offset: now,
                    asset_id,
                }) => {
                    if let Some(asset_id) = asset_id {
                        return self.asset(job, &asset_id).await;
                    }
                    if now <= offset || now >= job.size {
                        return Err(unexpected(&format!(
                            "the server took the bytes to {now} of {} without making an asset",
                            job.size
                        )));
                    }
                    attempts.progressed();
                    offset = now;
                    continue;
                }
                Err(failed) => failed,
            };
            let (why, wait, failure) = match failed {
                Failed::Fatal(failure) => return Err(failure),
                Failed::Retry {
                    why,
                    retry_after,
                    failure,
                } => (why, retry_after, failure),
            };
            let Some(wait) = attempts.failed(wait) else {
                return Err(failure);
            };
            tokio::time::sleep(wait).await;
            // What arrived of the cut request is kept: ask where to go on from.
            let state = self.head(job, &upload).await?;
            if let Some(asset_id) = state.asset_id {
                return self.asset(job, &asset_id).await;
            }
            if state.offset > offset {
                attempts.progressed();
            }
            job.note(&format!(
                "{why}; resuming at {} of {} (offset {})",
                indicatif::BinaryBytes(state.offset),
                indicatif::BinaryBytes(job.size),
                state.offset
            ));
            offset = state.offset;
            job.progress.handle().set(offset);
        }
    }

    /// The tus creation request: the upload's URL.
    async fn create(&self, job: &Job<'_>) -> Result<Url, Failure> {
        let url = self.url("v1/uploads")?;
        let mut metadata = format!("filename {}", BASE64.encode(job.file_name));
        if let Some(project) = &self.project {
            metadata.push_str(&format!(",projectId {}", BASE64.encode(project)));
        }
        let (url, metadata) = (&url, &metadata);
        self.retrying(job, "creating the resumable upload", move || async move {
            let response = self
                .client
                .post(url.clone())
                .header("x-api-key", self.key.clone())
                .header("tus-resumable", TUS_VERSION)
                .header("upload-length", job.size)
                .header("upload-metadata", metadata)
                .body("")
                .send()
                .await
                .map_err(|err| lost(&err))?;
            if response.status() != StatusCode::CREATED {
                return Err(refused(response).await);
            }
            let location = header_string(response.headers(), LOCATION.as_str())
                .ok_or_else(|| Failed::Fatal(unexpected("the creation answer has no Location")))?;
            self.url(&location).map_err(Failed::Fatal)
        })
        .await
    }

    /// One `PATCH` of `len` bytes at `offset`.
    async fn patch(
        &self,
        job: &Job<'_>,
        upload: &Url,
        offset: u64,
        len: u64,
    ) -> Result<Appended, Failed> {
        let read_error = Arc::new(Mutex::new(None));
        let body = file_body(job, offset, len, &read_error)
            .await
            .map_err(Failed::Fatal)?;
        let response = self
            .client
            .patch(upload.clone())
            .header("x-api-key", self.key.clone())
            .header("tus-resumable", TUS_VERSION)
            .header("upload-offset", offset)
            .header(CONTENT_TYPE, "application/offset+octet-stream")
            .header(CONTENT_LENGTH, len)
            .body(body)
            .send()
            .await
            .map_err(|err| send_failed(job, &err, &read_error))?;
        let status = response.status();
        if status == StatusCode::NO_CONTENT {
            let headers = response.headers();
            return Ok(Appended {
                offset: header_u64(headers, "upload-offset").ok_or_else(|| {
                    Failed::Fatal(unexpected("a PATCH answer without Upload-Offset"))
                })?,
                asset_id: header_string(headers, "x-asset-id"),
            });
        }
        // Someone else's offset (a lost answer), or the upload locked by an append still
        // draining: a HEAD says where it stands.
        if status == StatusCode::CONFLICT || status == StatusCode::LOCKED {
            let (failure, wait) = problem(response).await;
            return Err(Failed::Retry {
                why: format!("{} {}", status.as_u16(), failure.code),
                retry_after: Some(wait.unwrap_or(Duration::ZERO)),
                failure,
            });
        }
        Err(refused(response).await)
    }

    /// `HEAD` of the upload: its offset, and its asset once complete.
    async fn head(&self, job: &Job<'_>, upload: &Url) -> Result<Appended, Failure> {
        self.retrying(job, "asking where the upload stands", move || async move {
            let response = self
                .client
                .head(upload.clone())
                .header("x-api-key", self.key.clone())
                .header("tus-resumable", TUS_VERSION)
                .send()
                .await
                .map_err(|err| lost(&err))?;
            if !response.status().is_success() {
                return Err(refused(response).await);
            }
            let headers = response.headers();
            Ok(Appended {
                offset: header_u64(headers, "upload-offset").ok_or_else(|| {
                    Failed::Fatal(unexpected("a HEAD answer without Upload-Offset"))
                })?,
                asset_id: header_string(headers, "x-asset-id"),
            })
        })
        .await
    }

    /// `GET /v1/assets/{id}`: the asset.
    pub async fn asset(&self, job: &Job<'_>, asset_id: &str) -> Result<Value, Failure> {
        let url = self.url(&format!("v1/assets/{asset_id}"))?;
        let url = &url;
        self.retrying(job, "reading the asset", move || async move {
            let response = self
                .client
                .get(url.clone())
                .header("x-api-key", self.key.clone())
                .send()
                .await
                .map_err(|err| lost(&err))?;
            if response.status() != StatusCode::OK {
                return Err(refused(response).await);
            }
            envelope_data(response).await.map_err(Failed::Fatal)
        })
        .await
    }

    /// Polls the asset (0.25 s, doubling to 5 s) until its probe is done: the `ready` asset, or
    /// a failure with the probe's error.
    pub async fn wait_probed(
        &self,
        job: &Job<'_>,
        mut asset: Value,
        timeout: Duration,
    ) -> Result<Value, Failure> {
        let deadline = Instant::now() + timeout;
        let mut delay = Duration::from_millis(250);
        let asset_id = asset["assetId"].as_str().unwrap_or_default().to_owned();
        loop {
            match asset["probeStatus"].as_str() {
                Some("ready") => return Ok(asset),
                Some("failed") => {
                    return Err(Failure {
                        code: codes::PROBE_FAILED.into(),
                        detail: asset["probeError"]
                            .as_str()
                            .unwrap_or("the probe failed")
                            .to_owned(),
                        status: None,
                        asset_id: Some(asset_id),
                    });
                }
                _ => {}
            }
            if Instant::now() + delay > deadline {
                return Err(Failure {
                    code: codes::WAIT_TIMED_OUT.into(),
                    detail: format!(
                        "not probed within {} s (probeStatus {})",
                        timeout.as_secs(),
                        asset["probeStatus"]
                    ),
                    status: None,
                    asset_id: Some(asset_id),
                });
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(5));
            asset = self.asset(job, &asset_id).await.map_err(|mut failure| {
                failure.asset_id = Some(asset_id.clone());
                failure
            })?;
        }
    }
}

/// Where a resumable upload stands after a `PATCH` or `HEAD`.
struct Appended {
    offset: u64,
    asset_id: Option<String>,
}
