//! Accounts and their API keys: creating keys, resolving a key to its account, enabling accounts.

use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::Row;
use uuid::Uuid;

use crate::{
    db::Db,
    error::{Error, Result},
    store::sql,
    time::now_micros,
};

/// Every key starts with this, so a leaked key is recognisable in logs and secret scanners.
const KEY_PREFIX: &str = "adk_";

/// The account a key belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyOwner {
    pub account_id: String,
    pub enabled: bool,
}

fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// Creates a new API key for the account named `account_name`, creating the account (enabled) if
/// it does not exist. Returns the key; only its hash is stored.
pub async fn create_key(db: &Db, account_name: &str) -> Result<String> {
    let name = account_name.trim();
    if name.is_empty() || name.len() > 200 {
        return Err(Error::InvalidArgument(
            "the account name must be 1 to 200 characters".into(),
        ));
    }
    let mut secret = [0u8; 32];
    rand::rng().fill_bytes(&mut secret);
    let key = format!("{KEY_PREFIX}{}", hex::encode(secret));
    let now = now_micros();

    let mut tx = db.writer().begin().await?;
    sqlx::query(
        "INSERT INTO accounts (account_id, name, open_api_enabled, created_at) VALUES ($1, $2, TRUE, $3) \
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(Uuid::new_v4().to_string())
    .bind(name)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let account_id: String = sqlx::query("SELECT account_id FROM accounts WHERE name = $1")
        .bind(name)
        .fetch_one(&mut *tx)
        .await?
        .try_get("account_id")?;
    sqlx::query(
        "INSERT INTO api_keys (key_id, account_id, key_hash, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(Uuid::new_v4().to_string())
    .bind(&account_id)
    .bind(hash_key(&key))
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(key)
}

/// Resolves a key to its account; unknown and revoked keys are [`Error::KeyInvalid`].
pub async fn authenticate(db: &Db, key: &str) -> Result<KeyOwner> {
    if !key.starts_with(KEY_PREFIX) {
        return Err(Error::KeyInvalid);
    }
    let row = sqlx::query(&format!(
        "SELECT a.account_id, {} FROM api_keys k JOIN accounts a ON a.account_id = k.account_id \
         WHERE k.key_hash = $1 AND k.revoked_at IS NULL",
        sql::bool_column("a.open_api_enabled", "enabled")
    ))
    .bind(hash_key(key))
    .fetch_optional(db.pool())
    .await?
    .ok_or(Error::KeyInvalid)?;
    let enabled: i64 = row.try_get("enabled")?;
    Ok(KeyOwner {
        account_id: row.try_get("account_id")?,
        enabled: enabled != 0,
    })
}

/// Turns the account's Open API access on or off; its keys stay valid but answer 403 while off.
pub async fn set_enabled(db: &Db, account_name: &str, enabled: bool) -> Result<()> {
    let done = sqlx::query("UPDATE accounts SET open_api_enabled = $1 WHERE name = $2")
        .bind(enabled)
        .bind(account_name.trim())
        .execute(db.writer())
        .await?;
    if done.rows_affected() == 0 {
        return Err(Error::AccountNotFound(account_name.to_owned()));
    }
    Ok(())
}
