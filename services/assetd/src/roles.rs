//! One builder per role: each opens what its role needs (database, storage, listeners), adds its
//! readiness checks and, when started, spawns its tasks into the [`Process`]. The role commands
//! assemble them: `serve` is the catalog, gateway and prober builders in one process, the
//! gateway and the prober calling the catalog in-process.

use std::time::Duration;

use anyhow::Context;
use assetd_catalog::{
    CatalogConfig, Db,
    config::{DatabaseConfig, Limits},
    jobs_signal::JobsQueued,
    relay::Relay,
    server::CatalogServer,
    store::accounts,
};
use assetd_gateway::{Admission, AppState, GatewayConfig};
use assetd_notifier::NotifierConfig;
use assetd_platform::{
    admin::{AdminConfig, Check},
    amqp::{AmqpConfig, Topology},
    service_token::ServiceTokenConfig,
    storage::{Storage, StorageConfig},
};
use assetd_prober::ProberConfig;
use assetd_proto::catalog::{CatalogClient, v1::ReprobeRequest};
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

use crate::process::Process;

/// Every role in one process; the gateway and the prober call the catalog's gRPC service
/// in-process (its gRPC port still serves other callers).
#[expect(
    clippy::too_many_arguments,
    reason = "one config block per concern, as the command line parsed them"
)]
pub async fn serve(
    catalog: CatalogConfig,
    gateway: GatewayConfig,
    storage: StorageConfig,
    (prober, mut notifier): (ProberConfig, NotifierConfig),
    amqp: AmqpConfig,
    admin: AdminConfig,
    service_token: ServiceTokenConfig,
    metrics: PrometheusHandle,
) -> anyhow::Result<()> {
    let mut process = Process::new(admin, service_token, metrics);
    let catalog = CatalogRole::build(&catalog, &amqp, Migrate::Yes, &mut process)
        .await?
        .start(&mut process);
    let storage = open_storage(&storage, &mut process)?;
    let gateway =
        GatewayRole::build(&gateway, storage.clone(), catalog.clone(), &mut process).await?;
    // Webhook payloads link to the files this gateway serves.
    notifier
        .webhook_public_url
        .get_or_insert_with(|| gateway.state.public_url.clone());
    gateway.start(&mut process);
    ProberRole::build(prober, notifier, amqp, storage, catalog).start(&mut process);
    tracing::info!(
        "assetd is up. Create an API key with: assetd keys create --account NAME \
         (add --database-url if you changed it)"
    );
    process.run().await
}

pub async fn gateway(
    gateway: GatewayConfig,
    storage: StorageConfig,
    catalog_url: String,
    admin: AdminConfig,
    service_token: ServiceTokenConfig,
    metrics: PrometheusHandle,
) -> anyhow::Result<()> {
    let mut process = Process::new(admin, service_token, metrics);
    let storage = open_storage(&storage, &mut process)?;
    let catalog = remote_catalog(&catalog_url, &mut process)?;
    GatewayRole::build(&gateway, storage, catalog, &mut process)
        .await?
        .start(&mut process);
    process.run().await
}

pub async fn catalog(
    catalog: CatalogConfig,
    amqp: AmqpConfig,
    admin: AdminConfig,
    service_token: ServiceTokenConfig,
    metrics: PrometheusHandle,
) -> anyhow::Result<()> {
    let mut process = Process::new(admin, service_token, metrics);
    CatalogRole::build(&catalog, &amqp, Migrate::No, &mut process)
        .await?
        .start(&mut process);
    process.run().await
}

pub async fn prober(
    (prober, notifier): (ProberConfig, NotifierConfig),
    amqp: AmqpConfig,
    storage: StorageConfig,
    catalog_url: String,
    admin: AdminConfig,
    service_token: ServiceTokenConfig,
    metrics: PrometheusHandle,
) -> anyhow::Result<()> {
    let mut process = Process::new(admin, service_token, metrics);
    let storage = open_storage(&storage, &mut process)?;
    let catalog = remote_catalog(&catalog_url, &mut process)?;
    ProberRole::build(prober, notifier, amqp, storage, catalog).start(&mut process);
    process.run().await
}

/// Whether the catalog applies the migrations at start (`serve`, the embedded default) or
/// expects `assetd migrate` to have run (the catalog role: one migration per deploy, not per pod).
#[derive(PartialEq, Eq)]
enum Migrate {
    Yes,
    No,
}

