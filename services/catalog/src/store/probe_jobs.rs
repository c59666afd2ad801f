//! The probe outbox: jobs written with their asset, claimed with a lease, retried with a delay, removed when done.

use assetd_proto::{
    catalog::v1 as pb,
    context::TraceContext,
    ids::{AssetId, JobId},
};
use sqlx::{AnyConnection, Row};

use crate::{
    db::Db,
    error::{Error, Result},
    store::sql::{FAILED, PENDING, id_column, placeholders},
    time::now_micros,
};

const MICROS_PER_SEC: i64 = 1_000_000;

/// Queues a probe of `asset_id` inside the caller's transaction; the job keeps the request id and
/// trace context of the work that queued it.
pub async fn enqueue(
    conn: &mut AnyConnection,
    asset_id: AssetId,
    request_id: &str,
    trace: &TraceContext,
    now: i64,
) -> Result<String> {
    let job_id = JobId::new().to_string();
    sqlx::query(
        "INSERT INTO probe_jobs \
         (job_id, asset_id, attempts, available_at, request_id, traceparent, tracestate, created_at) \
         VALUES ($1, $2, 0, $3, $4, $5, $6, $3)",
    )
    .bind(&job_id)
    .bind(asset_id.to_string())
    .bind(now)
    .bind(request_id)
    .bind(&trace.traceparent)
    .bind(&trace.tracestate)
    .execute(conn)
    .await?;
    Ok(job_id)
}

/// The columns a claim hands out.
const CLAIMED: &str = "job_id, asset_id, attempts, request_id, traceparent, tracestate";

/// The embedded queue's claim: up to `max` due jobs for `lease_secs`, each claim counting as a
/// delivery (`attempts`). They are due again when the lease ends unless finished or retried
/// first. Safe with several claimers: a row goes to one of them.
pub async fn claim(db: &Db, max: u32, lease_secs: u32) -> Result<Vec<pb::ProbeJob>> {
    lease(db, max, lease_secs, "attempts = attempts + 1").await
}

/// The relay's claim: like [`claim`] but not a delivery (the broker counts those), so `attempts`
/// and `last_error` stay the embedded queue's.
pub async fn claim_for_publish(db: &Db, max: u32, lease_secs: u32) -> Result<Vec<pb::ProbeJob>> {
    lease(db, max, lease_secs, "attempts = attempts").await
}

async fn lease(db: &Db, max: u32, lease_secs: u32, attempts: &str) -> Result<Vec<pb::ProbeJob>> {
    let now = now_micros();
    let until = now.saturating_add(i64::from(lease_secs.max(1)) * MICROS_PER_SEC);
    let rows = sqlx::query(&format!(
        "UPDATE probe_jobs SET available_at = $1, {attempts} \
         WHERE job_id IN (SELECT job_id FROM probe_jobs WHERE available_at <= $2 ORDER BY available_at LIMIT $3) \
         AND available_at <= $2 \
         RETURNING {CLAIMED}"
    ))
    .bind(until)
    .bind(now)
    .bind(i64::from(max.clamp(1, 1000)))
    .fetch_all(db.writer())
    .await?;
    rows.iter()
        .map(|row| {
            let attempts: i64 = row.try_get("attempts")?;
            Ok(pb::ProbeJob {
                job_id: row.try_get("job_id")?,
                asset_id: row.try_get("asset_id")?,
                attempt: u32::try_from(attempts).unwrap_or(u32::MAX),
                request_id: row.try_get("request_id")?,
                traceparent: row.try_get("traceparent")?,
                tracestate: row.try_get("tracestate")?,
            })
        })
        .collect()
}

/// Removes a job; finishing a job twice is harmless.
pub async fn finish(db: &Db, job_id: JobId) -> Result<()> {
    finish_many(db, &[&job_id.to_string()]).await
}

