//! The catalog's gRPC service: checks each request's arguments and calls the table modules.

use assetd_proto::{
    catalog::v1::{self as pb, catalog_service_server::CatalogService},
    context::TraceContext,
    ids::ProjectId,
};
use std::time::Duration;

use tonic::{Request, Response, Status};

use crate::{
    config::Limits,
    db::Db,
    error::{Error, Result},
    jobs_signal::JobsQueued,
    store::{
        accounts,
        assets::{self, NewAsset, ProbeOutcome},
        idempotency_keys, paging, probe_jobs, project_assets,
        projects::{self, NewProject},
        resumable_uploads,
        sql::Change,
        webhook_deliveries::{self, Replay},
        webhooks::{self, NewWebhook},
    },
    watch::{self, ProbeEvent, ProbeEvents},
};

/// What `WatchAsset` streams.
pub type AssetStream =
    std::pin::Pin<Box<dyn tokio_stream::Stream<Item = Result<pb::Asset, Status>> + Send>>;

/// Longest project title, in characters.
pub const TITLE_MAX_CHARS: usize = 120;
/// Longest project description, in characters.
pub const DESCRIPTION_MAX_CHARS: usize = 500;
/// The only editor state schema version there is.
pub const STATE_SCHEMA_VERSION: &str = "v1";
/// Longest a `ClaimProbeJobs` call waits for a job to be written.
pub const MAX_CLAIM_WAIT_MILLIS: u32 = 10_000;
/// How often a waiting `ClaimProbeJobs` looks at the outbox without a signal.
const CLAIM_SAFETY_POLL: Duration = Duration::from_secs(1);

#[derive(Clone, Debug)]
pub struct Catalog {
    db: Db,
    /// Signalled whenever probe jobs are queued, so the relay and waiting claims take them at once.
    jobs_queued: JobsQueued,
    /// Probe results as they are recorded, for `WatchAsset`.
    probe_events: ProbeEvents,
    /// Idempotency-key lifetime, webhooks per account.
    limits: Limits,
}

impl Catalog {
    pub fn new(db: Db, jobs_queued: JobsQueued, probe_events: ProbeEvents, limits: Limits) -> Self {
        Self {
            db,
            jobs_queued,
            probe_events,
            limits,
        }
    }
}

impl Catalog {
    /// The embedded queues' claim (probe jobs, webhook deliveries): `claim` at once and, while it
    /// finds nothing, again whenever work is queued (and at least every second: retries come due
    /// by time, not by a signal), for up to `wait_millis`.
    async fn long_poll<T, F, Fut>(&self, wait_millis: u32, mut claim: F) -> Result<Vec<T>>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<Vec<T>>>,
    {
        let deadline = tokio::time::Instant::now()
            + Duration::from_millis(u64::from(wait_millis.min(MAX_CLAIM_WAIT_MILLIS)));
        let shutdown = self.probe_events.shutdown();
        loop {
            // Taken before the claim, so work queued meanwhile ends the wait below.
            let mut waiter = self.jobs_queued.waiter();
            let claimed = claim().await?;
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if !claimed.is_empty() || left.is_zero() || shutdown.is_cancelled() {
                return Ok(claimed);
            }
            tokio::select! {
                () = shutdown.cancelled() => {}
                () = waiter.wait(left.min(CLAIM_SAFETY_POLL)) => {}
            }
        }
    }
}

/// An id argument, parsed into its type (`AccountId`, `AssetId`, ...): the one place a request's
/// ids are read.
fn id<T: std::str::FromStr>(name: &str, value: &str) -> Result<T> {
    value
        .parse()
        .map_err(|_| Error::InvalidArgument(format!("{name} must be a UUID")))
}

/// A webhook id argument; an unparsable one is as absent as an unknown one.
fn webhook_id(value: &str) -> Result<assetd_proto::ids::WebhookId> {
    value.parse().map_err(|_| Error::WebhookNotFound)
}

