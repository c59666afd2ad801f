//! One append to a resumable upload, under its lease: the body streamed into chunk objects
//! (at most [`CHUNK_MAX`] each), each closed chunk recorded in the catalog as it closes, the
//! format sniffed from the first bytes as soon as they have arrived, the kind's limit and the
//! declared length enforced at the byte that crosses them, and an `Upload-Checksum` verified
//! before any byte of the request is recorded.
//!
//! A body that is cut keeps what arrived (the chunk is closed and recorded), so the client
//! resumes from there; with a checksum nothing of the request is kept, as tus requires.

use std::time::{Duration, Instant};

use assetd_media::format::{self, Format};
use assetd_proto::{
    catalog::v1::{self as pb, AppendResumableUploadRequest},
    ids::AccountId,
};
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use sha1::Digest as _;

use crate::{
    app::AppState,
    catalog_client,
    problem::ApiError,
    resumable::protocol::{Checksum, ChecksumAlgorithm},
    upload::{Chunks, cut_error, mib},
};

/// Largest chunk object; a longer append closes and records one every this many bytes, so a
/// gateway that dies mid-request loses at most this much of it.
pub const CHUNK_MAX: u64 = 16 * 1024 * 1024;
/// How often a streaming append renews its lease.
const RENEW_EVERY: Duration = Duration::from_secs(10);

/// The directory of an upload's chunk objects.
pub fn upload_prefix(upload_id: &str) -> String {
    format!("uploads/{upload_id}/")
}

/// An append lease held on one upload.
#[derive(Debug, Clone)]
pub struct Lease {
    pub account_id: AccountId,
    pub upload_id: String,
    pub token: String,
    /// How long each renewal holds it: longer than the upload idle timeout, so a live append
    /// that waits for its next byte never loses it.
    pub secs: u32,
}

impl Lease {
    pub fn new(state: &AppState, account_id: AccountId, upload_id: &str) -> Self {
        let idle = state.admission.upload_idle_timeout.as_secs();
        Self {
            account_id,
            upload_id: upload_id.to_owned(),
            token: uuid::Uuid::new_v4().simple().to_string(),
            secs: u32::try_from(idle + 30).unwrap_or(300).min(300),
        }
    }

    /// Records `chunks` (and the length and format when given); renews the lease, or releases
    /// it when `keep` is false.
    pub async fn record(
        &self,
        state: &AppState,
        chunks: Vec<pb::ResumableUploadChunk>,
        length: Option<u64>,
        format_ext: Option<String>,
        keep: bool,
    ) -> Result<pb::ResumableUpload, ApiError> {
        state
            .catalog
            .clone()
            .append_resumable_upload(AppendResumableUploadRequest {
                account_id: self.account_id.to_string(),
                upload_id: self.upload_id.clone(),
                lease_token: self.token.clone(),
                chunks,
                length,
                format_ext,
                lease_secs: if keep { self.secs } else { 0 },
            })
            .await
            .map(tonic::Response::into_inner)
            .map_err(catalog_client::api_error)
    }

    /// Releases the lease, logging (not failing) when that cannot be done: it lapses by itself.
    pub async fn release(&self, state: &AppState) {
        if let Err(err) = self.record(state, Vec::new(), None, None, false).await {
            tracing::info!(upload_id = self.upload_id, error = %err, "cannot release an upload's lease; it lapses by itself");
        }
    }
}

/// What the request says besides its bytes.
#[derive(Debug, Default)]
pub struct AppendOptions {
    pub checksum: Option<Checksum>,
    /// A length given with this request (tus `Upload-Length` on a deferred upload).
    pub length: Option<u64>,
    /// The request completes the upload (the draft's `Upload-Complete: ?1`): a deferred length
    /// becomes the offset at its end.
    pub completes: bool,
}

/// An append that failed, and whether the upload must go as a whole (a refused kind or size).
#[derive(Debug)]
pub struct Refused {
    pub error: ApiError,
    pub discard_upload: bool,
}

impl From<ApiError> for Refused {
    fn from(error: ApiError) -> Self {
        Self {
            error,
            discard_upload: false,
        }
    }
}

enum Hasher {
    Sha1(sha1::Sha1),
    Sha256(sha2::Sha256),
}

