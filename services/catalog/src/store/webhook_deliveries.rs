//! Webhook deliveries: the notifier's outbox (claimed with a lease, settled per attempt), the
//! per-endpoint delivery log, and replays.

use assetd_proto::{
    catalog::v1::{self as pb, record_webhook_attempt_request::Outcome},
    ids::{AccountId, DeliveryId, EventId, WebhookId},
};
use sqlx::Row;

use crate::{
    db::Db,
    error::{Error, Result},
    store::{
        paging::{Cursor, Page, next_cursor},
        sql::placeholders,
        webhooks::decode_snapshot,
    },
    time::now_micros,
};

pub const DELIVERIES_PAGE_DEFAULT: u32 = 20;
pub const DELIVERIES_PAGE_MAX: u32 = 100;
const MICROS_PER_SEC: i64 = 1_000_000;

pub const PENDING: &str = "pending";
pub const SUCCEEDED: &str = "succeeded";
pub const FAILED: &str = "failed";

/// Leases up to `max` due pending deliveries for `lease_secs` and returns what sending them
/// takes. A delivery not settled by the end of its lease is due again (a notifier that died, or
/// a RabbitMQ message never handled), so none is lost; it may be sent twice (at-least-once).
pub async fn claim(db: &Db, max: u32, lease_secs: u32) -> Result<Vec<pb::WebhookDispatch>> {
    let now = now_micros();
    let until = now.saturating_add(i64::from(lease_secs.max(1)) * MICROS_PER_SEC);
    let rows = sqlx::query(
        "UPDATE webhook_deliveries SET available_at = $1 \
         WHERE delivery_id IN (SELECT delivery_id FROM webhook_deliveries \
           WHERE status = 'pending' AND available_at <= $2 ORDER BY available_at LIMIT $3) \
         AND status = 'pending' AND available_at <= $2 RETURNING delivery_id",
    )
    .bind(until)
    .bind(now)
    .bind(i64::from(max.clamp(1, 1000)))
    .fetch_all(db.writer())
    .await?;
    let ids = rows
        .iter()
        .map(|row| row.try_get::<String, _>("delivery_id"))
        .collect::<sqlx::Result<Vec<_>>>()?;
    dispatches(db, &ids).await
}

/// Gives claimed deliveries back at once (the relay's unpublished rest).
pub async fn release(db: &Db, delivery_ids: &[&str]) -> Result<()> {
    let now = now_micros();
    for chunk in delivery_ids.chunks(500) {
        let sql = format!(
            "UPDATE webhook_deliveries SET available_at = $1 WHERE status = 'pending' AND delivery_id IN ({})",
            placeholders(2, chunk.len())
        );
        let mut query = sqlx::query(&sql).bind(now);
        for id in chunk {
            query = query.bind(*id);
        }
        query.execute(db.writer()).await?;
    }
    Ok(())
}

/// One pending delivery's dispatch (a RabbitMQ message names it); `WebhookEventNotFound` once
/// it is settled or its endpoint is gone.
pub async fn dispatch(db: &Db, delivery_id: DeliveryId) -> Result<pb::WebhookDispatch> {
    dispatches(db, &[delivery_id.to_string()])
        .await?
        .pop()
        .ok_or(Error::WebhookEventNotFound)
}

