//! Webhook endpoints: creating, listing, deleting, rotating secrets, disabling and enabling; and
//! writing an event, with its deliveries, inside the transaction of the change it reports.

use assetd_proto::{
    catalog::v1 as pb,
    events::EventType,
    ids::{AccountId, DeliveryId, EventId, WebhookId},
};
use base64::Engine as _;
use prost::Message as _;
use rand::RngCore as _;
use sqlx::{AnyConnection, Row, any::AnyRow};

use crate::{
    db::Db,
    error::{Error, Result},
    store::paging::{Cursor, Page, next_cursor},
    time::now_micros,
};

pub const WEBHOOKS_PAGE_DEFAULT: u32 = 20;
pub const WEBHOOKS_PAGE_MAX: u32 = 100;
/// Longest endpoint URL, in bytes.
pub const URL_MAX_BYTES: usize = 2048;
/// Longest description, in characters.
pub const DESCRIPTION_MAX_CHARS: usize = 500;
/// Longest rotation overlap: a week.
pub const OVERLAP_MAX_SECS: u32 = 7 * 24 * 3600;

const ENDPOINT_COLUMNS: &str = "webhook_id, account_id, url, events, description, previous_until, \
     disabled_at, disabled_reason, created_at, updated_at";

/// A fresh signing secret: `whsec_` and the base64 of 32 random bytes (Standard Webhooks).
fn new_secret() -> String {
    let mut key = [0u8; 32];
    rand::rng().fill_bytes(&mut key);
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(key)
    )
}

/// An absolute `http` or `https` URL with a host and no credentials, at most 2048 bytes.
fn check_url(url: &str) -> Result<()> {
    let invalid = |why: &str| Err(Error::WebhookUrlInvalid(format!("url {why}")));
    if url.len() > URL_MAX_BYTES {
        return invalid(&format!("must be at most {URL_MAX_BYTES} bytes"));
    }
    let Ok(parsed) = url::Url::parse(url) else {
        return invalid("must be an absolute http:// or https:// URL");
    };
    if !matches!(parsed.scheme(), "http" | "https") {
        return invalid("must use http or https");
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return invalid("must name a host");
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return invalid("must not carry credentials; authenticate requests by their signature");
    }
    if parsed.fragment().is_some() {
        return invalid("must not have a fragment");
    }
    Ok(())
}

/// The stored form of an event filter: `,a,b,` (or '' for every type), each name checked.
fn events_column(events: &[String]) -> Result<String> {
    let mut names = Vec::with_capacity(events.len());
    for name in events {
        let event = EventType::parse(name).ok_or_else(|| {
            let known: Vec<&str> = EventType::ALL.iter().map(|e| e.as_str()).collect();
            Error::WebhookEventTypeInvalid(format!(
                "unknown event type {name:?}; the types are {}",
                known.join(", ")
            ))
        })?;
        if !names.contains(&event.as_str()) {
            names.push(event.as_str());
        }
    }
    Ok(if names.is_empty() {
        String::new()
    } else {
        format!(",{},", names.join(","))
    })
}

fn from_row(row: &AnyRow) -> Result<pb::Webhook> {
    let events: String = row.try_get("events")?;
    let disabled_at: Option<i64> = row.try_get("disabled_at")?;
    let previous_until: Option<i64> = row.try_get("previous_until")?;
    let now = now_micros();
    Ok(pb::Webhook {
        webhook_id: row.try_get("webhook_id")?,
        account_id: row.try_get("account_id")?,
        url: row.try_get("url")?,
        events: events
            .split(',')
            .filter(|name| !name.is_empty())
            .map(str::to_owned)
            .collect(),
        description: row.try_get("description")?,
        enabled: disabled_at.is_none(),
        disabled_reason: row
            .try_get::<Option<String>, _>("disabled_reason")?
            .unwrap_or_default(),
        secret: String::new(),
        previous_secret_until_unix_micros: previous_until.filter(|&until| until > now).unwrap_or(0),
        created_at_unix_micros: row.try_get("created_at")?,
        updated_at_unix_micros: row.try_get("updated_at")?,
    })
}

/// What a caller asks for when creating an endpoint.
#[derive(Debug, Clone)]
pub struct NewWebhook {
    pub account_id: AccountId,
    pub url: String,
    pub events: Vec<String>,
    pub description: String,
}

