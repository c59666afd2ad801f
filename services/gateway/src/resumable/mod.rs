//! Resumable uploads on the upload route: tus 1.0 (creation, creation-with-upload,
//! creation-defer-length, termination, checksum, expiration, concatenation) and the IETF
//! "Resumable Uploads for HTTP" draft, on `POST /v1/uploads` and `/v1/uploads/{uploadId}`.
//! A finished upload becomes exactly the asset a single-request upload makes, probed the same way.
//!
//! State lives in the catalog (any gateway replica continues any upload), bytes in storage as
//! chunk objects under `uploads/{uploadId}/`; an append holds the upload's lease in the catalog,
//! so concurrent appends to one upload are serialized across replicas.

mod append;
pub(crate) mod finish;
pub(crate) mod protocol;
pub(crate) mod reaper;
mod sha256_state;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use assetd_proto::{
    catalog::v1::{
        self as pb, CreateResumableUploadRequest, DeleteResumableUploadRequest, GetProjectRequest,
        GetResumableUploadRequest, LeaseResumableUploadRequest,
    },
    context::request_id_or_new,
    ids::{AccountId, ProjectId},
};
use axum::{
    Json,
    body::Body,
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};

use crate::{
    app::AppState,
    asset_body::AssetBody,
    auth::Account,
    catalog_client,
    envelope::AssetEnvelope,
    problem::ApiError,
    upload::{check_file_name, check_project_id, chunks, linger},
};
use append::{AppendOptions, Lease, Refused, upload_prefix};
use protocol::{Concat, Length, Protocol};

/// How resumable uploads expire and how often expired ones are reaped.
#[derive(clap::Args, Clone, Copy, Debug)]
pub struct ResumableConfig {
    /// Seconds an unfinished resumable upload (tus or the IETF draft) lives after its creation
    /// (`Upload-Expires`); then it answers 410 and the reaper removes its bytes and its row.
    #[arg(long = "resumable-upload-expiry-secs", env = "ASSETD_RESUMABLE_UPLOAD_EXPIRY_SECS", default_value_t = 24 * 3600)]
    pub expiry_secs: u64,
    /// How often each gateway looks for expired resumable uploads to remove, in seconds.
    #[arg(
        long = "resumable-reap-every-secs",
        env = "ASSETD_RESUMABLE_REAP_EVERY_SECS",
        default_value_t = 60
    )]
    pub reap_every_secs: u64,
}

impl Default for ResumableConfig {
    fn default() -> Self {
        Self {
            expiry_secs: 24 * 3600,
            reap_every_secs: 60,
        }
    }
}

fn system_time(micros: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_micros(u64::try_from(micros).unwrap_or(0))
}

fn location(upload_id: &str) -> String {
    format!("/v1/uploads/{upload_id}")
}

fn insert(headers: &mut HeaderMap, name: &'static str, value: impl ToString) {
    if let Ok(value) = HeaderValue::from_str(&value.to_string()) {
        headers.insert(name, value);
    }
}

/// Whether every byte has arrived (a partial upload is then ready to be concatenated).
fn fully_appended(upload: &pb::ResumableUpload) -> bool {
    upload.length == Some(upload.offset)
}

/// Whether the upload is appended in full and still waits to become its asset.
fn ready_to_finish(upload: &pb::ResumableUpload) -> bool {
    fully_appended(upload) && upload.concat != "partial" && upload.asset_id.is_none()
}

/// The headers every answer about an upload carries, for its protocol.
fn upload_headers(state: &AppState, protocol: Protocol, upload: &pb::ResumableUpload) -> HeaderMap {
    let mut headers = HeaderMap::new();
    insert(&mut headers, "upload-offset", upload.offset);
    if let Some(asset_id) = &upload.asset_id {
        insert(&mut headers, "x-asset-id", asset_id);
        insert(
            &mut headers,
            "content-location",
            format!("/v1/assets/{asset_id}"),
        );
    }
    let expires = system_time(upload.expires_at_unix_micros);
    match protocol {
        Protocol::Tus => {
            insert(&mut headers, "tus-resumable", protocol::TUS_VERSION);
            insert(
                &mut headers,
                "upload-expires",
                httpdate::fmt_http_date(expires),
            );
        }
        Protocol::Ietf(version) => {
            let complete = upload.asset_id.is_some() || fully_appended(upload);
            insert(
                &mut headers,
                "upload-complete",
                if complete { "?1" } else { "?0" },
            );
            if let Some(length) = upload.length {
                insert(&mut headers, "upload-length", length);
            }
            let left = expires
                .duration_since(SystemTime::now())
                .unwrap_or_default()
                .as_secs();
            insert(
                &mut headers,
                "upload-limit",
                upload_limit(state, version, Some(left)),
            );
        }
    }
    headers
}

