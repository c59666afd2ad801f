//! `POST /v1/uploads`: checks the headers, sniffs the first bytes, streams the body into storage
//! while hashing it, then records the asset through the catalog. Any failure removes what was written.

use assetd_media::format;
use assetd_platform::storage::StorageError;
use assetd_proto::{
    catalog::v1::{CreateAssetRequest, GetProjectRequest},
    context::{REQUEST_ID, request_id_or_new},
    ids::{AccountId, AssetId, ProjectId},
};
use axum::{
    Json,
    body::Body,
    extract::State,
    http::{HeaderMap, StatusCode, header},
};
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::{
    app::AppState, asset_body::AssetBody, auth::Account, catalog_client, envelope::AssetEnvelope,
    problem::ApiError, resumable::protocol::Protocol, storage_key::StorageKey,
};

/// Longest accepted `x-file-name`, in characters.
pub const FILE_NAME_MAX_CHARS: usize = 512;

/// What the headers (or a gRPC upload's metadata) say about an upload, checked before any body
/// byte is read.
#[derive(Debug)]
pub(crate) struct UploadHeaders {
    pub filename: String,
    pub project_id: Option<ProjectId>,
    pub declared_len: Option<u64>,
    /// The client's `x-request-id`, or a new one; follows the asset into its probe job.
    pub request_id: String,
    /// The client's `Content-Digest` / `Repr-Digest`, checked before the asset is recorded.
    pub digests: crate::digest::Wanted,
}

/// The file name, trimmed, if it follows the rules of `x-file-name`.
pub(crate) fn check_file_name(filename: &str) -> Result<String, ApiError> {
    let filename = filename.trim();
    if filename.is_empty() {
        return Err(ApiError::FileNameInvalid("must not be empty"));
    }
    if filename.chars().count() > FILE_NAME_MAX_CHARS {
        return Err(ApiError::FileNameInvalid("must be at most 512 characters"));
    }
    if filename.chars().any(char::is_control) {
        return Err(ApiError::FileNameInvalid(
            "must not contain control characters",
        ));
    }
    Ok(filename.to_owned())
}

/// `x-project-id` (surrounding whitespace allowed) as a project id.
pub(crate) fn check_project_id(text: &str) -> Result<ProjectId, ApiError> {
    text.trim().parse().map_err(|_| ApiError::ProjectIdInvalid)
}

fn parse_headers(headers: &HeaderMap) -> Result<UploadHeaders, ApiError> {
    let raw = headers
        .get("x-file-name")
        .ok_or(ApiError::FileNameInvalid("is required"))?;
    // Header values are bytes; clients send UTF-8 (percent-encoding is not part of the contract).
    let filename = std::str::from_utf8(raw.as_bytes())
        .map_err(|_| ApiError::FileNameInvalid("must be UTF-8"))?;
    let filename = check_file_name(filename)?;
    let project_id = match headers.get("x-project-id") {
        None => None,
        Some(value) => Some(check_project_id(
            value.to_str().map_err(|_| ApiError::ProjectIdInvalid)?,
        )?),
    };
    let declared_len = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let request_id = request_id_or_new(headers.get("x-request-id").and_then(|v| v.to_str().ok()));
    Ok(UploadHeaders {
        filename,
        project_id,
        declared_len,
        request_id,
        digests: crate::digest::Wanted::from_headers(headers)?,
    })
}