impl Hasher {
    fn new(algorithm: ChecksumAlgorithm) -> Self {
        match algorithm {
            ChecksumAlgorithm::Sha1 => Self::Sha1(sha1::Sha1::new()),
            ChecksumAlgorithm::Sha256 => Self::Sha256(sha2::Sha256::new()),
        }
    }

    fn update(&mut self, bytes: &[u8]) {
        match self {
            Self::Sha1(h) => h.update(bytes),
            Self::Sha256(h) => h.update(bytes),
        }
    }

    fn finish(self) -> Vec<u8> {
        match self {
            Self::Sha1(h) => h.finalize().to_vec(),
            Self::Sha256(h) => h.finalize().to_vec(),
        }
    }
}

/// The chunk object being written.
struct Open {
    writer: opendal::Writer,
    chunk: pb::ResumableUploadChunk,
}

/// Streams `body` into the upload at its offset (the lease is held). On success returns the
/// upload as recorded, with the lease kept if the upload is now fully appended (the caller
/// completes it), released otherwise. On failure the lease is released, unless the upload is to
/// be discarded.
pub async fn append(
    state: &AppState,
    lease: &Lease,
    upload: &pb::ResumableUpload,
    body: &mut Chunks,
    options: AppendOptions,
) -> Result<pb::ResumableUpload, Refused> {
    let mut run = Run::new(state, lease, upload, options).await?;
    let streamed = run.stream(body).await;
    match streamed {
        Ok(()) => run.finish().await,
        Err(refused) => {
            run.abandon(refused.discard_upload).await;
            Err(refused)
        }
    }
}

struct Run<'a> {
    state: &'a AppState,
    lease: &'a Lease,
    upload_id: &'a str,
    partial: bool,
    /// Where the next byte goes.
    offset: u64,
    length: Option<u64>,
    options: AppendOptions,
    limit: (u64, &'static str),
    format: Option<&'static Format>,
    /// The format was decided by this append (recorded with its next record).
    new_format: bool,
    /// The leading bytes while the format is undecided.
    sniff: Option<BytesMut>,
    hasher: Option<Hasher>,
    open: Option<Open>,
    /// Closed chunks not yet recorded (all of them while a checksum is pending).
    staged: Vec<pb::ResumableUploadChunk>,
    last_record: Instant,
    tag: String,
}

impl<'a> Run<'a> {
    async fn new(
        state: &'a AppState,
        lease: &'a Lease,
        upload: &'a pb::ResumableUpload,
        options: AppendOptions,
    ) -> Result<Self, Refused> {
        let format = upload.format_ext.as_deref().and_then(format::by_ext);
        let partial = upload.concat == "partial";
        let limit = match format {
            Some(format) => state.limits.for_kind(format.kind),
            None => (state.limits.largest(), "any upload"),
        };
        // The bytes already stored count towards the sniff: read back (at most SNIFF_LEN).
        let sniff = if format.is_none() && !partial && upload.offset < format::SNIFF_LEN as u64 {
            Some(read_prefix(state, &upload.chunks, upload.offset).await?)
        } else {
            None
        };
        let length = match (upload.length, options.length) {
            (Some(known), Some(given)) if known != given => {
                return Err(ApiError::UploadHeaderInvalid(format!(
                    "Upload-Length is {known} for this upload and cannot change"
                ))
                .into());
            }
            (Some(known), _) => Some(known),
            (None, Some(given)) if given < upload.offset => {
                return Err(ApiError::UploadHeaderInvalid(format!(
                    "Upload-Length {given} is less than the {} bytes already uploaded",
                    upload.offset
                ))
                .into());
            }
            (None, given) => given,
        };
        if length.is_some_and(|length| length > limit.0) {
            return Err(Refused {
                error: too_large(limit),
                discard_upload: true,
            });
        }
        Ok(Self {
            state,
            lease,
            upload_id: &upload.upload_id,
            partial,
            offset: upload.offset,
            length,
            hasher: options.checksum.as_ref().map(|c| Hasher::new(c.algorithm)),
            options,
            limit,
            format,
            new_format: false,
            sniff,
            open: None,
            staged: Vec::new(),
            last_record: Instant::now(),
            tag: lease.token[..8].to_owned(),
        })
    }

