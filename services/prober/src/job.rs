//! One probe job: look the asset up, probe its object within the budget, record what was found.

use std::sync::Arc;

use assetd_media::{Kind, ProbeError, Probed};
use assetd_platform::{grpc_error, reason::Reason, storage::Storage};
use assetd_proto::catalog::{
    CatalogClient,
    v1::{
        self as pb, GetAssetForProbeRequest, ProbeStatus, RecordProbeResultRequest,
        record_probe_result_request,
    },
};
use tonic::Code;

use crate::{ProberConfig, storage_source::StorageSource};

/// How a job ended, which tells the queue what to do with it.
#[derive(Debug, PartialEq)]
pub enum Outcome {
    /// The result (ready or failed) is recorded: acknowledge.
    Recorded,
    /// The asset no longer exists (or was already probed): acknowledge.
    Nothing,
    /// Storage or the catalog failed; the same job may succeed later: retry with backoff.
    Transient(String),
}

impl Outcome {
    /// The metrics label of the outcome.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Recorded => "recorded",
            Self::Nothing => "nothing",
            Self::Transient(_) => "retry",
        }
    }
}

#[derive(Clone)]
pub struct Worker {
    inner: Arc<Inner>,
}

struct Inner {
    config: ProberConfig,
    catalog: CatalogClient,
    storage: Storage,
}

fn catalog_transient(what: &str, status: &tonic::Status) -> Outcome {
    Outcome::Transient(format!(
        "catalog {what}: {:?} {}",
        status.code(),
        status.message()
    ))
}

impl Worker {
    pub fn new(config: ProberConfig, catalog: CatalogClient, storage: Storage) -> Self {
        Self {
            inner: Arc::new(Inner {
                config,
                catalog,
                storage,
            }),
        }
    }

    pub fn config(&self) -> &ProberConfig {
        &self.inner.config
    }

    pub fn catalog(&self) -> CatalogClient {
        self.inner.catalog.clone()
    }

    /// Probes one asset and records the result. Safe to repeat: a redelivered job re-records the same result.
    /// With `finish_job`, recording the result also removes that (embedded-queue) job.
    pub async fn process(&self, asset_id: &str, finish_job: Option<&str>) -> Outcome {
        let mut catalog = self.inner.catalog.clone();
        let asset = match catalog
            .get_asset_for_probe(GetAssetForProbeRequest {
                asset_id: asset_id.to_owned(),
            })
            .await
        {
            Ok(asset) => asset.into_inner(),
            Err(status) if grpc_error::reason(&status) == Some(Reason::AssetNotFound) => {
                tracing::info!(asset_id, "asset deleted before its probe; dropping the job");
                return Outcome::Nothing;
            }
            Err(status) => return catalog_transient("lookup", &status),
        };
        if asset.probe_status() != ProbeStatus::Pending {
            tracing::info!(asset_id, status = ?asset.probe_status(), "asset already probed; dropping the job");
            return Outcome::Nothing;
        }
        let Some(kind) = asset.kind().media_kind() else {
            return self
                .record(
                    asset_id,
                    Err("the asset has no kind".into()),
                    &asset,
                    finish_job,
                )
                .await;
        };
        let started = std::time::Instant::now();
        let probed = self.probe(&asset, kind).await;
        let result = match probed {
            Ok(probed) => {
                tracing::info!(
                    asset_id,
                    format = probed.format,
                    width = probed.width,
                    height = probed.height,
                    duration = probed.duration,
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "probed"
                );
                metrics::histogram!("assetd_probe_duration_seconds", "format" => probed.format)
                    .record(started.elapsed().as_secs_f64());
                let checked = self.check_limits(kind, probed);
                if checked.is_err() {
                    metrics::counter!("assetd_probe_failures_total", "reason" => "over_duration_limit").increment(1);
                }
                checked
            }
            Err(ProbeError::Io(err)) => {
                metrics::counter!("assetd_probe_failures_total", "reason" => "storage")
                    .increment(1);
                return Outcome::Transient(format!("storage read failed: {err}"));
            }
            Err(err) => {
                tracing::info!(asset_id, reason = %err, "media cannot be probed");
                let reason = match &err {
                    ProbeError::Malformed(_) => "malformed",
                    ProbeError::Unsupported(_) => "unsupported",
                    ProbeError::BudgetExceeded(_) => "budget_exceeded",
                    ProbeError::Io(_) => "storage",
                };
                metrics::counter!("assetd_probe_failures_total", "reason" => reason).increment(1);
                Err(err.to_string())
            }
        };
        self.record(asset_id, result, &asset, finish_job).await
    }

