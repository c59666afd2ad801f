//! The OpenAPI 3.1 document, generated with `utoipa` from the handlers' `#[utoipa::path]`
//! annotations and the response structs' `ToSchema`; served at `GET /openapi.json` (no auth).
//!
//! Request bodies, response bodies and the problem body are the handlers' own types (each
//! resource module's, `problem::Problem`). This module holds what only the document needs: the
//! success envelopes with their typed `meta`, the string enums of `type` and `probeStatus`, each
//! route's error responses (with the `errorCode`s it can answer), the security schemes and the
//! descriptions of the project's decisions.

#![allow(dead_code)] // The types below only describe responses; they are never constructed.

use std::sync::LazyLock;

use axum::{
    Router,
    http::{HeaderValue, header},
    response::IntoResponse,
    routing::get,
};
use serde::Serialize;
use utoipa::{
    IntoResponses, Modify, OpenApi, ToSchema,
    openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme},
};

use crate::{app::AppState, problem::Problem};

const API_DESCRIPTION: &str = "\
assetd re-implements the Indream Open API routes for uploads, assets and the project bindings \
they need.

**Auth.** Every `/v1` route needs an API key, sent either as `x-api-key: KEY` (1.0 clients) or \
as `Authorization: Bearer KEY` (1.1 clients). Everything is scoped to the key's account: another \
account's asset or project answers 404, never 403.

**Success bodies** are always `{\"data\": ..., \"meta\": {...}}`; `meta` is `{}` except on lists, \
where it holds `nextPageCursor` (an opaque string, `null` on the last page).

**Errors** are problem details (`application/problem+json`): `{\"type\", \"title\", \"status\", \
\"detail\", \"errorCode\"}`. `type` is an UPPER_SNAKE category mirroring the status; `errorCode` \
is the stable code to branch on. Every route can also answer 401 `OPEN_API_KEY_INVALID`, 403 \
`OPEN_API_RUNTIME_ACCESS_FORBIDDEN` and 503 `SERVICE_UNAVAILABLE` (with `Retry-After`). Clients \
should retry only 429 and 5xx, and never retry uploads automatically.";

pub const UPLOAD_DESCRIPTION: &str = "\
Uploads one file: the body is the file's raw bytes (not multipart). Answers 201 at once, before \
any media probing.

**Headers.** `x-file-name` (required, 1 to 512 characters, no control characters); \
`x-project-id` (optional UUID: the asset is bound to that project in the same operation); \
`Content-Type` the file's MIME type or `application/octet-stream`; `Content-Length` if known \
(chunked bodies work too).

**Accepted formats**, decided from the first bytes (the declared `Content-Type` is only used \
where sniffing cannot tell, e.g. captions): PNG, JPEG, WebP, BMP, TIFF, AVIF, HEIF/HEIC \
(`IMAGE`); GIF, animated or not (`GIF`); MP4, M4V, MOV, Matroska, WebM (`VIDEO`); MP3, M4A, \
AAC, FLAC, Ogg Vorbis/Opus, WAV (`AUDIO`); SRT, ASS/SSA, LRC (`CAPTION`). Everything else, \
JSON and Lottie included, is 422 `UPLOAD_FILE_TYPE_UNSUPPORTED`.

**Limits** (configurable; defaults): images 50 MiB, video 800 MiB, audio 25 MiB, captions 10 MiB; \
video and audio at most 30 minutes. A body over its limit is 413 `UPLOAD_TOO_LARGE`, from \
`Content-Length` before reading, else at the byte that crosses it. Media the probe finds invalid \
or too long ends with `probeStatus: failed` and a `probeError`, never a silent 0.

**Digests** (RFC 9530): a `Content-Digest` or `Repr-Digest` with `sha-256` and/or `sha-512` is \
checked against the stored bytes before the asset is recorded (400 `UPLOAD_DIGEST_MISMATCH`, \
nothing kept; a malformed field is 400 `UPLOAD_DIGEST_INVALID`; other algorithms are ignored). \
The 201 carries `Repr-Digest: sha-256=:…:`.

A rejected or broken upload leaves no asset and no stored object behind.";

pub const RESUMABLE_HEAD_DESCRIPTION: &str = "\
The state of a resumable upload (tus offset retrieval, the draft's offset retrieval): how many \
bytes arrived (`Upload-Offset`), and once the last byte arrived the asset it became \
(`x-asset-id`, `Content-Location`). tus requests (with `Tus-Resumable: 1.0.0`) get 200 and tus \
headers; requests of the draft (`Upload-Draft-Interop-Version` 5 to 8, or none) get 204 and the \
draft's headers. Never cached (`Cache-Control: no-store`).";

pub const RESUMABLE_PATCH_DESCRIPTION: &str = "\
Appends bytes to a resumable upload at `Upload-Offset`, which must be the upload's offset (else \
409 with the right one). The format is decided from the first bytes as soon as they arrive; a \
refused kind (422) or a size over the kind's limit (413) ends the upload. A cut request keeps \
what arrived: HEAD, then resume from the offset. tus: `Upload-Length` sets a deferred length, \
`Upload-Checksum` (`sha1` or `sha256`, base64) is verified before any byte is kept (460 on a \
mismatch). The request that appends the last byte creates the asset and its probe job, exactly \
as a single-request upload does.";

pub const ASSET_DESCRIPTION: &str = "\
One asset of the key's account. `width`, `height` and `duration` are `null` until \
`probeStatus` is `ready` (still images and captions keep `duration` null; audio and captions \
keep `width`/`height` null).";

pub const ASSET_DELETE_DESCRIPTION: &str = "\
Deletes an asset and its stored object. An asset bound to at least one live project is 409 \
`ASSET_REFERENCED`: unbind it first. A deleted asset answers 404 afterwards.";

pub const PROJECT_CREATE_DESCRIPTION: &str = "\
Creates a project. `editorState` must be a JSON object (stored as sent); `stateSchemaVersion` \
(or a 1.0 client's `stateVersion`) must be `\"v1\"`; `title` defaults to `\"\"`. \
An `Idempotency-Key` (1 to 255 printable ASCII characters) replays the first completed \
response for the same body; the same key with another body is 409 `IDEMPOTENCY_KEY_REUSED`. \
JSON bodies are at most 1 MiB.";

pub const PROJECT_LIST_DESCRIPTION: &str = "\
The account's projects, newest first (by `createdAt`, ties by id), keyset paging: pass \
`meta.nextPageCursor` as `pageCursor` for the next page.";

pub const PROJECT_UPDATE_DESCRIPTION: &str = "\
Changes only the fields sent: `title` (a string), `description` (a string, or null to clear it). \
Other fields are ignored; `updatedAt` moves on every PATCH.";

