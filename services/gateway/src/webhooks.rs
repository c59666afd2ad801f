//! The webhook routes: endpoints (`/v1/webhooks`), secret rotation, re-enabling, the delivery
//! log and replays. Sending is the notifier's; these only manage what the catalog stores.

use assetd_proto::{
    catalog::v1 as pb,
    events::EventType,
    ids::{EventId, WebhookId},
};
use axum::{
    Json,
    body::Bytes,
    extract::{Path, Query, State, rejection::QueryRejection},
    http::StatusCode,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{
    app::AppState,
    auth::Account,
    catalog_client,
    envelope::{
        WebhookDeletedEnvelope, WebhookDeliveryListEnvelope, WebhookEnvelope, WebhookListEnvelope,
        WebhookReplayEnvelope,
    },
    json_body::JsonBody,
    paging::{self, ListQuery, PageRule},
    path_id::path_id,
    problem::ApiError,
    rfc3339,
};

const WEBHOOKS_PAGE: PageRule = PageRule {
    default: 20,
    max: 100,
    unprocessable: false,
};
/// Longest description, in characters.
pub const DESCRIPTION_MAX_CHARS: usize = 500;
/// How long a rotated-out secret keeps signing unless the request says otherwise: a day.
pub const DEFAULT_OVERLAP_SECS: u32 = 24 * 3600;
/// Longest overlap: a week.
pub const MAX_OVERLAP_SECS: u32 = 7 * 24 * 3600;

/// A webhook event type, as the document names [`EventType`]'s spellings.
#[allow(dead_code)] // Documents the strings; requests are read into `EventType`.
#[allow(clippy::enum_variant_names)] // Every event so far is about an asset.
#[derive(Debug, Clone, Copy, utoipa::ToSchema)]
pub enum WebhookEventType {
    #[schema(rename = "asset.created")]
    AssetCreated,
    #[schema(rename = "asset.ready")]
    AssetReady,
    #[schema(rename = "asset.probe_failed")]
    AssetProbeFailed,
    #[schema(rename = "asset.deleted")]
    AssetDeleted,
}

/// A webhook endpoint.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Webhook {
    #[schema(format = Uuid)]
    pub webhook_id: String,
    pub url: String,
    /// The event types sent; empty sends every type.
    #[schema(value_type = Vec<WebhookEventType>)]
    pub events: Vec<String>,
    pub description: String,
    /// False once the endpoint answered 410 Gone; `POST .../enable` turns it back on.
    pub enabled: bool,
    #[schema(required)]
    pub disabled_reason: Option<String>,
    /// The signing secret (`whsec_…`): only in the answers of creation and rotation. Keep it:
    /// it is never shown again.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub secret: Option<String>,
    /// While the secret before the last rotation still signs too: until when.
    #[schema(required)]
    pub previous_secret_expires_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<pb::Webhook> for Webhook {
    fn from(webhook: pb::Webhook) -> Self {
        Self {
            webhook_id: webhook.webhook_id,
            url: webhook.url,
            events: webhook.events,
            description: webhook.description,
            enabled: webhook.enabled,
            disabled_reason: Some(webhook.disabled_reason).filter(|r| !r.is_empty()),
            secret: Some(webhook.secret).filter(|s| !s.is_empty()),
            previous_secret_expires_at: (webhook.previous_secret_until_unix_micros > 0)
                .then(|| rfc3339::from_unix_micros(webhook.previous_secret_until_unix_micros)),
            created_at: rfc3339::from_unix_micros(webhook.created_at_unix_micros),
            updated_at: rfc3339::from_unix_micros(webhook.updated_at_unix_micros),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookDeleted {
    pub webhook_id: String,
    pub deleted: bool,
}

/// One HTTP attempt of a delivery.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookAttempt {
    pub attempt: u32,
    pub started_at: String,
    /// The status the endpoint answered; null when it did not (refused, unreachable, timed out).
    #[schema(required)]
    pub status_code: Option<u16>,
    pub latency_ms: f64,
    /// Why it failed; null when it succeeded.
    #[schema(required)]
    pub error: Option<String>,
}

/// The delivery status.
#[allow(dead_code)] // Documents the strings the catalog answers with.
#[derive(Debug, Clone, Copy, utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum DeliveryStatus {
    Pending,
    Succeeded,
    Failed,
}

/// One event's delivery to the endpoint, with every attempt.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookDelivery {
    #[schema(format = Uuid)]
    pub delivery_id: String,
    /// The event's id: the `webhook-id` header of every attempt.
    #[schema(format = Uuid)]
    pub event_id: String,
    #[schema(value_type = WebhookEventType)]
    pub event_type: String,
    #[schema(value_type = DeliveryStatus)]
    pub status: String,
    pub attempts: u32,
    /// When a pending delivery is tried next.
    #[schema(required)]
    pub next_attempt_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// Oldest first.
    pub attempt_log: Vec<WebhookAttempt>,
}

impl From<pb::WebhookDelivery> for WebhookDelivery {
    fn from(delivery: pb::WebhookDelivery) -> Self {
        Self {
            delivery_id: delivery.delivery_id,
            event_id: delivery.event_id,
            event_type: delivery.event_type,
            status: delivery.status,
            attempts: delivery.attempts,
            next_attempt_at: (delivery.next_attempt_at_unix_micros > 0)
                .then(|| rfc3339::from_unix_micros(delivery.next_attempt_at_unix_micros)),
            created_at: rfc3339::from_unix_micros(delivery.created_at_unix_micros),
            updated_at: rfc3339::from_unix_micros(delivery.updated_at_unix_micros),
            attempt_log: delivery
                .attempt_log
                .into_iter()
                .map(|attempt| WebhookAttempt {
                    attempt: attempt.attempt,
                    started_at: rfc3339::from_unix_micros(attempt.started_at_unix_micros),
                    status_code: u16::try_from(attempt.status_code).ok().filter(|&s| s > 0),
                    latency_ms: attempt.latency_micros as f64 / 1000.0,
                    error: Some(attempt.error).filter(|e| !e.is_empty()),
                })
                .collect(),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookReplay {
    /// Deliveries queued again.
    pub replayed: u32,
}

/// `POST /v1/webhooks`.
#[derive(Debug, utoipa::ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct CreateWebhook {
    /// Where events are POSTed: an absolute `https://` (or `http://`) URL without credentials
    /// or fragment.
    #[schema(max_length = 2048)]
    pub url: String,
    /// The event types to send; omitted or empty sends every type.
    #[schema(value_type = Option<Vec<WebhookEventType>>, nullable = false)]
    pub events: Option<Vec<EventType>>,
    /// At most 500 characters.
    #[schema(max_length = 500, nullable = false)]
    pub description: Option<String>,
}

/// `POST /v1/webhooks/{webhookId}/rotate-secret` (the body is optional).
#[allow(dead_code)] // Documents the body, which is read field by field.
#[derive(Debug, utoipa::ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct RotateSecret {
    /// How long the current secret keeps signing beside the new one, 0 to 604800 seconds;
    /// default 86400. Requests carry both signatures meanwhile.
    #[schema(minimum = 0, maximum = 604800, nullable = false)]
    pub overlap_seconds: Option<u32>,
}

/// `POST /v1/webhooks/{webhookId}/replay`: exactly one of the two.
#[allow(dead_code)] // Documents the body, which is read field by field.
#[derive(Debug, utoipa::ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct ReplayWebhook {
    /// Send this event again (whatever became of it).
    #[schema(format = Uuid, nullable = false)]
    pub event_id: Option<String>,
    /// Send again every event whose delivery failed and was created at or after this time (RFC 3339).
    #[schema(format = DateTime, nullable = false)]
    pub failed_since: Option<String>,
}

fn body_error(what: &str) -> ApiError {
    ApiError::BodyInvalid(what.to_owned())
}

fn string_field(body: &Map<String, Value>, name: &str) -> Result<Option<String>, ApiError> {
    match body.get(name) {
        None => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(_) => Err(body_error(&format!("field {name} must be a string."))),
    }
}

impl CreateWebhook {
    fn from_body(body: &Map<String, Value>) -> Result<Self, ApiError> {
        let url = string_field(body, "url")?
            .ok_or_else(|| ApiError::WebhookUrlInvalid("url is required.".into()))?;
        let events = match body.get("events") {
            None => None,
            Some(Value::Array(items)) => Some(
                items
                    .iter()
                    .map(|item| match item.as_str().map(EventType::parse) {
                        Some(Some(event)) => Ok(event),
                        _ => Err(ApiError::WebhookEventTypeInvalid(format!(
                            "events holds {item}; the types are {}.",
                            EventType::ALL.map(EventType::as_str).join(", ")
                        ))),
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            ),
            Some(_) => return Err(body_error("field events must be an array of event types.")),
        };
        let description = string_field(body, "description")?;
        if description
            .as_ref()
            .is_some_and(|d| d.chars().count() > DESCRIPTION_MAX_CHARS)
        {
            return Err(body_error(&format!(
                "field description must be at most {DESCRIPTION_MAX_CHARS} characters."
            )));
        }
        Ok(Self {
            url,
            events,
            description,
        })
    }
}

/// An optional JSON object body: empty (or `null`) is `{}`.
fn optional_object(body: &Bytes) -> Result<Map<String, Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(Value::Null) => Ok(Map::new()),
        _ => Err(body_error("must be empty, null or a JSON object.")),
    }
}

#[utoipa::path(
    post,
    path = "/v1/webhooks",
    operation_id = "createWebhook",
    tag = "webhooks",
    description = crate::openapi::WEBHOOK_CREATE_DESCRIPTION,
    request_body(content = CreateWebhook, content_type = "application/json"),
    responses(
        (status = 201, description = "The endpoint, with its signing secret (shown only here).", body = WebhookEnvelope, links(
            ("getWebhook" = (operation_id = "getWebhook", parameters(("webhookId" = "$response.body#/data/webhookId")))),
            ("deleteWebhook" = (operation_id = "deleteWebhook", parameters(("webhookId" = "$response.body#/data/webhookId")))),
            ("listWebhookDeliveries" = (operation_id = "listWebhookDeliveries", parameters(("webhookId" = "$response.body#/data/webhookId")))),
        )),
        crate::openapi::CreateWebhookErrors,
    ),
)]
pub async fn create(
    State(state): State<AppState>,
    account: Account,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<WebhookEnvelope>), ApiError> {
    let body = CreateWebhook::from_body(&body)?;
    let webhook = state
        .catalog
        .clone()
        .create_webhook(pb::CreateWebhookRequest {
            account_id: account.account_id.to_string(),
            url: body.url,
            events: body
                .events
                .unwrap_or_default()
                .into_iter()
                .map(|event| event.as_str().to_owned())
                .collect(),
            description: body.description.unwrap_or_default(),
        })
        .await
        .map_err(catalog_client::api_error)?
        .into_inner();
    Ok((
        StatusCode::CREATED,
        Json(WebhookEnvelope::from(Webhook::from(webhook))),
    ))
}