async fn dispatches(db: &Db, ids: &[String]) -> Result<Vec<pb::WebhookDispatch>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let now = now_micros();
    let sql = format!(
        "SELECT d.delivery_id, d.webhook_id, d.event_id, d.round_attempts, e.type, e.asset, \
         e.created_at AS event_at, w.url, w.secret, w.previous_secret, \
         CAST(COALESCE(w.previous_until, 0) AS BIGINT) AS previous_until \
         FROM webhook_deliveries d \
         JOIN webhook_events e ON e.event_id = d.event_id \
         JOIN webhook_endpoints w ON w.webhook_id = d.webhook_id \
         WHERE d.status = 'pending' AND w.disabled_at IS NULL AND d.delivery_id IN ({})",
        placeholders(1, ids.len())
    );
    let mut query = sqlx::query(&sql);
    for id in ids {
        query = query.bind(id);
    }
    let rows = query.fetch_all(db.writer()).await?;
    rows.iter()
        .map(|row| {
            let mut secrets = vec![row.try_get::<String, _>("secret")?];
            let previous_until: i64 = row.try_get("previous_until")?;
            if previous_until > now
                && let Some(previous) = row.try_get::<Option<String>, _>("previous_secret")?
            {
                secrets.push(previous);
            }
            let round_attempts: i64 = row.try_get("round_attempts")?;
            let snapshot: String = row.try_get("asset")?;
            Ok(pb::WebhookDispatch {
                delivery_id: row.try_get("delivery_id")?,
                webhook_id: row.try_get("webhook_id")?,
                event_id: row.try_get("event_id")?,
                event_type: row.try_get("type")?,
                event_at_unix_micros: row.try_get("event_at")?,
                asset: Some(decode_snapshot(&snapshot)?),
                url: row.try_get("url")?,
                secrets,
                round_attempt: u32::try_from(round_attempts.saturating_add(1)).unwrap_or(u32::MAX),
            })
        })
        .collect()
}