pub const PROJECT_ASSETS_DESCRIPTION: &str = "\
The project's assets, newest binding first (ties by id), keyset paging. A bad `pageSize` is 422 \
here (400 on `GET /v1/projects`), as the contract's route table lists.";

pub const BIND_DESCRIPTION: &str = "\
Binds an asset of the account to the project. Binding twice is an idempotent 201.";

pub const WEBHOOK_CREATE_DESCRIPTION: &str = "\
Registers an endpoint for the account's events, sent by POST as Standard Webhooks: headers \
`webhook-id` (the event's id, the same on every retry: deduplicate on it), `webhook-timestamp` \
(Unix seconds of the attempt) and `webhook-signature` (`v1,` and the base64 HMAC-SHA256 of \
`{webhook-id}.{webhook-timestamp}.{body}` keyed by the base64-decoded part of the secret after \
`whsec_`; two space-separated signatures during a secret rotation). The body is \
`{\"type\", \"timestamp\", \"data\"}`, `data` being the asset as `GET /v1/assets/{assetId}` shows \
it (see this document's `webhooks`). Events: `asset.created`, `asset.ready`, \
`asset.probe_failed`, `asset.deleted`; omit `events` for all.\n\n\
**Delivery.** Any 2xx within 15 s is success; anything else is retried after 5 s, 5 min, \
30 min, 2 h, 5 h, 10 h and 10 h (each ±10 %, never before a `Retry-After`), then the delivery \
has failed and can be replayed. 410 Gone disables the endpoint. Redirects are not followed, and \
endpoints on loopback, private or link-local addresses are refused unless the server allows \
them. At least once: a retry can repeat a delivery the endpoint already took.\n\n\
The answer carries `secret`, shown only here and on rotation. An account has at most 20 \
endpoints unless the server is configured otherwise.";

pub const WEBHOOK_ROTATE_DESCRIPTION: &str = "\
Issues a new signing secret (in the answer, shown only here). The current one keeps signing \
beside it for `overlapSeconds` (default a day): requests carry both signatures meanwhile, so \
receivers can switch over without missing one.";

pub const WEBHOOK_DELIVERIES_DESCRIPTION: &str = "\
The endpoint's delivery log, newest first: each event's delivery with its status, when it is \
tried next, and every attempt (when, the status answered, the latency, why it failed).";

pub const WEBHOOK_REPLAY_DESCRIPTION: &str = "\
Sends events again, with their original `webhook-id` and a fresh retry schedule: one event \
(`eventId`, whatever became of it) or every event whose delivery failed since a time \
(`failedSince`). The answer counts the deliveries queued (0 when the one named is still \
pending). A disabled endpoint is 409 `WEBHOOK_DISABLED`: enable it first.";

/// The generated document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "assetd: Indream Open API (uploads, assets, projects)",
        description = API_DESCRIPTION,
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    paths(
        crate::upload::upload,
        crate::resumable::options,
        crate::resumable::head,
        crate::resumable::patch,
        crate::resumable::delete,
        crate::assets::get_asset,
        crate::assets::delete_asset,
        crate::projects::create,
        crate::projects::list,
        crate::projects::get,
        crate::projects::update,
        crate::projects::delete,
        crate::project_assets::list,
        crate::project_assets::bind,
        crate::project_assets::unbind,
        crate::webhooks::create,
        crate::webhooks::list,
        crate::webhooks::get,
        crate::webhooks::delete,
        crate::webhooks::rotate_secret,
        crate::webhooks::enable,
        crate::webhooks::deliveries,
        crate::webhooks::replay,
    ),
    components(schemas(
        Problem<'static>,
        AssetType,
        ProbeStatus,
        crate::webhooks::WebhookEventType,
        crate::webhooks::DeliveryStatus,
        crate::asset_body::AssetBody,
    )),
    modifiers(&SecuritySchemes),
    security(("apiKey" = []), ("bearer" = [])),
    tags(
        (name = "uploads", description = "Uploading files."),
        (name = "assets", description = "Reading and deleting assets."),
        (name = "projects", description = "Projects, only what uploads need to bind to."),
        (name = "project assets", description = "A project's assets."),
        (name = "webhooks", description = "Signed notifications of asset events (Standard Webhooks)."),
    ),
)]
pub struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "apiKey",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "x-api-key",
                "The API key (1.0 clients).",
            ))),
        );
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The same API key as `Authorization: Bearer KEY` (1.1 clients).",
                    ))
                    .build(),
            ),
        );
    }
}

/// The document as JSON, rendered once.
pub static DOCUMENT: LazyLock<String> = LazyLock::new(|| {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
    fix_links(&mut doc);
    require_a_state_schema_version(&mut doc);
    require_upload_bytes(&mut doc);
    describe_webhooks(&mut doc);
    serde_json::to_string_pretty(&doc).unwrap_or_default()
});

/// utoipa 5 serializes a Link Object's fields in snake_case (`operation_id`, fixed in utoipa 6);
/// the spec's names are camelCase.
fn fix_links(doc: &mut serde_json::Value) {
    let Some(paths) = doc.get_mut("paths").and_then(|p| p.as_object_mut()) else {
        return;
    };
    let links = paths
        .values_mut()
        .filter_map(|item| item.as_object_mut())
        .flat_map(|ops| ops.values_mut())
        .filter_map(|op| op.get_mut("responses")?.as_object_mut())
        .flat_map(|responses| responses.values_mut())
        .filter_map(|response| response.get_mut("links")?.as_object_mut())
        .flat_map(|links| links.values_mut())
        .filter_map(|link| link.as_object_mut());
    for link in links {
        for (from, to) in [
            ("operation_id", "operationId"),
            ("operation_ref", "operationRef"),
            ("request_body", "requestBody"),
        ] {
            if let Some(value) = link.remove(from) {
                link.insert(to.to_owned(), value);
            }
        }
    }
}

/// A project is created with `stateSchemaVersion` (1.1) or `stateVersion` (1.0), at least one:
/// a rule `ToSchema` cannot state, so it is added to the generated schema.
fn require_a_state_schema_version(doc: &mut serde_json::Value) {
    // A replay names exactly one of its two targets, likewise.
    if let Some(schema) = doc
        .pointer_mut("/components/schemas/ReplayWebhook")
        .and_then(|schema| schema.as_object_mut())
    {
        schema.insert(
            "oneOf".to_owned(),
            serde_json::json!([
                { "required": ["eventId"] },
                { "required": ["failedSince"] },
            ]),
        );
    }
    if let Some(schema) = doc
        .pointer_mut("/components/schemas/CreateProject")
        .and_then(|schema| schema.as_object_mut())
    {
        schema.insert(
            "anyOf".to_owned(),
            serde_json::json!([
                { "required": ["stateSchemaVersion"] },
                { "required": ["stateVersion"] },
            ]),
        );
    }
}