/// Creates an endpoint, unless the account has `per_account` already; the answer is the only
/// one that carries its secret.
pub async fn create(db: &Db, new: NewWebhook, per_account: u32) -> Result<pb::Webhook> {
    check_url(&new.url)?;
    if new.description.chars().count() > DESCRIPTION_MAX_CHARS {
        return Err(Error::InvalidArgument(format!(
            "description must be at most {DESCRIPTION_MAX_CHARS} characters"
        )));
    }
    let events = events_column(&new.events)?;
    let secret = new_secret();
    let now = now_micros();
    let mut tx = db.writer().begin().await?;
    let count: i64 = sqlx::query(
        "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM webhook_endpoints WHERE account_id = $1",
    )
    .bind(new.account_id.to_string())
    .fetch_one(&mut *tx)
    .await?
    .try_get("n")?;
    if count >= i64::from(per_account) {
        return Err(Error::WebhookLimitExceeded(per_account));
    }
    let row = sqlx::query(&format!(
        "INSERT INTO webhook_endpoints (webhook_id, account_id, url, events, description, secret, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING {ENDPOINT_COLUMNS}"
    ))
    .bind(WebhookId::new().to_string())
    .bind(new.account_id.to_string())
    .bind(&new.url)
    .bind(&events)
    .bind(&new.description)
    .bind(&secret)
    .bind(now)
    .fetch_one(&mut *tx)
    .await
    .map_err(|err| {
        crate::store::sql::foreign_key_means(
            err,
            Error::AccountNotFound(new.account_id.to_string()),
        )
    })?;
    tx.commit().await?;
    let mut webhook = from_row(&row)?;
    webhook.secret = secret;
    Ok(webhook)
}

pub async fn get(db: &Db, account_id: AccountId, webhook_id: WebhookId) -> Result<pb::Webhook> {
    let row = sqlx::query(&format!(
        "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE webhook_id = $1 AND account_id = $2"
    ))
    .bind(webhook_id.to_string())
    .bind(account_id.to_string())
    .fetch_optional(db.pool())
    .await?
    .ok_or(Error::WebhookNotFound)?;
    from_row(&row)
}

pub async fn list(
    db: &Db,
    account_id: AccountId,
    page_size: u32,
    cursor: &str,
) -> Result<Page<pb::Webhook>> {
    let after = Cursor::decode(cursor)?;
    let rows = sqlx::query(&format!(
        "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE account_id = $1 \
         AND (created_at < $2 OR (created_at = $2 AND webhook_id < $3)) \
         ORDER BY created_at DESC, webhook_id DESC LIMIT $4"
    ))
    .bind(account_id.to_string())
    .bind(after.micros)
    .bind(&after.id)
    .bind(i64::from(page_size) + 1)
    .fetch_all(db.pool())
    .await?;
    let mut items = rows.iter().map(from_row).collect::<Result<Vec<_>>>()?;
    let next_page_cursor = next_cursor(&mut items, page_size, |w| {
        Cursor::encode(w.created_at_unix_micros, &w.webhook_id)
    });
    Ok(Page {
        items,
        next_page_cursor,
    })
}

/// Deletes the endpoint; its deliveries and their log go with it (foreign keys cascade).
pub async fn delete(db: &Db, account_id: AccountId, webhook_id: WebhookId) -> Result<()> {
    let mut tx = db.writer().begin().await?;
    // Deleted explicitly, not left to the cascade: SQLite enforces foreign keys per connection.
    sqlx::query(
        "DELETE FROM webhook_attempts WHERE delivery_id IN \
         (SELECT delivery_id FROM webhook_deliveries WHERE webhook_id = $1 AND account_id = $2)",
    )
    .bind(webhook_id.to_string())
    .bind(account_id.to_string())
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM webhook_deliveries WHERE webhook_id = $1 AND account_id = $2")
        .bind(webhook_id.to_string())
        .bind(account_id.to_string())
        .execute(&mut *tx)
        .await?;
    let deleted =
        sqlx::query("DELETE FROM webhook_endpoints WHERE webhook_id = $1 AND account_id = $2")
            .bind(webhook_id.to_string())
            .bind(account_id.to_string())
            .execute(&mut *tx)
            .await?;
    if deleted.rows_affected() == 0 {
        return Err(Error::WebhookNotFound);
    }
    tx.commit().await?;
    Ok(())
}