#[utoipa::path(
    post,
    path = "/v1/uploads",
    operation_id = "createUpload",
    tag = "uploads",
    description = crate::openapi::UPLOAD_DESCRIPTION,
    params(
        ("x-file-name" = String, Header, example = "hello.srt", max_length = 512, pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]*$", description = "The file's name: 1 to 512 characters, UTF-8, no control characters."),
        ("x-project-id" = Option<uuid::Uuid>, Header, nullable = false, description = "Binds the new asset to this project of the account in the same operation."),
    ),
    request_body(
        content = inline(crate::openapi::UploadFile),
        content_type = "application/octet-stream",
        description = "The file's raw bytes (not multipart). Send `Content-Type` as the file's MIME type or `application/octet-stream`; the format is decided from the bytes.",
        example = json!("1\n00:00:00,000 --> 00:00:01,000\nHello\n"),
    ),
    responses(
        (status = 201, description = "The asset, recorded before probing: `probeStatus` is `pending`, `width`, `height`, `duration` are null.", body = AssetEnvelope, headers(("repr-digest" = String, description = "RFC 9530: the stored bytes' SHA-256, `sha-256=:<base64>:`.")), links(
            ("getAsset" = (operation_id = "getAsset", parameters(("assetId" = "$response.body#/data/assetId")))),
            ("deleteAsset" = (operation_id = "deleteAsset", parameters(("assetId" = "$response.body#/data/assetId")))),
            ("bindProjectAsset" = (operation_id = "bindProjectAsset", parameters(("projectId" = "$request.header.x-project-id")), request_body = json!({"assetId": "$response.body#/data/assetId"}), description = "Bind the asset to the project named in `x-project-id` (again: an idempotent 201).")),
            ("unbindProjectAsset" = (operation_id = "unbindProjectAsset", parameters(("projectId" = "$request.header.x-project-id"), ("assetId" = "$response.body#/data/assetId")), description = "Unbind the asset from the project named in `x-project-id`.")),
        )),
        crate::openapi::UploadErrors,
    ),
)]
pub async fn upload(
    State(state): State<AppState>,
    account: Account,
    headers: HeaderMap,
    body: Body,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse as _;
    // `Tus-Resumable` or the draft's headers make this the creation of a resumable upload.
    let resumable = match Protocol::of_creation(&headers) {
        Ok(resumable) => resumable,
        Err(err) => return Ok(crate::resumable::refuse_version(err)),
    };
    if let Some(protocol) = resumable {
        return Ok(crate::resumable::create(&state, account, &headers, body, protocol).await);
    }
    let upload = parse_headers(&headers)?;
    let asset = accept(&state, account.account_id, upload, body.into_data_stream()).await?;
    let digest = crate::digest::repr_digest(&asset.sha256);
    let mut response = (
        StatusCode::CREATED,
        Json(AssetEnvelope::from(AssetBody::render(&state, asset).await?)),
    )
        .into_response();
    if let Some(value) = digest.and_then(|d| http::HeaderValue::from_str(&d).ok()) {
        response.headers_mut().insert("repr-digest", value);
    }
    Ok(response)
}

/// The one upload core behind `POST /v1/uploads` and the gRPC `Upload`: refuses what the
/// metadata already rules out, then stores the body and records the asset for `account_id`.
/// A body stream that fails (client gone, broken stream) is an incomplete upload; whatever
/// happens, nothing is left behind but a recorded asset.
pub(crate) async fn accept<S, E>(
    state: &AppState,
    account_id: AccountId,
    upload: UploadHeaders,
    body: S,
) -> Result<assetd_proto::catalog::v1::Asset, ApiError>
where
    S: futures::Stream<Item = Result<Bytes, E>> + Unpin + Send + 'static,
    E: Send + 'static,
{
    match upload.declared_len {
        Some(0) => return Err(ApiError::BodyEmpty),
        Some(len) if len > state.limits.largest() => {
            return Err(ApiError::TooLarge {
                what: "any upload",
                limit_mib: mib(state.limits.largest()),
            });
        }
        _ => {}
    }
    // Refused before reading the body when the process or the account streams its most uploads.
    let slot = state.admission.upload(account_id)?;
    if let Some(project_id) = &upload.project_id {
        // Checked before reading the body so a wrong id costs the client nothing; checked again
        // in the transaction that records the asset.
        state
            .catalog
            .clone()
            .get_project(GetProjectRequest {
                account_id: account_id.to_string(),
                project_id: project_id.to_string(),
            })
            .await
            .map_err(catalog_client::api_error)?;
    }
    // The body is consumed in a task of its own: if the client hangs up, the connection's future
    // is dropped, but this task still runs to the end and removes what it wrote.
    let request_id = upload.request_id.clone();
    let state = state.clone();
    let work = REQUEST_ID.scope(request_id, async move {
        let stored = store(state, account_id, upload, body).await;
        drop(slot);
        stored
    });
    let task = tokio::spawn(work.instrument(tracing::Span::current()));
    task.await.map_err(|err| {
        tracing::error!(error = %err, "upload task failed");
        ApiError::Internal
    })?
}

pub(crate) fn mib(bytes: u64) -> u64 {
    bytes.div_ceil(1024 * 1024)
}

fn storage_error(err: StorageError) -> ApiError {
    tracing::warn!(error = ?err, "storage failed during upload");
    ApiError::Unavailable("Storage")
}

/// Why a body stopped before its end.
pub(crate) enum Cut {
    /// The stream broke (the client hung up, a transport error).
    Broken,
    /// No byte arrived for the upload idle timeout.
    Stalled,
}