/// The draft's `Upload-Limit` dictionary: the largest upload, and how long the upload lives
/// (`expires` in interop 6, `max-age` from 7).
fn upload_limit(state: &AppState, version: u8, left_secs: Option<u64>) -> String {
    let mut limit = format!("max-size={}", state.limits.largest());
    if let Some(left) = left_secs {
        let key = if version <= 6 { "expires" } else { "max-age" };
        limit.push_str(&format!(", {key}={left}"));
    }
    limit
}

/// An error answer in the request's protocol: tus answers carry `Tus-Resumable` (and a refused
/// version `Tus-Version`).
fn refusal(protocol: Option<Protocol>, error: ApiError) -> Response {
    let version_refused = matches!(error, ApiError::ProtocolUnsupported(_));
    let mut response = error.into_response();
    let headers = response.headers_mut();
    if protocol == Some(Protocol::Tus) || version_refused {
        insert(headers, "tus-resumable", protocol::TUS_VERSION);
    }
    if version_refused {
        insert(headers, "tus-version", protocol::TUS_VERSION);
    }
    response
}

/// The answer to a creation whose protocol version is not served.
pub fn refuse_version(error: ApiError) -> Response {
    refusal(None, error)
}

/// The upload id of a path, any spelling; a malformed one is an upload that does not exist.
fn path_upload_id(text: &str) -> Result<String, ApiError> {
    text.parse::<uuid::Uuid>()
        .map(|id| id.to_string())
        .map_err(|_| ApiError::ResumableNotFound)
}

/// Whether a request carries a body (a length above zero, or a chunked one).
fn has_body(headers: &HeaderMap) -> bool {
    headers.contains_key(header::TRANSFER_ENCODING)
        || protocol::number(headers, "content-length")
            .ok()
            .flatten()
            .is_some_and(|len| len > 0)
}

async fn get_upload(
    state: &AppState,
    account_id: AccountId,
    upload_id: &str,
) -> Result<pb::ResumableUpload, ApiError> {
    state
        .catalog
        .clone()
        .get_resumable_upload(GetResumableUploadRequest {
            account_id: account_id.to_string(),
            upload_id: upload_id.to_owned(),
        })
        .await
        .map(tonic::Response::into_inner)
        .map_err(catalog_client::api_error)
}

async fn take_lease(
    state: &AppState,
    lease: &Lease,
    offset: u64,
) -> Result<pb::ResumableUpload, ApiError> {
    let leased = state
        .catalog
        .clone()
        .lease_resumable_upload(LeaseResumableUploadRequest {
            account_id: lease.account_id.to_string(),
            upload_id: lease.upload_id.clone(),
            offset,
            lease_token: lease.token.clone(),
            lease_secs: lease.secs,
        })
        .await
        .map(tonic::Response::into_inner)
        .map_err(catalog_client::api_error);
    match leased {
        Err(ApiError::OffsetMismatch { offset: None }) => {
            // The answer names the offset to resume from.
            let upload = get_upload(state, lease.account_id, &lease.upload_id).await?;
            Err(ApiError::OffsetMismatch {
                offset: Some(upload.offset),
            })
        }
        other => other,
    }
}

/// Removes an upload refused on its content (its kind or its size): its row and its bytes.
async fn discard(state: &AppState, account_id: AccountId, upload_id: &str, why: &ApiError) {
    tracing::info!(upload_id, reason = %why.reason(), "resumable upload refused; discarding it");
    let deleted = state
        .catalog
        .clone()
        .delete_resumable_upload(DeleteResumableUploadRequest {
            account_id: account_id.to_string(),
            upload_id: upload_id.to_owned(),
            lease_token: String::new(),
        })
        .await;
    match deleted {
        Ok(deleted) => {
            if let Some(upload) = deleted.into_inner().upload {
                finish::abort_multipart(state, &upload).await;
            }
        }
        Err(status) => {
            tracing::warn!(upload_id, error = %status.message(), "cannot delete a refused upload's row; it expires");
        }
    }
    remove_bytes(state, upload_id).await;
}

async fn remove_bytes(state: &AppState, upload_id: &str) {
    if let Err(err) = state.storage.delete_all(&upload_prefix(upload_id)).await {
        tracing::warn!(upload_id, error = ?err, "cannot remove an upload's chunks yet; the expiry reaper will");
    }
}

