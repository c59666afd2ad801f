//! The end-to-end harness: builds and starts the real `assetd` binary on free ports against a fresh
//! database (SQLite file or a new Postgres database) and fresh storage (a directory or an S3 bucket),
//! and gives tests what they need to look behind it (rows, objects).

pub mod otlp;
pub mod python;

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::OnceLock,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use sqlx::{AnyPool, Row};

/// Where [`skipped`] also records each skip, one line per test; `tests/run` sets it and lists
/// the file at the end.
pub const SKIPPED_LOG_VAR: &str = "ASSETD_TEST_SKIPPED_LOG";

/// Reports that the running test skips its body, and why: on standard error (shown with
/// `--nocapture`) and as a line `test name: reason` appended to `$ASSETD_TEST_SKIPPED_LOG`.
pub fn skipped(reason: &str) {
    use std::io::Write as _;
    let test = std::thread::current()
        .name()
        .unwrap_or("(unnamed test)")
        .to_owned();
    eprintln!("SKIPPED: {test}: {reason}");
    if let Ok(path) = std::env::var(SKIPPED_LOG_VAR) {
        let line = format!("{test}: {reason}\n");
        let appended = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut file| file.write_all(line.as_bytes()));
        if let Err(err) = appended {
            eprintln!("cannot record the skip in {path}: {err}");
        }
    }
}

/// Set to 1 (CI does) to make Postgres-backed tests fail instead of skipping when Postgres is unreachable.
pub const REQUIRE_POSTGRES_VAR: &str = "ASSETD_TEST_REQUIRE_POSTGRES";
/// Admin URL of the Postgres server the tests create their databases on.
pub const POSTGRES_URL_VAR: &str = "ASSETD_TEST_POSTGRES_URL";
/// Endpoint of the S3-compatible server for S3 tests (the test script starts one).
pub const S3_ENDPOINT_VAR: &str = "ASSETD_TEST_S3_ENDPOINT";
/// Set to 1 (CI does) to make S3 tests fail instead of skipping when no S3 endpoint is given.
pub const REQUIRE_S3_VAR: &str = "ASSETD_TEST_REQUIRE_S3";

/// URL of the RabbitMQ broker for tests that use one.
pub const AMQP_URL_VAR: &str = "ASSETD_TEST_AMQP_URL";
/// Set to 1 (CI does) to make RabbitMQ-backed tests fail instead of skipping when it is unreachable.
pub const REQUIRE_RABBITMQ_VAR: &str = "ASSETD_TEST_REQUIRE_RABBITMQ";

const DEFAULT_POSTGRES_URL: &str = "postgres://root@127.0.0.1:5432/test";
const DEFAULT_AMQP_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

/// A RabbitMQ broker for one test: the URL and a topology prefix of its own.
#[derive(Clone, Debug)]
pub struct TestAmqp {
    pub url: String,
    pub prefix: String,
}

impl TestAmqp {
    /// `None` when RabbitMQ is unreachable and not required (the test is skipped).
    pub async fn create() -> Option<Self> {
        let url = std::env::var(AMQP_URL_VAR).unwrap_or_else(|_| DEFAULT_AMQP_URL.into());
        let host_port = url.rsplit_once('@').map_or(url.as_str(), |(_, rest)| rest);
        let host_port = host_port
            .trim_start_matches("amqp://")
            .split('/')
            .next()
            .unwrap_or("127.0.0.1:5672")
            .to_owned();
        if let Err(err) = tokio::net::TcpStream::connect(&host_port).await {
            if required(REQUIRE_RABBITMQ_VAR) {
                panic!(
                    "RabbitMQ is required ({REQUIRE_RABBITMQ_VAR}=1) but unreachable at {host_port}: {err}"
                );
            }
            skipped(&format!(
                "RabbitMQ unreachable at {host_port} ({err}); set {REQUIRE_RABBITMQ_VAR}=1 to fail instead"
            ));
            return None;
        }
        Some(Self {
            url,
            prefix: format!(
                "assetd-e2e-{}",
                &uuid::Uuid::new_v4().simple().to_string()[..12]
            ),
        })
    }