/// The body's chunks, each within the idle timeout of the one before.
pub(crate) type Chunks = std::pin::Pin<Box<dyn futures::Stream<Item = Result<Bytes, Cut>> + Send>>;

pub(crate) fn chunks<E>(
    body: impl futures::Stream<Item = Result<Bytes, E>> + Send + 'static,
    idle: std::time::Duration,
) -> Chunks {
    Box::pin(
        tokio_stream::StreamExt::timeout(body, idle).map(|chunk| match chunk {
            Ok(Ok(bytes)) => Ok(bytes),
            Ok(Err(_)) => Err(Cut::Broken),
            Err(_) => Err(Cut::Stalled),
        }),
    )
}

/// The error of a body cut after `received` bytes.
pub(crate) fn cut_error(
    cut: Cut,
    received: u64,
    expected: Option<u64>,
    idle: std::time::Duration,
) -> ApiError {
    match cut {
        Cut::Broken => incomplete(received, expected),
        Cut::Stalled => {
            tracing::warn!(
                received,
                idle_secs = idle.as_secs(),
                "upload stalled: no byte within the upload idle timeout; discarding it"
            );
            ApiError::UploadStalled {
                received,
                idle_secs: idle.as_secs(),
            }
        }
    }
}

async fn store<E>(
    state: AppState,
    account_id: AccountId,
    upload: UploadHeaders,
    body: impl futures::Stream<Item = Result<Bytes, E>> + Send + 'static,
) -> Result<assetd_proto::catalog::v1::Asset, ApiError> {
    let idle = state.admission.upload_idle_timeout;
    let mut stream = chunks(body, idle);
    let stored = store_stream(state, account_id, upload, &mut stream).await;
    if stored.is_err() {
        tokio::spawn(linger(stream));
    }
    stored
}

/// Most of a refused body read and discarded after the refusal, and for how long.
const LINGER_BYTES: usize = 1024 * 1024;
const LINGER_TIME: std::time::Duration = std::time::Duration::from_secs(2);

/// Reads and discards the rest of a refused body, within [`LINGER_BYTES`] and [`LINGER_TIME`],
/// while the error answer goes out. A server that closes with unread bytes in its receive
/// buffer resets the connection, and many HTTP clients (reqwest, Python's requests) then
/// report the reset instead of the answer that arrived first; this is the lingering close
/// nginx does for the same reason. Past either bound the connection is closed.
pub(crate) async fn linger(mut stream: Chunks) {
    let mut discarded = 0;
    let _ = tokio::time::timeout(LINGER_TIME, async {
        while discarded < LINGER_BYTES {
            match stream.next().await {
                Some(Ok(chunk)) => discarded += chunk.len(),
                Some(Err(_)) | None => return,
            }
        }
    })
    .await;
}

