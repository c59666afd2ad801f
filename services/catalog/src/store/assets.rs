//! The assets table: recording uploaded objects (with their project binding), reading, deleting and probe results.

use assetd_media::Kind;
use assetd_proto::{
    catalog::v1 as pb,
    context::TraceContext,
    events::EventType,
    ids::{AccountId, AssetId, JobId, ProjectId},
};
use sqlx::{AnyConnection, Row, any::AnyRow};

use crate::{
    db::{Db, Engine},
    error::{Error, Result},
    store::{
        probe_jobs,
        sql::{self, FAILED, PENDING, READY, foreign_key_means},
        webhooks,
    },
    time::now_micros,
};

pub(crate) const ASSET_COLUMNS: &str = "asset_id, account_id, kind, source, filename, mimetype, size, file_key, sha256, \
     probe_status, probe_error, width, height, duration, created_at, updated_at";

/// What an upload stored, ready to become an asset row.
#[derive(Debug, Clone)]
pub struct NewAsset {
    pub account_id: AccountId,
    pub asset_id: AssetId,
    pub kind: pb::AssetKind,
    pub source: String,
    pub filename: String,
    pub mimetype: String,
    pub size: u64,
    pub file_key: String,
    pub sha256: String,
    pub project_id: Option<ProjectId>,
    /// Correlates the probe job's logs with the upload's.
    pub request_id: String,
    /// The trace the probe job continues.
    pub trace: TraceContext,
}

fn kind_to_sql(kind: pb::AssetKind) -> Result<&'static str> {
    kind.media_kind()
        .map(Kind::as_str)
        .ok_or_else(|| Error::InvalidArgument("the asset kind is required".into()))
}

fn kind_from_sql(kind: &str) -> pb::AssetKind {
    Kind::parse(kind).map_or(pb::AssetKind::Unspecified, pb::AssetKind::from)
}

fn dimension(row: &AnyRow, column: &str) -> Result<Option<u32>> {
    let value: Option<i64> = row.try_get(column)?;
    Ok(value.and_then(|v| u32::try_from(v).ok()))
}

pub(crate) fn from_row(row: &AnyRow) -> Result<pb::Asset> {
    let kind: String = row.try_get("kind")?;
    let status: String = row.try_get("probe_status")?;
    let size: i64 = row.try_get("size")?;
    let mut asset = pb::Asset {
        asset_id: row.try_get("asset_id")?,
        account_id: row.try_get("account_id")?,
        kind: 0,
        source: row.try_get("source")?,
        filename: row.try_get("filename")?,
        mimetype: row.try_get("mimetype")?,
        size: u64::try_from(size).unwrap_or(0),
        file_key: row.try_get("file_key")?,
        sha256: row.try_get("sha256")?,
        probe_status: 0,
        width: dimension(row, "width")?,
        height: dimension(row, "height")?,
        duration: row.try_get("duration")?,
        probe_error: row.try_get("probe_error")?,
        created_at_unix_micros: row.try_get("created_at")?,
        updated_at_unix_micros: row.try_get("updated_at")?,
    };
    asset.set_kind(kind_from_sql(&kind));
    asset.set_probe_status(pb::ProbeStatus::from_name(&status));
    Ok(asset)
}

/// Inserts the asset and, when a project is named, its binding, in one transaction. The project
/// must be a project of the same account, else nothing is written and the answer is
/// [`Error::ProjectNotFound`].
pub async fn create(db: &Db, new: NewAsset) -> Result<pb::Asset> {
    let mut tx = db.writer().begin().await?;
    let asset = insert(&mut tx, new, now_micros()).await?;
    tx.commit().await?;
    Ok(asset)
}