/// Logs one attempt and settles the delivery by `outcome`. A delivery already settled (sent
/// twice after a lease ran out) only gets the attempt logged. `Gone` also disables the endpoint
/// and fails its other pending deliveries.
pub async fn record_attempt(
    db: &Db,
    delivery_id: DeliveryId,
    attempt: &pb::WebhookAttempt,
    outcome: Outcome,
    retry_at: i64,
) -> Result<()> {
    let now = now_micros();
    let (status, available_at) = match outcome {
        Outcome::Succeeded => (SUCCEEDED, now),
        Outcome::Retry => (PENDING, retry_at.max(now)),
        Outcome::Failed | Outcome::Gone => (FAILED, now),
        Outcome::Unspecified => {
            return Err(Error::InvalidArgument("outcome is required".into()));
        }
    };
    let mut tx = db.writer().begin().await?;
    let row = sqlx::query(
        "UPDATE webhook_deliveries SET attempts = attempts + 1, \
         round_attempts = CASE WHEN status = 'pending' THEN round_attempts + 1 ELSE round_attempts END, \
         status = CASE WHEN status = 'pending' THEN $2 ELSE status END, \
         available_at = CASE WHEN status = 'pending' THEN $3 ELSE available_at END, \
         last_status = $4, last_error = $5, updated_at = $6 \
         WHERE delivery_id = $1 RETURNING attempts, webhook_id",
    )
    .bind(delivery_id.to_string())
    .bind(status)
    .bind(available_at)
    .bind(i64::from(attempt.status_code))
    .bind(&attempt.error)
    .bind(now)
    .fetch_optional(&mut *tx)
    .await?;
    // The endpoint was deleted meanwhile: there is nothing left to log against.
    let Some(row) = row else {
        return Ok(());
    };
    let number: i64 = row.try_get("attempts")?;
    let webhook_id: String = row.try_get("webhook_id")?;
    sqlx::query(
        "INSERT INTO webhook_attempts (delivery_id, attempt, started_at, status_code, latency_micros, error) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
    )
    .bind(delivery_id.to_string())
    .bind(number)
    .bind(attempt.started_at_unix_micros)
    .bind(i64::from(attempt.status_code))
    .bind(i64::try_from(attempt.latency_micros).unwrap_or(i64::MAX))
    .bind(&attempt.error)
    .execute(&mut *tx)
    .await?;
    if outcome == Outcome::Gone {
        sqlx::query(
            "UPDATE webhook_endpoints SET disabled_at = $2, \
             disabled_reason = 'the endpoint answered 410 Gone', updated_at = $2 \
             WHERE webhook_id = $1 AND disabled_at IS NULL",
        )
        .bind(&webhook_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE webhook_deliveries SET status = 'failed', \
             last_error = 'not sent: the endpoint is disabled', updated_at = $2 \
             WHERE webhook_id = $1 AND status = 'pending'",
        )
        .bind(&webhook_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Whether the account's endpoint is enabled; `WebhookNotFound` when it has no such endpoint.
async fn check_endpoint(db: &Db, account_id: AccountId, webhook_id: WebhookId) -> Result<bool> {
    let row = sqlx::query(
        "SELECT CAST(CASE WHEN disabled_at IS NULL THEN 1 ELSE 0 END AS BIGINT) AS enabled \
         FROM webhook_endpoints WHERE webhook_id = $1 AND account_id = $2",
    )
    .bind(webhook_id.to_string())
    .bind(account_id.to_string())
    .fetch_optional(db.pool())
    .await?
    .ok_or(Error::WebhookNotFound)?;
    Ok(row.try_get::<i64, _>("enabled")? == 1)
}

/// The endpoint's deliveries, newest first, each with its attempts (oldest first).
pub async fn list(
    db: &Db,
    account_id: AccountId,
    webhook_id: WebhookId,
    status: &str,
    page_size: u32,
    cursor: &str,
) -> Result<Page<pb::WebhookDelivery>> {
    if !matches!(status, "" | PENDING | SUCCEEDED | FAILED) {
        return Err(Error::InvalidArgument(format!(
            "status must be {PENDING}, {SUCCEEDED} or {FAILED}"
        )));
    }
    check_endpoint(db, account_id, webhook_id).await?;
    let after = Cursor::decode(cursor)?;
    let rows = sqlx::query(
        "SELECT d.delivery_id, d.webhook_id, d.event_id, e.type, d.status, d.attempts, d.available_at, \
         d.created_at, d.updated_at FROM webhook_deliveries d JOIN webhook_events e ON e.event_id = d.event_id \
         WHERE d.webhook_id = $1 AND d.account_id = $2 AND ($3 = '' OR d.status = $3) \
         AND (d.created_at < $4 OR (d.created_at = $4 AND d.delivery_id < $5)) \
         ORDER BY d.created_at DESC, d.delivery_id DESC LIMIT $6",
    )
    .bind(webhook_id.to_string())
    .bind(account_id.to_string())
    .bind(status)
    .bind(after.micros)
    .bind(&after.id)
    .bind(i64::from(page_size) + 1)
    .fetch_all(db.pool())
    .await?;
    let mut items = rows
        .iter()
        .map(|row| {
            let status: String = row.try_get("status")?;
            let attempts: i64 = row.try_get("attempts")?;
            let available_at: i64 = row.try_get("available_at")?;
            Ok(pb::WebhookDelivery {
                delivery_id: row.try_get("delivery_id")?,
                webhook_id: row.try_get("webhook_id")?,
                event_id: row.try_get("event_id")?,
                event_type: row.try_get("type")?,
                next_attempt_at_unix_micros: if status == PENDING { available_at } else { 0 },
                status,
                attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
                created_at_unix_micros: row.try_get("created_at")?,
                updated_at_unix_micros: row.try_get("updated_at")?,
                attempt_log: Vec::new(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let next_page_cursor = next_cursor(&mut items, page_size, |d| {
        Cursor::encode(d.created_at_unix_micros, &d.delivery_id)
    });
    if !items.is_empty() {
        let sql = format!(
            "SELECT delivery_id, attempt, started_at, status_code, latency_micros, error \
             FROM webhook_attempts WHERE delivery_id IN ({}) ORDER BY delivery_id, attempt",
            placeholders(1, items.len())
        );
        let mut query = sqlx::query(&sql);
        for item in &items {
            query = query.bind(&item.delivery_id);
        }
        for row in query.fetch_all(db.pool()).await? {
            let delivery_id: String = row.try_get("delivery_id")?;
            let (attempt, status_code, latency): (i64, i64, i64) = (
                row.try_get("attempt")?,
                row.try_get("status_code")?,
                row.try_get("latency_micros")?,
            );
            if let Some(item) = items.iter_mut().find(|d| d.delivery_id == delivery_id) {
                item.attempt_log.push(pb::WebhookAttempt {
                    attempt: u32::try_from(attempt).unwrap_or(0),
                    started_at_unix_micros: row.try_get("started_at")?,
                    status_code: u32::try_from(status_code).unwrap_or(0),
                    latency_micros: u64::try_from(latency).unwrap_or(0),
                    error: row.try_get("error")?,
                });
            }
        }
    }
    Ok(Page {
        items,
        next_page_cursor,
    })
}

/// What to send again.
#[derive(Debug, Clone, Copy)]
pub enum Replay {
    /// One event (delivered or not), to this endpoint.
    Event(EventId),
    /// Every delivery to this endpoint that failed and was created at or after this time.
    FailedSince(i64),
}

/// Makes the chosen deliveries pending again, due now, with a fresh retry schedule; the
/// `webhook-id` stays the event's. Returns how many were queued.
pub async fn replay(
    db: &Db,
    account_id: AccountId,
    webhook_id: WebhookId,
    what: Replay,
) -> Result<u64> {
    if !check_endpoint(db, account_id, webhook_id).await? {
        return Err(Error::WebhookDisabled);
    }
    let now = now_micros();
    let reset = "UPDATE webhook_deliveries SET status = 'pending', round_attempts = 0, \
                 available_at = $3, updated_at = $3, last_error = NULL \
                 WHERE webhook_id = $1 AND account_id = $2";
    match what {
        Replay::Event(event_id) => {
            let row = sqlx::query(
                "SELECT status FROM webhook_deliveries WHERE webhook_id = $1 AND account_id = $2 AND event_id = $3",
            )
            .bind(webhook_id.to_string())
            .bind(account_id.to_string())
            .bind(event_id.to_string())
            .fetch_optional(db.pool())
            .await?
            .ok_or(Error::WebhookEventNotFound)?;
            if row.try_get::<String, _>("status")? == PENDING {
                // Already on its way.
                return Ok(0);
            }
            let done = sqlx::query(&format!(
                "{reset} AND event_id = $4 AND status <> 'pending'"
            ))
            .bind(webhook_id.to_string())
            .bind(account_id.to_string())
            .bind(now)
            .bind(event_id.to_string())
            .execute(db.writer())
            .await?;
            Ok(done.rows_affected())
        }
        Replay::FailedSince(since) => {
            let done = sqlx::query(&format!(
                "{reset} AND status = 'failed' AND created_at >= $4"
            ))
            .bind(webhook_id.to_string())
            .bind(account_id.to_string())
            .bind(now)
            .bind(since)
            .execute(db.writer())
            .await?;
            Ok(done.rows_affected())
        }
    }
}

/// Deletes settled deliveries last changed before `before` (Unix microseconds) with their
/// attempts, and the events no delivery refers to any more; returns the deliveries deleted.
pub async fn sweep(db: &Db, before: i64) -> Result<u64> {
    let mut tx = db.writer().begin().await?;
    sqlx::query(
        "DELETE FROM webhook_attempts WHERE delivery_id IN (SELECT delivery_id FROM webhook_deliveries \
         WHERE status <> 'pending' AND updated_at < $1)",
    )
    .bind(before)
    .execute(&mut *tx)
    .await?;
    let deleted =
        sqlx::query("DELETE FROM webhook_deliveries WHERE status <> 'pending' AND updated_at < $1")
            .bind(before)
            .execute(&mut *tx)
            .await?
            .rows_affected();
    sqlx::query(
        "DELETE FROM webhook_events WHERE created_at < $1 AND NOT EXISTS \
         (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = webhook_events.event_id)",
    )
    .bind(before)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(deleted)
}

/// Pending deliveries and how long the oldest due one has waited, for metrics.
pub async fn backlog(db: &Db) -> Result<(i64, std::time::Duration)> {
    let now = now_micros();
    let row = sqlx::query(
        "SELECT CAST(COUNT(*) AS BIGINT) AS n, CAST(COALESCE(MIN(available_at), 0) AS BIGINT) AS oldest \
         FROM webhook_deliveries WHERE status = 'pending'",
    )
    .fetch_one(db.pool())
    .await?;
    let (count, oldest): (i64, i64) = (row.try_get("n")?, row.try_get("oldest")?);
    let waited = if count == 0 {
        0
    } else {
        now.saturating_sub(oldest).max(0)
    };
    Ok((
        count,
        std::time::Duration::from_micros(u64::try_from(waited).unwrap_or(0)),
    ))
}