/// An upload's body holds at least one byte (an empty one is 400 `UPLOAD_BODY_EMPTY`); the
/// binary schema of [`UploadFile`] cannot carry `minLength` through `ToSchema`.
fn require_upload_bytes(doc: &mut serde_json::Value) {
    let bodies = doc
        .pointer_mut("/paths/~1v1~1uploads/post/requestBody/content")
        .and_then(|content| content.as_object_mut());
    for media in bodies.into_iter().flat_map(|content| content.values_mut()) {
        if let Some(schema) = media.get_mut("schema").and_then(|s| s.as_object_mut()) {
            schema.insert("minLength".to_owned(), serde_json::json!(1));
        }
    }
}

/// The requests assetd sends to webhook endpoints (OpenAPI 3.1's top-level `webhooks`), which
/// `utoipa` 5 cannot declare.
fn describe_webhooks(doc: &mut serde_json::Value) {
    let Some(doc) = doc.as_object_mut() else {
        return;
    };
    doc.insert(
        "webhooks".to_owned(),
        serde_json::json!({
            "assetEvent": {
                "post": {
                    "summary": "An asset event, sent to every endpoint that takes its type.",
                    "operationId": "assetEvent",
                    "tags": ["webhooks"],
                    "parameters": [
                        { "name": "webhook-id", "in": "header", "required": true, "schema": { "type": "string" }, "description": "The event's id; the same on every retry and replay." },
                        { "name": "webhook-timestamp", "in": "header", "required": true, "schema": { "type": "string" }, "description": "Unix seconds of this attempt." },
                        { "name": "webhook-signature", "in": "header", "required": true, "schema": { "type": "string" }, "description": "Space-separated `v1,<base64 HMAC-SHA256>` signatures." },
                    ],
                    "requestBody": {
                        "required": true,
                        "content": { "application/json": { "schema": {
                            "type": "object",
                            "required": ["type", "timestamp", "data"],
                            "properties": {
                                "type": { "$ref": "#/components/schemas/WebhookEventType" },
                                "timestamp": { "type": "string", "format": "date-time", "description": "When the change happened." },
                                "data": { "$ref": "#/components/schemas/AssetBody" },
                            },
                        } } },
                    },
                    "responses": {
                        "2XX": response("Taken."),
                        "410": response("Gone: the endpoint is disabled and nothing more is sent."),
                        "default": response("Anything else (or no answer within the timeout) is retried."),
                    },
                }
            }
        }),
    );
}

fn response(description: &str) -> serde_json::Value {
    serde_json::json!({ "description": description })
}

/// `GET /openapi.json` and the interactive docs under `/docs` (see [`crate::docs`]); no auth.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(serve_document))
        .merge(crate::docs::routes())
}

async fn serve_document() -> impl IntoResponse {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        DOCUMENT.as_str(),
    )
}

/// The asset's kind (`type`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum AssetType {
    /// PNG, JPEG, WebP, BMP, TIFF, AVIF, HEIF/HEIC.
    Image,
    /// GIF, animated or not.
    Gif,
    /// MP4, M4V, MOV, Matroska, WebM.
    Video,
    /// MP3, M4A, AAC, FLAC, Ogg Vorbis/Opus, WAV.
    Audio,
    /// `.srt`, `.ass`/`.ssa`, `.lrc`.
    Caption,
}

/// Whether the media probe has run: `pending` right after the upload, then `ready` (width,
/// height and duration filled in as they apply) or `failed` (with `probeError`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ProbeStatus {
    Pending,
    Ready,
    Failed,
}

/// The upload body: the file's raw bytes (at least one).
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct UploadFile(Vec<u8>);

// Each route's error responses. Every route also has 401, 403, 429 and 503 (the same for all).

