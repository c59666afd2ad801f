//! A fresh database per test: a SQLite file in the scratch directory, or a new Postgres database
//! dropped afterwards.

use std::path::Path;

use sqlx::AnyPool;

use crate::{required, skipped};

/// Set to 1 (CI does) to make Postgres-backed tests fail instead of skipping when Postgres is unreachable.
pub const REQUIRE_POSTGRES_VAR: &str = "ASSETD_TEST_REQUIRE_POSTGRES";
/// Admin URL of the Postgres server the tests create their databases on.
pub const POSTGRES_URL_VAR: &str = "ASSETD_TEST_POSTGRES_URL";

const DEFAULT_POSTGRES_URL: &str = "postgres://root@127.0.0.1:5432/test";

/// Which database engine a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// A fresh database: a SQLite file in the scratch dir, or a new Postgres database dropped afterwards.
#[derive(Debug)]
pub struct TestDb {
    pub url: String,
    postgres: Option<(String, String)>,
}

impl TestDb {
    /// `None` when the engine is Postgres, it is unreachable and not required (the test is skipped).
    pub async fn create(engine: Engine, dir: &Path) -> Option<Self> {
        sqlx::any::install_default_drivers();
        match engine {
            Engine::Sqlite => Some(Self {
                url: format!("sqlite://{}/assetd.db", dir.display()),
                postgres: None,
            }),
            Engine::Postgres => {
                let admin =
                    std::env::var(POSTGRES_URL_VAR).unwrap_or_else(|_| DEFAULT_POSTGRES_URL.into());
                let pool = match AnyPool::connect(&admin).await {
                    Ok(pool) => pool,
                    Err(err) if !required(REQUIRE_POSTGRES_VAR) => {
                        skipped(&format!(
                            "Postgres unreachable at {admin} ({err}); set {REQUIRE_POSTGRES_VAR}=1 to fail instead"
                        ));
                        return None;
                    }
                    Err(err) => panic!(
                        "Postgres is required ({REQUIRE_POSTGRES_VAR}=1) but unreachable at {admin}: {err}"
                    ),
                };
                let name = format!("assetd_e2e_{}", uuid::Uuid::new_v4().simple());
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&pool)
                    .await
                    .expect("create test database");
                pool.close().await;
                let (base, _) = admin
                    .rsplit_once('/')
                    .expect("postgres URL has a database path");
                Some(Self {
                    url: format!("{base}/{name}"),
                    postgres: Some((admin, name)),
                })
            }
        }
    }

    pub async fn pool(&self) -> AnyPool {
        sqlx::any::install_default_drivers();
        AnyPool::connect(&self.url)
            .await
            .expect("connect to the test database")
    }

    /// Drops the Postgres database now, closing every connection to it (simulates an outage).
    pub async fn drop_database(&self) {
        if let Some((admin, name)) = &self.postgres {
            let pool = AnyPool::connect(admin)
                .await
                .expect("connect to Postgres admin database");
            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&pool)
                .await
                .expect("drop test database");
            pool.close().await;
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin, name)) = self.postgres.take() {
            // Drop runs outside any runtime guarantee: use a small runtime of our own on a thread.
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .ok()?;
                runtime.block_on(async {
                    let pool = AnyPool::connect(&admin).await.ok()?;
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&pool)
                        .await;
                    pool.close().await;
                    Some(())
                })
            })
            .join();
        }
    }
}
