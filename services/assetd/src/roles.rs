//! Wires each role from its configuration: opens the database or storage, binds listeners, runs until shutdown.

use std::sync::Arc;

use anyhow::Context;
use assetd_catalog::{CatalogConfig, Db, accounts, config::DatabaseConfig, relay::Relay};
use assetd_gateway::{AppState, GatewayConfig};
use assetd_platform::{
    amqp::{AmqpConfig, Topology},
    shutdown,
    storage::{Storage, StorageConfig},
};
use assetd_prober::worker::ProberConfig;
use assetd_proto::catalog::{CatalogClient, v1::ReprobeRequest};
use tokio::{net::TcpListener, sync::Notify, task::JoinSet};
use tokio_util::sync::CancellationToken;

async fn bind(addr: std::net::SocketAddr, what: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} for {what}"))
}

fn catalog_client(url: &str) -> anyhow::Result<CatalogClient> {
    assetd_proto::catalog::connect(url).with_context(|| format!("invalid catalog URL {url:?}"))
}

fn gateway_state(
    gateway: &GatewayConfig,
    storage: Storage,
    catalog: CatalogClient,
    listener: &TcpListener,
) -> anyhow::Result<AppState> {
    let public_url = match &gateway.public_url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => format!("http://{}", listener.local_addr()?),
    };
    Ok(AppState {
        catalog,
        storage,
        limits: gateway.limits,
        public_url,
    })
}

/// The catalog's gRPC server plus, with RabbitMQ configured, the outbox relay.
fn spawn_catalog(
    tasks: &mut JoinSet<anyhow::Result<()>>,
    listener: TcpListener,
    db: Db,
    amqp: &AmqpConfig,
    shutdown: &CancellationToken,
) {
    let jobs_queued = Arc::new(Notify::new());
    if let Some(url) = &amqp.amqp_url {
        let relay = Relay {
            db: db.clone(),
            url: url.clone(),
            topology: Topology::new(&amqp.amqp_prefix),
            wake: jobs_queued.clone(),
        };
        let shutdown = shutdown.clone();
        tasks.spawn(async move {
            relay.run(shutdown).await;
            Ok(())
        });
    }
    tasks.spawn(assetd_catalog::server::serve(
        listener,
        db,
        jobs_queued,
        shutdown.clone(),
    ));
}

/// Waits for every task; the first failure stops the others.
async fn join_all(
    mut tasks: JoinSet<anyhow::Result<()>>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
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

/// Every role in one process; the gateway and the prober still reach the catalog over loopback gRPC.
pub async fn serve(
    catalog: CatalogConfig,
    gateway: GatewayConfig,
    storage: StorageConfig,
    prober: ProberConfig,
    amqp: AmqpConfig,
) -> anyhow::Result<()> {
    let shutdown = shutdown::on_signal();
    let db = Db::connect(&catalog.database).await?;
    db.migrate().await.context("cannot migrate the database")?;
    let storage = Storage::open(&storage).context("cannot open object storage")?;

    let grpc_listener = bind(catalog.catalog_grpc_addr, "the catalog's gRPC").await?;
    let catalog_client = catalog_client(&format!("http://{}", grpc_listener.local_addr()?))?;
    let http_listener = bind(gateway.http_addr, "the HTTP API").await?;
    let state = gateway_state(
        &gateway,
        storage.clone(),
        catalog_client.clone(),
        &http_listener,
    )?;

    tracing::info!(
        "assetd is up. Create an API key with: assetd keys create --account NAME \
         (add --database-url if you changed it)"
    );
    // The catalog stops last: the gateway and the prober drain first and still need it meanwhile.
    let catalog_shutdown = CancellationToken::new();
    let mut catalog_tasks = JoinSet::new();
    spawn_catalog(
        &mut catalog_tasks,
        grpc_listener,
        db.clone(),
        &amqp,
        &catalog_shutdown,
    );
    let mut tasks = JoinSet::new();
    tasks.spawn(assetd_gateway::serve(
        http_listener,
        state,
        shutdown.clone(),
    ));
    tasks.spawn(assetd_prober::worker::run(
        prober,
        amqp,
        catalog_client,
        storage,
        shutdown.clone(),
    ));
    let edge = join_all(tasks, shutdown.clone()).await;
    catalog_shutdown.cancel();
    let core = join_all(catalog_tasks, catalog_shutdown).await;
    db.close().await;
    edge.and(core)
}

pub async fn gateway(
    gateway: GatewayConfig,
    storage: StorageConfig,
    catalog_url: String,
) -> anyhow::Result<()> {
    let shutdown = shutdown::on_signal();
    let storage = Storage::open(&storage).context("cannot open object storage")?;
    let listener = bind(gateway.http_addr, "the HTTP API").await?;
    let state = gateway_state(&gateway, storage, catalog_client(&catalog_url)?, &listener)?;
    assetd_gateway::serve(listener, state, shutdown).await
}

pub async fn catalog(catalog: CatalogConfig, amqp: AmqpConfig) -> anyhow::Result<()> {
    let shutdown = shutdown::on_signal();
    let db = Db::connect(&catalog.database).await?;
    let listener = bind(catalog.catalog_grpc_addr, "the catalog's gRPC").await?;
    let mut tasks = JoinSet::new();
    spawn_catalog(&mut tasks, listener, db.clone(), &amqp, &shutdown);
    let result = join_all(tasks, shutdown).await;
    db.close().await;
    result
}

pub async fn prober(
    prober: ProberConfig,
    amqp: AmqpConfig,
    storage: StorageConfig,
    catalog_url: String,
) -> anyhow::Result<()> {
    let shutdown = shutdown::on_signal();
    let storage = Storage::open(&storage).context("cannot open object storage")?;
    assetd_prober::worker::run(
        prober,
        amqp,
        catalog_client(&catalog_url)?,
        storage,
        shutdown,
    )
    .await
}

/// Queues new probes through the catalog's gRPC API; returns how many assets were queued.
pub async fn reprobe(catalog_url: &str, request: ReprobeRequest) -> anyhow::Result<u64> {
    let response = catalog_client(catalog_url)?
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