/// [`create`]'s statements, inside the caller's transaction (a resumable upload's completion
/// records the asset in the transaction that marks the upload complete).
pub(crate) async fn insert(tx: &mut AnyConnection, new: NewAsset, now: i64) -> Result<pb::Asset> {
    let kind = kind_to_sql(new.kind)?;
    let size =
        i64::try_from(new.size).map_err(|_| Error::InvalidArgument("size out of range".into()))?;
    let inserted = sqlx::query(&format!(
        "INSERT INTO assets (asset_id, account_id, kind, source, filename, mimetype, size, file_key, sha256, \
         probe_status, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, '{PENDING}', $10, $10) ON CONFLICT DO NOTHING \
         RETURNING {ASSET_COLUMNS}"
    ))
    .bind(new.asset_id.to_string())
    .bind(new.account_id.to_string())
    .bind(kind)
    .bind(&new.source)
    .bind(&new.filename)
    .bind(&new.mimetype)
    .bind(size)
    .bind(&new.file_key)
    .bind(&new.sha256)
    .bind(now)
    .fetch_optional(&mut *tx)
    .await
    .map_err(|err| foreign_key_means(err, Error::AccountNotFound(new.account_id.to_string())))?;
    let asset = from_row(&inserted.ok_or(Error::AssetExists)?)?;
    if let Some(project_id) = &new.project_id {
        // Written as INSERT ... SELECT so the project's ownership is checked by the same statement
        // that takes the write lock; a project deleted meanwhile trips the foreign key instead.
        let bound = sqlx::query(
            "INSERT INTO project_assets (project_id, asset_id, account_id, created_at) \
             SELECT project_id, $2, account_id, $3 FROM projects WHERE project_id = $1 AND account_id = $4",
        )
        .bind(project_id.to_string())
        .bind(new.asset_id.to_string())
        .bind(now)
        .bind(new.account_id.to_string())
        .execute(&mut *tx)
        .await
        .map_err(|err| foreign_key_means(err, Error::ProjectNotFound))?;
        if bound.rows_affected() == 0 {
            return Err(Error::ProjectNotFound);
        }
    }
    // The probe job commits with the asset or not at all: no asset is ever left unprobed.
    probe_jobs::enqueue(tx, new.asset_id, &new.request_id, &new.trace, now).await?;
    // So does its `asset.created` event.
    webhooks::emit(tx, EventType::AssetCreated, &asset, now).await?;
    Ok(asset)
}

pub async fn get(db: &Db, account_id: AccountId, asset_id: AssetId) -> Result<pb::Asset> {
    let row = sqlx::query(&format!(
        "SELECT {ASSET_COLUMNS} FROM assets WHERE asset_id = $1 AND account_id = $2"
    ))
    .bind(asset_id.to_string())
    .bind(account_id.to_string())
    .fetch_optional(db.pool())
    .await?
    .ok_or(Error::AssetNotFound)?;
    from_row(&row)
}

/// An asset whatever its account, for the prober.
pub async fn get_for_probe(db: &Db, asset_id: AssetId) -> Result<pb::Asset> {
    let row = sqlx::query(&format!(
        "SELECT {ASSET_COLUMNS} FROM assets WHERE asset_id = $1"
    ))
    .bind(asset_id.to_string())
    .fetch_optional(db.pool())
    .await?
    .ok_or(Error::AssetNotFound)?;
    from_row(&row)
}

/// Deletes the asset row and its pending probe jobs, writes its `asset.deleted` event, and
/// returns its storage key (the caller removes the object); refused while any project binds it.
pub async fn delete(db: &Db, account_id: AccountId, asset_id: AssetId) -> Result<String> {
    let mut tx = db.writer().begin().await?;
    let deleted = sqlx::query(&format!(
        "DELETE FROM assets WHERE asset_id = $1 AND account_id = $2 \
         AND NOT EXISTS (SELECT 1 FROM project_assets WHERE asset_id = $1) RETURNING {ASSET_COLUMNS}"
    ))
    .bind(asset_id.to_string())
    .bind(account_id.to_string())
    .fetch_optional(&mut *tx)
    .await
    .map_err(|err| foreign_key_means(err, Error::AssetReferenced))?;
    let asset = match deleted {
        Some(row) => from_row(&row)?,
        None => {
            let exists =
                sqlx::query("SELECT 1 AS one FROM assets WHERE asset_id = $1 AND account_id = $2")
                    .bind(asset_id.to_string())
                    .bind(account_id.to_string())
                    .fetch_optional(&mut *tx)
                    .await?;
            return Err(if exists.is_some() {
                Error::AssetReferenced
            } else {
                Error::AssetNotFound
            });
        }
    };
    // Nothing is left to probe: the outbox rows go with the asset, in the same transaction.
    sqlx::query("DELETE FROM probe_jobs WHERE asset_id = $1")
        .bind(asset_id.to_string())
        .execute(&mut *tx)
        .await?;
    webhooks::emit(&mut tx, EventType::AssetDeleted, &asset, now_micros()).await?;
    // Watches of the asset end (with NOT_FOUND) on every replica.
    notify_watchers(db, &mut tx, asset_id).await?;
    tx.commit().await?;
    Ok(asset.file_key)
}