/// The catalog: its database, its gRPC server and, with RabbitMQ, the outbox relay. It runs in
/// the process's core, so roles calling it in-process keep it while they drain.
struct CatalogRole {
    db: Db,
    listener: TcpListener,
    amqp: AmqpConfig,
    limits: Limits,
}

impl CatalogRole {
    async fn build(
        config: &CatalogConfig,
        amqp: &AmqpConfig,
        migrate: Migrate,
        process: &mut Process,
    ) -> anyhow::Result<Self> {
        let db = Db::connect(&config.database).await?;
        if migrate == Migrate::Yes {
            db.migrate().await.context("cannot migrate the database")?;
        }
        let listener = process
            .bind(
                "catalog_grpc",
                config.catalog_grpc_addr,
                "the catalog's gRPC",
            )
            .await?;
        process.check(database_check(&db));
        Ok(Self {
            db,
            listener,
            amqp: amqp.clone(),
            limits: config.limits(),
        })
    }

    /// Spawns the catalog; returns a client that calls it in the same process.
    fn start(self, process: &mut Process) -> CatalogClient {
        let Self {
            db,
            listener,
            amqp,
            limits,
        } = self;
        let stop = process.core_shutdown.clone();
        let jobs_queued = JobsQueued::default();
        let relay = amqp.amqp_url.map(|url| Relay {
            db: db.clone(),
            url,
            topology: Topology::new(&amqp.amqp_prefix),
            jobs_queued: jobs_queued.clone(),
        });
        let server = CatalogServer::new(
            db.clone(),
            jobs_queued,
            process.readiness.clone(),
            process.service_token.require(),
            limits,
            stop.clone(),
        );
        let local = server.local_client(process.service_token.client_token());
        process.spawn_core(async move {
            let relay = async {
                if let Some(relay) = relay {
                    relay.run(stop).await;
                }
            };
            let (served, ()) = tokio::join!(server.serve(listener), relay);
            db.close().await;
            served
        });
        local
    }
}

/// The HTTP gateway and its gRPC server (streaming uploads for internal callers); after SIGTERM,
/// uploads still streaming when the grace period ends are cut.
struct GatewayRole {
    http: TcpListener,
    grpc: TcpListener,
    state: AppState,
    edge: assetd_gateway::EdgeLimits,
}

impl GatewayRole {
    async fn build(
        config: &GatewayConfig,
        storage: Storage,
        catalog: CatalogClient,
        process: &mut Process,
    ) -> anyhow::Result<Self> {
        let http = process
            .bind("http", config.http_addr, "the HTTP API")
            .await?;
        let grpc = process
            .bind(
                "gateway_grpc",
                config.gateway_grpc_addr,
                "the gateway's gRPC",
            )
            .await?;
        let public_url = match &config.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("http://{}", http.local_addr()?),
        };
        let state = AppState {
            catalog,
            storage,
            limits: config.limits,
            admission: Admission::new(&config.admission),
            public_url,
            resumable: config.resumable,
            cut_uploads: cut_after_grace(
                &process.shutdown,
                Duration::from_secs(config.shutdown_grace_secs),
            ),
        };
        Ok(Self {
            http,
            grpc,
            state,
            edge: config.edge.clone(),
        })
    }

    fn start(self, process: &mut Process) {
        process.spawn_work(assetd_gateway::grpc::serve(
            self.grpc,
            self.state.clone(),
            process.readiness.clone(),
            process.service_token.require(),
            process.shutdown.clone(),
        ));
        process.spawn_work(assetd_gateway::serve(
            self.http,
            self.state,
            self.edge,
            process.shutdown.clone(),
        ));
    }
}

/// A token cancelled `grace` after `shutdown`: uploads still streaming then are cut.
fn cut_after_grace(shutdown: &CancellationToken, grace: Duration) -> CancellationToken {
    let cut = CancellationToken::new();
    let (shutdown, cut_later) = (shutdown.clone(), cut.clone());
    tokio::spawn(async move {
        shutdown.cancelled().await;
        tokio::time::sleep(grace).await;
        cut_later.cancel();
    });
    cut
}

/// The probe worker, on RabbitMQ or the catalog's embedded queue.
/// The probe worker and the notifier, both on RabbitMQ or the embedded queue.
struct ProberRole {
    config: ProberConfig,
    notifier: NotifierConfig,
    amqp: AmqpConfig,
    storage: Storage,
    catalog: CatalogClient,
}