fn required(name: &str, value: &str) -> Result<()> {
    if value.is_empty() {
        return Err(Error::InvalidArgument(format!("{name} is required")));
    }
    Ok(())
}

fn validate_project_fields(title: &str, description: Option<&str>) -> Result<()> {
    if title.chars().count() > TITLE_MAX_CHARS {
        return Err(Error::InvalidArgument(format!(
            "title must be at most {TITLE_MAX_CHARS} characters"
        )));
    }
    if description.is_some_and(|d| d.chars().count() > DESCRIPTION_MAX_CHARS) {
        return Err(Error::InvalidArgument(format!(
            "description must be at most {DESCRIPTION_MAX_CHARS} characters"
        )));
    }
    Ok(())
}

/// A `CreateAssetRequest`'s asset, its arguments checked.
fn new_asset(req: pb::CreateAssetRequest) -> Result<NewAsset> {
    let kind = req.kind();
    required("source", &req.source)?;
    required("filename", &req.filename)?;
    required("mimetype", &req.mimetype)?;
    required("file_key", &req.file_key)?;
    required("sha256", &req.sha256)?;
    Ok(NewAsset {
        account_id: id("account_id", &req.account_id)?,
        asset_id: id("asset_id", &req.asset_id)?,
        kind,
        source: req.source,
        filename: req.filename,
        mimetype: req.mimetype,
        size: req.size,
        file_key: req.file_key,
        sha256: req.sha256,
        project_id: req
            .project_id
            .as_deref()
            .map(|text| id("project_id", text))
            .transpose()?,
        request_id: req.request_id,
        trace: TraceContext::current(),
    })
}

/// Longest append lease a caller may ask for, in seconds.
const MAX_LEASE_SECS: u32 = 300;

fn lease_secs(secs: u32) -> Result<u32> {
    if secs > MAX_LEASE_SECS {
        return Err(Error::InvalidArgument(format!(
            "lease_secs must be at most {MAX_LEASE_SECS}"
        )));
    }
    Ok(secs)
}

fn upload_id(text: &str) -> Result<String> {
    let id: uuid::Uuid = id("upload_id", text)?;
    Ok(id.to_string())
}

fn idempotency_key_arg(key: &str) -> Result<()> {
    let printable = key.chars().all(|c| c.is_ascii_graphic() || c == ' ');
    if key.is_empty() || key.chars().count() > idempotency_keys::KEY_MAX_CHARS || !printable {
        return Err(Error::InvalidArgument(format!(
            "idempotency_key must be 1 to {} printable ASCII characters",
            idempotency_keys::KEY_MAX_CHARS
        )));
    }
    Ok(())
}

#[tonic::async_trait]
impl CatalogService for Catalog {
    async fn authenticate(
        &self,
        request: Request<pb::AuthenticateRequest>,
    ) -> Result<Response<pb::AuthenticateResponse>, Status> {
        let owner = accounts::authenticate(&self.db, &request.into_inner().api_key).await?;
        Ok(Response::new(pb::AuthenticateResponse {
            account_id: owner.account_id,
            enabled: owner.enabled,
        }))
    }

    async fn create_asset(
        &self,
        request: Request<pb::CreateAssetRequest>,
    ) -> Result<Response<pb::Asset>, Status> {
        let new = new_asset(request.into_inner())?;
        let asset = assets::create(&self.db, new).await?;
        self.jobs_queued.notify();
        Ok(Response::new(asset))
    }

    async fn get_asset(
        &self,
        request: Request<pb::GetAssetRequest>,
    ) -> Result<Response<pb::Asset>, Status> {
        let req = request.into_inner();
        let account_id = id("account_id", &req.account_id)?;
        let asset_id = id("asset_id", &req.asset_id)?;
        Ok(Response::new(
            assets::get(&self.db, account_id, asset_id).await?,
        ))
    }