#[utoipa::path(
    get,
    path = "/v1/webhooks",
    operation_id = "listWebhooks",
    tag = "webhooks",
    description = "The account's webhook endpoints, newest first, keyset paging. Secrets are never listed.",
    params(
        ("pageSize" = Option<u32>, Query, minimum = 1, maximum = 100, description = "Page size, 1 to 100; default 20."),
        ("pageCursor" = Option<String>, Query, nullable = false, pattern = "^([0-7][0-9a-f]{47})?$", description = "The previous page's `meta.nextPageCursor`; omit for the first page."),
    ),
    responses(
        (status = 200, description = "A page of endpoints.", body = WebhookListEnvelope),
        crate::openapi::ListProjectsErrors,
    ),
)]
pub async fn list(
    State(state): State<AppState>,
    account: Account,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<WebhookListEnvelope>, ApiError> {
    let (page_size, page_cursor) = paging::page(query, WEBHOOKS_PAGE)?;
    let page = state
        .catalog
        .clone()
        .list_webhooks(pb::ListWebhooksRequest {
            account_id: account.account_id.to_string(),
            page_size,
            page_cursor,
        })
        .await
        .map_err(catalog_client::api_error)?
        .into_inner();
    Ok(Json(WebhookListEnvelope::page(
        page.webhooks.into_iter().map(Webhook::from).collect(),
        Some(page.next_page_cursor).filter(|c| !c.is_empty()),
    )))
}

#[utoipa::path(
    get,
    path = "/v1/webhooks/{webhookId}",
    operation_id = "getWebhook",
    tag = "webhooks",
    description = "One webhook endpoint (without its secret).",
    params(("webhookId" = uuid::Uuid, Path, description = "The endpoint's id.")),
    responses(
        (status = 200, description = "The endpoint.", body = WebhookEnvelope),
        crate::openapi::WebhookErrors,
    ),
)]
pub async fn get(
    State(state): State<AppState>,
    account: Account,
    Path(webhook_id): Path<String>,
) -> Result<Json<WebhookEnvelope>, ApiError> {
    let webhook_id = path_id::<WebhookId>(&webhook_id, "webhookId")?.to_string();
    let webhook = state
        .catalog
        .clone()
        .get_webhook(pb::GetWebhookRequest {
            account_id: account.account_id.to_string(),
            webhook_id,
        })
        .await
        .map_err(catalog_client::api_error)?
        .into_inner();
    Ok(Json(WebhookEnvelope::from(Webhook::from(webhook))))
}