impl ProberRole {
    fn build(
        config: ProberConfig,
        notifier: NotifierConfig,
        amqp: AmqpConfig,
        storage: Storage,
        catalog: CatalogClient,
    ) -> Self {
        Self {
            config,
            notifier,
            amqp,
            storage,
            catalog,
        }
    }

    fn start(self, process: &mut Process) {
        process.spawn_work(assetd_notifier::run(
            self.notifier,
            self.amqp.clone(),
            self.catalog.clone(),
            self.storage.clone(),
            process.shutdown.clone(),
        ));
        process.spawn_work(assetd_prober::run(
            self.config,
            self.amqp,
            self.catalog,
            self.storage,
            process.shutdown.clone(),
        ));
    }
}

/// Opens the object storage and adds its readiness check.
fn open_storage(config: &StorageConfig, process: &mut Process) -> anyhow::Result<Storage> {
    let storage = Storage::open(config).context("cannot open object storage")?;
    let checked = storage.clone();
    process.check(Check::new("storage", move || {
        let storage = checked.clone();
        async move { storage.check().await.map_err(|err| format!("{err:?}")) }
    }));
    Ok(storage)
}

/// A client of a catalog in another process (sending the service token, when one is
/// configured), whose gRPC health answering SERVING is a readiness check.
fn remote_catalog(url: &str, process: &mut Process) -> anyhow::Result<CatalogClient> {
    process.check(catalog_check(url)?);
    catalog_client(url, &process.service_token)
}

/// A catalog client that sends the service token, when one is configured.
fn catalog_client(url: &str, token: &ServiceTokenConfig) -> anyhow::Result<CatalogClient> {
    assetd_proto::catalog::connect(url, token.client_token())
        .with_context(|| format!("invalid catalog URL {url:?}"))
}

/// The catalog answers its standard gRPC health check with SERVING.
fn catalog_check(url: &str) -> anyhow::Result<Check> {
    let channel = tonic::transport::Endpoint::from_shared(url.to_owned())
        .with_context(|| format!("invalid catalog URL {url:?}"))?
        .connect_timeout(Duration::from_secs(2))
        .connect_lazy();
    Ok(Check::new("catalog", move || {
        let mut client = HealthClient::new(channel.clone());
        async move {
            let response = client
                .check(HealthCheckRequest {
                    service: String::new(),
                })
                .await
                .map_err(|status| format!("{:?}: {}", status.code(), status.message()))?;
            match response.into_inner().status() {
                ServingStatus::Serving => Ok(()),
                other => Err(format!("{other:?}")),
            }
        }
    }))
}

fn database_check(db: &Db) -> Check {
    let db = db.clone();
    Check::new("database", move || {
        let db = db.clone();
        async move { db.ping().await.map_err(|err| err.to_string()) }
    })
}

/// Queues new probes through the catalog's gRPC API; returns how many assets were queued.
pub async fn reprobe(
    catalog_url: &str,
    service_token: &ServiceTokenConfig,
    request: ReprobeRequest,
) -> anyhow::Result<u64> {
    let response = catalog_client(catalog_url, service_token)?
        .reprobe(request)
        .await
        .map_err(|status| {
            anyhow::anyhow!(
                "the catalog refused: {:?} {}",
                status.code(),
                status.message()
            )
        })?;
    Ok(response.into_inner().queued)
}

pub async fn migrate(database: DatabaseConfig) -> anyhow::Result<()> {
    let db = Db::connect(&database).await?;
    db.migrate().await.context("cannot migrate the database")?;
    tracing::info!("database migrated");
    db.close().await;
    Ok(())
}

pub async fn create_key(database: DatabaseConfig, account: &str) -> anyhow::Result<String> {
    let db = Db::connect(&database).await?;
    db.migrate().await.context("cannot migrate the database")?;
    let key = accounts::create_key(&db, account).await?;
    db.close().await;
    Ok(key)
}

pub async fn set_enabled(
    database: DatabaseConfig,
    name: &str,
    enabled: bool,
) -> anyhow::Result<()> {
    let db = Db::connect(&database).await?;
    accounts::set_enabled(&db, name, enabled).await?;
    db.close().await;
    Ok(())
}