/// Removes jobs in one statement (the relay's confirmed batch); absent ones are skipped.
pub async fn finish_many(db: &Db, job_ids: &[&str]) -> Result<()> {
    for chunk in job_ids.chunks(500) {
        let sql = format!(
            "DELETE FROM probe_jobs WHERE job_id IN ({})",
            placeholders(1, chunk.len())
        );
        let mut query = sqlx::query(&sql);
        for job_id in chunk {
            query = query.bind(*job_id);
        }
        query.execute(db.writer()).await?;
    }
    Ok(())
}

/// Gives claimed jobs back at once instead of at the end of their lease (the relay's unpublished rest).
pub async fn release(db: &Db, job_ids: &[&str]) -> Result<()> {
    let now = now_micros();
    for chunk in job_ids.chunks(500) {
        let sql = format!(
            "UPDATE probe_jobs SET available_at = $1 WHERE job_id IN ({})",
            placeholders(2, chunk.len())
        );
        let mut query = sqlx::query(&sql).bind(now);
        for job_id in chunk {
            query = query.bind(*job_id);
        }
        query.execute(db.writer()).await?;
    }
    Ok(())
}

/// Makes a claimed job of the embedded queue due again after `delay_secs`, remembering why.
pub async fn retry(db: &Db, job_id: JobId, delay_secs: u32, error: &str) -> Result<()> {
    let due = now_micros().saturating_add(i64::from(delay_secs) * MICROS_PER_SEC);
    sqlx::query("UPDATE probe_jobs SET available_at = $2, last_error = $3 WHERE job_id = $1")
        .bind(job_id.to_string())
        .bind(due)
        .bind(error)
        .execute(db.writer())
        .await?;
    Ok(())
}

/// Jobs waiting in the outbox and how long the oldest has waited, for metrics.
pub async fn backlog(db: &Db) -> Result<(i64, std::time::Duration)> {
    let row = sqlx::query(
        "SELECT CAST(COUNT(*) AS BIGINT) AS n, CAST(COALESCE(MIN(created_at), 0) AS BIGINT) AS oldest FROM probe_jobs",
    )
    .fetch_one(db.pool())
    .await?;
    let (count, oldest): (i64, i64) = (row.try_get("n")?, row.try_get("oldest")?);
    let age_micros = if count == 0 {
        0
    } else {
        now_micros().saturating_sub(oldest).max(0)
    };
    Ok((
        count,
        std::time::Duration::from_micros(u64::try_from(age_micros).unwrap_or(0)),
    ))
}

/// Resets one asset to `pending` and queues a new probe.
pub async fn reprobe_asset(db: &Db, asset_id: AssetId) -> Result<u64> {
    let now = now_micros();
    let mut tx = db.writer().begin().await?;
    let reset = sqlx::query(&format!(
        "UPDATE assets SET probe_status = '{PENDING}', probe_error = NULL, width = NULL, height = NULL, \
         duration = NULL, updated_at = $2 WHERE asset_id = $1",
    ))
    .bind(asset_id.to_string())
    .bind(now)
    .execute(&mut *tx)
    .await?;
    if reset.rows_affected() == 0 {
        return Err(Error::AssetNotFound);
    }
    enqueue(&mut tx, asset_id, "", &TraceContext::current(), now).await?;
    tx.commit().await?;
    Ok(1)
}

/// Resets every failed asset to `pending` and queues a new probe for each.
pub async fn reprobe_failed(db: &Db) -> Result<u64> {
    let now = now_micros();
    let mut tx = db.writer().begin().await?;
    let failed = sqlx::query(&format!(
        "UPDATE assets SET probe_status = '{PENDING}', probe_error = NULL, updated_at = $1 \
         WHERE probe_status = '{FAILED}' RETURNING asset_id",
    ))
    .bind(now)
    .fetch_all(&mut *tx)
    .await?;
    let trace = TraceContext::current();
    for row in &failed {
        let asset_id = id_column(row, "asset_id")?;
        enqueue(&mut tx, asset_id, "", &trace, now).await?;
    }
    tx.commit().await?;
    Ok(failed.len() as u64)
}
