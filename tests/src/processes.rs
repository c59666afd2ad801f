//! The real `assetd` binary, built once and started on free ports: `serve`, single roles, admin
//! commands, and the addresses each process reports in its `--addresses-file`.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::OnceLock,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use sqlx::Row;

use crate::{Engine, ScratchDir, TestDb, TestStorage};

/// The `assetd` binary, built once per test run with the same profile as the tests.
pub fn assetd_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let exe = std::env::current_exe().expect("test executable path");
        // target/<profile>/deps/e2e-<hash>
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("target profile dir")
            .to_path_buf();
        let target_dir = profile_dir.parent().expect("target dir").to_path_buf();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
        let mut build = Command::new(cargo);
        build
            .args([
                "build",
                "--quiet",
                "-p",
                "assetd",
                "--bin",
                "assetd",
                "--manifest-path",
            ])
            .arg(&manifest);
        build.env("CARGO_TARGET_DIR", &target_dir);
        // Cargo gives the test process the variables of the package under test; passed on, they
        // look like changes to build scripts that watch them (ring's does) and rebuild half the tree.
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy();
            if name.starts_with("CARGO_PKG_")
                || name.starts_with("CARGO_MANIFEST_")
                || [
                    "CARGO_CRATE_NAME",
                    "CARGO_PRIMARY_PACKAGE",
                    "CARGO_TARGET_TMPDIR",
                ]
                .contains(&name.as_ref())
            {
                build.env_remove(name.as_ref());
            }
        }
        if profile_dir
            .file_name()
            .is_some_and(|name| name == "release")
        {
            build.arg("--release");
        }
        let status = build
            .status()
            .expect("run cargo build for the assetd binary");
        assert!(status.success(), "building the assetd binary failed");
        profile_dir.join("assetd")
    })
}

/// A running `assetd` process and everything it was started on.
#[derive(Debug)]
pub struct Assetd {
    child: Child,
    pub http: String,
    pub grpc: String,
    pub addresses: Addresses,
    pub db: TestDb,
    pub storage: TestStorage,
    log: PathBuf,
    pub scratch: ScratchDir,
}

/// What to start: a role command line plus extra flags.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub extra_args: Vec<String>,
}

