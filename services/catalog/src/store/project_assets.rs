//! The project_assets table: binding assets to projects, unbinding, and a project's assets by page.

use assetd_proto::{
    catalog::v1 as pb,
    ids::{AccountId, AssetId, ProjectId},
};
use sqlx::Row;

use crate::{
    db::Db,
    error::{Error, Result},
    store::{
        assets,
        paging::{Cursor, Page, next_cursor},
        sql::foreign_key_means,
    },
    time::now_micros,
};

/// Largest page of a project's assets.
pub const PROJECT_ASSETS_PAGE_MAX: u32 = 100;
/// Page of a project's assets when the caller names none.
pub const PROJECT_ASSETS_PAGE_DEFAULT: u32 = 80;

/// Binds an asset to a project of the same account; binding twice is a no-op.
pub async fn bind(
    db: &Db,
    account_id: AccountId,
    project_id: ProjectId,
    asset_id: AssetId,
) -> Result<()> {
    let mut tx = db.writer().begin().await?;
    // The write comes first so SQLite takes its write lock before any read in this transaction.
    let inserted = sqlx::query(
        "INSERT INTO project_assets (project_id, asset_id, account_id, created_at) \
         SELECT p.project_id, a.asset_id, p.account_id, $4 FROM projects p JOIN assets a ON a.account_id = p.account_id \
         WHERE p.project_id = $1 AND a.asset_id = $2 AND p.account_id = $3 \
         ON CONFLICT (project_id, asset_id) DO NOTHING",
    )
    .bind(project_id.to_string())
    .bind(asset_id.to_string())
    .bind(account_id.to_string())
    .bind(now_micros())
    .execute(&mut *tx)
    .await
    .map_err(|err| foreign_key_means(err, Error::ProjectNotFound))?;
    if inserted.rows_affected() == 0 {
        // Either already bound (fine) or one of the two is not the account's.
        if !project_exists(&mut tx, account_id, project_id).await? {
            return Err(Error::ProjectNotFound);
        }
        let asset =
            sqlx::query("SELECT 1 AS one FROM assets WHERE asset_id = $1 AND account_id = $2")
                .bind(asset_id.to_string())
                .bind(account_id.to_string())
                .fetch_optional(&mut *tx)
                .await?;
        if asset.is_none() {
            return Err(Error::AssetNotFound);
        }
    }
    tx.commit().await?;
    Ok(())
}

pub async fn unbind(
    db: &Db,
    account_id: AccountId,
    project_id: ProjectId,
    asset_id: AssetId,
) -> Result<()> {
    let mut tx = db.writer().begin().await?;
    let done = sqlx::query(
        "DELETE FROM project_assets WHERE project_id = $1 AND asset_id = $2 AND account_id = $3",
    )
    .bind(project_id.to_string())
    .bind(asset_id.to_string())
    .bind(account_id.to_string())
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
    account_id: AccountId,
    project_id: ProjectId,
) -> Result<bool> {
    let row =
        sqlx::query("SELECT 1 AS one FROM projects WHERE project_id = $1 AND account_id = $2")
            .bind(project_id.to_string())
            .bind(account_id.to_string())
            .fetch_optional(conn)
            .await?;
    Ok(row.is_some())
}

/// The assets bound to a project of the account, newest binding first, ties by asset id
/// (descending). [`Error::ProjectNotFound`] when the project is not the account's.
pub async fn list_project_assets(
    db: &Db,
    account_id: AccountId,
    project_id: ProjectId,
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
    .bind(project_id.to_string())
    .bind(account_id.to_string())
    .bind(after.micros)
    .bind(&after.id)
    .bind(i64::from(page_size) + 1)
    .fetch_all(&mut *conn)
    .await?;
    // Bindings only exist for a live project of the same account, so only an empty page needs
    // to tell "no (more) assets" from "no such project".
    if rows.is_empty() && !project_exists(&mut conn, account_id, project_id).await? {
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