    async fn stream(&mut self, body: &mut Chunks) -> Result<(), Refused> {
        let idle = self.state.admission.upload_idle_timeout;
        let received_at_start = self.offset;
        loop {
            let next = tokio::select! {
                next = body.next() => next,
                () = self.state.cut_uploads.cancelled() => {
                    tracing::warn!(upload_id = self.upload_id, "append cut by the shutdown deadline");
                    return Err(ApiError::Unavailable("The server is shutting down; this append").into());
                }
            };
            let bytes = match next {
                None => return Ok(()),
                Some(Ok(bytes)) => bytes,
                Some(Err(cut)) => {
                    let received = self.offset - received_at_start;
                    let error = cut_error(cut, received, None, idle);
                    return self.keep_after_cut(error).await;
                }
            };
            self.take(bytes).await?;
        }
    }

    /// A cut body: without a checksum, what arrived is kept and recorded; with one, nothing.
    async fn keep_after_cut(&mut self, error: ApiError) -> Result<(), Refused> {
        if self.hasher.is_some() {
            return Err(error.into());
        }
        self.close_open().await?;
        let chunks = std::mem::take(&mut self.staged);
        let format_ext = self.take_new_format();
        self.lease
            .record(self.state, chunks, None, format_ext, false)
            .await?;
        Err(error.into())
    }

    async fn take(&mut self, bytes: Bytes) -> Result<(), Refused> {
        if bytes.is_empty() {
            return Ok(());
        }
        let end = self.offset + bytes.len() as u64;
        if let Some(length) = self.length.filter(|length| end > *length) {
            return Err(ApiError::LengthExceeded { length }.into());
        }
        if end > self.limit.0 {
            return Err(Refused {
                error: too_large(self.limit),
                discard_upload: true,
            });
        }
        if let Some(hasher) = &mut self.hasher {
            hasher.update(&bytes);
        }
        if let Some(prefix) = &mut self.sniff {
            let wanted = format::SNIFF_LEN - prefix.len();
            prefix.extend_from_slice(&bytes[..bytes.len().min(wanted)]);
            if prefix.len() >= format::SNIFF_LEN {
                self.decide_format()?;
            }
        }
        self.write(bytes).await?;
        if self.last_record.elapsed() >= RENEW_EVERY {
            self.record_progress().await?;
        }
        Ok(())
    }

    fn decide_format(&mut self) -> Result<(), Refused> {
        let Some(prefix) = self.sniff.take() else {
            return Ok(());
        };
        let refuse = |error| Refused {
            error,
            discard_upload: true,
        };
        let format =
            format::sniff_prefix(&prefix).ok_or_else(|| refuse(ApiError::TypeUnsupported))?;
        self.limit = self.state.limits.for_kind(format.kind);
        let declared = self.length.unwrap_or(0).max(self.offset);
        if declared > self.limit.0 {
            return Err(refuse(too_large(self.limit)));
        }
        self.format = Some(format);
        self.new_format = true;
        Ok(())
    }

    fn take_new_format(&mut self) -> Option<String> {
        std::mem::take(&mut self.new_format)
            .then(|| self.format.map(|f| f.ext.to_owned()))
            .flatten()
    }

    async fn write(&mut self, bytes: Bytes) -> Result<(), Refused> {
        if self.open.is_none() {
            let key = format!(
                "{}{:020}.{}",
                upload_prefix(self.upload_id),
                self.offset,
                self.tag
            );
            let writer = self
                .state
                .storage
                .writer(&key)
                .await
                .map_err(storage_error)?;
            self.open = Some(Open {
                writer,
                chunk: pb::ResumableUploadChunk {
                    start: self.offset,
                    size: 0,
                    object_key: key,
                },
            });
        }
        let open = self.open.as_mut().expect("opened above");
        let len = bytes.len() as u64;
        open.writer
            .write(bytes)
            .await
            .map_err(|err| storage_error(err.into()))?;
        open.chunk.size += len;
        self.offset += len;
        if open.chunk.size >= CHUNK_MAX {
            self.close_open().await?;
            self.record_progress().await?;
        }
        Ok(())
    }