/// A new secret; the current one keeps signing until `overlap_secs` from now.
pub async fn rotate_secret(
    db: &Db,
    account_id: AccountId,
    webhook_id: WebhookId,
    overlap_secs: u32,
) -> Result<pb::Webhook> {
    if overlap_secs > OVERLAP_MAX_SECS {
        return Err(Error::InvalidArgument(format!(
            "the overlap is at most {OVERLAP_MAX_SECS} seconds"
        )));
    }
    let secret = new_secret();
    let now = now_micros();
    let until = now + i64::from(overlap_secs) * 1_000_000;
    let row = sqlx::query(&format!(
        "UPDATE webhook_endpoints SET previous_secret = secret, previous_until = $3, secret = $4, \
         updated_at = $5 WHERE webhook_id = $1 AND account_id = $2 RETURNING {ENDPOINT_COLUMNS}"
    ))
    .bind(webhook_id.to_string())
    .bind(account_id.to_string())
    .bind(until)
    .bind(&secret)
    .bind(now)
    .fetch_optional(db.writer())
    .await?
    .ok_or(Error::WebhookNotFound)?;
    let mut webhook = from_row(&row)?;
    webhook.secret = secret;
    Ok(webhook)
}

/// Enables a disabled endpoint again; new events are sent to it from now on.
pub async fn enable(db: &Db, account_id: AccountId, webhook_id: WebhookId) -> Result<pb::Webhook> {
    let row = sqlx::query(&format!(
        "UPDATE webhook_endpoints SET disabled_at = NULL, disabled_reason = NULL, updated_at = $3 \
         WHERE webhook_id = $1 AND account_id = $2 RETURNING {ENDPOINT_COLUMNS}"
    ))
    .bind(webhook_id.to_string())
    .bind(account_id.to_string())
    .bind(now_micros())
    .fetch_optional(db.writer())
    .await?
    .ok_or(Error::WebhookNotFound)?;
    from_row(&row)
}

/// Writes `event` about `asset` with one pending delivery per enabled endpoint of the asset's
/// account that takes it, inside the caller's transaction, so the event commits with the change
/// it reports or not at all. Writes nothing when no endpoint takes it; true when it wrote.
pub(crate) async fn emit(
    conn: &mut AnyConnection,
    event: EventType,
    asset: &pb::Asset,
    now: i64,
) -> Result<bool> {
    let endpoints = sqlx::query(
        "SELECT webhook_id FROM webhook_endpoints WHERE account_id = $1 AND disabled_at IS NULL \
         AND (events = '' OR events LIKE $2)",
    )
    .bind(&asset.account_id)
    .bind(format!("%,{},%", event.as_str()))
    .fetch_all(&mut *conn)
    .await?;
    if endpoints.is_empty() {
        return Ok(false);
    }
    let event_id = EventId::new().to_string();
    let snapshot = base64::engine::general_purpose::STANDARD.encode(asset.encode_to_vec());
    sqlx::query(
        "INSERT INTO webhook_events (event_id, account_id, type, asset, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&event_id)
    .bind(&asset.account_id)
    .bind(event.as_str())
    .bind(&snapshot)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    for endpoint in &endpoints {
        let webhook_id: String = endpoint.try_get("webhook_id")?;
        sqlx::query(
            "INSERT INTO webhook_deliveries (delivery_id, event_id, webhook_id, account_id, status, \
             available_at, created_at, updated_at) VALUES ($1, $2, $3, $4, 'pending', $5, $5, $5)",
        )
        .bind(DeliveryId::new().to_string())
        .bind(&event_id)
        .bind(&webhook_id)
        .bind(&asset.account_id)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(true)
}

/// The asset an event row holds.
pub(crate) fn decode_snapshot(snapshot: &str) -> Result<pb::Asset> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(snapshot)
        .map_err(|err| Error::InvalidArgument(format!("unreadable event snapshot: {err}")))?;
    pb::Asset::decode(bytes.as_slice())
        .map_err(|err| Error::InvalidArgument(format!("unreadable event snapshot: {err}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_absolute_http_without_credentials() {
        for good in ["https://example.com/hooks", "http://127.0.0.1:8080/x?y=1"] {
            assert!(check_url(good).is_ok(), "{good}");
        }
        for bad in [
            "example.com/hooks",
            "ftp://example.com/",
            "https://user:pw@example.com/",
            "https://example.com/#frag",
            "",
        ] {
            assert!(
                matches!(check_url(bad), Err(Error::WebhookUrlInvalid(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn event_filters_are_checked_and_deduplicated() {
        assert_eq!(events_column(&[]).expect("all"), "");
        assert_eq!(
            events_column(&["asset.ready".into(), "asset.ready".into()]).expect("one"),
            ",asset.ready,"
        );
        assert!(matches!(
            events_column(&["asset.*".into()]),
            Err(Error::WebhookEventTypeInvalid(_))
        ));
    }

    #[test]
    fn secrets_are_whsec_and_32_bytes() {
        let secret = new_secret();
        let key = secret.strip_prefix("whsec_").expect("prefix");
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(key)
            .expect("base64");
        assert_eq!(bytes.len(), 32);
        assert_ne!(new_secret(), secret);
    }
}
