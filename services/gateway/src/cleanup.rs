//! Undoing a failed upload's storage write: the abort of an unfinished write and the delete of an
//! unrecorded object, retried in the background while storage is unreachable.
//!
//! A failed upload is often failed *because* storage went away, and then the first abort or
//! delete fails too. Giving up there would leave an open multipart upload (billed, invisible to
//! listings) or an object no row points at. So the first attempt runs inline, and when it fails
//! a background task keeps trying with backoff until storage answers or [`GIVE_UP_AFTER`] has
//! passed. What a crash or that limit still leaves is caught by the backstops the README names:
//! the startup sweep of `.incoming/` on the filesystem, a bucket lifecycle rule on S3.
//!
//! The same holds for the asset record when the catalog's answer to `CreateAsset` is lost (the
//! catalog killed or the connection cut after it committed): the client is told 503, so the
//! record it may have left is deleted through the catalog before the object goes, never the
//! object alone (a row pointing at nothing).

use std::time::{Duration, Instant};

use assetd_platform::{grpc_error, reason::Reason, retry::Backoff, storage::Storage};
use assetd_proto::catalog::{
    CatalogClient,
    v1::{DeleteAssetRequest, UnbindAssetRequest},
};

/// How long the background task keeps trying before it logs the leftover and stops.
const GIVE_UP_AFTER: Duration = Duration::from_secs(15 * 60);

/// Aborts an unfinished write (an open multipart upload on S3, a file under `.incoming/` on the
/// filesystem).
pub async fn abort_write(mut writer: opendal::Writer, key: String) {
    let Err(err) = writer.abort().await else {
        return;
    };
    tracing::warn!(error = ?err, key, "cannot abort a failed upload's write yet; retrying in the background");
    tokio::spawn(async move {
        let mut cleanup = Cleanup::new("abort", key);
        while cleanup.wait().await {
            let result = writer.abort().await;
            if cleanup.settled(result) {
                return;
            }
        }
    });
}

/// Deletes the stored object of an upload that was not recorded.
pub async fn delete_object(storage: &Storage, key: String) {
    let Err(err) = storage.delete(&key).await else {
        return;
    };
    tracing::warn!(error = ?err, key, "cannot delete a failed upload's object yet; retrying in the background");
    let storage = storage.clone();
    tokio::spawn(async move {
        let mut cleanup = Cleanup::new("delete", key);
        while cleanup.wait().await {
            let result = storage.delete(&cleanup.key).await;
            if cleanup.settled(result) {
                return;
            }
        }
    });
}

/// The asset a `CreateAsset` call was meant to record, when the call failed.
pub struct Unrecorded {
    pub account_id: String,
    pub asset_id: String,
    pub project_id: Option<String>,
    pub key: String,
}

/// Undoes an upload whose `CreateAsset` failed with `status`. An answer from the catalog (a
/// status with a reason) means its transaction rolled back, and a refused connection means the
/// request never reached it: only the object goes. Any other transport failure leaves the
/// outcome unknown: the record is deleted through the catalog first (retried in the background
/// until the catalog answers), then the object.
pub async fn undo_create(
    storage: &Storage,
    catalog: &CatalogClient,
    status: &tonic::Status,
    unrecorded: Unrecorded,
) {
    if grpc_error::reason(status).is_some() || never_sent(status) {
        return delete_object(storage, unrecorded.key).await;
    }
    tracing::warn!(
        asset_id = unrecorded.asset_id,
        code = ?status.code(),
        error = status.message(),
        "the catalog's answer to CreateAsset was lost; deleting the record it may have made"
    );
    let storage = storage.clone();
    let catalog = catalog.clone();
    tokio::spawn(async move {
        let mut cleanup = Cleanup::new("delete_record", unrecorded.key.clone());
        loop {
            let result = delete_record(catalog.clone(), &unrecorded).await;
            if cleanup.settled(result) {
                break;
            }
            if !cleanup.wait().await {
                return;
            }
        }
        delete_object(&storage, unrecorded.key).await;
    });
}

/// Whether `status` is a failure to connect: the catalog refused the connection, so no request
/// was written and nothing can have been committed.
fn never_sent(status: &tonic::Status) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(status);
    while let Some(err) = source {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            return io.kind() == std::io::ErrorKind::ConnectionRefused;
        }
        source = err.source();
    }
    false
}

/// Deletes the asset record (and its project binding) if the catalog has it; `Ok` once the
/// catalog has answered that it is gone.
async fn delete_record(mut catalog: CatalogClient, asset: &Unrecorded) -> Result<(), String> {
    let gone = |status: &tonic::Status| {
        matches!(
            grpc_error::reason(status),
            Some(Reason::AssetNotFound | Reason::ProjectNotFound | Reason::BindingNotFound)
        )
    };
    let failed = |status: tonic::Status| format!("{:?}: {}", status.code(), status.message());
    if let Some(project_id) = &asset.project_id {
        let unbound = catalog
            .unbind_asset(UnbindAssetRequest {
                account_id: asset.account_id.clone(),
                project_id: project_id.clone(),
                asset_id: asset.asset_id.clone(),
            })
            .await;
        match unbound {
            Ok(_) => {}
            Err(status) if gone(&status) => {}
            Err(status) => return Err(failed(status)),
        }
    }
    let deleted = catalog
        .delete_asset(DeleteAssetRequest {
            account_id: asset.account_id.clone(),
            asset_id: asset.asset_id.clone(),
        })
        .await;
    match deleted {
        Ok(_) => {
            tracing::warn!(
                asset_id = asset.asset_id,
                "deleted the record of an upload that was answered 503"
            );
            Ok(())
        }
        Err(status) if gone(&status) => Ok(()),
        Err(status) => Err(failed(status)),
    }
}

/// One background cleanup's schedule (the dependency backoff), logs and metrics.
struct Cleanup {
    what: &'static str,
    key: String,
    started: Instant,
    backoff: Backoff,
    last_error: Option<String>,
}

impl Cleanup {
    fn new(what: &'static str, key: String) -> Self {
        metrics::gauge!("assetd_upload_cleanups_pending").increment(1.0);
        Self {
            what,
            key,
            started: Instant::now(),
            backoff: Backoff::dependency(),
            last_error: None,
        }
    }

    /// Sleeps until the next attempt; false once the cleanup is given up.
    async fn wait(&mut self) -> bool {
        if self.started.elapsed() >= GIVE_UP_AFTER {
            tracing::error!(
                error = self.last_error.as_deref().unwrap_or_default(),
                key = self.key,
                what = self.what,
                "giving up cleaning a failed upload's storage write; the storage backstop \
                 (the S3 lifecycle rule for incomplete multipart uploads, the .incoming/ sweep at \
                 start) must remove it"
            );
            self.finish("gave_up");
            return false;
        }
        tokio::time::sleep(self.backoff.next_delay()).await;
        true
    }

    /// Records an attempt's result; true when the cleanup is done.
    fn settled<E: std::fmt::Debug>(&mut self, result: Result<(), E>) -> bool {
        match result {
            Ok(()) => {
                tracing::info!(
                    key = self.key,
                    what = self.what,
                    "a failed upload's storage write is cleaned up"
                );
                self.finish("done");
                true
            }
            Err(err) => {
                self.last_error = Some(format!("{err:?}"));
                false
            }
        }
    }

    fn finish(&self, outcome: &'static str) {
        metrics::gauge!("assetd_upload_cleanups_pending").decrement(1.0);
        metrics::counter!("assetd_upload_cleanup_retries_total", "outcome" => outcome).increment(1);
    }
}
