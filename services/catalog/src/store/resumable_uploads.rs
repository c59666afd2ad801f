//! The resumable_uploads and resumable_upload_chunks tables: creating an upload, its append
//! lease, recording appended chunks, completing it into an asset, terminating it and claiming
//! expired uploads for the reaper.
//!
//! The lease is the row itself: taken, renewed and released by conditional `UPDATE`s that
//! name the holder's token, so two gateway replicas appending to one upload are serialized by
//! the database (an `UPDATE` takes the row lock on Postgres and the write lock on SQLite), and
//! a lease whose holder died lapses at `lease_until`.

use assetd_proto::{catalog::v1 as pb, ids::AccountId};
use sqlx::{AnyConnection, Row, any::AnyRow};

use crate::{
    db::Db,
    error::{Error, Result},
    store::{
        assets::{self, NewAsset},
        sql::flag,
    },
    time::now_micros,
};

const UPLOAD_COLUMNS: &str = "upload_id, account_id, protocol, filename, project_id, request_id, \
     length, upload_offset, format_ext, concat, parts, metadata, asset_id, expires_at, created_at, \
     multipart_upload_id, multipart_key, sha256_state";

/// What a creation request names.
#[derive(Debug, Clone)]
pub struct NewUpload {
    pub upload_id: String,
    pub account_id: AccountId,
    pub protocol: String,
    pub filename: String,
    pub project_id: Option<String>,
    pub request_id: String,
    pub length: Option<u64>,
    pub concat: String,
    pub parts: Vec<String>,
    pub expires_at: i64,
    pub metadata: String,
}

fn to_i64(value: u64, name: &str) -> Result<i64> {
    i64::try_from(value).map_err(|_| Error::InvalidArgument(format!("{name} out of range")))
}

fn to_u64(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

fn from_row(
    row: &AnyRow,
    (chunks, s3_parts): (Vec<pb::ResumableUploadChunk>, Vec<pb::ResumableUploadPart>),
) -> Result<pb::ResumableUpload> {
    let length: Option<i64> = row.try_get("length")?;
    let parts: String = row.try_get("parts")?;
    Ok(pb::ResumableUpload {
        upload_id: row.try_get("upload_id")?,
        account_id: row.try_get("account_id")?,
        protocol: row.try_get("protocol")?,
        filename: row.try_get("filename")?,
        project_id: row.try_get("project_id")?,
        request_id: row.try_get("request_id")?,
        length: length.map(to_u64),
        offset: to_u64(row.try_get("upload_offset")?),
        format_ext: row.try_get("format_ext")?,
        concat: row.try_get("concat")?,
        parts: parts
            .split(',')
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect(),
        chunks,
        asset_id: row.try_get("asset_id")?,
        expires_at_unix_micros: row.try_get("expires_at")?,
        created_at_unix_micros: row.try_get("created_at")?,
        metadata: row.try_get("metadata")?,
        multipart_upload_id: row.try_get("multipart_upload_id")?,
        multipart_key: row.try_get("multipart_key")?,
        s3_parts,
        sha256_state: row.try_get("sha256_state")?,
    })
}

/// The upload's chunks and S3 parts, in offset order.
async fn pieces_of(
    conn: &mut AnyConnection,
    upload_id: &str,
) -> Result<(Vec<pb::ResumableUploadChunk>, Vec<pb::ResumableUploadPart>)> {
    let chunks = chunks_of(conn, upload_id).await?;
    let rows = sqlx::query(
        "SELECT part_number, start, size, etag FROM resumable_upload_parts WHERE upload_id = $1 \
         ORDER BY part_number",
    )
    .bind(upload_id)
    .fetch_all(&mut *conn)
    .await?;
    let parts = rows
        .iter()
        .map(|row| {
            Ok(pb::ResumableUploadPart {
                number: u32::try_from(row.try_get::<i64, _>("part_number")?).unwrap_or(0),
                start: to_u64(row.try_get("start")?),
                size: to_u64(row.try_get("size")?),
                etag: row.try_get("etag")?,
            })
        })
        .collect::<Result<_>>()?;
    Ok((chunks, parts))
}

async fn chunks_of(
    conn: &mut AnyConnection,
    upload_id: &str,
) -> Result<Vec<pb::ResumableUploadChunk>> {
    let rows = sqlx::query(
        "SELECT start, size, object_key FROM resumable_upload_chunks WHERE upload_id = $1 \
         ORDER BY start",
    )
    .bind(upload_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(pb::ResumableUploadChunk {
                start: to_u64(row.try_get("start")?),
                size: to_u64(row.try_get("size")?),
                object_key: row.try_get("object_key")?,
            })
        })
        .collect()
}