#[derive(IntoResponses)]
pub enum UploadErrors {
    /// `UPLOAD_FILE_NAME_INVALID` (x-file-name missing, empty, over 512 characters, control
    /// characters, not UTF-8), `UPLOAD_PROJECT_ID_INVALID` (x-project-id not a UUID),
    /// `UPLOAD_BODY_EMPTY` (no body bytes), `UPLOAD_INCOMPLETE` (fewer bytes than
    /// `Content-Length`, or the client hung up), `UPLOAD_DIGEST_MISMATCH` (the bytes do not match
    /// `Content-Digest` / `Repr-Digest`), `UPLOAD_DIGEST_INVALID` (a malformed digest field).
    #[response(status = 400, content_type = "application/problem+json")]
    BadRequest(#[to_schema] Problem<'static>),
    /// `OPEN_API_KEY_INVALID`: no key, or an unknown or revoked key.
    #[response(status = 401, content_type = "application/problem+json")]
    Unauthorized(#[to_schema] Problem<'static>),
    /// `OPEN_API_RUNTIME_ACCESS_FORBIDDEN`: the account is not enabled for the Open API.
    #[response(status = 403, content_type = "application/problem+json")]
    Forbidden(#[to_schema] Problem<'static>),
    /// `PROJECT_NOT_FOUND`: `x-project-id` is not a project of this account.
    #[response(status = 404, content_type = "application/problem+json")]
    NotFound(#[to_schema] Problem<'static>),
    /// `UPLOAD_TOO_LARGE`: over the kind's limit (images 50 MiB, video 800 MiB, audio 25 MiB,
    /// captions 10 MiB by default).
    #[response(status = 413, content_type = "application/problem+json")]
    TooLarge(#[to_schema] Problem<'static>),
    /// `UPLOAD_FILE_TYPE_UNSUPPORTED`: not an accepted format (decided from the first bytes).
    #[response(status = 422, content_type = "application/problem+json")]
    Unprocessable(#[to_schema] Problem<'static>),
    /// `UPLOAD_STALLED`: no byte of the body arrived for the upload idle timeout (60 s by
    /// default); nothing was stored, and the connection is closed.
    #[response(status = 408, content_type = "application/problem+json")]
    Stalled(#[to_schema] Problem<'static>),
    /// Resumable creations only: `UPLOAD_PROTOCOL_VERSION_UNSUPPORTED` (`Tus-Resumable` not
    /// 1.0.0, an interop version not served), with `Tus-Version`.
    #[response(status = 412, content_type = "application/problem+json")]
    PreconditionFailed(#[to_schema] Problem<'static>),
    /// Resumable creations with data only: `UPLOAD_CONTENT_TYPE_INVALID`.
    #[response(status = 415, content_type = "application/problem+json")]
    UnsupportedMediaType(#[to_schema] Problem<'static>),
    /// `OPEN_API_REQUEST_LIMIT_EXCEEDED`: the API key is over its request rate (or, uploading,
    /// its account streams its most uploads at once); `Retry-After` says when to retry.
    #[response(status = 429, content_type = "application/problem+json")]
    TooManyRequests(#[to_schema] Problem<'static>),
    /// `SERVICE_UNAVAILABLE`: database, catalog or storage unreachable; `SERVER_BUSY`: this
    /// server streams its most uploads at once. `Retry-After` says when to retry.
    #[response(status = 503, content_type = "application/problem+json")]
    Unavailable(#[to_schema] Problem<'static>),
}

/// The errors of `HEAD`, `PATCH` and `DELETE /v1/uploads/{uploadId}`.
#[derive(IntoResponses)]
pub enum ResumableErrors {
    /// `UPLOAD_HEADER_INVALID` (a malformed `Upload-Offset`, `Upload-Length`, `Upload-Checksum`
    /// or `Upload-Complete`), `UPLOAD_LENGTH_EXCEEDED` (bytes past the declared length),
    /// `UPLOAD_COMPLETED` (bytes sent to a finished upload),
    /// `UPLOAD_CHECKSUM_ALGORITHM_UNSUPPORTED`, `UPLOAD_INCOMPLETE` (the client hung up).
    #[response(status = 400, content_type = "application/problem+json")]
    BadRequest(#[to_schema] Problem<'static>),
    /// `OPEN_API_KEY_INVALID`: no key, or an unknown or revoked key.
    #[response(status = 401, content_type = "application/problem+json")]
    Unauthorized(#[to_schema] Problem<'static>),
    /// `OPEN_API_RUNTIME_ACCESS_FORBIDDEN`: the account is not enabled for the Open API.
    #[response(status = 403, content_type = "application/problem+json")]
    Forbidden(#[to_schema] Problem<'static>),
    /// `UPLOAD_NOT_FOUND`: no such upload of this account (terminated, refused, reaped, or
    /// never created); `PROJECT_NOT_FOUND` at completion when the project was deleted meanwhile.
    #[response(status = 404, content_type = "application/problem+json")]
    NotFound(#[to_schema] Problem<'static>),
    /// `UPLOAD_STALLED`: no byte of the body arrived for the upload idle timeout; what arrived
    /// before is kept.
    #[response(status = 408, content_type = "application/problem+json")]
    Stalled(#[to_schema] Problem<'static>),
    /// `UPLOAD_OFFSET_MISMATCH`: `Upload-Offset` is not the upload's offset; the answer's
    /// `Upload-Offset` header is.
    #[response(status = 409, content_type = "application/problem+json")]
    Conflict(#[to_schema] Problem<'static>),
    /// `UPLOAD_EXPIRED`: the upload's expiry passed before it was finished.
    #[response(status = 410, content_type = "application/problem+json")]
    Gone(#[to_schema] Problem<'static>),
    /// `UPLOAD_PROTOCOL_VERSION_UNSUPPORTED`: `Tus-Resumable` not 1.0.0, or an interop version
    /// not served; `Tus-Version` lists what is.
    #[response(status = 412, content_type = "application/problem+json")]
    PreconditionFailed(#[to_schema] Problem<'static>),
    /// `UPLOAD_TOO_LARGE`: the declared length or the bytes so far are over the kind's limit;
    /// the upload is discarded.
    #[response(status = 413, content_type = "application/problem+json")]
    TooLarge(#[to_schema] Problem<'static>),
    /// `UPLOAD_CONTENT_TYPE_INVALID`: an append not sent as `application/offset+octet-stream`
    /// (tus) or `application/partial-upload` (the draft).
    #[response(status = 415, content_type = "application/problem+json")]
    UnsupportedMediaType(#[to_schema] Problem<'static>),
    /// `UPLOAD_FILE_TYPE_UNSUPPORTED`: the first bytes are not an accepted format; the upload
    /// is discarded.
    #[response(status = 422, content_type = "application/problem+json")]
    Unprocessable(#[to_schema] Problem<'static>),
    /// `UPLOAD_LOCKED`: another request is appending to this upload; retry (`Retry-After`).
    #[response(status = 423, content_type = "application/problem+json")]
    Locked(#[to_schema] Problem<'static>),
    /// `OPEN_API_REQUEST_LIMIT_EXCEEDED`: over the key's request rate or the account's uploads
    /// at once; `Retry-After` says when to retry.
    #[response(status = 429, content_type = "application/problem+json")]
    TooManyRequests(#[to_schema] Problem<'static>),
    /// `UPLOAD_CHECKSUM_MISMATCH` (tus checksum extension): the request's bytes do not match
    /// `Upload-Checksum`; none of them was kept.
    #[response(status = 460, content_type = "application/problem+json")]
    ChecksumMismatch(#[to_schema] Problem<'static>),
    /// `SERVICE_UNAVAILABLE`: database, catalog or storage unreachable; `SERVER_BUSY`.
    #[response(status = 503, content_type = "application/problem+json")]
    Unavailable(#[to_schema] Problem<'static>),
}

#[derive(IntoResponses)]
pub enum GetAssetErrors {
    /// `ID_INVALID`: `assetId` is not a UUID.
    #[response(status = 400, content_type = "application/problem+json")]
    BadRequest(#[to_schema] Problem<'static>),
    /// `OPEN_API_KEY_INVALID`: no key, or an unknown or revoked key.
    #[response(status = 401, content_type = "application/problem+json")]
    Unauthorized(#[to_schema] Problem<'static>),
    /// `OPEN_API_RUNTIME_ACCESS_FORBIDDEN`: the account is not enabled for the Open API.
    #[response(status = 403, content_type = "application/problem+json")]
    Forbidden(#[to_schema] Problem<'static>),
    /// `ASSET_NOT_FOUND`: no such asset in this account.
    #[response(status = 404, content_type = "application/problem+json")]
    NotFound(#[to_schema] Problem<'static>),
    /// `OPEN_API_REQUEST_LIMIT_EXCEEDED`: the API key is over its request rate (or, uploading,
    /// its account streams its most uploads at once); `Retry-After` says when to retry.
    #[response(status = 429, content_type = "application/problem+json")]
    TooManyRequests(#[to_schema] Problem<'static>),
    /// `SERVICE_UNAVAILABLE`: database, catalog or storage unreachable; `Retry-After` says when to retry.
    #[response(status = 503, content_type = "application/problem+json")]
    Unavailable(#[to_schema] Problem<'static>),
}

#[derive(IntoResponses)]
pub enum DeleteAssetErrors {
    /// `ID_INVALID`: `assetId` is not a UUID.
    #[response(status = 400, content_type = "application/problem+json")]
    BadRequest(#[to_schema] Problem<'static>),
    /// `OPEN_API_KEY_INVALID`: no key, or an unknown or revoked key.
    #[response(status = 401, content_type = "application/problem+json")]
    Unauthorized(#[to_schema] Problem<'static>),
    /// `OPEN_API_RUNTIME_ACCESS_FORBIDDEN`: the account is not enabled for the Open API.
    #[response(status = 403, content_type = "application/problem+json")]
    Forbidden(#[to_schema] Problem<'static>),
    /// `ASSET_NOT_FOUND`: no such asset in this account (or already deleted).
    #[response(status = 404, content_type = "application/problem+json")]
    NotFound(#[to_schema] Problem<'static>),
    /// `ASSET_REFERENCED`: the asset is bound to at least one project.
    #[response(status = 409, content_type = "application/problem+json")]
    Conflict(#[to_schema] Problem<'static>),
    /// `OPEN_API_REQUEST_LIMIT_EXCEEDED`: the API key is over its request rate (or, uploading,
    /// its account streams its most uploads at once); `Retry-After` says when to retry.
    #[response(status = 429, content_type = "application/problem+json")]
    TooManyRequests(#[to_schema] Problem<'static>),
    /// `SERVICE_UNAVAILABLE`: database, catalog or storage unreachable; `Retry-After` says when to retry.
    #[response(status = 503, content_type = "application/problem+json")]
    Unavailable(#[to_schema] Problem<'static>),
}

#[derive(IntoResponses)]
pub enum CreateProjectErrors {
    /// `BODY_INVALID` (missing, malformed, not a JSON object, or not `application/json`),
    /// `IDEMPOTENCY_KEY_INVALID` (empty, over 255 characters or not printable ASCII).
    #[response(status = 400, content_type = "application/problem+json")]
    BadRequest(#[to_schema] Problem<'static>),
    /// `OPEN_API_KEY_INVALID`: no key, or an unknown or revoked key.
    #[response(status = 401, content_type = "application/problem+json")]
    Unauthorized(#[to_schema] Problem<'static>),
    /// `OPEN_API_RUNTIME_ACCESS_FORBIDDEN`: the account is not enabled for the Open API.
    #[response(status = 403, content_type = "application/problem+json")]
    Forbidden(#[to_schema] Problem<'static>),
    /// `IDEMPOTENCY_KEY_REUSED`: the `Idempotency-Key` was used with a different body.
    #[response(status = 409, content_type = "application/problem+json")]
    Conflict(#[to_schema] Problem<'static>),
    /// `BODY_TOO_LARGE`: a JSON body over 1 MiB.
    #[response(status = 413, content_type = "application/problem+json")]
    TooLarge(#[to_schema] Problem<'static>),
    /// `PROJECT_EDITOR_STATE_INVALID` (missing or not an object),
    /// `STATE_SCHEMA_VERSION_UNSUPPORTED` (missing or not `"v1"`), `PROJECT_TITLE_INVALID`
    /// (not a string or over 120 characters), `PROJECT_DESCRIPTION_INVALID` (not a string or
    /// null, or over 500 characters).
    #[response(status = 422, content_type = "application/problem+json")]
    Unprocessable(#[to_schema] Problem<'static>),
    /// `OPEN_API_REQUEST_LIMIT_EXCEEDED`: the API key is over its request rate (or, uploading,
    /// its account streams its most uploads at once); `Retry-After` says when to retry.
    #[response(status = 429, content_type = "application/problem+json")]
    TooManyRequests(#[to_schema] Problem<'static>),
    /// `SERVICE_UNAVAILABLE`: database, catalog or storage unreachable; `Retry-After` says when to retry.
    #[response(status = 503, content_type = "application/problem+json")]
    Unavailable(#[to_schema] Problem<'static>),
}

#[derive(IntoResponses)]
pub enum ListProjectsErrors {
    /// `QUERY_INVALID` (unparseable query string), `PAGE_SIZE_INVALID` (not an integer in
    /// 1..50), `PAGE_CURSOR_INVALID` (not a cursor this API returned).
    #[response(status = 400, content_type = "application/problem+json")]
    BadRequest(#[to_schema] Problem<'static>),
    /// `OPEN_API_KEY_INVALID`: no key, or an unknown or revoked key.
    #[response(status = 401, content_type = "application/problem+json")]
    Unauthorized(#[to_schema] Problem<'static>),
    /// `OPEN_API_RUNTIME_ACCESS_FORBIDDEN`: the account is not enabled for the Open API.
    #[response(status = 403, content_type = "application/problem+json")]
    Forbidden(#[to_schema] Problem<'static>),
    /// `OPEN_API_REQUEST_LIMIT_EXCEEDED`: the API key is over its request rate (or, uploading,
    /// its account streams its most uploads at once); `Retry-After` says when to retry.
    #[response(status = 429, content_type = "application/problem+json")]
    TooManyRequests(#[to_schema] Problem<'static>),
    /// `SERVICE_UNAVAILABLE`: database, catalog or storage unreachable; `Retry-After` says when to retry.
    #[response(status = 503, content_type = "application/problem+json")]
    Unavailable(#[to_schema] Problem<'static>),
}

#[derive(IntoResponses)]
pub enum ProjectErrors {
    /// `ID_INVALID`: `projectId` is not a UUID.
    #[response(status = 400, content_type = "application/problem+json")]
    BadRequest(#[to_schema] Problem<'static>),
    /// `OPEN_API_KEY_INVALID`: no key, or an unknown or revoked key.
    #[response(status = 401, content_type = "application/problem+json")]
    Unauthorized(#[to_schema] Problem<'static>),
    /// `OPEN_API_RUNTIME_ACCESS_FORBIDDEN`: the account is not enabled for the Open API.
    #[response(status = 403, content_type = "application/problem+json")]
    Forbidden(#[to_schema] Problem<'static>),
    /// `PROJECT_NOT_FOUND`: no such project in this account.
    #[response(status = 404, content_type = "application/problem+json")]
    NotFound(#[to_schema] Problem<'static>),
    /// `OPEN_API_REQUEST_LIMIT_EXCEEDED`: the API key is over its request rate (or, uploading,
    /// its account streams its most uploads at once); `Retry-After` says when to retry.
    #[response(status = 429, content_type = "application/problem+json")]
    TooManyRequests(#[to_schema] Problem<'static>),
    /// `SERVICE_UNAVAILABLE`: database, catalog or storage unreachable; `Retry-After` says when to retry.
    #[response(status = 503, content_type = "application/problem+json")]
    Unavailable(#[to_schema] Problem<'static>),
}

#[derive(IntoResponses)]
pub enum UpdateProjectErrors {
    /// `ID_INVALID` (`projectId` is not a UUID), `BODY_INVALID` (missing, malformed, not a JSON
    /// object, or not `application/json`).
    #[response(status = 400, content_type = "application/problem+json")]
    BadRequest(#[to_schema] Problem<'static>),
    /// `OPEN_API_KEY_INVALID`: no key, or an unknown or revoked key.
    #[response(status = 401, content_type = "application/problem+json")]
    Unauthorized(#[to_schema] Problem<'static>),
    /// `OPEN_API_RUNTIME_ACCESS_FORBIDDEN`: the account is not enabled for the Open API.
    #[response(status = 403, content_type = "application/problem+json")]
    Forbidden(#[to_schema] Problem<'static>),
    /// `PROJECT_NOT_FOUND`: no such project in this account.
    #[response(status = 404, content_type = "application/problem+json")]
    NotFound(#[to_schema] Problem<'static>),
    /// `BODY_TOO_LARGE`: a JSON body over 1 MiB.
    #[response(status = 413, content_type = "application/problem+json")]
    TooLarge(#[to_schema] Problem<'static>),
    /// `PROJECT_TITLE_INVALID` (not a string or over 120 characters),
    /// `PROJECT_DESCRIPTION_INVALID` (not a string or null, or over 500 characters).
    #[response(status = 422, content_type = "application/problem+json")]
    Unprocessable(#[to_schema] Problem<'static>),
    /// `OPEN_API_REQUEST_LIMIT_EXCEEDED`: the API key is over its request rate (or, uploading,
    /// its account streams its most uploads at once); `Retry-After` says when to retry.
    #[response(status = 429, content_type = "application/problem+json")]
    TooManyRequests(#[to_schema] Problem<'static>),
    /// `SERVICE_UNAVAILABLE`: database, catalog or storage unreachable; `Retry-After` says when to retry.
    #[response(status = 503, content_type = "application/problem+json")]
    Unavailable(#[to_schema] Problem<'static>),
}

#[derive(IntoResponses)]
pub enum ListProjectAssetsErrors {
    /// `ID_INVALID` (`projectId` is not a UUID), `QUERY_INVALID` (unparseable query string),
    /// `PAGE_CURSOR_INVALID` (not a cursor this API returned).
    #[response(status = 400, content_type = "application/problem+json")]
    BadRequest(#[to_schema] Problem<'static>),
    /// `OPEN_API_KEY_INVALID`: no key, or an unknown or revoked key.
    #[response(status = 401, content_type = "application/problem+json")]
    Unauthorized(#[to_schema] Problem<'static>),
    /// `OPEN_API_RUNTIME_ACCESS_FORBIDDEN`: the account is not enabled for the Open API.
    #[response(status = 403, content_type = "application/problem+json")]
    Forbidden(#[to_schema] Problem<'static>),
    /// `PROJECT_NOT_FOUND`: no such project in this account.
    #[response(status = 404, content_type = "application/problem+json")]
    NotFound(#[to_schema] Problem<'static>),
    /// `PAGE_SIZE_INVALID`: `pageSize` not an integer in 1..100.
    #[response(status = 422, content_type = "application/problem+json")]
    Unprocessable(#[to_schema] Problem<'static>),
    /// `OPEN_API_REQUEST_LIMIT_EXCEEDED`: the API key is over its request rate (or, uploading,
    /// its account streams its most uploads at once); `Retry-After` says when to retry.
    #[response(status = 429, content_type = "application/problem+json")]
    TooManyRequests(#[to_schema] Problem<'static>),
    /// `SERVICE_UNAVAILABLE`: database, catalog or storage unreachable; `Retry-After` says when to retry.
    #[response(status = 503, content_type = "application/problem+json")]
    Unavailable(#[to_schema] Problem<'static>),
}

#[derive(IntoResponses)]
pub enum BindErrors {
    /// `ID_INVALID` (`projectId` is not a UUID), `BODY_INVALID` (missing, malformed, not a JSON
    /// object, or not `application/json`).
    #[response(status = 400, content_type = "application/problem+json")]
    BadRequest(#[to_schema] Problem<'static>),
    /// `OPEN_API_KEY_INVALID`: no key, or an unknown or revoked key.
    #[response(status = 401, content_type = "application/problem+json")]
    Unauthorized(#[to_schema] Problem<'static>),
    /// `OPEN_API_RUNTIME_ACCESS_FORBIDDEN`: the account is not enabled for the Open API.
    #[response(status = 403, content_type = "application/problem+json")]
    Forbidden(#[to_schema] Problem<'static>),
    /// `PROJECT_NOT_FOUND` (no such project in this account), `ASSET_NOT_FOUND` (no such asset
    /// in this account).
    #[response(status = 404, content_type = "application/problem+json")]
    NotFound(#[to_schema] Problem<'static>),
    /// `BODY_TOO_LARGE`: a JSON body over 1 MiB.
    #[response(status = 413, content_type = "application/problem+json")]
    TooLarge(#[to_schema] Problem<'static>),
    /// `ASSET_ID_INVALID`: the body's `assetId` is missing or not a UUID.
    #[response(status = 422, content_type = "application/problem+json")]
    Unprocessable(#[to_schema] Problem<'static>),
    /// `OPEN_API_REQUEST_LIMIT_EXCEEDED`: the API key is over its request rate (or, uploading,
    /// its account streams its most uploads at once); `Retry-After` says when to retry.
    #[response(status = 429, content_type = "application/problem+json")]
    TooManyRequests(#[to_schema] Problem<'static>),
    /// `SERVICE_UNAVAILABLE`: database, catalog or storage unreachable; `Retry-After` says when to retry.
    #[response(status = 503, content_type = "application/problem+json")]
    Unavailable(#[to_schema] Problem<'static>),
}

#[derive(IntoResponses)]
pub enum UnbindErrors {
    /// `ID_INVALID`: `projectId` or `assetId` is not a UUID.
    #[response(status = 400, content_type = "application/problem+json")]
    BadRequest(#[to_schema] Problem<'static>),
    /// `OPEN_API_KEY_INVALID`: no key, or an unknown or revoked key.
    #[response(status = 401, content_type = "application/problem+json")]
    Unauthorized(#[to_schema] Problem<'static>),
    /// `OPEN_API_RUNTIME_ACCESS_FORBIDDEN`: the account is not enabled for the Open API.
    #[response(status = 403, content_type = "application/problem+json")]
    Forbidden(#[to_schema] Problem<'static>),
    /// `PROJECT_NOT_FOUND` (no such project in this account), `BINDING_NOT_FOUND` (the project
    /// does not hold this asset).
    #[response(status = 404, content_type = "application/problem+json")]
    NotFound(#[to_schema] Problem<'static>),
    /// `OPEN_API_REQUEST_LIMIT_EXCEEDED`: the API key is over its request rate (or, uploading,
    /// its account streams its most uploads at once); `Retry-After` says when to retry.
    #[response(status = 429, content_type = "application/problem+json")]
    TooManyRequests(#[to_schema] Problem<'static>),
    /// `SERVICE_UNAVAILABLE`: database, catalog or storage unreachable; `Retry-After` says when to retry.
    #[response(status = 503, content_type = "application/problem+json")]
    Unavailable(#[to_schema] Problem<'static>),
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::Value;

    use super::DOCUMENT;

    /// The documented `type` and `probeStatus` values are the shared vocabulary's spellings
    /// (`assetd_media::Kind`, `ProbeStatus::name`), in the same order.
    #[test]
    fn documented_enums_are_the_shared_vocabulary() {
        use assetd_proto::catalog::v1::ProbeStatus;
        let doc: Value = serde_json::from_str(&DOCUMENT).expect("JSON");
        let values = |schema: &str| -> Vec<String> {
            doc["components"]["schemas"][schema]["enum"]
                .as_array()
                .unwrap_or_else(|| panic!("{schema} has an enum"))
                .iter()
                .map(|v| v.as_str().expect("a string").to_owned())
                .collect()
        };
        let kinds: Vec<String> = assetd_media::Kind::ALL
            .iter()
            .map(|kind| kind.as_str().to_owned())
            .collect();
        assert_eq!(values("AssetType"), kinds);
        let statuses: Vec<String> = [
            ProbeStatus::Pending,
            ProbeStatus::Ready,
            ProbeStatus::Failed,
        ]
        .iter()
        .map(|status| status.name().to_owned())
        .collect();
        assert_eq!(values("ProbeStatus"), statuses);
    }

    /// The router's paths under `/v1`, read from the sources that declare them, with every
    /// path parameter written `{}` (the router names them `{asset_id}`, the document
    /// `{assetId}`).
    fn router_paths() -> BTreeSet<String> {
        let sources = [include_str!("app.rs"), include_str!("routes.rs")];
        let mut paths = BTreeSet::new();
        for source in sources {
            for chunk in source.split(".route(").skip(1) {
                let Some(start) = chunk.find('"') else {
                    continue;
                };
                let rest = &chunk[start + 1..];
                let Some(end) = rest.find('"') else { continue };
                let path = &rest[..end];
                if path.starts_with("/v1") {
                    paths.insert(normalize(path));
                }
            }
        }
        paths
    }

    fn normalize(path: &str) -> String {
        let mut out = String::new();
        let mut in_param = false;
        for c in path.chars() {
            match c {
                '{' => {
                    in_param = true;
                    out.push_str("{}");
                }
                '}' => in_param = false,
                _ if in_param => {}
                _ => out.push(c),
            }
        }
        out
    }

    #[test]
    fn document_is_openapi_3_1_json_listing_every_route() {
        let doc: Value = serde_json::from_str(&DOCUMENT).expect("the document is JSON");
        assert_eq!(doc["openapi"], "3.1.0");
        let documented: BTreeSet<String> = doc["paths"]
            .as_object()
            .expect("paths")
            .keys()
            .map(|path| normalize(path))
            .collect();
        let routed = router_paths();
        assert_eq!(routed.len(), 13, "router paths found: {routed:?}");
        assert_eq!(documented, routed);
        let operations: usize = doc["paths"]
            .as_object()
            .expect("paths")
            .values()
            .map(|item| item.as_object().map_or(0, |ops| ops.len()))
            .sum();
        assert_eq!(
            operations, 23,
            "the contract's 11 operations, the 4 of resumable uploads and the 8 of webhooks"
        );
        let operation_ids: BTreeSet<&str> = doc["paths"]
            .as_object()
            .expect("paths")
            .values()
            .filter_map(Value::as_object)
            .flat_map(|ops| ops.values())
            .filter_map(|op| op["operationId"].as_str())
            .collect();
        assert_eq!(
            operation_ids.len(),
            23,
            "unique operationIds: {operation_ids:?}"
        );
        for scheme in ["apiKey", "bearer"] {
            assert!(
                doc["components"]["securitySchemes"][scheme].is_object(),
                "security scheme {scheme}"
            );
        }
        let upload = &doc["paths"]["/v1/uploads"]["post"];
        assert_eq!(
            upload["responses"]["201"]["links"]["getAsset"]["operationId"],
            "getAsset"
        );
        for field in [
            "source",
            "size",
            "width",
            "height",
            "duration",
            "probeError",
        ] {
            let required = doc["components"]["schemas"]["AssetBody"]["required"]
                .as_array()
                .expect("required");
            assert!(
                required.iter().any(|f| f == field),
                "{field} is always sent"
            );
        }
        assert_eq!(
            upload["requestBody"]["content"]["application/octet-stream"]["schema"]["format"],
            "binary"
        );
    }
}

#[derive(IntoResponses)]
pub enum CreateWebhookErrors {
    /// `BODY_INVALID` (missing, malformed, not a JSON object, not `application/json`, a field of
    /// the wrong type, a description over 500 characters).
    #[response(status = 400, content_type = "application/problem+json")]
    BadRequest(#[to_schema] Problem<'static>),
    /// `OPEN_API_KEY_INVALID`: no key, or an unknown or revoked key.
    #[response(status = 401, content_type = "application/problem+json")]
    Unauthorized(#[to_schema] Problem<'static>),
    /// `OPEN_API_RUNTIME_ACCESS_FORBIDDEN`: the account is not enabled for the Open API.
    #[response(status = 403, content_type = "application/problem+json")]
    Forbidden(#[to_schema] Problem<'static>),
    /// `WEBHOOK_LIMIT_EXCEEDED`: the account has its most webhooks already (20 unless the
    /// operator set another limit).
    #[response(status = 409, content_type = "application/problem+json")]
    Conflict(#[to_schema] Problem<'static>),
    /// `BODY_TOO_LARGE`: a JSON body over 1 MiB.
    #[response(status = 413, content_type = "application/problem+json")]
    TooLarge(#[to_schema] Problem<'static>),
    /// `WEBHOOK_URL_INVALID` (missing, not an absolute http(s) URL, over 2048 bytes, with
    /// credentials or a fragment), `WEBHOOK_EVENT_TYPE_INVALID` (an unknown event type).
    #[response(status = 422, content_type = "application/problem+json")]
    Unprocessable(#[to_schema] Problem<'static>),
    /// `OPEN_API_REQUEST_LIMIT_EXCEEDED`: the API key is over its request rate (or, uploading,
    /// its account streams its most uploads at once); `Retry-After` says when to retry.
    #[response(status = 429, content_type = "application/problem+json")]
    TooManyRequests(#[to_schema] Problem<'static>),
    /// `SERVICE_UNAVAILABLE`: database, catalog or storage unreachable; `Retry-After` says when to retry.
    #[response(status = 503, content_type = "application/problem+json")]
    Unavailable(#[to_schema] Problem<'static>),
}

#[derive(IntoResponses)]
pub enum WebhookErrors {
    /// `ID_INVALID` (`webhookId` is not a UUID), `QUERY_INVALID`, `PAGE_SIZE_INVALID`,
    /// `PAGE_CURSOR_INVALID` (listing deliveries).
    #[response(status = 400, content_type = "application/problem+json")]
    BadRequest(#[to_schema] Problem<'static>),
    /// `OPEN_API_KEY_INVALID`: no key, or an unknown or revoked key.
    #[response(status = 401, content_type = "application/problem+json")]
    Unauthorized(#[to_schema] Problem<'static>),
    /// `OPEN_API_RUNTIME_ACCESS_FORBIDDEN`: the account is not enabled for the Open API.
    #[response(status = 403, content_type = "application/problem+json")]
    Forbidden(#[to_schema] Problem<'static>),
    /// `WEBHOOK_NOT_FOUND`: no such webhook in this account.
    #[response(status = 404, content_type = "application/problem+json")]
    NotFound(#[to_schema] Problem<'static>),
    /// `OPEN_API_REQUEST_LIMIT_EXCEEDED`: the API key is over its request rate (or, uploading,
    /// its account streams its most uploads at once); `Retry-After` says when to retry.
    #[response(status = 429, content_type = "application/problem+json")]
    TooManyRequests(#[to_schema] Problem<'static>),
    /// `SERVICE_UNAVAILABLE`: database, catalog or storage unreachable; `Retry-After` says when to retry.
    #[response(status = 503, content_type = "application/problem+json")]
    Unavailable(#[to_schema] Problem<'static>),
}

#[derive(IntoResponses)]
pub enum WebhookBodyErrors {
    /// `ID_INVALID` (`webhookId` is not a UUID), `BODY_INVALID` (not empty and not a JSON
    /// object, or `overlapSeconds` not an integer from 0 to 604800).
    #[response(status = 400, content_type = "application/problem+json")]
    BadRequest(#[to_schema] Problem<'static>),
    /// `OPEN_API_KEY_INVALID`: no key, or an unknown or revoked key.
    #[response(status = 401, content_type = "application/problem+json")]
    Unauthorized(#[to_schema] Problem<'static>),
    /// `OPEN_API_RUNTIME_ACCESS_FORBIDDEN`: the account is not enabled for the Open API.
    #[response(status = 403, content_type = "application/problem+json")]
    Forbidden(#[to_schema] Problem<'static>),
    /// `WEBHOOK_NOT_FOUND`: no such webhook in this account.
    #[response(status = 404, content_type = "application/problem+json")]
    NotFound(#[to_schema] Problem<'static>),
    /// `OPEN_API_REQUEST_LIMIT_EXCEEDED`: the API key is over its request rate (or, uploading,
    /// its account streams its most uploads at once); `Retry-After` says when to retry.
    #[response(status = 429, content_type = "application/problem+json")]
    TooManyRequests(#[to_schema] Problem<'static>),
    /// `SERVICE_UNAVAILABLE`: database, catalog or storage unreachable; `Retry-After` says when to retry.
    #[response(status = 503, content_type = "application/problem+json")]
    Unavailable(#[to_schema] Problem<'static>),
}

#[derive(IntoResponses)]
pub enum ReplayWebhookErrors {
    /// `ID_INVALID` (`webhookId` is not a UUID), `BODY_INVALID` (missing, malformed, not a JSON
    /// object, not `application/json`, a field not a string).
    #[response(status = 400, content_type = "application/problem+json")]
    BadRequest(#[to_schema] Problem<'static>),
    /// `OPEN_API_KEY_INVALID`: no key, or an unknown or revoked key.
    #[response(status = 401, content_type = "application/problem+json")]
    Unauthorized(#[to_schema] Problem<'static>),
    /// `OPEN_API_RUNTIME_ACCESS_FORBIDDEN`: the account is not enabled for the Open API.
    #[response(status = 403, content_type = "application/problem+json")]
    Forbidden(#[to_schema] Problem<'static>),
    /// `WEBHOOK_NOT_FOUND` (no such webhook in this account), `WEBHOOK_EVENT_NOT_FOUND` (the
    /// event was never delivered to this webhook).
    #[response(status = 404, content_type = "application/problem+json")]
    NotFound(#[to_schema] Problem<'static>),
    /// `WEBHOOK_DISABLED`: the webhook is disabled; enable it first.
    #[response(status = 409, content_type = "application/problem+json")]
    Conflict(#[to_schema] Problem<'static>),
    /// `BODY_TOO_LARGE`: a JSON body over 1 MiB.
    #[response(status = 413, content_type = "application/problem+json")]
    TooLarge(#[to_schema] Problem<'static>),
    /// `WEBHOOK_REPLAY_INVALID`: not exactly one of `eventId` (a UUID) and `failedSince` (an
    /// RFC 3339 time).
    #[response(status = 422, content_type = "application/problem+json")]
    Unprocessable(#[to_schema] Problem<'static>),
    /// `OPEN_API_REQUEST_LIMIT_EXCEEDED`: the API key is over its request rate (or, uploading,
    /// its account streams its most uploads at once); `Retry-After` says when to retry.
    #[response(status = 429, content_type = "application/problem+json")]
    TooManyRequests(#[to_schema] Problem<'static>),
    /// `SERVICE_UNAVAILABLE`: database, catalog or storage unreachable; `Retry-After` says when to retry.
    #[response(status = 503, content_type = "application/problem+json")]
    Unavailable(#[to_schema] Problem<'static>),
}