/// On Postgres, tells every catalog replica's `WatchAsset` listeners that the asset changed; the
/// notification is delivered at commit. (Watchers on this replica are told directly too.)
async fn notify_watchers(db: &Db, conn: &mut sqlx::AnyConnection, asset_id: AssetId) -> Result<()> {
    if db.engine() == Engine::Postgres {
        // Cast because the Any driver cannot decode `void`.
        sqlx::query("SELECT CAST(pg_notify($1, $2) AS TEXT) AS notified")
            .bind(crate::watch::CHANNEL)
            .bind(asset_id.to_string())
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// What the prober found out about an asset.
#[derive(Debug, Clone, PartialEq)]
pub enum ProbeOutcome {
    Ready {
        width: Option<u32>,
        height: Option<u32>,
        duration: Option<f64>,
    },
    Failed {
        reason: String,
    },
}

/// Stores a probe outcome and, when given, removes the embedded-queue job that asked for it, in
/// one transaction. Recording the same outcome twice leaves the same row.
pub async fn record_probe(
    db: &Db,
    asset_id: AssetId,
    outcome: &ProbeOutcome,
    finished_job: Option<JobId>,
) -> Result<pb::Asset> {
    let now = now_micros();
    let ready_sql = format!(
        "UPDATE assets SET probe_status = '{READY}', probe_error = NULL, width = $2, height = $3, \
         duration = CASE WHEN $6 = 1 THEN $4 ELSE NULL END, updated_at = $5 WHERE asset_id = $1 \
         RETURNING {ASSET_COLUMNS}"
    );
    let failed_sql = format!(
        "UPDATE assets SET probe_status = '{FAILED}', probe_error = $2, width = NULL, height = NULL, \
         duration = NULL, updated_at = $3 WHERE asset_id = $1 RETURNING {ASSET_COLUMNS}"
    );
    let query = match outcome {
        // The duration is bound as a number with a flag for "none" (see `sql`: no NULL f64).
        ProbeOutcome::Ready {
            width,
            height,
            duration,
        } => sqlx::query(&ready_sql)
            .bind(asset_id.to_string())
            .bind(width.map(i64::from))
            .bind(height.map(i64::from))
            .bind(duration.unwrap_or(0.0))
            .bind(now)
            .bind(sql::flag(duration.is_some())),
        ProbeOutcome::Failed { reason } => sqlx::query(&failed_sql)
            .bind(asset_id.to_string())
            .bind(reason)
            .bind(now),
    };
    let mut tx = db.writer().begin().await?;
    // The status before, read under the row's lock (Postgres; SQLite has one writer): an event
    // is written when the status changes, not when a redelivered job records it again.
    let lock = if db.engine() == Engine::Postgres {
        " FOR UPDATE"
    } else {
        ""
    };
    let before: Option<String> = sqlx::query(&format!(
        "SELECT probe_status FROM assets WHERE asset_id = $1{lock}"
    ))
    .bind(asset_id.to_string())
    .fetch_optional(&mut *tx)
    .await?
    .map(|row| row.try_get("probe_status"))
    .transpose()?;
    let row = query
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(Error::AssetNotFound)?;
    let asset = from_row(&row)?;
    let event = match outcome {
        ProbeOutcome::Ready { .. } => EventType::AssetReady,
        ProbeOutcome::Failed { .. } => EventType::AssetProbeFailed,
    };
    if before.as_deref() != Some(asset.probe_status().name()) {
        webhooks::emit(&mut tx, event, &asset, now).await?;
    }
    if let Some(job_id) = finished_job {
        sqlx::query("DELETE FROM probe_jobs WHERE job_id = $1")
            .bind(job_id.to_string())
            .execute(&mut *tx)
            .await?;
    }
    notify_watchers(db, &mut tx, asset_id).await?;
    tx.commit().await?;
    Ok(asset)
}