    async fn delete_asset(
        &self,
        request: Request<pb::DeleteAssetRequest>,
    ) -> Result<Response<pb::DeleteAssetResponse>, Status> {
        let req = request.into_inner();
        let account_id = id("account_id", &req.account_id)?;
        let asset_id = id("asset_id", &req.asset_id)?;
        let file_key = assets::delete(&self.db, account_id, asset_id).await?;
        // Its `asset.deleted` deliveries, if any, are due now.
        self.jobs_queued.notify();
        // Open watches of the asset end with NOT_FOUND (on other replicas through the NOTIFY).
        self.probe_events.publish(ProbeEvent::Changed(asset_id));
        Ok(Response::new(pb::DeleteAssetResponse { file_key }))
    }

    async fn create_project(
        &self,
        request: Request<pb::CreateProjectRequest>,
    ) -> Result<Response<pb::Project>, Status> {
        let req = request.into_inner();
        validate_project_fields(&req.title, req.description.as_deref())?;
        if req.state_schema_version != STATE_SCHEMA_VERSION {
            return Err(Error::InvalidArgument(format!(
                "state_schema_version must be {STATE_SCHEMA_VERSION:?}"
            ))
            .into());
        }
        let new = NewProject {
            account_id: id("account_id", &req.account_id)?,
            title: req.title,
            description: req.description,
            editor_state_json: req.editor_state_json,
            state_schema_version: req.state_schema_version,
            idempotency_key: req
                .idempotency_key
                .map(|key| idempotency_key_arg(&key).map(|()| key))
                .transpose()?,
        };
        Ok(Response::new(
            projects::create(&self.db, new, self.limits.idempotency_ttl).await?,
        ))
    }

    async fn get_project(
        &self,
        request: Request<pb::GetProjectRequest>,
    ) -> Result<Response<pb::Project>, Status> {
        let req = request.into_inner();
        let account_id = id("account_id", &req.account_id)?;
        let project_id = id("project_id", &req.project_id)?;
        Ok(Response::new(
            projects::get(&self.db, account_id, project_id).await?,
        ))
    }

    async fn delete_project(
        &self,
        request: Request<pb::DeleteProjectRequest>,
    ) -> Result<Response<pb::DeleteProjectResponse>, Status> {
        let req = request.into_inner();
        let account_id = id("account_id", &req.account_id)?;
        let project_id = id("project_id", &req.project_id)?;
        projects::delete(&self.db, account_id, project_id).await?;
        Ok(Response::new(pb::DeleteProjectResponse {}))
    }

    async fn bind_asset(
        &self,
        request: Request<pb::BindAssetRequest>,
    ) -> Result<Response<pb::BindAssetResponse>, Status> {
        let req = request.into_inner();
        let account_id = id("account_id", &req.account_id)?;
        let project_id = id("project_id", &req.project_id)?;
        let asset_id = id("asset_id", &req.asset_id)?;
        project_assets::bind(&self.db, account_id, project_id, asset_id).await?;
        Ok(Response::new(pb::BindAssetResponse {}))
    }

    async fn unbind_asset(
        &self,
        request: Request<pb::UnbindAssetRequest>,
    ) -> Result<Response<pb::UnbindAssetResponse>, Status> {
        let req = request.into_inner();
        let account_id = id("account_id", &req.account_id)?;
        let project_id = id("project_id", &req.project_id)?;
        let asset_id = id("asset_id", &req.asset_id)?;
        project_assets::unbind(&self.db, account_id, project_id, asset_id).await?;
        Ok(Response::new(pb::UnbindAssetResponse {}))
    }