    /// The same broker reached through another address (a proxy), same prefix.
    pub fn via(&self, addr: &str) -> Self {
        let (creds, rest) = self
            .url
            .trim_start_matches("amqp://")
            .rsplit_once('@')
            .unwrap_or(("", ""));
        let vhost = rest.split_once('/').map_or("%2f", |(_, v)| v);
        let creds = if creds.is_empty() {
            String::new()
        } else {
            format!("{creds}@")
        };
        Self {
            url: format!("amqp://{creds}{addr}/{vhost}"),
            prefix: self.prefix.clone(),
        }
    }

    /// Messages waiting in a queue of this test's topology.
    pub async fn queue_len(&self, queue: &str) -> u32 {
        let connection =
            lapin::Connection::connect(&self.url, lapin::ConnectionProperties::default())
                .await
                .expect("connect to RabbitMQ");
        let channel = connection.create_channel().await.expect("channel");
        let options = lapin::options::QueueDeclareOptions {
            passive: true,
            ..Default::default()
        };
        let queue = channel
            .queue_declare(queue.into(), options, lapin::types::FieldTable::default())
            .await
            .expect("queue exists");
        let _ = connection.close(200, "done".into()).await;
        queue.message_count()
    }

    pub fn args(&self) -> Vec<String> {
        vec![
            "--amqp-url".into(),
            self.url.clone(),
            "--amqp-prefix".into(),
            self.prefix.clone(),
        ]
    }

    /// The broker's host:port.
    pub fn addr(&self) -> String {
        let rest = self.url.trim_start_matches("amqp://");
        let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
        rest.split('/').next().unwrap_or_default().to_owned()
    }
}

fn required(var: &str) -> bool {
    std::env::var(var).is_ok_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
}

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

/// A scratch directory removed on drop.
#[derive(Debug)]
pub struct ScratchDir(PathBuf);