#[utoipa::path(
    delete,
    path = "/v1/webhooks/{webhookId}",
    operation_id = "deleteWebhook",
    tag = "webhooks",
    description = "Deletes the endpoint, its pending deliveries and its delivery log.",
    params(("webhookId" = uuid::Uuid, Path, description = "The endpoint's id.")),
    responses(
        (status = 200, description = "Deleted.", body = WebhookDeletedEnvelope),
        crate::openapi::WebhookErrors,
    ),
)]
pub async fn delete(
    State(state): State<AppState>,
    account: Account,
    Path(webhook_id): Path<String>,
) -> Result<Json<WebhookDeletedEnvelope>, ApiError> {
    let webhook_id = path_id::<WebhookId>(&webhook_id, "webhookId")?.to_string();
    state
        .catalog
        .clone()
        .delete_webhook(pb::DeleteWebhookRequest {
            account_id: account.account_id.to_string(),
            webhook_id: webhook_id.clone(),
        })
        .await
        .map_err(catalog_client::api_error)?;
    Ok(Json(WebhookDeletedEnvelope::from(WebhookDeleted {
        webhook_id,
        deleted: true,
    })))
}

#[utoipa::path(
    post,
    path = "/v1/webhooks/{webhookId}/rotate-secret",
    operation_id = "rotateWebhookSecret",
    tag = "webhooks",
    description = crate::openapi::WEBHOOK_ROTATE_DESCRIPTION,
    params(("webhookId" = uuid::Uuid, Path, description = "The endpoint's id.")),
    request_body(content = Option<RotateSecret>, content_type = "application/json"),
    responses(
        (status = 200, description = "The endpoint, with its new secret (shown only here).", body = WebhookEnvelope),
        crate::openapi::WebhookBodyErrors,
    ),
)]
pub async fn rotate_secret(
    State(state): State<AppState>,
    account: Account,
    Path(webhook_id): Path<String>,
    body: Bytes,
) -> Result<Json<WebhookEnvelope>, ApiError> {
    let webhook_id = path_id::<WebhookId>(&webhook_id, "webhookId")?.to_string();
    let body = optional_object(&body)?;
    let overlap_secs = match body.get("overlapSeconds") {
        None => DEFAULT_OVERLAP_SECS,
        // JSON Schema's integers include `129.0`.
        Some(value) => value
            .as_u64()
            .or_else(|| {
                value
                    .as_f64()
                    .filter(|secs| {
                        secs.fract() == 0.0 && *secs >= 0.0 && *secs <= f64::from(u32::MAX)
                    })
                    .map(|secs| secs as u64)
            })
            .and_then(|secs| u32::try_from(secs).ok())
            .filter(|&secs| secs <= MAX_OVERLAP_SECS)
            .ok_or_else(|| {
                body_error(&format!(
                    "field overlapSeconds must be an integer from 0 to {MAX_OVERLAP_SECS}."
                ))
            })?,
    };
    let webhook = state
        .catalog
        .clone()
        .rotate_webhook_secret(pb::RotateWebhookSecretRequest {
            account_id: account.account_id.to_string(),
            webhook_id,
            overlap_secs,
        })
        .await
        .map_err(catalog_client::api_error)?
        .into_inner();
    Ok(Json(WebhookEnvelope::from(Webhook::from(webhook))))
}