    async fn record_probe_result(
        &self,
        request: Request<pb::RecordProbeResultRequest>,
    ) -> Result<Response<pb::Asset>, Status> {
        let req = request.into_inner();
        let asset_id = id("asset_id", &req.asset_id)?;
        let outcome = match req.result {
            Some(pb::record_probe_result_request::Result::Ready(ready)) => {
                if ready.duration.is_some_and(|d| !d.is_finite() || d < 0.0) {
                    return Err(Error::InvalidArgument(
                        "duration must be a finite, non-negative number".into(),
                    )
                    .into());
                }
                ProbeOutcome::Ready {
                    width: ready.width,
                    height: ready.height,
                    duration: ready.duration,
                }
            }
            Some(pb::record_probe_result_request::Result::Failed(failed)) => {
                required("reason", &failed.reason)?;
                ProbeOutcome::Failed {
                    reason: failed.reason,
                }
            }
            None => return Err(Error::InvalidArgument("result is required".into()).into()),
        };
        let finished_job = match req.job_id.as_str() {
            "" => None,
            job_id => Some(id("job_id", job_id)?),
        };
        let asset = assets::record_probe(&self.db, asset_id, &outcome, finished_job).await?;
        // Its `asset.ready` / `asset.probe_failed` deliveries, if any, are due now.
        self.jobs_queued.notify();
        // Watchers on this replica hear it at once; on Postgres, every replica (this one
        // included) also hears the NOTIFY sent in the recording transaction.
        self.probe_events.publish(ProbeEvent::Changed(asset_id));
        Ok(Response::new(asset))
    }

    type WatchAssetStream = AssetStream;

