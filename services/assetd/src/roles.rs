//! Wires each role from its configuration: opens the database or storage, binds listeners, runs
//! until SIGTERM, then drains in order (not ready first, then the edge, then the catalog).

use std::time::Duration;

use anyhow::Context;
use assetd_catalog::{
    CatalogConfig, Db, accounts, config::DatabaseConfig, jobs_signal::JobsQueued, relay::Relay,
    server::CatalogServer,
};
use assetd_gateway::{Admission, AppState, GatewayConfig};
use assetd_platform::{
    admin::{self, AdminConfig, Check, Readiness},
    amqp::{AmqpConfig, Topology},
    service_token::ServiceTokenConfig,
    shutdown,
    storage::{Storage, StorageConfig},
};
use assetd_prober::ProberConfig;
use assetd_proto::catalog::{CatalogClient, v1::ReprobeRequest};
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::{net::TcpListener, task::JoinSet};
use tokio_util::sync::CancellationToken;
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

type Tasks = JoinSet<anyhow::Result<()>>;

async fn bind(addr: std::net::SocketAddr, what: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} for {what}"))
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

fn storage_check(storage: &Storage) -> Check {
    let storage = storage.clone();
    Check::new("storage", move || {
        let storage = storage.clone();
        async move { storage.check().await.map_err(|err| format!("{err:?}")) }
    })
}

fn database_check(db: &Db) -> Check {
    let db = db.clone();
    Check::new("database", move || {
        let db = db.clone();
        async move { db.ping().await.map_err(|err| err.to_string()) }
    })
}

/// Starts the admin listener, the readiness checks and the drain trigger: on SIGTERM the role
/// reports not-ready before anything else stops. Returns the token that stops the admin
/// listener, to be cancelled last.
async fn start_admin(
    admin: &AdminConfig,
    metrics: PrometheusHandle,
    readiness: &Readiness,
    checks: Vec<Check>,
    shutdown: &CancellationToken,
    tasks: &mut Tasks,
) -> anyhow::Result<CancellationToken> {
    let listener = bind(admin.admin_addr, "the admin endpoints").await?;
    let stop_admin = CancellationToken::new();
    readiness.spawn_checks(checks, stop_admin.clone());
    {
        let (readiness, shutdown) = (readiness.clone(), shutdown.clone());
        tokio::spawn(async move {
            shutdown.cancelled().await;
            readiness.start_draining();
        });
    }
    tasks.spawn(admin::serve(
        listener,
        readiness.clone(),
        metrics,
        stop_admin.clone(),
    ));
    Ok(stop_admin)
}

/// The HTTP gateway and its gRPC server (streaming uploads for internal callers); after SIGTERM,
/// uploads still streaming when the grace period ends are cut.
async fn spawn_gateway(
    tasks: &mut Tasks,
    gateway: &GatewayConfig,
    storage: Storage,
    catalog: CatalogClient,
    service_token: &ServiceTokenConfig,
    shutdown: &CancellationToken,
) -> anyhow::Result<()> {
    let listener = bind(gateway.http_addr, "the HTTP API").await?;
    let grpc_listener = bind(gateway.gateway_grpc_addr, "the gateway's gRPC").await?;
    let public_url = match &gateway.public_url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => format!("http://{}", listener.local_addr()?),
    };
    let cut_uploads = CancellationToken::new();
    {
        let (shutdown, cut, grace) = (
            shutdown.clone(),
            cut_uploads.clone(),
            Duration::from_secs(gateway.shutdown_grace_secs),
        );
        tokio::spawn(async move {
            shutdown.cancelled().await;
            tokio::time::sleep(grace).await;
            cut.cancel();
        });
    }
    let state = AppState {
        catalog,
        storage,
        limits: gateway.limits,
        admission: Admission::new(&gateway.admission),
        public_url,
        cut_uploads,
    };
    tasks.spawn(assetd_gateway::grpc::serve(
        grpc_listener,
        state.clone(),
        service_token.require(),
        shutdown.clone(),
    ));
    tasks.spawn(assetd_gateway::serve(
        listener,
        state,
        gateway.edge.clone(),
        shutdown.clone(),
    ));
    Ok(())
}

