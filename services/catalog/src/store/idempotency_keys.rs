//! Idempotency keys of project creation: the first completed response per (account, key) is
//! replayed; the same key with a different request is refused.
//!
//! The key's row is written first, in the transaction that then inserts the project, so two racing
//! requests with one key serialize on the row's primary key: the loser sees the winner's committed
//! row and replays it (or is refused when its request differs). Rows are kept with the project's
//! deletion too (a retry after a delete replays the original answer, it does not create again).
//!
//! A key is remembered for the configured time to live: an older row counts as absent (the key
//! creates again, whatever the sweeper has done so far) and [`sweep`] deletes such rows.

use std::time::Duration;

use assetd_proto::catalog::v1 as pb;
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::{
    db::Db,
    error::{Error, Result},
    store::{projects::NewProject, sql::foreign_key_means},
    time::now_micros,
};

/// Longest accepted idempotency key, in characters.
pub const KEY_MAX_CHARS: usize = 255;

/// Lowercase hex SHA-256 of the request's fields, in a fixed JSON shape.
pub fn request_hash(new: &NewProject) -> String {
    let canonical = serde_json::json!([
        new.title,
        new.description,
        new.editor_state_json,
        new.state_schema_version,
    ]);
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}

/// Records `key` for the project about to be created as `created`. Returns `None` when the key is
/// new or expired (the caller goes on and inserts the project in the same transaction), or the
/// first response when the key was already used by the same request within `ttl`.
pub async fn claim(
    conn: &mut sqlx::AnyConnection,
    new: &NewProject,
    key: &str,
    created: &pb::Project,
    ttl: Duration,
) -> Result<Option<pb::Project>> {
    let expired_before = created
        .created_at_unix_micros
        .saturating_sub(i64::try_from(ttl.as_micros()).unwrap_or(i64::MAX));
    let hash = request_hash(new);
    let response = serde_json::json!({
        "project_id": created.project_id,
        "title": created.title,
        "description": created.description,
        "state_schema_version": created.state_schema_version,
        "created_at": created.created_at_unix_micros,
        "updated_at": created.updated_at_unix_micros,
    });
    let inserted = sqlx::query(
        "INSERT INTO idempotency_keys (account_id, idem_key, request_hash, project_id, response, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (account_id, idem_key) DO UPDATE SET \
         request_hash = excluded.request_hash, project_id = excluded.project_id, \
         response = excluded.response, created_at = excluded.created_at \
         WHERE idempotency_keys.created_at < $7",
    )
    .bind(new.account_id.to_string())
    .bind(key)
    .bind(&hash)
    .bind(&created.project_id)
    .bind(response.to_string())
    .bind(created.created_at_unix_micros)
    .bind(expired_before)
    .execute(&mut *conn)
    .await
    .map_err(|err| foreign_key_means(err, Error::AccountNotFound(new.account_id.to_string())))?;
    if inserted.rows_affected() == 1 {
        return Ok(None);
    }
    let row = sqlx::query(
        "SELECT request_hash, response FROM idempotency_keys WHERE account_id = $1 AND idem_key = $2",
    )
    .bind(new.account_id.to_string())
    .bind(key)
    .fetch_one(&mut *conn)
    .await?;
    let stored_hash: String = row.try_get("request_hash")?;
    if stored_hash != hash {
        return Err(Error::IdempotencyKeyReused);
    }
    let stored: String = row.try_get("response")?;
    let stored: serde_json::Value = serde_json::from_str(&stored)
        .map_err(|err| Error::Database(sqlx::Error::Decode(Box::new(err))))?;
    let text = |field: &str| stored[field].as_str().map(str::to_owned);
    let micros = |field: &str| stored[field].as_i64().unwrap_or_default();
    Ok(Some(pb::Project {
        project_id: text("project_id").unwrap_or_default(),
        account_id: new.account_id.to_string(),
        title: text("title").unwrap_or_default(),
        description: text("description"),
        // Same hash, same request: the editor state is the one first stored.
        editor_state_json: new.editor_state_json.clone(),
        state_schema_version: text("state_schema_version").unwrap_or_default(),
        created_at_unix_micros: micros("created_at"),
        updated_at_unix_micros: micros("updated_at"),
    }))
}

/// Deletes the keys older than `ttl`; returns how many.
pub async fn sweep(db: &Db, ttl: Duration) -> Result<u64> {
    let expired_before =
        now_micros().saturating_sub(i64::try_from(ttl.as_micros()).unwrap_or(i64::MAX));
    let deleted = sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
        .bind(expired_before)
        .execute(db.writer())
        .await?;
    Ok(deleted.rows_affected())
}