    async fn probe(&self, asset: &pb::Asset, kind: Kind) -> Result<Probed, ProbeError> {
        let source = StorageSource {
            storage: self.inner.storage.clone(),
            key: asset.file_key.clone(),
            size: asset.size,
            runtime: tokio::runtime::Handle::current(),
        };
        let budget = self.inner.config.budget();
        // Parsing is blocking work: keep it off the async threads.
        tokio::task::spawn_blocking(move || assetd_media::probe(&source, kind, &budget))
            .await
            .unwrap_or_else(|err| Err(ProbeError::Malformed(format!("the probe crashed: {err}"))))
    }

    /// Media over a duration limit is a failed probe with a reason, never silently accepted.
    fn check_limits(&self, kind: Kind, probed: Probed) -> Result<Probed, String> {
        let limit = match kind {
            Kind::Video => Some(("video", self.inner.config.video_max_seconds)),
            Kind::Audio => Some(("audio", self.inner.config.audio_max_seconds)),
            _ => None,
        };
        match (limit, probed.duration) {
            (Some((what, max)), Some(duration)) if duration > max => Err(format!(
                "{what} is {duration:.1} s long; at most {max:.0} s is allowed"
            )),
            _ => Ok(probed),
        }
    }

    async fn record(
        &self,
        asset_id: &str,
        result: Result<Probed, String>,
        asset: &pb::Asset,
        finish_job: Option<&str>,
    ) -> Outcome {
        let failed = result.is_err();
        let result = match result {
            Ok(probed) => record_probe_result_request::Result::Ready(pb::ProbeReady {
                width: probed.width,
                height: probed.height,
                duration: probed.duration,
            }),
            Err(reason) => record_probe_result_request::Result::Failed(pb::ProbeFailed { reason }),
        };
        let request = RecordProbeResultRequest {
            asset_id: asset_id.to_owned(),
            result: Some(result),
            job_id: finish_job.unwrap_or_default().to_owned(),
        };
        match self
            .inner
            .catalog
            .clone()
            .record_probe_result(request)
            .await
        {
            Ok(_) => {
                let waited_micros = assetd_platform::clock::now_micros()
                    .saturating_sub(asset.created_at_unix_micros)
                    .max(0);
                metrics::histogram!("assetd_upload_to_probed_seconds")
                    .record(waited_micros as f64 / 1e6);
            }
            Err(status) if status.code() == Code::NotFound => return Outcome::Nothing,
            Err(status) => return catalog_transient("record", &status),
        }
        if failed
            && self.inner.config.probe_failed_delete_object
            && let Err(err) = self.inner.storage.delete(&asset.file_key).await
        {
            tracing::warn!(asset_id, error = ?err, "cannot delete the object of a failed probe");
        }
        Outcome::Recorded
    }

    /// Marks an asset failed after its job used up every attempt; false if that could not be recorded.
    pub async fn give_up(&self, asset_id: &str, attempts: u32, last_error: &str) -> bool {
        let reason = format!("probe gave up after {attempts} attempts: {last_error}");
        let request = RecordProbeResultRequest {
            asset_id: asset_id.to_owned(),
            result: Some(record_probe_result_request::Result::Failed(
                pb::ProbeFailed { reason },
            )),
            job_id: String::new(),
        };
        match self
            .inner
            .catalog
            .clone()
            .record_probe_result(request)
            .await
        {
            Ok(_) => true,
            // Deleted meanwhile: nothing left to mark.
            Err(status) if status.code() == Code::NotFound => true,
            Err(status) => {
                tracing::error!(asset_id, code = ?status.code(), "cannot mark the asset failed; the job is kept and tried again");
                false
            }
        }
    }
}