#[utoipa::path(
    post,
    path = "/v1/webhooks/{webhookId}/enable",
    operation_id = "enableWebhook",
    tag = "webhooks",
    description = "Enables an endpoint again after a 410 Gone disabled it. Events from now on are sent; replay the ones it missed.",
    params(("webhookId" = uuid::Uuid, Path, description = "The endpoint's id.")),
    responses(
        (status = 200, description = "The endpoint.", body = WebhookEnvelope),
        crate::openapi::WebhookErrors,
    ),
)]
pub async fn enable(
    State(state): State<AppState>,
    account: Account,
    Path(webhook_id): Path<String>,
) -> Result<Json<WebhookEnvelope>, ApiError> {
    let webhook_id = path_id::<WebhookId>(&webhook_id, "webhookId")?.to_string();
    let webhook = state
        .catalog
        .clone()
        .enable_webhook(pb::EnableWebhookRequest {
            account_id: account.account_id.to_string(),
            webhook_id,
        })
        .await
        .map_err(catalog_client::api_error)?
        .into_inner();
    Ok(Json(WebhookEnvelope::from(Webhook::from(webhook))))
}

/// The delivery log's query.
#[derive(Debug, Deserialize)]
pub struct DeliveriesQuery {
    status: Option<String>,
    #[serde(flatten)]
    page: ListQuery,
}

