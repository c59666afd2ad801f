//! One delivery: the Standard Webhooks payload (`type`, `timestamp`, `data` = the asset as `GET`
//! shows it), the attempt, and its settling in the catalog by the retry schedule.

use std::time::Duration;

use assetd_gateway::{asset_body::AssetBody, rfc3339};
use assetd_platform::storage::Storage;
use assetd_proto::catalog::{
    CatalogClient,
    v1::{self as pb, RecordWebhookAttemptRequest, record_webhook_attempt_request::Outcome},
};
use bytes::Bytes;
use reqwest::StatusCode;
use serde::Serialize;

use crate::{schedule::RetrySchedule, send::Sender};

#[derive(Serialize)]
struct Payload {
    #[serde(rename = "type")]
    kind: String,
    timestamp: String,
    data: AssetBody,
}

#[derive(Clone, Debug)]
pub struct Notifier {
    pub catalog: CatalogClient,
    pub sender: Sender,
    pub schedule: RetrySchedule,
    pub storage: Storage,
    /// Base URL of the gateway, for `fileUrl` of objects it serves.
    pub public_url: String,
}

impl Notifier {
    /// The request body of a dispatch.
    async fn payload(&self, dispatch: &pb::WebhookDispatch) -> Result<Bytes, String> {
        let asset = dispatch.asset.clone().ok_or("the event holds no asset")?;
        let data = AssetBody::render_with(&self.storage, &self.public_url, asset)
            .await
            .map_err(|err| format!("cannot render the asset: {err:?}"))?;
        let payload = Payload {
            kind: dispatch.event_type.clone(),
            timestamp: rfc3339::from_unix_micros(dispatch.event_at_unix_micros),
            data,
        };
        serde_json::to_vec(&payload)
            .map(Bytes::from)
            .map_err(|err| err.to_string())
    }

    /// Sends one attempt of `dispatch` and records it; false when the record could not be
    /// written (the delivery comes back when its lease ends).
    pub async fn deliver(&self, dispatch: pb::WebhookDispatch) -> bool {
        let body = match self.payload(&dispatch).await {
            Ok(body) => body,
            Err(error) => {
                // Not an attempt: the presigned URL could not be made, say. Try again soon.
                tracing::warn!(
                    delivery_id = dispatch.delivery_id,
                    error,
                    "cannot build a webhook payload; retrying"
                );
                let not_sent = pb::WebhookAttempt {
                    attempt: 0,
                    started_at_unix_micros: assetd_platform::clock::now_micros(),
                    status_code: 0,
                    latency_micros: 0,
                    error: "not sent: the payload could not be built".into(),
                };
                return self
                    .record(&dispatch, not_sent, Outcome::Retry, Duration::from_secs(5))
                    .await;
            }
        };
        let attempted = self.sender.send(&dispatch, body).await;
        metrics::histogram!("assetd_webhook_attempt_seconds")
            .record(attempted.latency.as_secs_f64());
        let (outcome, wait) = match attempted.status {
            Some(status) if status.is_success() => (Outcome::Succeeded, Duration::ZERO),
            Some(StatusCode::GONE) => (Outcome::Gone, Duration::ZERO),
            _ => match self
                .schedule
                .next_wait(dispatch.round_attempt, attempted.retry_after)
            {
                Some(wait) => (Outcome::Retry, wait),
                None => (Outcome::Failed, Duration::ZERO),
            },
        };
        let label = match outcome {
            Outcome::Succeeded => "succeeded",
            Outcome::Retry => "retry",
            Outcome::Failed => "failed",
            Outcome::Gone | Outcome::Unspecified => "gone",
        };
        metrics::counter!("assetd_webhook_deliveries_total", "outcome" => label).increment(1);
        let span = tracing::info_span!(
            "webhook_delivery",
            delivery_id = dispatch.delivery_id,
            webhook_id = dispatch.webhook_id,
            event_id = dispatch.event_id,
            event_type = dispatch.event_type,
            attempt = dispatch.round_attempt,
        );
        span.in_scope(|| match outcome {
            Outcome::Succeeded => tracing::info!(
                status = attempted.status.map(|s| s.as_u16()),
                latency_ms = attempted.latency.as_millis() as u64,
                "webhook delivered"
            ),
            Outcome::Retry => tracing::warn!(
                error = attempted.error,
                retry_in_secs = wait.as_secs_f64(),
                "webhook attempt failed; retrying later"
            ),
            Outcome::Failed => tracing::error!(
                error = attempted.error,
                attempts = dispatch.round_attempt,
                "webhook failed every attempt; replay it once the endpoint works"
            ),
            Outcome::Gone | Outcome::Unspecified => tracing::warn!(
                url = dispatch.url,
                "webhook endpoint answered 410 Gone; it is disabled"
            ),
        });
        if outcome == Outcome::Succeeded {
            let waited = attempted
                .started_at_unix_micros
                .saturating_sub(dispatch.event_at_unix_micros)
                .max(0);
            metrics::histogram!("assetd_webhook_event_to_attempt_seconds")
                .record(waited as f64 / 1e6);
        }
        let logged = pb::WebhookAttempt {
            attempt: dispatch.round_attempt,
            started_at_unix_micros: attempted.started_at_unix_micros,
            status_code: attempted.status.map_or(0, |s| u32::from(s.as_u16())),
            latency_micros: u64::try_from(attempted.latency.as_micros()).unwrap_or(u64::MAX),
            error: attempted.error,
        };
        self.record(&dispatch, logged, outcome, wait).await
    }

    /// Logs `attempt` in the catalog and settles the delivery by `outcome`, due again after
    /// `wait` when it is a retry.
    async fn record(
        &self,
        dispatch: &pb::WebhookDispatch,
        attempt: pb::WebhookAttempt,
        outcome: Outcome,
        wait: Duration,
    ) -> bool {
        let retry_at = assetd_platform::clock::now_micros()
            .saturating_add(i64::try_from(wait.as_micros()).unwrap_or(i64::MAX));
        let request = RecordWebhookAttemptRequest {
            delivery_id: dispatch.delivery_id.clone(),
            attempt: Some(attempt),
            outcome: outcome.into(),
            retry_at_unix_micros: retry_at,
        };
        match self.catalog.clone().record_webhook_attempt(request).await {
            Ok(_) => true,
            Err(status) => {
                tracing::warn!(
                    delivery_id = dispatch.delivery_id,
                    code = ?status.code(),
                    message = status.message(),
                    "cannot record a webhook attempt; the delivery is sent again after its lease"
                );
                false
            }
        }
    }
}