impl Assetd {
    /// `assetd serve` on fresh storage and database; `None` when the engine is unavailable and not required.
    pub async fn serve(
        engine: Engine,
        storage: Option<TestStorage>,
        options: Options,
    ) -> Option<Self> {
        let scratch = ScratchDir::new();
        let db = TestDb::create(engine, scratch.path()).await?;
        let storage = storage.unwrap_or_else(|| TestStorage::fs(&scratch));
        let mut args: Vec<String> = vec![
            "serve".into(),
            "--http-addr".into(),
            "127.0.0.1:0".into(),
            "--catalog-grpc-addr".into(),
            "127.0.0.1:0".into(),
            "--database-url".into(),
            db.url.clone(),
        ];
        args.extend(storage.args());
        args.extend(options.extra_args);
        let log = scratch.path().join("assetd.log");
        let child = spawn(&args, &log);
        let addresses = Addresses::of(&log).await.expect("assetd serve starts");
        Some(Self {
            child,
            http: addresses.expect_url("http"),
            grpc: addresses.expect_url("catalog_grpc"),
            addresses,
            db,
            storage,
            log,
            scratch,
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.http)
    }

    /// Creates an API key for `account` with the real CLI and returns it.
    pub fn create_key(&self, account: &str) -> String {
        cli(&[
            "keys",
            "create",
            "--account",
            account,
            "--database-url",
            &self.db.url,
        ])
    }

    pub fn disable_account(&self, account: &str) {
        cli(&[
            "accounts",
            "disable",
            account,
            "--database-url",
            &self.db.url,
        ]);
    }

    pub async fn catalog(
        &self,
    ) -> assetd_proto::catalog::v1::catalog_service_client::CatalogServiceClient<
        tonic::transport::Channel,
    > {
        assetd_proto::catalog::v1::catalog_service_client::CatalogServiceClient::connect(
            self.grpc.clone(),
        )
        .await
        .expect("connect to the catalog's gRPC")
    }

    pub fn admin(&self) -> String {
        self.addresses.expect_url("admin")
    }

    /// The gateway's gRPC URL (streaming uploads).
    pub async fn gateway_grpc(&self) -> String {
        self.addresses.expect_url("gateway_grpc")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Counts of every catalog table, to prove a failed request left nothing behind.
    pub async fn row_counts(&self) -> (i64, i64) {
        let pool = self.db.pool().await;
        let assets: i64 = sqlx::query("SELECT CAST(COUNT(*) AS BIGINT) AS n FROM assets")
            .fetch_one(&pool)
            .await
            .expect("count assets")
            .get("n");
        let bindings: i64 = sqlx::query("SELECT CAST(COUNT(*) AS BIGINT) AS n FROM project_assets")
            .fetch_one(&pool)
            .await
            .expect("count bindings")
            .get("n");
        pool.close().await;
        (assets, bindings)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits up to `within` for the process to exit; true when it exited successfully.
    pub fn wait_exit(&mut self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return status.success(),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50))
                }
                _ => return false,
            }
        }
    }

    /// Sends SIGTERM and waits for the process to exit; returns whether it exited successfully.
    pub fn terminate(&mut self) -> bool {
        terminate(&mut self.child)
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Assetd {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A process of one role (`catalog` or `gateway`), for tests that run the roles apart.
#[derive(Debug)]
pub struct Role {
    child: Child,
    /// The role's main listener: the HTTP API of a gateway, the gRPC of a catalog.
    pub addr: String,
    pub addresses: Addresses,
}

impl Role {
    /// Starts a role that listens on nothing (the prober).
    pub fn spawn(args: &[String], log: &Path) -> Self {
        Self {
            child: spawn(args, log),
            addr: String::new(),
            addresses: Addresses::default(),
        }
    }

    /// Starts a role and waits until it has bound its listeners; `http` picks the gateway's
    /// HTTP API as [`Role::addr`], else the catalog's gRPC.
    pub async fn start(args: &[String], log: &Path, http: bool) -> Self {
        let child = spawn(args, log);
        let addresses = Addresses::of(log).await.expect("role starts");
        let addr = addresses.expect_url(if http { "http" } else { "catalog_grpc" });
        Self {
            child,
            addr,
            addresses,
        }
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM and waits for the process to exit; returns whether it exited successfully.
    pub fn terminate(&mut self) -> bool {
        terminate(&mut self.child)
    }
}

impl Drop for Role {
    fn drop(&mut self) {
        self.kill();
    }
}

fn spawn(args: &[String], log: &Path) -> Child {
    let file = std::fs::File::create(log).expect("create log file");
    Command::new(assetd_binary())
        .args(args)
        .args(["--admin-addr", "127.0.0.1:0"])
        .arg("--addresses-file")
        .arg(addresses_file(log))
        .args(["--log-format", "json"])
        // Gateways (and `serve`) also listen for gRPC: on a free port unless a test says otherwise.
        .env("ASSETD_GATEWAY_GRPC_ADDR", "127.0.0.1:0")
        // Suites send hundreds of requests per key at full speed: per-key rates and upload caps
        // stay out of their way. tests/e2e/limits.rs tests them with flags, which win over these.
        .env("ASSETD_RATE_LIMIT_PER_SECOND", "1000000")
        .env("ASSETD_RATE_LIMIT_BURST", "1000000")
        .env("ASSETD_MAX_CONCURRENT_UPLOADS_PER_ACCOUNT", "100000")
        .env("ASSETD_MAX_CONCURRENT_UPLOADS", "100000")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(file)
        .spawn()
        .expect("spawn assetd")
}

/// Runs an admin command of the real binary and returns its standard output, trimmed.
pub fn cli(args: &[&str]) -> String {
    let output = Command::new(assetd_binary())
        .args(args)
        .output()
        .expect("run assetd");
    assert!(
        output.status.success(),
        "assetd {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .expect("utf-8 output")
        .trim()
        .to_owned()
}

/// The listeners a role process bound, as it reports them in its `--addresses-file` (one JSON
/// object, written whole once every listener is bound): `admin`, `http`, `gateway_grpc`,
/// `catalog_grpc`, each `ip:port`.
#[derive(Debug, Clone, Default)]
pub struct Addresses(std::collections::BTreeMap<String, String>);

impl Addresses {
    /// The addresses of the process logging to `log` (its file sits beside the log), waiting up
    /// to 60 s for the process to have bound them all.
    pub async fn of(log: &Path) -> anyhow::Result<Self> {
        let path = addresses_file(log);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(text) = std::fs::read_to_string(&path) {
                let map = serde_json::from_str(&text)
                    .with_context(|| format!("{}: {text:?}", path.display()))?;
                return Ok(Self(map));
            }
            if Instant::now() > deadline {
                let log = std::fs::read_to_string(log).unwrap_or_default();
                bail!("assetd did not start within 60 s; its log:\n{log}");
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// `http://ip:port` of the listener `name`.
    pub fn url(&self, name: &str) -> Option<String> {
        self.0.get(name).map(|addr| format!("http://{addr}"))
    }

    fn expect_url(&self, name: &str) -> String {
        self.url(name)
            .unwrap_or_else(|| panic!("no {name:?} listener in {:?}", self.0))
    }
}

/// Where the process logging to `log` reports its addresses.
fn addresses_file(log: &Path) -> PathBuf {
    log.with_extension("addresses.json")
}

fn terminate(child: &mut Child) -> bool {
    let pid = child.id().to_string();
    let _ = Command::new("kill").args(["-TERM", &pid]).status();
    child.wait().is_ok_and(|status| status.success())
}