/// What an append (and the completion it may lead to) ended with.
struct Appended {
    upload: pb::ResumableUpload,
    asset: Option<pb::Asset>,
}

/// Runs an append, then the completion if it appended the last byte, in a task of its own: a
/// client that hangs up does not cut it short (what arrived is recorded, the lease released).
async fn append_and_finish(
    state: &AppState,
    lease: Lease,
    upload: pb::ResumableUpload,
    body: Body,
    options: AppendOptions,
) -> Result<Appended, ApiError> {
    let slot = state.admission.upload(lease.account_id)?;
    let state = state.clone();
    let work = async move {
        let mut stream = chunks(body.into_data_stream(), state.admission.upload_idle_timeout);
        let appended = append::append(&state, &lease, &upload, &mut stream, options).await;
        let result = match appended {
            Ok(upload) => complete_if_ready(&state, &lease, upload).await,
            Err(refused) => Err(refused),
        };
        drop(slot);
        match result {
            Ok(appended) => {
                metrics::counter!("assetd_resumable_upload_bytes_total", "protocol" => finish::protocol_label(&appended.upload.protocol))
                    .increment(appended.upload.offset.saturating_sub(upload.offset));
                Ok(appended)
            }
            Err(refused) => {
                if refused.discard_upload {
                    discard(&state, lease.account_id, &lease.upload_id, &refused.error).await;
                }
                tokio::spawn(linger(stream));
                Err(refused.error)
            }
        }
    };
    tokio::spawn(work).await.map_err(|err| {
        tracing::error!(error = %err, "resumable append task failed");
        ApiError::Internal
    })?
}

/// Completes an upload whose last byte has arrived (the lease is held then), else returns it.
async fn complete_if_ready(
    state: &AppState,
    lease: &Lease,
    upload: pb::ResumableUpload,
) -> Result<Appended, Refused> {
    if !ready_to_finish(&upload) {
        return Ok(Appended {
            upload,
            asset: None,
        });
    }
    match finish::finish(state, lease, &upload).await {
        Ok(asset) => {
            let mut upload = upload;
            upload.asset_id = Some(asset.asset_id.clone());
            Ok(Appended {
                upload,
                asset: Some(asset),
            })
        }
        Err(refused) => {
            if !refused.discard_upload {
                lease.release(state, upload.offset).await;
            }
            Err(refused)
        }
    }
}

/// The answer to a request that appended (or created): the draft answers the request that
/// completes the upload as `POST /v1/uploads` answers (201 and the asset); otherwise 201 for a
/// creation, 204 for an append, with the upload's headers.
async fn appended_answer(
    state: &AppState,
    protocol: Protocol,
    appended: Appended,
    created: bool,
) -> Result<Response, ApiError> {
    let mut headers = upload_headers(state, protocol, &appended.upload);
    if created {
        insert(
            &mut headers,
            "location",
            location(&appended.upload.upload_id),
        );
    }
    if let (Protocol::Ietf(_), Some(asset)) = (protocol, appended.asset) {
        // Like a single-request upload's 201: the stored bytes' digest (RFC 9530).
        if let Some(digest) = crate::digest::repr_digest(&asset.sha256) {
            insert(&mut headers, "repr-digest", digest);
        }
        let body = Json(AssetEnvelope::from(AssetBody::render(state, asset).await?));
        return Ok((StatusCode::CREATED, headers, body).into_response());
    }
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::NO_CONTENT
    };
    Ok((status, headers).into_response())
}

/// `POST /v1/uploads` with `Tus-Resumable` or the draft's headers: creates an upload resource,
/// appending the request's body when it has one.
pub async fn create(
    state: &AppState,
    account: Account,
    headers: &HeaderMap,
    body: Body,
    protocol: Protocol,
) -> Response {
    match create_upload(state, account.account_id, headers, body, protocol).await {
        Ok(response) => response,
        Err(error) => refusal(Some(protocol), error),
    }
}