async fn store_stream(
    state: AppState,
    account_id: AccountId,
    upload: UploadHeaders,
    stream: &mut Chunks,
) -> Result<assetd_proto::catalog::v1::Asset, ApiError> {
    let idle = state.admission.upload_idle_timeout;
    // 1. Enough leading bytes to tell the format, and no more.
    let mut prefix = BytesMut::new();
    let mut ended = false;
    while prefix.len() < format::SNIFF_LEN {
        match stream.next().await {
            Some(Ok(chunk)) => prefix.extend_from_slice(&chunk),
            Some(Err(cut)) => {
                return Err(cut_error(
                    cut,
                    prefix.len() as u64,
                    upload.declared_len,
                    idle,
                ));
            }
            None => {
                ended = true;
                break;
            }
        }
    }
    if prefix.is_empty() {
        return Err(ApiError::BodyEmpty);
    }
    let format = format::sniff_prefix(&prefix).ok_or(ApiError::TypeUnsupported)?;
    let (limit, what) = state.limits.for_kind(format.kind);
    let too_large = ApiError::TooLarge {
        what,
        limit_mib: mib(limit),
    };
    if upload.declared_len.is_some_and(|len| len > limit) || prefix.len() as u64 > limit {
        return Err(too_large);
    }

    // 2. Store everything under a key made only of ids: a body that ended within the sniffed
    //    prefix in one write, a longer one streamed.
    let asset_id = AssetId::new();
    let key = StorageKey {
        account_id,
        asset_id,
        format,
    }
    .to_string();
    let (size, sha256) = if ended {
        store_whole(
            &state,
            &key,
            prefix.freeze(),
            upload.declared_len,
            &upload.digests,
        )
        .await?
    } else {
        store_streamed(
            &state,
            &key,
            prefix.freeze(),
            stream,
            (limit, too_large),
            upload.declared_len,
            &upload.digests,
        )
        .await?
    };

    // 3. Record it; without a record the object must not stay.
    let request = CreateAssetRequest {
        account_id: account_id.to_string(),
        asset_id: asset_id.to_string(),
        kind: assetd_proto::catalog::v1::AssetKind::from(format.kind).into(),
        source: "UPLOAD".to_owned(),
        filename: upload.filename,
        mimetype: format.mime.to_owned(),
        size,
        file_key: key.clone(),
        sha256,
        project_id: upload.project_id.map(String::from),
        request_id: upload.request_id,
    };
    let (request_account, request_asset, request_project) = (
        request.account_id.clone(),
        request.asset_id.clone(),
        request.project_id.clone(),
    );
    match state.catalog.clone().create_asset(request).await {
        Ok(asset) => {
            let asset = asset.into_inner();
            tracing::info!(
                asset_id = asset.asset_id,
                size,
                mimetype = asset.mimetype,
                "upload stored"
            );
            let kind = crate::asset_body::kind_name(asset.kind());
            metrics::counter!("assetd_upload_bytes_total").increment(size);
            metrics::histogram!("assetd_upload_size_bytes", "kind" => kind).record(size as f64);
            Ok(asset)
        }
        Err(status) => {
            let unrecorded = crate::cleanup::Unrecorded {
                account_id: request_account,
                asset_id: request_asset,
                project_id: request_project,
                key,
            };
            crate::cleanup::undo_create(&state.storage, &state.catalog, &status, unrecorded).await;
            Err(catalog_client::api_error(status))
        }
    }
}

/// Stores a body that ended within the sniffed prefix as one object.
async fn store_whole(
    state: &AppState,
    key: &str,
    body: Bytes,
    declared_len: Option<u64>,
    digests: &crate::digest::Wanted,
) -> Result<(u64, String), ApiError> {
    let size = body.len() as u64;
    if let Some(expected) = declared_len.filter(|expected| *expected != size) {
        return Err(incomplete(size, Some(expected)));
    }
    let sha256 = hex::encode(Sha256::digest(&body));
    let sha512 = digests
        .sha512
        .is_some()
        .then(|| sha2::Sha512::digest(&body).to_vec());
    digests.check(&sha256, sha512.as_deref())?;
    if let Err(err) = state.storage.put(key, body).await {
        // As with a streamed close: the write may have landed with its answer lost.
        crate::cleanup::delete_object(&state.storage, key.to_owned()).await;
        return Err(storage_error(err));
    }
    Ok((size, sha256))
}

/// Streams the prefix and the rest of the body into a storage writer; on any failure the
/// writer is aborted and nothing stays under `key`.
async fn store_streamed(
    state: &AppState,
    key: &str,
    prefix: Bytes,
    stream: &mut Chunks,
    limit: (u64, ApiError),
    declared_len: Option<u64>,
    digests: &crate::digest::Wanted,
) -> Result<(u64, String), ApiError> {
    let mut writer = state.storage.writer(key).await.map_err(storage_error)?;
    let written = copy_body(
        &mut writer,
        prefix,
        stream,
        limit,
        state.admission.upload_idle_timeout,
        &state.cut_uploads,
        digests.sha512.is_some(),
    )
    .await;
    let (size, sha256, sha512) = match written {
        Ok(done) => done,
        Err(err) => {
            crate::cleanup::abort_write(writer, key.to_owned()).await;
            return Err(err);
        }
    };
    if let Some(expected) = declared_len.filter(|expected| *expected != size) {
        crate::cleanup::abort_write(writer, key.to_owned()).await;
        return Err(incomplete(size, Some(expected)));
    }
    // Checked before the object becomes visible: a mismatch leaves nothing behind.
    if let Err(err) = digests.check(&sha256, sha512.as_deref()) {
        crate::cleanup::abort_write(writer, key.to_owned()).await;
        return Err(err);
    }
    if let Err(err) = writer.close().await {
        // The close may have failed before the object became visible (an open multipart
        // upload stays) or after (its answer was lost): undo both.
        crate::cleanup::abort_write(writer, key.to_owned()).await;
        crate::cleanup::delete_object(&state.storage, key.to_owned()).await;
        return Err(storage_error(err.into()));
    }

    Ok((size, sha256))
}