    async fn close_open(&mut self) -> Result<(), Refused> {
        let Some(mut open) = self.open.take() else {
            return Ok(());
        };
        if let Err(err) = open.writer.close().await {
            crate::cleanup::abort_write(open.writer, open.chunk.object_key.clone()).await;
            crate::cleanup::delete_object(&self.state.storage, open.chunk.object_key).await;
            return Err(storage_error(err.into()));
        }
        self.staged.push(open.chunk);
        Ok(())
    }

    /// Records the closed chunks (unless a checksum holds them back) and renews the lease.
    async fn record_progress(&mut self) -> Result<(), Refused> {
        let (chunks, format_ext) = if self.hasher.is_some() {
            (Vec::new(), None)
        } else {
            (std::mem::take(&mut self.staged), self.take_new_format())
        };
        let recorded = self
            .lease
            .record(self.state, chunks.clone(), None, format_ext, true)
            .await;
        if let Err(err) = recorded {
            self.staged.extend(chunks);
            return Err(err.into());
        }
        self.last_record = Instant::now();
        Ok(())
    }

    /// The body ended: verifies the checksum, closes the last chunk and records the rest.
    async fn finish(mut self) -> Result<pb::ResumableUpload, Refused> {
        let ended = async {
            if let (Some(hasher), Some(checksum)) = (self.hasher.take(), &self.options.checksum)
                && hasher.finish() != checksum.digest
            {
                return Err(ApiError::ChecksumMismatch.into());
            }
            if self.options.completes && self.length.is_none() {
                self.length = Some(self.offset);
            }
            let full = self.length == Some(self.offset);
            if full && !self.partial {
                // A file shorter than the sniff window: decided on all of it, as a single
                // request's upload is.
                self.decide_format()?;
            }
            self.close_open().await?;
            Ok::<bool, Refused>(full)
        }
        .await;
        let full = match ended {
            Ok(full) => full,
            Err(refused) => {
                self.abandon(refused.discard_upload).await;
                return Err(refused);
            }
        };
        let chunks = std::mem::take(&mut self.staged);
        let format_ext = self.take_new_format();
        let length = if self.options.length.is_some() || self.options.completes {
            self.length
        } else {
            None
        };
        let keep = full && !self.partial;
        match self
            .lease
            .record(self.state, chunks.clone(), length, format_ext, keep)
            .await
        {
            Ok(upload) => Ok(upload),
            Err(err) => {
                self.staged = chunks;
                self.abandon(false).await;
                Err(err.into())
            }
        }
    }

    /// Removes what this append wrote and did not record, and releases the lease unless the
    /// whole upload goes anyway.
    async fn abandon(&mut self, discard_upload: bool) {
        if let Some(open) = self.open.take() {
            crate::cleanup::abort_write(open.writer, open.chunk.object_key).await;
        }
        for chunk in std::mem::take(&mut self.staged) {
            crate::cleanup::delete_object(&self.state.storage, chunk.object_key).await;
        }
        if !discard_upload {
            self.lease.release(self.state).await;
        }
    }
}

fn too_large((limit, what): (u64, &'static str)) -> ApiError {
    ApiError::TooLarge {
        what,
        limit_mib: mib(limit),
    }
}

fn storage_error(err: assetd_platform::storage::StorageError) -> Refused {
    tracing::warn!(error = ?err, "storage failed during a resumable append");
    ApiError::Unavailable("Storage").into()
}

/// The first `upto` bytes of the upload (at most the sniff window), read back from its chunks.
pub async fn read_prefix(
    state: &AppState,
    chunks: &[pb::ResumableUploadChunk],
    upto: u64,
) -> Result<BytesMut, Refused> {
    let upto = upto.min(format::SNIFF_LEN as u64);
    let mut prefix = BytesMut::new();
    for chunk in chunks {
        if chunk.start >= upto {
            break;
        }
        let take = chunk.size.min(upto - chunk.start);
        let bytes = state
            .storage
            .read_range(&chunk.object_key, 0..take)
            .await
            .map_err(storage_error)?;
        prefix.extend_from_slice(&bytes);
    }
    Ok(prefix)
}
