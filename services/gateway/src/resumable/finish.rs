//! Completing a fully appended resumable upload, under its lease: its chunks (a final
//! concatenation's: its partial uploads' chunks, in order) streamed into the asset's object
//! under the same key a single-request upload gets, hashed on the way, then the asset and its
//! probe job recorded in the transaction that marks the upload complete. The chunk objects go
//! once the asset is recorded.

use assetd_media::format::{self, Format};
use assetd_platform::multipart::Part;
use assetd_proto::{
    catalog::v1::{
        self as pb, CompleteResumableUploadRequest, CreateAssetRequest, GetResumableUploadRequest,
    },
    ids::AssetId,
};
use futures::StreamExt;
use sha2::{Digest, Sha256};

use crate::{
    app::AppState,
    catalog_client,
    problem::ApiError,
    resumable::{
        append::{Lease, Refused, read_prefix, upload_prefix},
        sha256_state::Sha256State,
    },
    storage_key::StorageKey,
    upload::mib,
};

/// The chunks the asset is made of, in order, with the uploads whose chunks they are.
async fn sources(
    state: &AppState,
    upload: &pb::ResumableUpload,
) -> Result<Vec<pb::ResumableUploadChunk>, ApiError> {
    if upload.concat != "final" {
        return Ok(upload.chunks.clone());
    }
    let mut chunks = Vec::new();
    let mut base = 0;
    for part in &upload.parts {
        let part = state
            .catalog
            .clone()
            .get_resumable_upload(GetResumableUploadRequest {
                account_id: upload.account_id.clone(),
                upload_id: part.clone(),
            })
            .await
            .map_err(catalog_client::api_error)?
            .into_inner();
        for chunk in part.chunks {
            chunks.push(pb::ResumableUploadChunk {
                start: base + chunk.start,
                ..chunk
            });
        }
        base += part.offset;
    }
    Ok(chunks)
}

/// Turns the upload into its asset. A refused kind or size means the upload must be discarded.
pub async fn finish(
    state: &AppState,
    lease: &Lease,
    upload: &pb::ResumableUpload,
) -> Result<pb::Asset, Refused> {
    let refuse = |error| Refused {
        error,
        discard_upload: true,
    };
    let account_id = lease.account_id;
    let (format, asset_id, key, size, sha256) = match (
        &upload.multipart_upload_id,
        &upload.multipart_key,
    ) {
        (Some(multipart_id), Some(key)) => {
            complete_multipart(state, upload, multipart_id, key).await?
        }
        _ => {
            let chunks = sources(state, upload).await?;
            let size: u64 = chunks.iter().map(|c| c.size).sum();
            if Some(size) != upload.length {
                tracing::error!(upload_id = upload.upload_id, size, length = ?upload.length, "a full upload's chunks do not add up to its length");
                return Err(ApiError::Internal.into());
            }
            let format: &'static Format =
                match upload.format_ext.as_deref().and_then(format::by_ext) {
                    Some(format) => format,
                    None => {
                        let prefix = read_prefix(state, &chunks, format::SNIFF_LEN as u64).await?;
                        format::sniff_prefix(&prefix)
                            .ok_or_else(|| refuse(ApiError::TypeUnsupported))?
                    }
                };
            let (limit, what) = state.limits.for_kind(format.kind);
            if size > limit {
                return Err(refuse(ApiError::TooLarge {
                    what,
                    limit_mib: mib(limit),
                }));
            }
            let asset_id = AssetId::new();
            let key = StorageKey {
                account_id,
                asset_id,
                format,
            }
            .to_string();
            let sha256 = copy_chunks(state, &chunks, &key).await?;
            (format, asset_id, key, size, sha256)
        }
    };

    let asset = CreateAssetRequest {
        account_id: account_id.to_string(),
        asset_id: asset_id.to_string(),
        kind: pb::AssetKind::from(format.kind).into(),
        source: "UPLOAD".to_owned(),
        filename: upload.filename.clone(),
        mimetype: format.mime.to_owned(),
        size,
        file_key: key.clone(),
        sha256,
        project_id: upload.project_id.clone(),
        request_id: upload.request_id.clone(),
    };
    let completed = state
        .catalog
        .clone()
        .complete_resumable_upload(CompleteResumableUploadRequest {
            account_id: account_id.to_string(),
            upload_id: upload.upload_id.clone(),
            lease_token: lease.token.clone(),
            asset: Some(asset),
        })
        .await;
    let asset = match completed {
        Ok(asset) => asset.into_inner(),
        Err(status) => {
            let unrecorded = crate::cleanup::Unrecorded {
                account_id: account_id.to_string(),
                asset_id: asset_id.to_string(),
                project_id: upload.project_id.clone(),
                key,
            };
            crate::cleanup::undo_create(&state.storage, &state.catalog, &status, unrecorded).await;
            return Err(catalog_client::api_error(status).into());
        }
    };
    tracing::info!(
        upload_id = upload.upload_id,
        asset_id = asset.asset_id,
        size,
        mimetype = asset.mimetype,
        protocol = upload.protocol,
        "resumable upload completed"
    );
    let kind = crate::asset_body::kind_name(asset.kind());
    metrics::counter!("assetd_upload_bytes_total").increment(size);
    metrics::histogram!("assetd_upload_size_bytes", "kind" => kind).record(size as f64);
    metrics::counter!("assetd_resumable_uploads_completed_total", "protocol" => protocol_label(&upload.protocol)).increment(1);
    // The chunks are no longer needed; what a failure here leaves, the reaper removes at expiry.
    let mut prefixes = vec![upload_prefix(&upload.upload_id)];
    prefixes.extend(upload.parts.iter().map(|part| upload_prefix(part)));
    let storage = state.storage.clone();
    tokio::spawn(async move {
        for prefix in prefixes {
            if let Err(err) = storage.delete_all(&prefix).await {
                tracing::warn!(error = ?err, prefix, "cannot remove a completed upload's chunks yet; the expiry reaper will");
            }
        }
    });
    Ok(asset)
}