/// Chunks read ahead of the storage write; bounds the memory one upload holds besides the
/// writer's own buffer.
const READ_AHEAD_CHUNKS: usize = 8;

/// Writes the prefix and the rest of the body, enforcing the limit at the byte that crosses it.
/// Reading (and hashing) runs concurrently with the storage writes, through a small bounded
/// queue, so the socket keeps flowing while a write is in progress. Returns the size and the
/// lowercase hex SHA-256.
async fn copy_body(
    writer: &mut opendal::Writer,
    prefix: Bytes,
    stream: &mut Chunks,
    (limit, too_large): (u64, ApiError),
    idle: std::time::Duration,
    cut: &CancellationToken,
    want_sha512: bool,
) -> Result<(u64, String, Option<Vec<u8>>), ApiError> {
    let (queue, mut queued) = tokio::sync::mpsc::channel::<Bytes>(READ_AHEAD_CHUNKS);
    let read = async move {
        let mut hasher = Sha256::new();
        let mut sha512 = want_sha512.then(sha2::Sha512::new);
        let mut size = prefix.len() as u64;
        hasher.update(&prefix);
        if let Some(h) = &mut sha512 {
            h.update(&prefix);
        }
        if queue.send(prefix).await.is_err() {
            return Ok(None);
        }
        loop {
            let next = tokio::select! {
                next = stream.next() => next,
                () = cut.cancelled() => {
                    tracing::warn!(received = size, "upload cut by the shutdown deadline");
                    return Err(ApiError::Unavailable("The server is shutting down; this upload"));
                }
            };
            let Some(chunk) = next else { break };
            let chunk = chunk.map_err(|cut| cut_error(cut, size, None, idle))?;
            size += chunk.len() as u64;
            if size > limit {
                return Err(too_large);
            }
            hasher.update(&chunk);
            if let Some(h) = &mut sha512 {
                h.update(&chunk);
            }
            if queue.send(chunk).await.is_err() {
                // The writer stopped on an error, which it reports.
                return Ok(None);
            }
        }
        Ok(Some((
            size,
            hex::encode(hasher.finalize()),
            sha512.map(|h| h.finalize().to_vec()),
        )))
    };
    let write = async {
        while let Some(chunk) = queued.recv().await {
            writer
                .write(chunk)
                .await
                .map_err(|err| storage_error(err.into()))?;
        }
        Ok::<(), ApiError>(())
    };
    let (read, written) = tokio::join!(read, write);
    match (read?, written) {
        (Some(done), Ok(())) => Ok(done),
        (_, Err(err)) => Err(err),
        (None, Ok(())) => Err(ApiError::Internal),
    }
}

fn incomplete(received: u64, expected: Option<u64>) -> ApiError {
    ApiError::Incomplete {
        received,
        expected: expected.map_or_else(|| "unknown".to_owned(), |e| e.to_string()),
    }
}

/// Best-effort removal of an object whose upload failed after it was written.
#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(
                http::HeaderName::from_bytes(name.as_bytes()).expect("name"),
                http::HeaderValue::from_str(value).expect("value"),
            );
        }
        map
    }

    #[test]
    fn file_name_rules() {
        assert!(matches!(
            parse_headers(&headers(&[])),
            Err(ApiError::FileNameInvalid(_))
        ));
        assert!(matches!(
            parse_headers(&headers(&[("x-file-name", "  ")])),
            Err(ApiError::FileNameInvalid(_))
        ));
        let long = "a".repeat(513);
        assert!(matches!(
            parse_headers(&headers(&[("x-file-name", &long)])),
            Err(ApiError::FileNameInvalid(_))
        ));
        let ok = "a".repeat(512);
        assert_eq!(
            parse_headers(&headers(&[("x-file-name", &ok)]))
                .expect("ok")
                .filename,
            ok
        );
    }

    #[test]
    fn project_id_must_be_a_uuid() {
        let bad = headers(&[("x-file-name", "a.png"), ("x-project-id", "nope")]);
        assert!(matches!(
            parse_headers(&bad),
            Err(ApiError::ProjectIdInvalid)
        ));
        let good = headers(&[
            ("x-file-name", "a.png"),
            ("x-project-id", "6F9619FF-8B86-D011-B42D-00C04FC964FF"),
        ]);
        assert_eq!(
            parse_headers(&good)
                .expect("ok")
                .project_id
                .map(|id| id.to_string()),
            Some("6f9619ff-8b86-d011-b42d-00c04fc964ff".to_owned())
        );
    }
}