impl ScratchDir {
    pub fn new() -> Self {
        let path =
            std::env::temp_dir().join(format!("assetd-e2e-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&path).expect("create scratch dir");
        Self(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Default for ScratchDir {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for ScratchDir {
    /// Kept for a post-mortem when `ASSETD_TEST_KEEP=1`.
    fn drop(&mut self) {
        if std::env::var("ASSETD_TEST_KEEP").is_ok_and(|v| v == "1") {
            eprintln!("kept {}", self.0.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

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

/// Where a test's objects go.
#[derive(Clone, Debug)]
pub enum TestStorage {
    Fs { dir: PathBuf },
    S3 { endpoint: String, bucket: String },
}

impl TestStorage {
    pub fn fs(scratch: &ScratchDir) -> Self {
        Self::Fs {
            dir: scratch.path().join("objects"),
        }
    }

    /// A fresh bucket on the test S3 server; `None` when none is configured and it is not required.
    pub async fn s3() -> Option<Self> {
        let endpoint = match std::env::var(S3_ENDPOINT_VAR) {
            Ok(endpoint) => endpoint,
            Err(_) if !required(REQUIRE_S3_VAR) => {
                skipped(&format!(
                    "no S3 endpoint; set {S3_ENDPOINT_VAR} (the test script does) or run tests/run"
                ));
                return None;
            }
            Err(_) => panic!(
                "S3 tests are required ({REQUIRE_S3_VAR}=1) but {S3_ENDPOINT_VAR} is not set"
            ),
        };
        let bucket = format!(
            "assetd-e2e-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        );
        let response = reqwest::Client::new()
            .put(format!("{endpoint}/{bucket}"))
            .send()
            .await
            .unwrap_or_else(|err| panic!("S3 server at {endpoint} unreachable: {err}"));
        assert!(
            response.status().is_success(),
            "create bucket: {}",
            response.status()
        );
        Some(Self::S3 { endpoint, bucket })
    }

    pub fn args(&self) -> Vec<String> {
        match self {
            Self::Fs { dir } => vec![
                "--storage".into(),
                "fs".into(),
                "--storage-dir".into(),
                dir.display().to_string(),
            ],
            Self::S3 { endpoint, bucket } => vec![
                "--storage".into(),
                "s3".into(),
                "--s3-endpoint".into(),
                endpoint.clone(),
                "--s3-bucket".into(),
                bucket.clone(),
                "--s3-access-key-id".into(),
                "test".into(),
                "--s3-secret-access-key".into(),
                "test".into(),
                "--storage-timeout-secs".into(),
                "5".into(),
            ],
        }
    }

    fn operator(&self) -> opendal::Operator {
        opendal::install_default();
        match self {
            Self::Fs { dir } => {
                std::fs::create_dir_all(dir).expect("storage dir");
                opendal::Operator::new(
                    opendal::services::Fs::default().root(&dir.display().to_string()),
                )
                .expect("fs operator")
            }
            Self::S3 { endpoint, bucket } => opendal::Operator::new(
                opendal::services::S3::default()
                    .endpoint(endpoint)
                    .bucket(bucket)
                    .region("us-east-1")
                    .access_key_id("test")
                    .secret_access_key("test"),
            )
            .expect("s3 operator"),
        }
    }

    /// Every stored file, including half-written ones, as storage paths.
    pub async fn all_files(&self) -> Vec<String> {
        let entries = self
            .operator()
            .list_with("/")
            .recursive(true)
            .await
            .expect("list storage");
        let mut files: Vec<String> = entries
            .into_iter()
            .filter(|e| e.metadata().is_file())
            .map(|e| e.path().to_owned())
            .collect();
        files.sort();
        files
    }

    /// Keys of the multipart uploads open in the bucket (S3 `ListMultipartUploads`); always empty
    /// on the filesystem, whose unfinished writes are files under `.incoming/` instead.
    pub async fn open_uploads(&self) -> Vec<String> {
        let Self::S3 { endpoint, bucket } = self else {
            return Vec::new();
        };
        let listing = reqwest::Client::new()
            .get(format!("{endpoint}/{bucket}?uploads"))
            .send()
            .await
            .expect("ListMultipartUploads")
            .text()
            .await
            .expect("ListMultipartUploads body");
        assert!(
            listing.contains("<ListMultipartUploadsResult"),
            "ListMultipartUploads: {listing}"
        );
        let mut keys: Vec<String> = listing
            .split("<Upload>")
            .skip(1)
            .filter_map(|upload| {
                let (_, rest) = upload.split_once("<Key>")?;
                Some(rest.split_once("</Key>")?.0.to_owned())
            })
            .collect();
        keys.sort();
        keys
    }

    /// Writes begun and not finished: open multipart uploads on S3, files under `.incoming/` on
    /// the filesystem.
    pub async fn partial_writes(&self) -> usize {
        match self {
            Self::S3 { .. } => self.open_uploads().await.len(),
            Self::Fs { .. } => self
                .all_files()
                .await
                .iter()
                .filter(|path| path.starts_with(".incoming/"))
                .count(),
        }
    }

    pub async fn read(&self, key: &str) -> Vec<u8> {
        self.operator()
            .read(key)
            .await
            .expect("read object")
            .to_vec()
    }
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

/// The fixture file's bytes.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name);
    std::fs::read(&path)
        .with_context(|| format!("read fixture {}", path.display()))
        .expect("fixture")
}

impl Drop for TestAmqp {
    /// Deletes this test's exchange and queues (only the original, not proxied copies, own them).
    fn drop(&mut self) {
        if self.url.contains("127.0.0.1:5672")
            || std::env::var(AMQP_URL_VAR).is_ok_and(|u| u == self.url)
        {
            let (url, prefix) = (self.url.clone(), self.prefix.clone());
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .ok()?;
                runtime.block_on(async {
                    let connection =
                        lapin::Connection::connect(&url, lapin::ConnectionProperties::default())
                            .await
                            .ok()?;
                    let channel = connection.create_channel().await.ok()?;
                    for suffix in ["jobs", "retry.2s", "retry.10s", "retry.60s", "dead"] {
                        let name = format!("{prefix}.probe.{suffix}");
                        let _ = channel
                            .queue_delete(name.as_str().into(), Default::default())
                            .await;
                    }
                    let _ = channel
                        .exchange_delete(
                            format!("{prefix}.probe").as_str().into(),
                            Default::default(),
                        )
                        .await;
                    let _ = connection.close(200, "done".into()).await;
                    Some(())
                })
            })
            .join();
        }
    }
}

/// A TCP proxy to a fixed target that a test can switch off (refusing and cutting connections)
/// and on again, or stall, to simulate a broker or storage outage without touching the target.
#[derive(Debug)]
pub struct Proxy {
    pub addr: String,
    enabled: std::sync::Arc<std::sync::atomic::AtomicBool>,
    stalled: std::sync::Arc<std::sync::atomic::AtomicBool>,
    connections: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
    accept: tokio::task::JoinHandle<()>,
}

impl Proxy {
    pub async fn start(target: &str) -> Self {
        use std::sync::{Arc, Mutex, atomic::AtomicBool};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind proxy");
        let addr = listener.local_addr().expect("proxy addr").to_string();
        let enabled = Arc::new(AtomicBool::new(true));
        let stalled = Arc::new(AtomicBool::new(false));
        let stall = stalled.clone();
        let connections: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>> =
            Arc::new(Mutex::new(Vec::new()));
        let (target, on, conns) = (target.to_owned(), enabled.clone(), connections.clone());
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !on.load(std::sync::atomic::Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let (target, stalled) = (target.clone(), stall.clone());
                let task = tokio::spawn(async move {
                    use tokio::io::{AsyncReadExt, AsyncWriteExt};
                    let Ok(outbound) = tokio::net::TcpStream::connect(&target).await else {
                        return;
                    };
                    let (mut from_client, mut to_client) = inbound.split();
                    let (mut from_target, mut to_target) = outbound.into_split();
                    let upstream = tokio::io::copy(&mut from_client, &mut to_target);
                    let downstream = async {
                        let mut buf = vec![0u8; 64 * 1024];
                        loop {
                            let n = from_target.read(&mut buf).await?;
                            if n == 0 {
                                return Ok::<(), std::io::Error>(());
                            }
                            if !stalled.load(std::sync::atomic::Ordering::SeqCst) {
                                to_client.write_all(&buf[..n]).await?;
                            }
                        }
                    };
                    tokio::select! {
                        _ = upstream => {}
                        _ = downstream => {}
                    }
                });
                conns.lock().expect("proxy lock").push(task);
            }
        });
        Self {
            addr,
            enabled,
            stalled,
            connections,
            accept,
        }
    }

    /// Stalled: what the target sends is dropped (the connection stays open, nothing arrives:
    /// a broker whose confirms never come); what the client sends still goes through. Ending a
    /// stall cuts the open connections, whose streams have lost bytes.
    pub fn set_stalled(&self, stalled: bool) {
        self.stalled
            .store(stalled, std::sync::atomic::Ordering::SeqCst);
        if !stalled {
            for task in self.connections.lock().expect("proxy lock").drain(..) {
                task.abort();
            }
        }
    }

    /// Off: new connections are refused and open ones are cut.
    pub fn set_enabled(&self, on: bool) {
        self.enabled.store(on, std::sync::atomic::Ordering::SeqCst);
        if !on {
            for task in self.connections.lock().expect("proxy lock").drain(..) {
                task.abort();
            }
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.set_enabled(false);
        self.accept.abort();
    }
}

fn terminate(child: &mut Child) -> bool {
    let pid = child.id().to_string();
    let _ = Command::new("kill").args(["-TERM", &pid]).status();
    child.wait().is_ok_and(|status| status.success())
}