/// The catalog's gRPC server plus, with RabbitMQ configured, the outbox relay. Returns a client
/// that calls this catalog in-process (for the roles `serve` runs beside it).
#[expect(
    clippy::too_many_arguments,
    reason = "the catalog's parts as each role built them, and its settings"
)]
fn spawn_catalog(
    tasks: &mut Tasks,
    listener: TcpListener,
    db: Db,
    amqp: &AmqpConfig,
    readiness: &Readiness,
    service_token: &ServiceTokenConfig,
    idempotency_ttl: Duration,
    shutdown: &CancellationToken,
) -> CatalogClient {
    let jobs_queued = JobsQueued::default();
    if let Some(url) = &amqp.amqp_url {
        let relay = Relay {
            db: db.clone(),
            url: url.clone(),
            topology: Topology::new(&amqp.amqp_prefix),
            jobs_queued: jobs_queued.clone(),
        };
        let shutdown = shutdown.clone();
        tasks.spawn(async move {
            relay.run(shutdown).await;
            Ok(())
        });
    }
    let server = CatalogServer::new(
        db,
        jobs_queued,
        readiness.clone(),
        service_token.require(),
        idempotency_ttl,
        shutdown.clone(),
    );
    let local = server.local_client(service_token.client_token());
    tasks.spawn(server.serve(listener));
    local
}

/// Waits for every task; the first failure stops the others.
async fn join_all(mut tasks: Tasks, shutdown: &CancellationToken) -> anyhow::Result<()> {
    let mut first_error = None;
    while let Some(joined) = tasks.join_next().await {
        let result = joined.context("a role task panicked").and_then(|r| r);
        if let Err(err) = result {
            tracing::error!(
                error = format!("{err:#}"),
                "a role failed; stopping the others"
            );
            shutdown.cancel();
            first_error.get_or_insert(err);
        }
    }
    first_error.map_or(Ok(()), Err)
}

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
    prober: ProberConfig,
    amqp: AmqpConfig,
    admin: AdminConfig,
    service_token: ServiceTokenConfig,
    metrics: PrometheusHandle,
) -> anyhow::Result<()> {
    let shutdown = shutdown::on_signal();
    let db = Db::connect(&catalog.database).await?;
    db.migrate().await.context("cannot migrate the database")?;
    let storage = Storage::open(&storage).context("cannot open object storage")?;
    let grpc_listener = bind(catalog.catalog_grpc_addr, "the catalog's gRPC").await?;

    // The catalog (and the admin listener) stop last: the edge drains first and needs them meanwhile.
    let core_shutdown = CancellationToken::new();
    let readiness = Readiness::default();
    let mut core = JoinSet::new();
    let checks = vec![database_check(&db), storage_check(&storage)];
    let stop_admin = start_admin(&admin, metrics, &readiness, checks, &shutdown, &mut core).await?;
    // The gateway and the prober call the catalog in-process: no loopback socket per call.
    let client = spawn_catalog(
        &mut core,
        grpc_listener,
        db.clone(),
        &amqp,
        &readiness,
        &service_token,
        Duration::from_secs(catalog.idempotency_key_ttl_secs),
        &core_shutdown,
    );

    let mut edge = JoinSet::new();
    spawn_gateway(
        &mut edge,
        &gateway,
        storage.clone(),
        client.clone(),
        &service_token,
        &shutdown,
    )
    .await?;
    edge.spawn(assetd_prober::run(
        prober,
        amqp,
        client,
        storage,
        shutdown.clone(),
    ));
    tracing::info!(
        "assetd is up. Create an API key with: assetd keys create --account NAME \
         (add --database-url if you changed it)"
    );
    let edge_result = join_all(edge, &shutdown).await;
    core_shutdown.cancel();
    stop_admin.cancel();
    let core_result = join_all(core, &core_shutdown).await;
    db.close().await;
    edge_result.and(core_result)
}

