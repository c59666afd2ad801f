//! One append to a resumable upload, under its lease: the body streamed into chunk objects
//! (at most [`CHUNK_MAX`] each), each closed chunk recorded in the catalog as it closes, the
//! format sniffed from the first bytes as soon as they have arrived, the kind's limit and the
//! declared length enforced at the byte that crosses them, and an `Upload-Checksum` verified
//! before any byte of the request is recorded.
//!
//! A body that is cut keeps what arrived (the chunk is closed and recorded), so the client
//! resumes from there; with a checksum nothing of the request is kept, as tus requires.
//!
//! On S3 the bytes go into a multipart upload that assetd keeps open into the asset's object
//! key: every [`PART_SIZE`] bytes become a part (its ETag recorded, the SHA-256 state advanced
//! over it), and what is left after the last part (less than a part) is kept as chunk objects
//! until enough follows to fill one. Completion then only uploads the last part and completes
//! the multipart upload: no byte is copied or read back.

use std::time::{Duration, Instant};

use assetd_media::format::{self, Format};
use assetd_platform::multipart::Multipart;
use assetd_proto::{
    catalog::v1::{self as pb, AppendResumableUploadRequest},
    ids::{AccountId, AssetId},
};
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use sha1::Digest as _;

use crate::{
    app::AppState,
    catalog_client,
    problem::ApiError,
    resumable::{
        protocol::{Checksum, ChecksumAlgorithm},
        sha256_state::Sha256State,
    },
    storage_key::StorageKey,
    upload::{Chunks, cut_error, mib},
};

/// Largest chunk object; a longer append closes and records one every this many bytes, so a
/// gateway that dies mid-request loses at most this much of it.
pub const CHUNK_MAX: u64 = 16 * 1024 * 1024;
/// S3 part size: fixed, a multiple of 64 (whole SHA-256 blocks) and above S3's 5 MiB minimum.
pub const PART_SIZE: u64 = 8 * 1024 * 1024;
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

    /// Records what an append wrote; renews the lease, or releases it when `record.keep` is
    /// false.
    pub async fn record(
        &self,
        state: &AppState,
        record: Record,
    ) -> Result<pb::ResumableUpload, ApiError> {
        let (multipart_upload_id, multipart_key) = match record.multipart {
            Some((id, key)) => (Some(id), Some(key)),
            None => (None, None),
        };
        state
            .catalog
            .clone()
            .append_resumable_upload(AppendResumableUploadRequest {
                account_id: self.account_id.to_string(),
                upload_id: self.upload_id.clone(),
                lease_token: self.token.clone(),
                chunks: record.chunks,
                length: record.length,
                format_ext: record.format_ext,
                lease_secs: if record.keep { self.secs } else { 0 },
                from_offset: record.from,
                to_offset: record.to,
                s3_parts: record.s3_parts,
                drop_chunks: record.drop_chunks,
                multipart_upload_id,
                multipart_key,
                sha256_state: record.sha256_state,
            })
            .await
            .map(tonic::Response::into_inner)
            .map_err(catalog_client::api_error)
    }

    /// Releases the lease of an upload at `offset`, logging (not failing) when that cannot be
    /// done: it lapses by itself.
    pub async fn release(&self, state: &AppState, offset: u64) {
        let record = Record {
            from: offset,
            to: offset,
            ..Record::default()
        };
        if let Err(err) = self.record(state, record).await {
            tracing::info!(upload_id = self.upload_id, error = %err, "cannot release an upload's lease; it lapses by itself");
        }
    }
}

/// One record of an append's progress.
#[derive(Debug, Default)]
pub struct Record {
    pub from: u64,
    pub to: u64,
    pub chunks: Vec<pb::ResumableUploadChunk>,
    pub s3_parts: Vec<pb::ResumableUploadPart>,
    pub drop_chunks: Vec<u64>,
    pub length: Option<u64>,
    pub format_ext: Option<String>,
    pub multipart: Option<(String, String)>,
    pub sha256_state: Option<String>,
    pub keep: bool,
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

/// An append's S3 multipart state.
struct Parts<'a> {
    multipart: &'a Multipart,
    /// The multipart upload and its object key, once created.
    upload: Option<(String, String)>,
    /// Created by this append and not yet recorded.
    created: bool,
    next_number: u32,
    /// Where the last part (recorded or staged) ends.
    end: u64,
    /// Recorded chunks after the last part.
    remainder: Vec<pb::ResumableUploadChunk>,
    /// Bytes after the remainder, in memory until a part is full or the body ends.
    buffer: BytesMut,
    sha: Sha256State,
    /// Parts uploaded and not yet recorded, and the chunks they replace.
    staged: Vec<pb::ResumableUploadPart>,
    dropped: Vec<pb::ResumableUploadChunk>,
}