#[utoipa::path(
    get,
    path = "/v1/webhooks/{webhookId}/deliveries",
    operation_id = "listWebhookDeliveries",
    tag = "webhooks",
    description = crate::openapi::WEBHOOK_DELIVERIES_DESCRIPTION,
    params(
        ("webhookId" = uuid::Uuid, Path, description = "The endpoint's id."),
        ("status" = Option<DeliveryStatus>, Query, nullable = false, description = "Only deliveries in this status."),
        ("pageSize" = Option<u32>, Query, minimum = 1, maximum = 100, description = "Page size, 1 to 100; default 20."),
        ("pageCursor" = Option<String>, Query, nullable = false, pattern = "^([0-7][0-9a-f]{47})?$", description = "The previous page's `meta.nextPageCursor`; omit for the first page."),
    ),
    responses(
        (status = 200, description = "A page of deliveries with their attempts.", body = WebhookDeliveryListEnvelope),
        crate::openapi::WebhookErrors,
    ),
)]
pub async fn deliveries(
    State(state): State<AppState>,
    account: Account,
    Path(webhook_id): Path<String>,
    query: Result<Query<DeliveriesQuery>, QueryRejection>,
) -> Result<Json<WebhookDeliveryListEnvelope>, ApiError> {
    let webhook_id = path_id::<WebhookId>(&webhook_id, "webhookId")?.to_string();
    let Query(query) = query.map_err(|_| ApiError::QueryInvalid)?;
    let status = query.status.unwrap_or_default();
    if !matches!(status.as_str(), "" | "pending" | "succeeded" | "failed") {
        return Err(ApiError::QueryInvalid);
    }
    let (page_size, page_cursor) = paging::page(Ok(Query(query.page)), WEBHOOKS_PAGE)?;
    let page = state
        .catalog
        .clone()
        .list_webhook_deliveries(pb::ListWebhookDeliveriesRequest {
            account_id: account.account_id.to_string(),
            webhook_id,
            page_size,
            page_cursor,
            status,
        })
        .await
        .map_err(catalog_client::api_error)?
        .into_inner();
    Ok(Json(WebhookDeliveryListEnvelope::page(
        page.deliveries
            .into_iter()
            .map(WebhookDelivery::from)
            .collect(),
        Some(page.next_page_cursor).filter(|c| !c.is_empty()),
    )))
}

#[utoipa::path(
    post,
    path = "/v1/webhooks/{webhookId}/replay",
    operation_id = "replayWebhook",
    tag = "webhooks",
    description = crate::openapi::WEBHOOK_REPLAY_DESCRIPTION,
    params(("webhookId" = uuid::Uuid, Path, description = "The endpoint's id.")),
    request_body(content = ReplayWebhook, content_type = "application/json"),
    responses(
        (status = 202, description = "Queued; the deliveries are sent as soon as a notifier takes them.", body = WebhookReplayEnvelope),
        crate::openapi::ReplayWebhookErrors,
    ),
)]
pub async fn replay(
    State(state): State<AppState>,
    account: Account,
    Path(webhook_id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<WebhookReplayEnvelope>), ApiError> {
    let webhook_id = path_id::<WebhookId>(&webhook_id, "webhookId")?.to_string();
    let event_id = string_field(&body, "eventId")?;
    let failed_since = string_field(&body, "failedSince")?;
    let target = match (event_id, failed_since) {
        (Some(event_id), None) => {
            let event_id: EventId = event_id
                .parse()
                .map_err(|_| ApiError::WebhookReplayInvalid("eventId must be a UUID.".into()))?;
            pb::replay_webhook_events_request::Target::EventId(event_id.to_string())
        }
        (None, Some(since)) => {
            let micros = rfc3339::to_unix_micros(&since).ok_or_else(|| {
                ApiError::WebhookReplayInvalid(
                    "failedSince must be an RFC 3339 time, e.g. 2026-12-01T00:00:00Z.".into(),
                )
            })?;
            pb::replay_webhook_events_request::Target::FailedSinceUnixMicros(micros)
        }
        _ => {
            return Err(ApiError::WebhookReplayInvalid(
                "send exactly one of eventId and failedSince.".into(),
            ));
        }
    };
    let replayed = state
        .catalog
        .clone()
        .replay_webhook_events(pb::ReplayWebhookEventsRequest {
            account_id: account.account_id.to_string(),
            webhook_id,
            target: Some(target),
        })
        .await
        .map_err(catalog_client::api_error)?
        .into_inner()
        .replayed;
    Ok((
        StatusCode::ACCEPTED,
        Json(WebhookReplayEnvelope::from(WebhookReplay { replayed })),
    ))
}