/// Runs one role's tasks, then stops its admin listener (which kept reporting not-ready while
/// the role drained).
async fn run_role(
    work: Tasks,
    mut admin: Tasks,
    stop_admin: CancellationToken,
    shutdown: &CancellationToken,
) -> anyhow::Result<()> {
    let result = join_all(work, shutdown).await;
    stop_admin.cancel();
    while admin.join_next().await.is_some() {}
    result
}

pub async fn gateway(
    gateway: GatewayConfig,
    storage: StorageConfig,
    catalog_url: String,
    admin: AdminConfig,
    service_token: ServiceTokenConfig,
    metrics: PrometheusHandle,
) -> anyhow::Result<()> {
    let shutdown = shutdown::on_signal();
    let storage = Storage::open(&storage).context("cannot open object storage")?;
    let readiness = Readiness::default();
    let (mut work, mut admin_tasks) = (JoinSet::new(), JoinSet::new());
    let checks = vec![catalog_check(&catalog_url)?, storage_check(&storage)];
    let stop_admin = start_admin(
        &admin,
        metrics,
        &readiness,
        checks,
        &shutdown,
        &mut admin_tasks,
    )
    .await?;
    spawn_gateway(
        &mut work,
        &gateway,
        storage,
        catalog_client(&catalog_url, &service_token)?,
        &service_token,
        &shutdown,
    )
    .await?;
    run_role(work, admin_tasks, stop_admin, &shutdown).await
}

pub async fn catalog(
    catalog: CatalogConfig,
    amqp: AmqpConfig,
    admin: AdminConfig,
    service_token: ServiceTokenConfig,
    metrics: PrometheusHandle,
) -> anyhow::Result<()> {
    let shutdown = shutdown::on_signal();
    let db = Db::connect(&catalog.database).await?;
    let listener = bind(catalog.catalog_grpc_addr, "the catalog's gRPC").await?;
    let readiness = Readiness::default();
    let (mut work, mut admin_tasks) = (JoinSet::new(), JoinSet::new());
    let checks = vec![database_check(&db)];
    let stop_admin = start_admin(
        &admin,
        metrics,
        &readiness,
        checks,
        &shutdown,
        &mut admin_tasks,
    )
    .await?;
    spawn_catalog(
        &mut work,
        listener,
        db.clone(),
        &amqp,
        &readiness,
        &service_token,
        Duration::from_secs(catalog.idempotency_key_ttl_secs),
        &shutdown,
    );
    let result = run_role(work, admin_tasks, stop_admin, &shutdown).await;
    db.close().await;
    result
}

pub async fn prober(
    prober: ProberConfig,
    amqp: AmqpConfig,
    storage: StorageConfig,
    catalog_url: String,
    admin: AdminConfig,
    service_token: ServiceTokenConfig,
    metrics: PrometheusHandle,
) -> anyhow::Result<()> {
    let shutdown = shutdown::on_signal();
    let storage = Storage::open(&storage).context("cannot open object storage")?;
    let readiness = Readiness::default();
    let (mut work, mut admin_tasks) = (JoinSet::new(), JoinSet::new());
    let checks = vec![catalog_check(&catalog_url)?, storage_check(&storage)];
    let stop_admin = start_admin(
        &admin,
        metrics,
        &readiness,
        checks,
        &shutdown,
        &mut admin_tasks,
    )
    .await?;
    work.spawn(assetd_prober::run(
        prober,
        amqp,
        catalog_client(&catalog_url, &service_token)?,
        storage,
        shutdown.clone(),
    ));
    run_role(work, admin_tasks, stop_admin, &shutdown).await
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