struct Run<'a> {
    state: &'a AppState,
    lease: &'a Lease,
    upload_id: &'a str,
    account_id: AccountId,
    partial: bool,
    /// Where the next byte goes.
    offset: u64,
    /// The offset the catalog holds.
    recorded: u64,
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
    /// On S3 (for any upload but a partial one of a concatenation).
    parts: Option<Parts<'a>>,
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
        let parts = match state.storage.multipart() {
            Some(multipart) if upload.concat.is_empty() => {
                let sha = Sha256State::parse(&upload.sha256_state).ok_or_else(|| {
                    tracing::error!(
                        upload_id = upload.upload_id,
                        "the upload's SHA-256 state is malformed"
                    );
                    Refused::from(ApiError::Internal)
                })?;
                Some(Parts {
                    multipart,
                    upload: upload
                        .multipart_upload_id
                        .clone()
                        .zip(upload.multipart_key.clone()),
                    created: false,
                    next_number: u32::try_from(upload.s3_parts.len()).unwrap_or(u32::MAX) + 1,
                    end: upload.s3_parts.last().map_or(0, |p| p.start + p.size),
                    remainder: upload.chunks.clone(),
                    buffer: BytesMut::new(),
                    sha,
                    staged: Vec::new(),
                    dropped: Vec::new(),
                })
            }
            _ => None,
        };
        Ok(Self {
            state,
            lease,
            upload_id: &upload.upload_id,
            account_id: lease.account_id,
            partial,
            offset: upload.offset,
            recorded: upload.offset,
            length,
            hasher: options.checksum.as_ref().map(|c| Hasher::new(c.algorithm)),
            options,
            limit,
            format,
            new_format: false,
            sniff,
            open: None,
            staged: Vec::new(),
            parts,
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
        self.flush_buffer().await?;
        self.commit(None, false).await?;
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
        if self.parts.is_some() {
            self.offset += bytes.len() as u64;
            self.parts
                .as_mut()
                .expect("checked")
                .buffer
                .extend_from_slice(&bytes);
            self.fill_parts().await?;
        } else {
            self.write(bytes).await?;
        }
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

    /// Uploads a part for every [`PART_SIZE`] bytes after the last part (the remainder chunks
    /// read back, then the buffered bytes).
    async fn fill_parts(&mut self) -> Result<(), Refused> {
        loop {
            let format = self.format;
            let account_id = self.account_id;
            let Some(parts) = self.parts.as_mut() else {
                return Ok(());
            };
            let remainder: u64 = parts.remainder.iter().map(|c| c.size).sum();
            if remainder + (parts.buffer.len() as u64) < PART_SIZE {
                return Ok(());
            }
            let Some(format) = format else {
                // The sniff window is far smaller than a part: a part's bytes always have a format.
                tracing::error!(
                    upload_id = self.upload_id,
                    "a full part before the format was decided"
                );
                return Err(ApiError::Internal.into());
            };
            let take = usize::try_from(PART_SIZE - remainder).expect("a part fits in memory");
            let mut bytes = BytesMut::with_capacity(PART_SIZE as usize);
            for chunk in &parts.remainder {
                let stored = self
                    .state
                    .storage
                    .read_range(&chunk.object_key, 0..chunk.size)
                    .await
                    .map_err(storage_error)?;
                bytes.extend_from_slice(&stored);
            }
            bytes.extend_from_slice(&parts.buffer.split_to(take));
            let (upload_id, key) = match &parts.upload {
                Some(open) => open.clone(),
                None => {
                    let key = StorageKey {
                        account_id,
                        asset_id: AssetId::new(),
                        format,
                    }
                    .to_string();
                    let id = parts.multipart.create(&key).await.map_err(storage_error)?;
                    parts.upload = Some((id.clone(), key.clone()));
                    parts.created = true;
                    (id, key)
                }
            };
            let bytes = bytes.freeze();
            let etag = parts
                .multipart
                .upload_part(&key, &upload_id, parts.next_number, bytes.clone())
                .await
                .map_err(storage_error)?;
            parts.sha.update_blocks(&bytes);
            parts.staged.push(pb::ResumableUploadPart {
                number: parts.next_number,
                start: parts.end,
                size: PART_SIZE,
                etag,
            });
            parts.next_number += 1;
            parts.end += PART_SIZE;
            let replaced: Vec<_> = parts.remainder.drain(..).collect();
            parts.dropped.extend(replaced);
            self.record_progress().await?;
        }
    }

    /// Writes the buffered bytes after the last part (less than a part) as a chunk object.
    async fn flush_buffer(&mut self) -> Result<(), Refused> {
        let Some(parts) = self.parts.as_mut() else {
            return Ok(());
        };
        if parts.buffer.is_empty() {
            return Ok(());
        }
        let bytes = parts.buffer.split().freeze();
        let start = self.offset - bytes.len() as u64;
        let key = format!("{}{start:020}.{}", upload_prefix(self.upload_id), self.tag);
        self.state
            .storage
            .put(&key, bytes.clone())
            .await
            .map_err(storage_error)?;
        self.staged.push(pb::ResumableUploadChunk {
            start,
            size: bytes.len() as u64,
            object_key: key,
        });
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

    /// Records what is staged (unless a checksum holds it back) and renews the lease.
    async fn record_progress(&mut self) -> Result<(), Refused> {
        if self.hasher.is_some() {
            let renewal = Record {
                from: self.recorded,
                to: self.recorded,
                keep: true,
                ..Record::default()
            };
            self.lease.record(self.state, renewal).await?;
        } else {
            self.commit(None, true).await?;
        }
        self.last_record = Instant::now();
        Ok(())
    }

    /// Records every staged chunk and part (and the chunks the parts replace, removed once
    /// recorded), the new format, the multipart upload and the hash state.
    async fn commit(
        &mut self,
        length: Option<u64>,
        keep: bool,
    ) -> Result<pb::ResumableUpload, Refused> {
        let chunks = std::mem::take(&mut self.staged);
        let (s3_parts, dropped, multipart, sha256_state) = match self.parts.as_mut() {
            Some(parts) => {
                let s3_parts = std::mem::take(&mut parts.staged);
                let dropped = std::mem::take(&mut parts.dropped);
                let multipart = std::mem::take(&mut parts.created)
                    .then(|| parts.upload.clone())
                    .flatten();
                let sha = (!s3_parts.is_empty()).then(|| parts.sha.to_hex());
                (s3_parts, dropped, multipart, sha)
            }
            None => Default::default(),
        };
        let added: u64 = chunks.iter().map(|c| c.size).sum::<u64>()
            + s3_parts.iter().map(|p| p.size).sum::<u64>();
        let removed: u64 = dropped.iter().map(|c| c.size).sum();
        let to = self.recorded + added - removed;
        let record = Record {
            from: self.recorded,
            to,
            chunks: chunks.clone(),
            s3_parts: s3_parts.clone(),
            drop_chunks: dropped.iter().map(|c| c.start).collect(),
            length,
            format_ext: self.take_new_format(),
            multipart: multipart.clone(),
            sha256_state,
            keep,
        };
        match self.lease.record(self.state, record).await {
            Ok(upload) => {
                self.recorded = to;
                for chunk in dropped {
                    crate::cleanup::delete_object(&self.state.storage, chunk.object_key).await;
                }
                Ok(upload)
            }
            Err(err) => {
                // Put back what was not recorded, for `abandon` to remove.
                self.staged = chunks;
                if let Some(parts) = self.parts.as_mut() {
                    parts.staged = s3_parts;
                    parts.dropped = dropped;
                    parts.created = multipart.is_some();
                }
                Err(err.into())
            }
        }
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
            self.flush_buffer().await?;
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
        let length = if self.options.length.is_some() || self.options.completes {
            self.length
        } else {
            None
        };
        let keep = full && !self.partial;
        match self.commit(length, keep).await {
            Ok(upload) => Ok(upload),
            Err(refused) => {
                self.abandon(false).await;
                Err(refused)
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
        if let Some(parts) = self.parts.as_mut()
            && parts.created
            && let Some((id, key)) = &parts.upload
            && let Err(err) = parts.multipart.abort(key, id).await
        {
            tracing::warn!(upload_id = self.upload_id, error = ?err, "cannot abort an unrecorded multipart upload; the bucket's lifecycle rule must");
        }
        if !discard_upload {
            self.lease.release(self.state, self.recorded).await;
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