/// The upload with its chunks, whatever its expiry; `None` if there is no such upload of the
/// account.
async fn read(
    conn: &mut AnyConnection,
    account_id: AccountId,
    upload_id: &str,
) -> Result<Option<pb::ResumableUpload>> {
    let row = sqlx::query(&format!(
        "SELECT {UPLOAD_COLUMNS} FROM resumable_uploads WHERE upload_id = $1 AND account_id = $2"
    ))
    .bind(upload_id)
    .bind(account_id.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let pieces = pieces_of(conn, upload_id).await?;
    Ok(Some(from_row(&row, pieces)?))
}

/// A live (unexpired) upload of the account.
fn live(upload: Option<pb::ResumableUpload>, now: i64) -> Result<pb::ResumableUpload> {
    let upload = upload.ok_or(Error::UploadNotFound)?;
    if upload.expires_at_unix_micros <= now {
        return Err(Error::UploadExpired);
    }
    Ok(upload)
}

/// Creates an upload. A final concatenation takes its length from its parts, each of which
/// must be a live, fully appended partial upload of the same account.
pub async fn create(db: &Db, new: NewUpload) -> Result<pb::ResumableUpload> {
    let now = now_micros();
    let mut tx = db.writer().begin().await?;
    let mut length = new.length;
    if new.concat == "final" {
        let mut total = 0u64;
        for part in &new.parts {
            let upload = live(read(&mut tx, new.account_id, part).await?, now)
                .map_err(|_| Error::UploadConcatInvalid(format!("no partial upload {part}")))?;
            let finished = upload.length == Some(upload.offset);
            if upload.concat != "partial" || !finished {
                return Err(Error::UploadConcatInvalid(format!(
                    "upload {part} is not a finished partial upload"
                )));
            }
            total = total.saturating_add(upload.offset);
        }
        length = Some(total);
    }
    let (length_set, length_value) = (
        flag(length.is_some()),
        to_i64(length.unwrap_or(0), "length")?,
    );
    sqlx::query(
        "INSERT INTO resumable_uploads (upload_id, account_id, protocol, filename, project_id, \
         request_id, length, upload_offset, concat, parts, metadata, expires_at, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, CASE WHEN $5 = 1 THEN $6 ELSE NULL END, $7, \
         CASE WHEN $8 = 1 THEN $9 ELSE NULL END, CASE WHEN $10 = 'final' THEN $9 ELSE 0 END, \
         $10, $11, $12, $13, $14, $14)",
    )
    .bind(&new.upload_id)
    .bind(new.account_id.to_string())
    .bind(&new.protocol)
    .bind(&new.filename)
    .bind(flag(new.project_id.is_some()))
    .bind(new.project_id.clone().unwrap_or_default())
    .bind(&new.request_id)
    .bind(length_set)
    .bind(length_value)
    .bind(&new.concat)
    .bind(new.parts.join(","))
    .bind(&new.metadata)
    .bind(new.expires_at)
    .bind(now)
    .execute(&mut *tx)
    .await
    .map_err(|err| {
        crate::store::sql::foreign_key_means(err, Error::AccountNotFound(new.account_id.to_string()))
    })?;
    let upload = read(&mut tx, new.account_id, &new.upload_id)
        .await?
        .ok_or(Error::UploadNotFound)?;
    tx.commit().await?;
    Ok(upload)
}

pub async fn get(db: &Db, account_id: AccountId, upload_id: &str) -> Result<pb::ResumableUpload> {
    let mut conn = db.pool().acquire().await?;
    live(read(&mut conn, account_id, upload_id).await?, now_micros())
}

/// Why a conditional update of a live upload matched no row.
async fn diagnose(
    conn: &mut AnyConnection,
    account_id: AccountId,
    upload_id: &str,
    offset: Option<u64>,
    now: i64,
) -> Error {
    let upload = match read(conn, account_id, upload_id).await {
        Ok(upload) => upload,
        Err(err) => return err,
    };
    match live(upload, now) {
        Err(err) => err,
        Ok(upload) if offset.is_some_and(|offset| offset != upload.offset) => {
            Error::UploadOffsetMismatch {
                offset: upload.offset,
            }
        }
        Ok(_) => Error::UploadLocked,
    }
}

/// Takes the append lease for an append at `offset`.
pub async fn lease(
    db: &Db,
    account_id: AccountId,
    upload_id: &str,
    offset: u64,
    token: &str,
    lease_secs: u32,
) -> Result<pb::ResumableUpload> {
    let now = now_micros();
    let until = now + i64::from(lease_secs) * 1_000_000;
    let mut conn = db.writer().acquire().await?;
    let leased = sqlx::query(
        "UPDATE resumable_uploads SET lease_token = $1, lease_until = $2, updated_at = $3 \
         WHERE upload_id = $4 AND account_id = $5 AND expires_at > $3 AND upload_offset = $6 \
         AND (lease_token IS NULL OR lease_until <= $3 OR lease_token = $1)",
    )
    .bind(token)
    .bind(until)
    .bind(now)
    .bind(upload_id)
    .bind(account_id.to_string())
    .bind(to_i64(offset, "offset")?)
    .execute(&mut *conn)
    .await?;
    if leased.rows_affected() == 0 {
        return Err(diagnose(&mut conn, account_id, upload_id, Some(offset), now).await);
    }
    live(read(&mut conn, account_id, upload_id).await?, now)
}

/// What an append under the lease records.
#[derive(Debug, Clone, Default)]
pub struct Append {
    pub from_offset: u64,
    pub to_offset: u64,
    pub chunks: Vec<pb::ResumableUploadChunk>,
    pub s3_parts: Vec<pb::ResumableUploadPart>,
    /// Starts of the chunks the new parts replace.
    pub drop_chunks: Vec<u64>,
    pub length: Option<u64>,
    pub format_ext: Option<String>,
    pub multipart: Option<(String, String)>,
    pub sha256_state: Option<String>,
    /// Renews the lease for this long; 0 releases it.
    pub lease_secs: u32,
}

/// Records what an append wrote (chunks, S3 parts, the chunks those replace) under the caller's
/// lease, moving the offset from `from_offset` to `to_offset`; the pieces must then tile the
/// upload from 0 to its offset exactly, else nothing is recorded.
pub async fn append(
    db: &Db,
    account_id: AccountId,
    upload_id: &str,
    token: &str,
    append: Append,
) -> Result<pb::ResumableUpload> {
    let now = now_micros();
    let until = now + i64::from(append.lease_secs) * 1_000_000;
    let (multipart_set, (multipart_id, multipart_key)) = (
        flag(append.multipart.is_some()),
        append.multipart.clone().unwrap_or_default(),
    );
    let mut tx = db.writer().begin().await?;
    let updated = sqlx::query(
        "UPDATE resumable_uploads SET upload_offset = $1, \
         length = CASE WHEN $2 = 1 THEN $3 ELSE length END, \
         format_ext = CASE WHEN $4 = 1 THEN $5 ELSE format_ext END, \
         lease_token = CASE WHEN $6 = 0 THEN NULL ELSE lease_token END, \
         lease_until = CASE WHEN $6 = 0 THEN 0 ELSE $7 END, updated_at = $8, \
         multipart_upload_id = CASE WHEN $13 = 1 THEN $14 ELSE multipart_upload_id END, \
         multipart_key = CASE WHEN $13 = 1 THEN $15 ELSE multipart_key END, \
         sha256_state = CASE WHEN $16 = 1 THEN $17 ELSE sha256_state END \
         WHERE upload_id = $9 AND account_id = $10 AND lease_token = $11 AND expires_at > $8 \
         AND upload_offset = $12",
    )
    .bind(to_i64(append.to_offset, "to_offset")?)
    .bind(flag(append.length.is_some()))
    .bind(to_i64(append.length.unwrap_or(0), "length")?)
    .bind(flag(append.format_ext.is_some()))
    .bind(append.format_ext.clone().unwrap_or_default())
    .bind(i64::from(append.lease_secs))
    .bind(until)
    .bind(now)
    .bind(upload_id)
    .bind(account_id.to_string())
    .bind(token)
    .bind(to_i64(append.from_offset, "from_offset")?)
    .bind(multipart_set)
    .bind(multipart_id)
    .bind(multipart_key)
    .bind(flag(append.sha256_state.is_some()))
    .bind(append.sha256_state.clone().unwrap_or_default())
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() == 0 {
        return Err(diagnose(
            &mut tx,
            account_id,
            upload_id,
            Some(append.from_offset),
            now,
        )
        .await);
    }
    let prefix = format!("uploads/{upload_id}/");
    for start in &append.drop_chunks {
        sqlx::query("DELETE FROM resumable_upload_chunks WHERE upload_id = $1 AND start = $2")
            .bind(upload_id)
            .bind(to_i64(*start, "start")?)
            .execute(&mut *tx)
            .await?;
    }
    for part in &append.s3_parts {
        sqlx::query(
            "INSERT INTO resumable_upload_parts (upload_id, part_number, start, size, etag) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(upload_id)
        .bind(i64::from(part.number))
        .bind(to_i64(part.start, "start")?)
        .bind(to_i64(part.size, "size")?)
        .bind(&part.etag)
        .execute(&mut *tx)
        .await?;
    }
    for chunk in &append.chunks {
        if !chunk.object_key.starts_with(&prefix) {
            return Err(Error::InvalidArgument(
                "a chunk's object key must be under uploads/{upload_id}/".into(),
            ));
        }
        sqlx::query(
            "INSERT INTO resumable_upload_chunks (upload_id, start, size, object_key) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(upload_id)
        .bind(to_i64(chunk.start, "start")?)
        .bind(to_i64(chunk.size, "size")?)
        .bind(&chunk.object_key)
        .execute(&mut *tx)
        .await?;
    }
    let upload = live(read(&mut tx, account_id, upload_id).await?, now)?;
    if !tiles(&upload) {
        return Err(Error::InvalidArgument(
            "the upload's parts and chunks must follow each other from 0 to its offset".into(),
        ));
    }
    if upload.length.is_some_and(|length| upload.offset > length) {
        return Err(Error::InvalidArgument(
            "the chunks run past the upload's length".into(),
        ));
    }
    tx.commit().await?;
    Ok(upload)
}

/// Whether the parts, then the chunks, cover the upload from 0 to its offset without a gap or
/// an overlap (a final concatenation has neither: its bytes are its partial uploads').
fn tiles(upload: &pb::ResumableUpload) -> bool {
    if upload.concat == "final" {
        return true;
    }
    let mut next = 0;
    let pieces = upload
        .s3_parts
        .iter()
        .map(|p| (p.start, p.size))
        .chain(upload.chunks.iter().map(|c| (c.start, c.size)));
    for (start, size) in pieces {
        if start != next {
            return false;
        }
        next += size;
    }
    next == upload.offset
}

/// Records the asset a fully appended upload became, with its probe job (and binding), and
/// marks the upload complete, in one transaction; a final concatenation's partial uploads go in
/// the same transaction (their chunk objects are the caller's to remove).
pub async fn complete(db: &Db, upload_id: &str, token: &str, new: NewAsset) -> Result<pb::Asset> {
    let now = now_micros();
    let mut tx = db.writer().begin().await?;
    let marked = sqlx::query(
        "UPDATE resumable_uploads SET asset_id = $1, lease_token = NULL, lease_until = 0, \
         updated_at = $2 WHERE upload_id = $3 AND account_id = $4 AND lease_token = $5 \
         AND asset_id IS NULL AND expires_at > $2 AND length = upload_offset",
    )
    .bind(new.asset_id.to_string())
    .bind(now)
    .bind(upload_id)
    .bind(new.account_id.to_string())
    .bind(token)
    .execute(&mut *tx)
    .await?;
    if marked.rows_affected() == 0 {
        return Err(diagnose(&mut tx, new.account_id, upload_id, None, now).await);
    }
    let upload = read(&mut tx, new.account_id, upload_id)
        .await?
        .ok_or(Error::UploadNotFound)?;
    for part in &upload.parts {
        sqlx::query("DELETE FROM resumable_uploads WHERE upload_id = $1 AND account_id = $2")
            .bind(part)
            .bind(new.account_id.to_string())
            .execute(&mut *tx)
            .await?;
    }
    let asset = assets::insert(&mut tx, new, now).await?;
    tx.commit().await?;
    Ok(asset)
}

/// Deletes an upload and returns it as it was (with its parts and chunks, for the caller to
/// remove). Without a lease token this is termination,
/// which wins over another caller's append (that append's next record fails and it removes what
/// it wrote); with one (the reaper's) only an upload still leased to it goes.
pub async fn delete(
    db: &Db,
    account_id: AccountId,
    upload_id: &str,
    lease_token: Option<&str>,
) -> Result<pb::ResumableUpload> {
    let mut tx = db.writer().begin().await?;
    let upload = read(&mut tx, account_id, upload_id)
        .await?
        .ok_or(Error::UploadNotFound)?;
    let deleted = sqlx::query(
        "DELETE FROM resumable_uploads WHERE upload_id = $1 AND account_id = $2 \
         AND ($3 = 0 OR lease_token = $4)",
    )
    .bind(upload_id)
    .bind(account_id.to_string())
    .bind(flag(lease_token.is_some()))
    .bind(lease_token.unwrap_or_default())
    .execute(&mut *tx)
    .await?;
    if deleted.rows_affected() == 0 {
        return Err(Error::UploadLocked);
    }
    tx.commit().await?;
    Ok(upload)
}

/// Leases up to `limit` expired uploads of any account whose lease is free, for the reaper;
/// with the number of unfinished uploads still open.
pub async fn claim_expired(
    db: &Db,
    token: &str,
    lease_secs: u32,
    limit: u32,
) -> Result<(Vec<pb::ResumableUpload>, u64)> {
    let now = now_micros();
    let until = now + i64::from(lease_secs) * 1_000_000;
    let mut conn = db.writer().acquire().await?;
    // The lease condition is repeated outside the subquery: Postgres re-checks the outer WHERE
    // on a row another claimer updated meanwhile, so one expired upload goes to one reaper.
    let rows = sqlx::query(&format!(
        "UPDATE resumable_uploads SET lease_token = $1, lease_until = $2 \
         WHERE upload_id IN (SELECT upload_id FROM resumable_uploads WHERE expires_at <= $3 \
           AND (lease_token IS NULL OR lease_until <= $3) ORDER BY expires_at LIMIT $4) \
         AND (lease_token IS NULL OR lease_until <= $3) RETURNING {UPLOAD_COLUMNS}"
    ))
    .bind(token)
    .bind(until)
    .bind(now)
    .bind(i64::from(limit))
    .fetch_all(&mut *conn)
    .await?;
    let mut uploads = Vec::with_capacity(rows.len());
    for row in &rows {
        let upload_id: String = row.try_get("upload_id")?;
        let pieces = pieces_of(&mut conn, &upload_id).await?;
        uploads.push(from_row(row, pieces)?);
    }
    let open: i64 = sqlx::query(
        "SELECT COUNT(*) AS open FROM resumable_uploads WHERE asset_id IS NULL AND expires_at > $1",
    )
    .bind(now)
    .fetch_one(&mut *conn)
    .await?
    .try_get("open")?;
    Ok((uploads, to_u64(open)))
}
