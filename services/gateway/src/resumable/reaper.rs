//! The expiry reaper: every gateway replica, every `--resumable-reap-every-secs`, claims expired
//! resumable uploads from the catalog (one claimer per upload), removes their chunk objects,
//! then their rows; and reports how many uploads are open.

use assetd_proto::catalog::v1::{
    ClaimExpiredResumableUploadsRequest, DeleteResumableUploadRequest,
};
use tokio_util::sync::CancellationToken;

use crate::{app::AppState, resumable::append::upload_prefix};

/// Uploads claimed per catalog call.
const CLAIM_BATCH: u32 = 100;
/// How long a claim holds an expired upload for its reaper.
const CLAIM_SECS: u32 = 120;

/// Runs until `shutdown`.
pub async fn run(state: AppState, shutdown: CancellationToken) {
    let every = std::time::Duration::from_secs(state.resumable.reap_every_secs.max(1));
    let mut tick = tokio::time::interval(every);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = shutdown.cancelled() => return,
        }
        if let Err(status) = reap_once(&state).await {
            tracing::warn!(code = ?status.code(), error = status.message(), "cannot reap expired resumable uploads now; retrying at the next pass");
        }
    }
}

/// One pass: reaps expired uploads in batches until none is left; returns how many went.
pub async fn reap_once(state: &AppState) -> Result<usize, tonic::Status> {
    let token = uuid::Uuid::new_v4().simple().to_string();
    let mut reaped = 0;
    loop {
        let claimed = state
            .catalog
            .clone()
            .claim_expired_resumable_uploads(ClaimExpiredResumableUploadsRequest {
                lease_token: token.clone(),
                lease_secs: CLAIM_SECS,
                limit: CLAIM_BATCH,
            })
            .await?
            .into_inner();
        metrics::gauge!("assetd_resumable_uploads_open").set(claimed.open_uploads as f64);
        if claimed.uploads.is_empty() {
            return Ok(reaped);
        }
        let batch = claimed.uploads.len();
        for upload in claimed.uploads {
            // Bytes first: a row without bytes is harmless, bytes without a row are a leak.
            if upload.asset_id.is_none()
                && !crate::resumable::finish::abort_multipart(state, &upload).await
            {
                continue;
            }
            if let Err(err) = state
                .storage
                .delete_all(&upload_prefix(&upload.upload_id))
                .await
            {
                tracing::warn!(upload_id = upload.upload_id, error = ?err, "cannot remove an expired upload's chunks; retrying at the next pass");
                continue;
            }
            state
                .catalog
                .clone()
                .delete_resumable_upload(DeleteResumableUploadRequest {
                    account_id: upload.account_id.clone(),
                    upload_id: upload.upload_id.clone(),
                    lease_token: token.clone(),
                })
                .await?;
            let outcome = if upload.asset_id.is_some() {
                "completed"
            } else {
                "unfinished"
            };
            metrics::counter!("assetd_resumable_uploads_expired_total", "state" => outcome)
                .increment(1);
            tracing::info!(
                upload_id = upload.upload_id,
                offset = upload.offset,
                state = outcome,
                "expired resumable upload removed"
            );
            reaped += 1;
        }
        if batch < CLAIM_BATCH as usize {
            return Ok(reaped);
        }
    }
}