    async fn watch_asset(
        &self,
        request: Request<pb::WatchAssetRequest>,
    ) -> Result<Response<Self::WatchAssetStream>, Status> {
        let req = request.into_inner();
        let account_id = id("account_id", &req.account_id)?;
        let asset_id = id("asset_id", &req.asset_id)?;
        // Subscribed before the first read: a result recorded in between is an event still to come.
        let events = self.probe_events.subscribe();
        let first = assets::get(&self.db, account_id, asset_id).await?;
        let (out, stream) = tokio::sync::mpsc::channel(4);
        tokio::spawn(watch::follow(
            self.db.clone(),
            account_id,
            asset_id,
            first,
            events,
            self.probe_events.shutdown(),
            out,
        ));
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(stream),
        )))
    }

    async fn get_asset_for_probe(
        &self,
        request: Request<pb::GetAssetForProbeRequest>,
    ) -> Result<Response<pb::Asset>, Status> {
        let asset_id = id("asset_id", &request.into_inner().asset_id)?;
        Ok(Response::new(
            assets::get_for_probe(&self.db, asset_id).await?,
        ))
    }

    async fn claim_probe_jobs(
        &self,
        request: Request<pb::ClaimProbeJobsRequest>,
    ) -> Result<Response<pb::ClaimProbeJobsResponse>, Status> {
        let req = request.into_inner();
        let jobs = self
            .long_poll(req.wait_millis, || {
                probe_jobs::claim(&self.db, req.max, req.lease_secs)
            })
            .await?;
        Ok(Response::new(pb::ClaimProbeJobsResponse { jobs }))
    }

    async fn finish_probe_job(
        &self,
        request: Request<pb::FinishProbeJobRequest>,
    ) -> Result<Response<pb::FinishProbeJobResponse>, Status> {
        let job_id = id("job_id", &request.into_inner().job_id)?;
        probe_jobs::finish(&self.db, job_id).await?;
        Ok(Response::new(pb::FinishProbeJobResponse {}))
    }

    async fn retry_probe_job(
        &self,
        request: Request<pb::RetryProbeJobRequest>,
    ) -> Result<Response<pb::RetryProbeJobResponse>, Status> {
        let req = request.into_inner();
        let job_id = id("job_id", &req.job_id)?;
        probe_jobs::retry(&self.db, job_id, req.delay_secs, &req.error).await?;
        Ok(Response::new(pb::RetryProbeJobResponse {}))
    }

    async fn reprobe(
        &self,
        request: Request<pb::ReprobeRequest>,
    ) -> Result<Response<pb::ReprobeResponse>, Status> {
        let queued = match request.into_inner().target {
            Some(pb::reprobe_request::Target::AssetId(asset_id)) => {
                probe_jobs::reprobe_asset(&self.db, id("asset_id", &asset_id)?).await?
            }
            Some(pb::reprobe_request::Target::AllFailed(true)) => {
                probe_jobs::reprobe_failed(&self.db).await?
            }
            _ => {
                return Err(
                    Error::InvalidArgument("name an asset_id or set all_failed".into()).into(),
                );
            }
        };
        if queued > 0 {
            self.jobs_queued.notify();
        }
        Ok(Response::new(pb::ReprobeResponse { queued }))
    }

    async fn list_projects(
        &self,
        request: Request<pb::ListProjectsRequest>,
    ) -> Result<Response<pb::ListProjectsResponse>, Status> {
        let req = request.into_inner();
        let account_id = id("account_id", &req.account_id)?;
        let page_size = paging::page_size(
            req.page_size,
            projects::PROJECTS_PAGE_DEFAULT,
            projects::PROJECTS_PAGE_MAX,
        )?;
        let page =
            projects::list_projects(&self.db, account_id, page_size, &req.page_cursor).await?;
        Ok(Response::new(pb::ListProjectsResponse {
            projects: page.items,
            next_page_cursor: page.next_page_cursor,
        }))
    }

    async fn update_project(
        &self,
        request: Request<pb::UpdateProjectRequest>,
    ) -> Result<Response<pb::Project>, Status> {
        let req = request.into_inner();
        let account_id = id("account_id", &req.account_id)?;
        let project_id = id("project_id", &req.project_id)?;
        if req.clear_description && req.description.is_some() {
            return Err(Error::InvalidArgument(
                "set description or clear_description, not both".into(),
            )
            .into());
        }
        validate_project_fields(
            req.title.as_deref().unwrap_or_default(),
            req.description.as_deref(),
        )?;
        let changes = projects::ProjectChanges {
            title: req.title,
            description: match req.description {
                _ if req.clear_description => Change::Clear,
                Some(text) => Change::Set(text),
                None => Change::Keep,
            },
        };
        Ok(Response::new(
            projects::update_project(&self.db, account_id, project_id, changes).await?,
        ))
    }

    async fn list_project_assets(
        &self,
        request: Request<pb::ListProjectAssetsRequest>,
    ) -> Result<Response<pb::ListProjectAssetsResponse>, Status> {
        let req = request.into_inner();
        let account_id = id("account_id", &req.account_id)?;
        let project_id = id("project_id", &req.project_id)?;
        let page_size = paging::page_size(
            req.page_size,
            project_assets::PROJECT_ASSETS_PAGE_DEFAULT,
            project_assets::PROJECT_ASSETS_PAGE_MAX,
        )?;
        let page = project_assets::list_project_assets(
            &self.db,
            account_id,
            project_id,
            page_size,
            &req.page_cursor,
        )
        .await?;
        Ok(Response::new(pb::ListProjectAssetsResponse {
            assets: page.items,
            next_page_cursor: page.next_page_cursor,
        }))
    }

    async fn create_resumable_upload(
        &self,
        request: Request<pb::CreateResumableUploadRequest>,
    ) -> Result<Response<pb::ResumableUpload>, Status> {
        let req = request.into_inner();
        required("filename", &req.filename)?;
        if !matches!(req.protocol.as_str(), "tus" | "ietf") {
            return Err(Error::InvalidArgument("protocol must be tus or ietf".into()).into());
        }
        if !matches!(req.concat.as_str(), "" | "partial" | "final") {
            return Err(
                Error::InvalidArgument("concat must be empty, partial or final".into()).into(),
            );
        }
        if (req.concat == "final") == req.parts.is_empty() {
            return Err(Error::UploadConcatInvalid(
                "a final upload names its partial uploads, and only a final upload does".into(),
            )
            .into());
        }
        let new = resumable_uploads::NewUpload {
            upload_id: upload_id(&req.upload_id)?,
            account_id: id("account_id", &req.account_id)?,
            protocol: req.protocol,
            filename: req.filename,
            project_id: req
                .project_id
                .as_deref()
                .map(|text| id::<ProjectId>("project_id", text).map(String::from))
                .transpose()?,
            request_id: req.request_id,
            length: req.length,
            concat: req.concat,
            parts: req
                .parts
                .iter()
                .map(|part| upload_id(part))
                .collect::<Result<_>>()?,
            expires_at: req.expires_at_unix_micros,
            metadata: req.metadata,
        };
        Ok(Response::new(
            resumable_uploads::create(&self.db, new).await?,
        ))
    }

    async fn get_resumable_upload(
        &self,
        request: Request<pb::GetResumableUploadRequest>,
    ) -> Result<Response<pb::ResumableUpload>, Status> {
        let req = request.into_inner();
        let account_id = id("account_id", &req.account_id)?;
        let upload =
            resumable_uploads::get(&self.db, account_id, &upload_id(&req.upload_id)?).await?;
        Ok(Response::new(upload))
    }

    async fn lease_resumable_upload(
        &self,
        request: Request<pb::LeaseResumableUploadRequest>,
    ) -> Result<Response<pb::ResumableUpload>, Status> {
        let req = request.into_inner();
        required("lease_token", &req.lease_token)?;
        let upload = resumable_uploads::lease(
            &self.db,
            id("account_id", &req.account_id)?,
            &upload_id(&req.upload_id)?,
            req.offset,
            &req.lease_token,
            lease_secs(req.lease_secs)?.max(1),
        )
        .await?;
        Ok(Response::new(upload))
    }

    async fn append_resumable_upload(
        &self,
        request: Request<pb::AppendResumableUploadRequest>,
    ) -> Result<Response<pb::ResumableUpload>, Status> {
        let req = request.into_inner();
        required("lease_token", &req.lease_token)?;
        let multipart = match (req.multipart_upload_id, req.multipart_key) {
            (Some(id), Some(key)) => Some((id, key)),
            (None, None) => None,
            _ => {
                return Err(Error::InvalidArgument(
                    "multipart_upload_id and multipart_key come together".into(),
                )
                .into());
            }
        };
        let append = resumable_uploads::Append {
            from_offset: req.from_offset,
            to_offset: req.to_offset,
            chunks: req.chunks,
            s3_parts: req.s3_parts,
            drop_chunks: req.drop_chunks,
            length: req.length,
            format_ext: req.format_ext,
            multipart,
            sha256_state: req.sha256_state,
            lease_secs: lease_secs(req.lease_secs)?,
        };
        let upload = resumable_uploads::append(
            &self.db,
            id("account_id", &req.account_id)?,
            &upload_id(&req.upload_id)?,
            &req.lease_token,
            append,
        )
        .await?;
        Ok(Response::new(upload))
    }

    async fn complete_resumable_upload(
        &self,
        request: Request<pb::CompleteResumableUploadRequest>,
    ) -> Result<Response<pb::Asset>, Status> {
        let req = request.into_inner();
        required("lease_token", &req.lease_token)?;
        let mut asset = req
            .asset
            .ok_or_else(|| Error::InvalidArgument("asset is required".into()))?;
        asset.account_id = req.account_id;
        let new = new_asset(asset)?;
        let asset = resumable_uploads::complete(
            &self.db,
            &upload_id(&req.upload_id)?,
            &req.lease_token,
            new,
        )
        .await?;
        self.jobs_queued.notify();
        Ok(Response::new(asset))
    }

    async fn delete_resumable_upload(
        &self,
        request: Request<pb::DeleteResumableUploadRequest>,
    ) -> Result<Response<pb::DeleteResumableUploadResponse>, Status> {
        let req = request.into_inner();
        let token = (!req.lease_token.is_empty()).then_some(req.lease_token.as_str());
        let upload = resumable_uploads::delete(
            &self.db,
            id("account_id", &req.account_id)?,
            &upload_id(&req.upload_id)?,
            token,
        )
        .await?;
        Ok(Response::new(pb::DeleteResumableUploadResponse {
            upload: Some(upload),
        }))
    }

    async fn claim_expired_resumable_uploads(
        &self,
        request: Request<pb::ClaimExpiredResumableUploadsRequest>,
    ) -> Result<Response<pb::ClaimExpiredResumableUploadsResponse>, Status> {
        let req = request.into_inner();
        required("lease_token", &req.lease_token)?;
        let (uploads, open_uploads) = resumable_uploads::claim_expired(
            &self.db,
            &req.lease_token,
            lease_secs(req.lease_secs)?.max(1),
            req.limit.clamp(1, 100),
        )
        .await?;
        Ok(Response::new(pb::ClaimExpiredResumableUploadsResponse {
            uploads,
            open_uploads,
        }))
    }

    async fn create_webhook(
        &self,
        request: Request<pb::CreateWebhookRequest>,
    ) -> Result<Response<pb::Webhook>, Status> {
        let req = request.into_inner();
        let new = NewWebhook {
            account_id: id("account_id", &req.account_id)?,
            url: req.url,
            events: req.events,
            description: req.description,
        };
        Ok(Response::new(
            webhooks::create(&self.db, new, self.limits.webhooks_per_account).await?,
        ))
    }

    async fn get_webhook(
        &self,
        request: Request<pb::GetWebhookRequest>,
    ) -> Result<Response<pb::Webhook>, Status> {
        let req = request.into_inner();
        Ok(Response::new(
            webhooks::get(
                &self.db,
                id("account_id", &req.account_id)?,
                webhook_id(&req.webhook_id)?,
            )
            .await?,
        ))
    }

    async fn list_webhooks(
        &self,
        request: Request<pb::ListWebhooksRequest>,
    ) -> Result<Response<pb::ListWebhooksResponse>, Status> {
        let req = request.into_inner();
        let page_size = paging::page_size(
            req.page_size,
            webhooks::WEBHOOKS_PAGE_DEFAULT,
            webhooks::WEBHOOKS_PAGE_MAX,
        )?;
        let page = webhooks::list(
            &self.db,
            id("account_id", &req.account_id)?,
            page_size,
            &req.page_cursor,
        )
        .await?;
        Ok(Response::new(pb::ListWebhooksResponse {
            webhooks: page.items,
            next_page_cursor: page.next_page_cursor.unwrap_or_default(),
        }))
    }

    async fn delete_webhook(
        &self,
        request: Request<pb::DeleteWebhookRequest>,
    ) -> Result<Response<pb::DeleteWebhookResponse>, Status> {
        let req = request.into_inner();
        webhooks::delete(
            &self.db,
            id("account_id", &req.account_id)?,
            webhook_id(&req.webhook_id)?,
        )
        .await?;
        Ok(Response::new(pb::DeleteWebhookResponse {}))
    }

    async fn rotate_webhook_secret(
        &self,
        request: Request<pb::RotateWebhookSecretRequest>,
    ) -> Result<Response<pb::Webhook>, Status> {
        let req = request.into_inner();
        Ok(Response::new(
            webhooks::rotate_secret(
                &self.db,
                id("account_id", &req.account_id)?,
                webhook_id(&req.webhook_id)?,
                req.overlap_secs,
            )
            .await?,
        ))
    }

    async fn enable_webhook(
        &self,
        request: Request<pb::EnableWebhookRequest>,
    ) -> Result<Response<pb::Webhook>, Status> {
        let req = request.into_inner();
        Ok(Response::new(
            webhooks::enable(
                &self.db,
                id("account_id", &req.account_id)?,
                webhook_id(&req.webhook_id)?,
            )
            .await?,
        ))
    }

    async fn list_webhook_deliveries(
        &self,
        request: Request<pb::ListWebhookDeliveriesRequest>,
    ) -> Result<Response<pb::ListWebhookDeliveriesResponse>, Status> {
        let req = request.into_inner();
        let page_size = paging::page_size(
            req.page_size,
            webhook_deliveries::DELIVERIES_PAGE_DEFAULT,
            webhook_deliveries::DELIVERIES_PAGE_MAX,
        )?;
        let page = webhook_deliveries::list(
            &self.db,
            id("account_id", &req.account_id)?,
            webhook_id(&req.webhook_id)?,
            &req.status,
            page_size,
            &req.page_cursor,
        )
        .await?;
        Ok(Response::new(pb::ListWebhookDeliveriesResponse {
            deliveries: page.items,
            next_page_cursor: page.next_page_cursor.unwrap_or_default(),
        }))
    }

    async fn replay_webhook_events(
        &self,
        request: Request<pb::ReplayWebhookEventsRequest>,
    ) -> Result<Response<pb::ReplayWebhookEventsResponse>, Status> {
        let req = request.into_inner();
        let what = match req.target {
            Some(pb::replay_webhook_events_request::Target::EventId(event_id)) => Replay::Event(
                event_id
                    .parse()
                    .map_err(|_| Error::WebhookReplayInvalid("eventId must be a UUID".into()))?,
            ),
            Some(pb::replay_webhook_events_request::Target::FailedSinceUnixMicros(since)) => {
                Replay::FailedSince(since)
            }
            None => {
                return Err(Error::WebhookReplayInvalid(
                    "name an eventId or a failedSince time".into(),
                )
                .into());
            }
        };
        let replayed = webhook_deliveries::replay(
            &self.db,
            id("account_id", &req.account_id)?,
            webhook_id(&req.webhook_id)?,
            what,
        )
        .await?;
        if replayed > 0 {
            self.jobs_queued.notify();
        }
        Ok(Response::new(pb::ReplayWebhookEventsResponse {
            replayed: u32::try_from(replayed).unwrap_or(u32::MAX),
        }))
    }

    async fn claim_webhook_deliveries(
        &self,
        request: Request<pb::ClaimWebhookDeliveriesRequest>,
    ) -> Result<Response<pb::ClaimWebhookDeliveriesResponse>, Status> {
        let req = request.into_inner();
        let dispatches = self
            .long_poll(req.wait_millis, || {
                webhook_deliveries::claim(&self.db, req.max, req.lease_secs)
            })
            .await?;
        Ok(Response::new(pb::ClaimWebhookDeliveriesResponse {
            dispatches,
        }))
    }

    async fn get_webhook_dispatch(
        &self,
        request: Request<pb::GetWebhookDispatchRequest>,
    ) -> Result<Response<pb::WebhookDispatch>, Status> {
        let delivery_id = id("delivery_id", &request.into_inner().delivery_id)?;
        Ok(Response::new(
            webhook_deliveries::dispatch(&self.db, delivery_id).await?,
        ))
    }

    async fn record_webhook_attempt(
        &self,
        request: Request<pb::RecordWebhookAttemptRequest>,
    ) -> Result<Response<pb::RecordWebhookAttemptResponse>, Status> {
        let req = request.into_inner();
        let delivery_id = id("delivery_id", &req.delivery_id)?;
        let outcome = req.outcome();
        let attempt = req
            .attempt
            .ok_or_else(|| Error::InvalidArgument("attempt is required".into()))?;
        webhook_deliveries::record_attempt(
            &self.db,
            delivery_id,
            &attempt,
            outcome,
            req.retry_at_unix_micros,
        )
        .await?;
        Ok(Response::new(pb::RecordWebhookAttemptResponse {}))
    }
}
