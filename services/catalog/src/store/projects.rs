//! The `projects` table: create (idempotent with a key), read, list, update and delete.

use std::time::Duration;

use assetd_proto::{
    catalog::v1 as pb,
    ids::{AccountId, ProjectId},
};
use sqlx::{Row, any::AnyRow};

use crate::{
    db::Db,
    error::{Error, Result},
    store::{
        idempotency_keys,
        paging::{Cursor, Page, next_cursor},
        sql::{self, Change, foreign_key_means},
    },
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
    pub account_id: AccountId,
    pub title: String,
    pub description: Option<String>,
    pub editor_state_json: String,
    pub state_schema_version: String,
    /// Makes the create idempotent per account (see [`idempotency_keys`]).
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
    let project_id = ProjectId::new().to_string();
    let now = now_micros();
    let mut tx = db.writer().begin().await?;
    if let Some(key) = &new.idempotency_key {
        let created = pb::Project {
            project_id: project_id.clone(),
            account_id: new.account_id.to_string(),
            title: new.title.clone(),
            description: new.description.clone(),
            editor_state_json: new.editor_state_json.clone(),
            state_schema_version: new.state_schema_version.clone(),
            created_at_unix_micros: now,
            updated_at_unix_micros: now,
        };
        if let Some(first) =
            idempotency_keys::claim(&mut tx, &new, key, &created, idempotency_ttl).await?
        {
            return Ok(first);
        }
    }
    let row = sqlx::query(&format!(
        "INSERT INTO projects ({PROJECT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING {PROJECT_COLUMNS}"
    ))
    .bind(&project_id)
    .bind(new.account_id.to_string())
    .bind(&new.title)
    .bind(&new.description)
    .bind(&new.editor_state_json)
    .bind(&new.state_schema_version)
    .bind(now)
    .fetch_one(&mut *tx)
    .await
    .map_err(|err| foreign_key_means(err, Error::AccountNotFound(new.account_id.to_string())))?;
    let project = from_row(&row)?;
    tx.commit().await?;
    Ok(project)
}

pub async fn get(db: &Db, account_id: AccountId, project_id: ProjectId) -> Result<pb::Project> {
    let row = sqlx::query(&format!(
        "SELECT {PROJECT_COLUMNS} FROM projects WHERE project_id = $1 AND account_id = $2"
    ))
    .bind(project_id.to_string())
    .bind(account_id.to_string())
    .fetch_optional(db.pool())
    .await?
    .ok_or(Error::ProjectNotFound)?;
    from_row(&row)
}

/// Deletes the project; its bindings go with it (the assets stay).
pub async fn delete(db: &Db, account_id: AccountId, project_id: ProjectId) -> Result<()> {
    let done = sqlx::query("DELETE FROM projects WHERE project_id = $1 AND account_id = $2")
        .bind(project_id.to_string())
        .bind(account_id.to_string())
        .execute(db.writer())
        .await?;
    if done.rows_affected() == 0 {
        return Err(Error::ProjectNotFound);
    }
    Ok(())
}

/// Largest page of projects.
pub const PROJECTS_PAGE_MAX: u32 = 50;
/// Page of projects when the caller names none.
pub const PROJECTS_PAGE_DEFAULT: u32 = 20;
/// The account's projects, newest first, ties by id (descending); summaries without editor state.
pub async fn list_projects(
    db: &Db,
    account_id: AccountId,
    page_size: u32,
    cursor: &str,
) -> Result<Page<pb::Project>> {
    let after = Cursor::decode(cursor)?;
    let rows = sqlx::query(
        "SELECT project_id, account_id, title, description, state_schema_version, created_at, updated_at \
         FROM projects WHERE account_id = $1 AND (created_at < $2 OR (created_at = $2 AND project_id < $3)) \
         ORDER BY created_at DESC, project_id DESC LIMIT $4",
    )
    .bind(account_id.to_string())
    .bind(after.micros)
    .bind(&after.id)
    .bind(i64::from(page_size) + 1)
    .fetch_all(db.pool())
    .await?;
    let mut items = rows
        .iter()
        .map(|row| {
            Ok(pb::Project {
                project_id: row.try_get("project_id")?,
                account_id: row.try_get("account_id")?,
                title: row.try_get("title")?,
                description: row.try_get("description")?,
                editor_state_json: String::new(),
                state_schema_version: row.try_get("state_schema_version")?,
                created_at_unix_micros: row.try_get("created_at")?,
                updated_at_unix_micros: row.try_get("updated_at")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let next_page_cursor = next_cursor(&mut items, page_size, |p| {
        Cursor::encode(p.created_at_unix_micros, &p.project_id)
    });
    Ok(Page {
        items,
        next_page_cursor,
    })
}

/// What a project update changes; `None` leaves the title as it is.
#[derive(Debug, Clone, Default)]
pub struct ProjectChanges {
    pub title: Option<String>,
    pub description: Change<String>,
}

/// Applies `changes` and bumps `updated_at`; [`Error::ProjectNotFound`] when not the account's.
pub async fn update_project(
    db: &Db,
    account_id: AccountId,
    project_id: ProjectId,
    changes: ProjectChanges,
) -> Result<pb::Project> {
    // Every parameter is bound with a value and a flag, never as a NULL (see `sql`).
    let (set_description, description) = changes.description.bind_parts();
    let row = sqlx::query(&format!(
        "UPDATE projects SET \
         title = CASE WHEN $3 = 1 THEN $4 ELSE title END, \
         description = CASE WHEN $5 = 1 THEN $6 WHEN $5 = 2 THEN NULL ELSE description END, \
         updated_at = $7 \
         WHERE project_id = $1 AND account_id = $2 RETURNING {}",
        PROJECT_COLUMNS
    ))
    .bind(project_id.to_string())
    .bind(account_id.to_string())
    .bind(sql::flag(changes.title.is_some()))
    .bind(changes.title.unwrap_or_default())
    .bind(set_description)
    .bind(description)
    .bind(now_micros())
    .fetch_optional(db.writer())
    .await?
    .ok_or(Error::ProjectNotFound)?;
    from_row(&row)
}