async fn create_upload(
    state: &AppState,
    account_id: AccountId,
    headers: &HeaderMap,
    body: Body,
    protocol: Protocol,
) -> Result<Response, ApiError> {
    let metadata = protocol::metadata(headers)?;
    let meta = |keys: &[&str]| {
        metadata
            .iter()
            .find(|(key, _)| keys.contains(&key.as_str()))
            .map(|(_, value)| value.clone())
    };
    let concat = protocol::concat(headers)?;
    let filename = match (meta(&["filename", "name"]), headers.get("x-file-name")) {
        (Some(name), _) => check_file_name(&name)?,
        (None, Some(value)) => check_file_name(
            std::str::from_utf8(value.as_bytes())
                .map_err(|_| ApiError::FileNameInvalid("must be UTF-8"))?,
        )?,
        // Partial uploads carry no metadata: the final upload names the file.
        (None, None) if concat == Concat::Partial => "partial".to_owned(),
        (None, None) => {
            return Err(ApiError::FileNameInvalid(
                "is required: send it as Upload-Metadata `filename` (base64) or x-file-name",
            ));
        }
    };
    let project_id: Option<ProjectId> = match (meta(&["projectId"]), headers.get("x-project-id")) {
        (Some(text), _) => Some(check_project_id(&text)?),
        (None, Some(value)) => Some(check_project_id(
            value.to_str().map_err(|_| ApiError::ProjectIdInvalid)?,
        )?),
        (None, None) => None,
    };
    let length = match &concat {
        Concat::Final(_) => None,
        _ => match protocol::creation_length(headers, protocol)? {
            Length::Known(0) => return Err(ApiError::BodyEmpty),
            Length::Known(length) if length > state.limits.largest() => {
                return Err(ApiError::TooLarge {
                    what: "any upload",
                    limit_mib: crate::upload::mib(state.limits.largest()),
                });
            }
            Length::Known(length) => Some(length),
            Length::Deferred => None,
        },
    };
    let with_body = has_body(headers) && !matches!(concat, Concat::Final(_));
    if with_body {
        protocol::check_append_content_type(headers, protocol)?;
    }
    if let Some(project_id) = project_id {
        // As a single-request upload: a wrong project costs the client no bytes.
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
    let upload_id = uuid::Uuid::new_v4().to_string();
    let (concat_name, parts) = match concat {
        Concat::None => ("", Vec::new()),
        Concat::Partial => ("partial", Vec::new()),
        Concat::Final(parts) => ("final", parts),
    };
    let expires_at = assetd_platform::clock::now_micros()
        + i64::try_from(state.resumable.expiry_secs)
            .unwrap_or(i64::MAX / 2_000_000)
            .saturating_mul(1_000_000);
    let upload = state
        .catalog
        .clone()
        .create_resumable_upload(CreateResumableUploadRequest {
            account_id: account_id.to_string(),
            upload_id: upload_id.clone(),
            protocol: protocol.family().to_owned(),
            filename,
            project_id: project_id.map(String::from),
            request_id: request_id_or_new(
                headers.get("x-request-id").and_then(|v| v.to_str().ok()),
            ),
            length,
            concat: concat_name.to_owned(),
            parts,
            expires_at_unix_micros: expires_at,
            metadata: headers
                .get("upload-metadata")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned(),
        })
        .await
        .map_err(catalog_client::api_error)?
        .into_inner();
    metrics::counter!("assetd_resumable_uploads_created_total", "protocol" => protocol.family())
        .increment(1);
    tracing::info!(upload_id, protocol = protocol.family(), length = ?upload.length, concat = concat_name, "resumable upload created");

    let lease = Lease::new(state, account_id, &upload_id);
    let appended = if upload.concat == "final" {
        // Every byte is already there, in the partial uploads.
        let leased = take_lease(state, &lease, upload.offset).await?;
        match complete_if_ready(state, &lease, leased).await {
            Ok(appended) => appended,
            Err(refused) => {
                if refused.discard_upload {
                    discard(state, account_id, &upload_id, &refused.error).await;
                }
                return Err(refused.error);
            }
        }
    } else if with_body {
        let leased = take_lease(state, &lease, 0).await?;
        let options = AppendOptions {
            checksum: protocol::checksum(headers)?,
            length: None,
            completes: protocol::upload_complete(headers)? == Some(true),
        };
        append_and_finish(state, lease, leased, body, options).await?
    } else {
        Appended {
            upload,
            asset: None,
        }
    };
    appended_answer(state, protocol, appended, true).await
}

/// `HEAD /v1/uploads/{uploadId}`: the upload's offset (and length, and asset once complete).
#[utoipa::path(
    head,
    path = "/v1/uploads/{uploadId}",
    operation_id = "getUploadOffset",
    tag = "uploads",
    description = crate::openapi::RESUMABLE_HEAD_DESCRIPTION,
    params(("uploadId" = uuid::Uuid, Path, description = "The upload resource's id, from the creation's `Location`.")),
    responses(
        (status = 200, description = "tus: the upload's state in `Upload-Offset`, `Upload-Length` (or `Upload-Defer-Length`), `Upload-Metadata`, `Upload-Expires`; `x-asset-id` once it became an asset."),
        (status = 204, description = "The draft: the upload's state in `Upload-Offset`, `Upload-Complete`, `Upload-Length`, `Upload-Limit`; `x-asset-id` once it became an asset."),
        crate::openapi::ResumableErrors,
    ),
)]
pub async fn head(
    State(state): State<AppState>,
    account: Account,
    Path(upload_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let protocol = match Protocol::of_resource(&headers) {
        Ok(protocol) => protocol,
        Err(error) => return refusal(None, error),
    };
    match head_upload(&state, account.account_id, &upload_id, protocol).await {
        Ok(response) => response,
        Err(error) => refusal(Some(protocol), error),
    }
}

async fn head_upload(
    state: &AppState,
    account_id: AccountId,
    upload_id: &str,
    protocol: Protocol,
) -> Result<Response, ApiError> {
    let upload_id = path_upload_id(upload_id)?;
    let mut upload = get_upload(state, account_id, &upload_id).await?;
    if ready_to_finish(&upload) {
        // Every byte arrived but the completion did not run to its end (its gateway died): any
        // replica finishes it now.
        let lease = Lease::new(state, account_id, &upload_id);
        if let Ok(leased) = take_lease(state, &lease, upload.offset).await {
            match complete_if_ready(state, &lease, leased).await {
                Ok(appended) => upload = appended.upload,
                Err(refused) => {
                    if refused.discard_upload {
                        discard(state, account_id, &upload_id, &refused.error).await;
                    }
                    return Err(refused.error);
                }
            }
        }
    }
    let mut headers = upload_headers(state, protocol, &upload);
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if protocol == Protocol::Tus {
        match upload.length {
            Some(length) => insert(&mut headers, "upload-length", length),
            None => insert(&mut headers, "upload-defer-length", 1),
        }
        if !upload.metadata.is_empty() {
            insert(&mut headers, "upload-metadata", &upload.metadata);
        }
        match upload.concat.as_str() {
            "partial" => insert(&mut headers, "upload-concat", "partial"),
            "final" => {
                let parts: Vec<String> = upload.parts.iter().map(|p| location(p)).collect();
                insert(
                    &mut headers,
                    "upload-concat",
                    format!("final;{}", parts.join(" ")),
                );
            }
            _ => {}
        }
        return Ok((StatusCode::OK, headers).into_response());
    }
    Ok((StatusCode::NO_CONTENT, headers).into_response())
}

/// `PATCH /v1/uploads/{uploadId}`: appends the body at `Upload-Offset`.
#[utoipa::path(
    patch,
    path = "/v1/uploads/{uploadId}",
    operation_id = "appendUpload",
    tag = "uploads",
    description = crate::openapi::RESUMABLE_PATCH_DESCRIPTION,
    params(
        ("uploadId" = uuid::Uuid, Path, description = "The upload resource's id."),
        ("upload-offset" = u64, Header, minimum = 0, maximum = 9223372036854775807_u64, description = "Where these bytes go: the upload's current offset."),
    ),
    request_body(content = inline(crate::openapi::UploadFile), content_type = "application/offset+octet-stream", description = "The next bytes of the file (tus: `application/offset+octet-stream`; the draft: `application/partial-upload` or none)."),
    responses(
        (status = 201, description = "The draft, when this request appended the last byte: the asset, as `POST /v1/uploads` answers.", body = AssetEnvelope),
        (status = 204, description = "Appended; `Upload-Offset` is the new offset (tus: and `x-asset-id` once the last byte made the asset)."),
        crate::openapi::ResumableErrors,
    ),
)]
pub async fn patch(
    State(state): State<AppState>,
    account: Account,
    Path(upload_id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let protocol = match Protocol::of_resource(&headers) {
        Ok(protocol) => protocol,
        Err(error) => return refusal(None, error),
    };
    match patch_upload(
        &state,
        account.account_id,
        &upload_id,
        &headers,
        body,
        protocol,
    )
    .await
    {
        Ok(response) => response,
        Err(error) => refusal(Some(protocol), error),
    }
}

async fn patch_upload(
    state: &AppState,
    account_id: AccountId,
    upload_id: &str,
    headers: &HeaderMap,
    body: Body,
    protocol: Protocol,
) -> Result<Response, ApiError> {
    let upload_id = path_upload_id(upload_id)?;
    protocol::check_append_content_type(headers, protocol)?;
    let offset = protocol::number(headers, "upload-offset")?
        .ok_or_else(|| ApiError::UploadHeaderInvalid("Upload-Offset is required".into()))?;
    let options = AppendOptions {
        checksum: protocol::checksum(headers)?,
        length: protocol::number(headers, "upload-length")?,
        completes: protocol::upload_complete(headers)? == Some(true),
    };
    let lease = Lease::new(state, account_id, &upload_id);
    let upload = take_lease(state, &lease, offset).await?;
    if let Some(asset_id) = &upload.asset_id {
        lease.release(state, upload.offset).await;
        if has_body(headers) {
            return Err(ApiError::Completed {
                asset_id: asset_id.clone(),
            });
        }
        let appended = Appended {
            upload,
            asset: None,
        };
        return appended_answer(state, protocol, appended, false).await;
    }
    let appended = append_and_finish(state, lease, upload, body, options).await?;
    appended_answer(state, protocol, appended, false).await
}

/// `DELETE /v1/uploads/{uploadId}`: terminates the upload, removing its bytes.
#[utoipa::path(
    delete,
    path = "/v1/uploads/{uploadId}",
    operation_id = "terminateUpload",
    tag = "uploads",
    description = "Terminates a resumable upload (tus termination, the draft's cancellation): its bytes and its state go at once, and later requests to it answer 404. An upload that already became an asset leaves the asset in place.",
    params(("uploadId" = uuid::Uuid, Path, description = "The upload resource's id.")),
    responses(
        (status = 204, description = "Terminated."),
        crate::openapi::ResumableErrors,
    ),
)]
pub async fn delete(
    State(state): State<AppState>,
    account: Account,
    Path(upload_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let protocol = match Protocol::of_resource(&headers) {
        Ok(protocol) => protocol,
        Err(error) => return refusal(None, error),
    };
    let terminated = async {
        let upload_id = path_upload_id(&upload_id)?;
        let deleted = state
            .catalog
            .clone()
            .delete_resumable_upload(DeleteResumableUploadRequest {
                account_id: account.account_id.to_string(),
                upload_id: upload_id.clone(),
                lease_token: String::new(),
            })
            .await
            .map_err(catalog_client::api_error)?
            .into_inner();
        if let Some(upload) = deleted.upload {
            finish::abort_multipart(&state, &upload).await;
        }
        remove_bytes(&state, &upload_id).await;
        metrics::counter!("assetd_resumable_uploads_terminated_total").increment(1);
        tracing::info!(upload_id, "resumable upload terminated");
        Ok::<(), ApiError>(())
    }
    .await;
    match terminated {
        Ok(()) => {
            let mut headers = HeaderMap::new();
            if protocol == Protocol::Tus {
                insert(&mut headers, "tus-resumable", protocol::TUS_VERSION);
            }
            (StatusCode::NO_CONTENT, headers).into_response()
        }
        Err(error) => refusal(Some(protocol), error),
    }
}

/// `OPTIONS /v1/uploads` (and on an upload): what the server supports, for tus discovery and
/// the draft. Needs no key: it tells nothing about any account.
#[utoipa::path(
    options,
    path = "/v1/uploads",
    operation_id = "uploadOptions",
    tag = "uploads",
    description = "Resumable-upload discovery: tus's `Tus-Version`, `Tus-Extension`, `Tus-Max-Size` and `Tus-Checksum-Algorithm`, and the draft's `Upload-Limit` and `Accept-Patch`. Needs no API key.",
    security(()),
    responses((status = 204, description = "The capabilities, in headers.")),
)]
pub async fn options(State(state): State<AppState>) -> Response {
    let mut headers = HeaderMap::new();
    insert(&mut headers, "tus-resumable", protocol::TUS_VERSION);
    insert(&mut headers, "tus-version", protocol::TUS_VERSION);
    insert(&mut headers, "tus-extension", protocol::TUS_EXTENSIONS);
    insert(&mut headers, "tus-max-size", state.limits.largest());
    insert(
        &mut headers,
        "tus-checksum-algorithm",
        protocol::CHECKSUM_ALGORITHMS,
    );
    insert(
        &mut headers,
        "upload-limit",
        upload_limit(
            &state,
            protocol::IETF_NEWEST,
            Some(state.resumable.expiry_secs),
        ),
    );
    insert(&mut headers, "accept-patch", "application/partial-upload");
    (StatusCode::NO_CONTENT, headers).into_response()
}
