//! The catalog's database: one pool over SQLite or Postgres, their migrations, and what differs between the two.

use std::{path::Path, str::FromStr, time::Duration};

use sqlx::{
    AnyPool, Executor,
    any::{AnyConnectOptions, AnyPoolOptions},
    migrate::Migrator,
};

use crate::{config::DatabaseConfig, error::Result};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("../../migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("../../migrations/postgres");

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// A connection pool and the engine behind it. Queries are written once, in the SQL both engines
/// accept (`$N` placeholders, TEXT ids, BIGINT microsecond timestamps).
///
/// Writes go through [`Db::writer`]. SQLite allows one writer at a time and makes the others
/// wait in its busy handler, which sleeps (1, 2, 5, … 100 ms) rather than queueing: with uploads
/// and probe results writing at once, most of the time went to those sleeps. On SQLite the writer
/// is therefore a pool of one connection, so writers queue in order in-process and never meet
/// SQLite's lock; reads keep the shared pool (WAL readers run beside the writer). On Postgres both
/// are the same pool.
#[derive(Clone, Debug)]
pub struct Db {
    pool: AnyPool,
    writer: AnyPool,
    engine: Engine,
    /// As configured; Postgres `LISTEN` needs a connection of its own, outside the pool.
    url: String,
}

/// A pooled connection unused this long is closed.
const POOL_IDLE_SECS: u64 = 300;
/// A pooled connection is replaced after this long, however busy.
const POOL_MAX_LIFETIME_SECS: u64 = 1800;

impl Db {
    pub async fn connect(config: &DatabaseConfig) -> anyhow::Result<Self> {
        sqlx::any::install_default_drivers();
        let url = config.database_url.as_str();
        let engine = if url.starts_with("sqlite:") {
            Engine::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Engine::Postgres
        } else {
            anyhow::bail!(
                "unsupported database URL {url:?}: use sqlite://PATH or postgres://USER@HOST/DB"
            );
        };
        let url = match engine {
            Engine::Sqlite => sqlite_url(url)?,
            Engine::Postgres => url.to_owned(),
        };
        let options = AnyConnectOptions::from_str(&url)?;
        let pool_options = |max_connections: u32| {
            let pool = AnyPoolOptions::new()
                .max_connections(max_connections)
                .acquire_timeout(Duration::from_secs(
                    config.database_acquire_timeout_secs.max(1),
                ))
                // No ping before each use: it was a round trip per query (on SQLite a hop to the
                // connection's thread), a fifth of the catalog's CPU per upload
                // (tests/bench/pipeline-ANALYSIS.md). A connection the server dropped fails its
                // next query once (503, Retry-After) and is discarded; idle connections are
                // closed before servers and proxies usually drop them.
                .test_before_acquire(false)
                .idle_timeout(Duration::from_secs(POOL_IDLE_SECS))
                .max_lifetime(Duration::from_secs(POOL_MAX_LIFETIME_SECS));
            if engine != Engine::Sqlite {
                return pool;
            }
            pool.after_connect(|conn, _meta| {
                Box::pin(async move {
                    // WAL lets readers run beside the single writer; the busy timeout queues writers
                    // of other processes (admin commands) instead of failing them; foreign keys are
                    // off by default in SQLite.
                    conn.execute("PRAGMA journal_mode = WAL").await?;
                    conn.execute("PRAGMA synchronous = NORMAL").await?;
                    conn.execute("PRAGMA busy_timeout = 10000").await?;
                    conn.execute("PRAGMA foreign_keys = ON").await?;
                    Ok(())
                })
            })
        };
        let cannot = |err: sqlx::Error| {
            anyhow::anyhow!(
                "cannot connect to the database at {}: {err}",
                redact(&config.database_url)
            )
        };
        let pool = pool_options(config.database_max_connections.max(1))
            .connect_with(options.clone())
            .await
            .map_err(cannot)?;
        let writer = match engine {
            Engine::Sqlite => pool_options(1)
                .connect_with(options)
                .await
                .map_err(cannot)?,
            Engine::Postgres => pool.clone(),
        };
        Ok(Self {
            pool,
            writer,
            engine,
            url: config.database_url.clone(),
        })
    }

    pub async fn migrate(&self) -> Result<()> {
        let migrator = match self.engine {
            Engine::Sqlite => &SQLITE_MIGRATIONS,
            Engine::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&self.writer).await?;
        Ok(())
    }

    /// The pool for reads.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The pool for writes and write transactions (one connection on SQLite, see [`Db`]).
    pub fn writer(&self) -> &AnyPool {
        &self.writer
    }

    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// The database URL as configured (with its password: never log it, see [`redact`]).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A cheap round trip, for readiness checks.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
        self.writer.close().await;
    }
}

/// Adds `mode=rwc` (create if missing) and creates the file's directory, so a fresh data dir just works.
fn sqlite_url(url: &str) -> anyhow::Result<String> {
    let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path != ":memory:"
        && let Some(parent) = Path::new(path)
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
    {
        std::fs::create_dir_all(parent).map_err(|err| {
            anyhow::anyhow!(
                "cannot create database directory {}: {err}",
                parent.display()
            )
        })?;
    }
    let query = if query.contains("mode=") {
        query.to_owned()
    } else if query.is_empty() {
        "mode=rwc".to_owned()
    } else {
        format!("{query}&mode=rwc")
    };
    Ok(format!("sqlite://{path}?{query}"))
}

/// The URL without its password, for error messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords() {
        assert_eq!(redact("postgres://u:pw@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact("sqlite://a.db"), "sqlite://a.db");
    }

    #[test]
    fn sqlite_urls_create_by_default() {
        assert_eq!(
            sqlite_url("sqlite::memory:").expect("url"),
            "sqlite://:memory:?mode=rwc"
        );
        assert_eq!(
            sqlite_url("sqlite://:memory:?mode=ro").expect("url"),
            "sqlite://:memory:?mode=ro"
        );
    }
}
