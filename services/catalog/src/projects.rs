//! Projects and their asset bindings: create, read, delete, bind and unbind.

use std::time::Duration;

use assetd_proto::catalog::v1 as pb;
use sqlx::{Row, any::AnyRow};
use uuid::Uuid;

use crate::{
    assets::is_foreign_key_violation,
    db::Db,
    error::{Error, Result},
    idempotency,
    time::now_micros,
};

pub(crate) const PROJECT_COLUMNS: &str = "project_id, account_id, title, description, editor_state, state_schema_version, created_at, updated_at";

pub(crate) fn from_row(row: &AnyRow) -> Result<pb::Project> {
    Ok(pb::Project {
        project_id: row.try_get("project_id")?,
        account_id: row.try_get("account_id")?,
        title: row.try_get("title")?,
        description: row.try_get("description")?,
        editor_state_json: row.try_get("editor_state")?,
        state_schema_version: row.try_get("state_schema_version")?,
        created_at_unix_micros: row.try_get("created_at")?,
        updated_at_unix_micros: row.try_get("updated_at")?,
    })
}

/// What a caller asks for when creating a project; validated by the caller's API layer.
#[derive(Debug, Clone)]
pub struct NewProject {
    pub account_id: String,
    pub title: String,
    pub description: Option<String>,
    pub editor_state_json: String,
    pub state_schema_version: String,
    /// Makes the create idempotent per account (see [`crate::idempotency`]).
    pub idempotency_key: Option<String>,
}

/// Creates a project; with an idempotency key, a key used within `idempotency_ttl` replays the
/// first response instead.
pub async fn create(db: &Db, new: NewProject, idempotency_ttl: Duration) -> Result<pb::Project> {
    if serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&new.editor_state_json)
        .is_err()
    {
        return Err(Error::InvalidArgument(
            "editor_state_json must be a JSON object".into(),
        ));
    }
    let project_id = Uuid::new_v4().to_string();
    let now = now_micros();
    let mut tx = db.writer().begin().await?;
    if let Some(key) = &new.idempotency_key {
        let created = pb::Project {
            project_id: project_id.clone(),
            account_id: new.account_id.clone(),
            title: new.title.clone(),
            description: new.description.clone(),
            editor_state_json: new.editor_state_json.clone(),
            state_schema_version: new.state_schema_version.clone(),
            created_at_unix_micros: now,
            updated_at_unix_micros: now,
        };
        if let Some(first) =
            idempotency::claim(&mut tx, &new, key, &created, idempotency_ttl).await?
        {
            return Ok(first);
        }
    }
    let row = sqlx::query(&format!(
        "INSERT INTO projects ({PROJECT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING {PROJECT_COLUMNS}"
    ))
    .bind(&project_id)
    .bind(&new.account_id)
    .bind(&new.title)
    .bind(&new.description)
    .bind(&new.editor_state_json)
    .bind(&new.state_schema_version)
    .bind(now)
    .fetch_one(&mut *tx)
    .await
    .map_err(|err| {
        if is_foreign_key_violation(&err) {
            Error::AccountNotFound(new.account_id.clone())
        } else {
            err.into()
        }
    })?;
    let project = from_row(&row)?;
    tx.commit().await?;
    Ok(project)
}

pub async fn get(db: &Db, account_id: &str, project_id: &str) -> Result<pb::Project> {
    let row = sqlx::query(&format!(
        "SELECT {PROJECT_COLUMNS} FROM projects WHERE project_id = $1 AND account_id = $2"
    ))
    .bind(project_id)
    .bind(account_id)
    .fetch_optional(db.pool())
    .await?
    .ok_or(Error::ProjectNotFound)?;
    from_row(&row)
}

/// Deletes the project; its bindings go with it (the assets stay).
pub async fn delete(db: &Db, account_id: &str, project_id: &str) -> Result<()> {
    let done = sqlx::query("DELETE FROM projects WHERE project_id = $1 AND account_id = $2")
        .bind(project_id)
        .bind(account_id)
        .execute(db.writer())
        .await?;
    if done.rows_affected() == 0 {
        return Err(Error::ProjectNotFound);
    }
    Ok(())
}

/// Binds an asset to a project of the same account; binding twice is a no-op.
pub async fn bind(db: &Db, account_id: &str, project_id: &str, asset_id: &str) -> Result<()> {
    let mut tx = db.writer().begin().await?;
    // The write comes first so SQLite takes its write lock before any read in this transaction.
    let inserted = sqlx::query(
        "INSERT INTO project_assets (project_id, asset_id, account_id, created_at) \
         SELECT p.project_id, a.asset_id, p.account_id, $4 FROM projects p JOIN assets a ON a.account_id = p.account_id \
         WHERE p.project_id = $1 AND a.asset_id = $2 AND p.account_id = $3 \
         ON CONFLICT (project_id, asset_id) DO NOTHING",
    )
    .bind(project_id)
    .bind(asset_id)
    .bind(account_id)
    .bind(now_micros())
    .execute(&mut *tx)
    .await
    .map_err(|err| if is_foreign_key_violation(&err) { Error::ProjectNotFound } else { err.into() })?;
    if inserted.rows_affected() == 0 {
        // Either already bound (fine) or one of the two is not the account's.
        if !project_exists(&mut tx, account_id, project_id).await? {
            return Err(Error::ProjectNotFound);
        }
        let asset =
            sqlx::query("SELECT 1 AS one FROM assets WHERE asset_id = $1 AND account_id = $2")
                .bind(asset_id)
                .bind(account_id)
                .fetch_optional(&mut *tx)
                .await?;
        if asset.is_none() {
            return Err(Error::AssetNotFound);
        }
    }
    tx.commit().await?;
    Ok(())
}

pub async fn unbind(db: &Db, account_id: &str, project_id: &str, asset_id: &str) -> Result<()> {
    let mut tx = db.writer().begin().await?;
    let done = sqlx::query(
        "DELETE FROM project_assets WHERE project_id = $1 AND asset_id = $2 AND account_id = $3",
    )
    .bind(project_id)
    .bind(asset_id)
    .bind(account_id)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 0 {
        let exists = project_exists(&mut tx, account_id, project_id).await?;
        return Err(if exists {
            Error::BindingNotFound
        } else {
            Error::ProjectNotFound
        });
    }
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn project_exists(
    conn: &mut sqlx::AnyConnection,
    account_id: &str,
    project_id: &str,
) -> Result<bool> {
    let row =
        sqlx::query("SELECT 1 AS one FROM projects WHERE project_id = $1 AND account_id = $2")
            .bind(project_id)
            .bind(account_id)
            .fetch_optional(conn)
            .await?;
    Ok(row.is_some())
}
