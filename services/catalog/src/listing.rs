//! Paged listings (projects, a project's assets) with keyset cursors, and project metadata updates.

use assetd_proto::catalog::v1 as pb;
use sqlx::Row;

use crate::{
    assets,
    cursor::Cursor,
    db::Db,
    error::{Error, Result},
    projects,
    time::now_micros,
};

/// Largest page of projects.
pub const PROJECTS_PAGE_MAX: u32 = 50;
/// Page of projects when the caller names none.
pub const PROJECTS_PAGE_DEFAULT: u32 = 20;
/// Largest page of a project's assets.
pub const PROJECT_ASSETS_PAGE_MAX: u32 = 100;
/// Page of a project's assets when the caller names none.
pub const PROJECT_ASSETS_PAGE_DEFAULT: u32 = 80;

/// 0 means the default; above `max` is refused.
pub fn page_size(requested: u32, default: u32, max: u32) -> Result<u32> {
    match requested {
        0 => Ok(default),
        n if n > max => Err(Error::PageSizeInvalid(max)),
        n => Ok(n),
    }
}

/// One page: the rows and, when more follow, the cursor of the next page.
#[derive(Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_page_cursor: Option<String>,
}

/// The account's projects, newest first, ties by id (descending); summaries without editor state.
pub async fn list_projects(
    db: &Db,
    account_id: &str,
    page_size: u32,
    cursor: &str,
) -> Result<Page<pb::Project>> {
    let after = Cursor::decode(cursor)?;
    let rows = sqlx::query(
        "SELECT project_id, account_id, title, description, state_schema_version, created_at, updated_at \
         FROM projects WHERE account_id = $1 AND (created_at < $2 OR (created_at = $2 AND project_id < $3)) \
         ORDER BY created_at DESC, project_id DESC LIMIT $4",
    )
    .bind(account_id)
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

/// The assets bound to a project of the account, newest binding first, ties by asset id
/// (descending). [`Error::ProjectNotFound`] when the project is not the account's.
pub async fn list_project_assets(
    db: &Db,
    account_id: &str,
    project_id: &str,
    page_size: u32,
    cursor: &str,
) -> Result<Page<pb::Asset>> {
    let after = Cursor::decode(cursor)?;
    let columns = assets::ASSET_COLUMNS
        .split(',')
        .map(|column| format!("a.{}", column.trim()))
        .collect::<Vec<_>>()
        .join(", ");
    let mut conn = db.pool().acquire().await?;
    let rows = sqlx::query(&format!(
        "SELECT {columns}, pa.created_at AS bound_at FROM project_assets pa \
         JOIN assets a ON a.asset_id = pa.asset_id \
         WHERE pa.project_id = $1 AND pa.account_id = $2 \
         AND (pa.created_at < $3 OR (pa.created_at = $3 AND pa.asset_id < $4)) \
         ORDER BY pa.created_at DESC, pa.asset_id DESC LIMIT $5"
    ))
    .bind(project_id)
    .bind(account_id)
    .bind(after.micros)
    .bind(&after.id)
    .bind(i64::from(page_size) + 1)
    .fetch_all(&mut *conn)
    .await?;
    // Bindings only exist for a live project of the same account, so only an empty page needs
    // to tell "no (more) assets" from "no such project".
    if rows.is_empty() && !projects::project_exists(&mut conn, account_id, project_id).await? {
        return Err(Error::ProjectNotFound);
    }
    let mut items = rows
        .iter()
        .map(|row| Ok((assets::from_row(row)?, row.try_get::<i64, _>("bound_at")?)))
        .collect::<Result<Vec<_>>>()?;
    let next_page_cursor = next_cursor(&mut items, page_size, |(asset, bound_at)| {
        Cursor::encode(*bound_at, &asset.asset_id)
    });
    Ok(Page {
        items: items.into_iter().map(|(asset, _)| asset).collect(),
        next_page_cursor,
    })
}

/// `items` holds up to one row more than a page: drops it and returns the last kept row's cursor.
fn next_cursor<T>(
    items: &mut Vec<T>,
    page_size: u32,
    key: impl Fn(&T) -> String,
) -> Option<String> {
    let page = usize::try_from(page_size).unwrap_or(usize::MAX);
    if items.len() <= page {
        return None;
    }
    items.truncate(page);
    items.last().map(key)
}

/// What a project update changes; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ProjectChanges {
    pub title: Option<String>,
    /// `Some(None)` clears the description.
    pub description: Option<Option<String>>,
}

/// Applies `changes` and bumps `updated_at`; [`Error::ProjectNotFound`] when not the account's.
pub async fn update_project(
    db: &Db,
    account_id: &str,
    project_id: &str,
    changes: ProjectChanges,
) -> Result<pb::Project> {
    // Every parameter is bound with a value and a flag, never as a NULL of unknown type.
    let (set_description, description) = match changes.description {
        None => (0_i64, String::new()),
        Some(None) => (2, String::new()),
        Some(Some(text)) => (1, text),
    };
    let row = sqlx::query(&format!(
        "UPDATE projects SET \
         title = CASE WHEN $3 = 1 THEN $4 ELSE title END, \
         description = CASE WHEN $5 = 1 THEN $6 WHEN $5 = 2 THEN NULL ELSE description END, \
         updated_at = $7 \
         WHERE project_id = $1 AND account_id = $2 RETURNING {}",
        projects::PROJECT_COLUMNS
    ))
    .bind(project_id)
    .bind(account_id)
    .bind(i64::from(changes.title.is_some()))
    .bind(changes.title.unwrap_or_default())
    .bind(set_description)
    .bind(description)
    .bind(now_micros())
    .fetch_optional(db.writer())
    .await?
    .ok_or(Error::ProjectNotFound)?;
    projects::from_row(&row)
}