/// Completes an upload's S3 multipart upload: the bytes after the last part become the last
/// part, the parts become the asset's object, and the SHA-256 state finishes over that tail.
/// Its key was chosen, asset id and format, when the first part was uploaded.
async fn complete_multipart(
    state: &AppState,
    upload: &pb::ResumableUpload,
    multipart_id: &str,
    key: &str,
) -> Result<(&'static Format, AssetId, String, u64, String), Refused> {
    let parsed = StorageKey::parse(key).ok_or_else(|| {
        tracing::error!(
            upload_id = upload.upload_id,
            key,
            "a multipart upload's key is not an asset key"
        );
        Refused::from(ApiError::Internal)
    })?;
    let multipart = state.storage.multipart().ok_or_else(|| {
        tracing::error!(
            upload_id = upload.upload_id,
            "an upload with an S3 multipart upload on a gateway without S3 storage"
        );
        Refused::from(ApiError::Internal)
    })?;
    let storage_error = |err: assetd_platform::storage::StorageError| {
        tracing::warn!(error = ?err, "storage failed while completing a resumable upload");
        Refused::from(ApiError::Unavailable("Storage"))
    };
    let mut tail = bytes::BytesMut::new();
    for chunk in &upload.chunks {
        let bytes = state
            .storage
            .read_range(&chunk.object_key, 0..chunk.size)
            .await
            .map_err(storage_error)?;
        tail.extend_from_slice(&bytes);
    }
    let hashed = upload.s3_parts.last().map_or(0, |p| p.start + p.size);
    let size = hashed + tail.len() as u64;
    if Some(size) != upload.length {
        tracing::error!(upload_id = upload.upload_id, size, length = ?upload.length, "a full upload's parts and chunks do not add up to its length");
        return Err(ApiError::Internal.into());
    }
    let mut parts: Vec<Part> = upload
        .s3_parts
        .iter()
        .map(|p| Part {
            number: p.number,
            etag: p.etag.clone(),
        })
        .collect();
    let tail = tail.freeze();
    if !tail.is_empty() {
        let number = u32::try_from(parts.len()).unwrap_or(u32::MAX) + 1;
        let etag = multipart
            .upload_part(key, multipart_id, number, tail.clone())
            .await
            .map_err(storage_error)?;
        parts.push(Part { number, etag });
    }
    multipart
        .complete(key, multipart_id, &parts)
        .await
        .map_err(storage_error)?;
    let sha = Sha256State::parse(&upload.sha256_state).ok_or_else(|| {
        tracing::error!(
            upload_id = upload.upload_id,
            "the upload's SHA-256 state is malformed"
        );
        Refused::from(ApiError::Internal)
    })?;
    Ok((
        parsed.format,
        parsed.asset_id,
        key.to_owned(),
        size,
        sha.finish(hashed, &tail),
    ))
}

/// Aborts an upload's S3 multipart upload, if it has one (termination, refusal, expiry); false
/// when one stays open.
pub async fn abort_multipart(state: &AppState, upload: &pb::ResumableUpload) -> bool {
    let (Some(id), Some(key), Some(multipart)) = (
        &upload.multipart_upload_id,
        &upload.multipart_key,
        state.storage.multipart(),
    ) else {
        return true;
    };
    match multipart.abort(key, id).await {
        Ok(()) => true,
        Err(err) => {
            tracing::warn!(upload_id = upload.upload_id, error = ?err, "cannot abort an upload's S3 multipart upload; the bucket's lifecycle rule for incomplete multipart uploads must if this persists");
            false
        }
    }
}

/// The protocol label of metrics (a bounded set).
pub fn protocol_label(protocol: &str) -> &'static str {
    if protocol == "tus" { "tus" } else { "ietf" }
}

/// Streams the chunks, in order, into one object under `key`, returning its lowercase hex
/// SHA-256; on any failure nothing stays under `key`.
async fn copy_chunks(
    state: &AppState,
    chunks: &[pb::ResumableUploadChunk],
    key: &str,
) -> Result<String, ApiError> {
    let storage_error = |err: assetd_platform::storage::StorageError| {
        tracing::warn!(error = ?err, "storage failed while completing a resumable upload");
        ApiError::Unavailable("Storage")
    };
    let mut writer = state.storage.writer(key).await.map_err(storage_error)?;
    let copied = async {
        let mut hasher = Sha256::new();
        for chunk in chunks {
            let mut stream = state
                .storage
                .read_stream(&chunk.object_key, 0..chunk.size)
                .await
                .map_err(storage_error)?;
            while let Some(bytes) = stream.next().await {
                let bytes = bytes.map_err(|err| {
                    storage_error(
                        opendal::Error::new(opendal::ErrorKind::Unexpected, "chunk read failed")
                            .set_source(err)
                            .into(),
                    )
                })?;
                hasher.update(&bytes);
                writer
                    .write(bytes)
                    .await
                    .map_err(|err| storage_error(err.into()))?;
            }
        }
        Ok::<String, ApiError>(hex::encode(hasher.finalize()))
    }
    .await;
    let sha256 = match copied {
        Ok(sha256) => sha256,
        Err(err) => {
            crate::cleanup::abort_write(writer, key.to_owned()).await;
            return Err(err);
        }
    };
    if let Err(err) = writer.close().await {
        crate::cleanup::abort_write(writer, key.to_owned()).await;
        crate::cleanup::delete_object(&state.storage, key.to_owned()).await;
        return Err(storage_error(err.into()));
    }
    Ok(sha256)
}
