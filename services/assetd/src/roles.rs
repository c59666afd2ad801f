//! Wires each role from its configuration: opens the database or storage, binds listeners, runs until shutdown.

use anyhow::Context;
use assetd_catalog::{CatalogConfig, Db, accounts, config::DatabaseConfig};
use assetd_gateway::{AppState, GatewayConfig, catalog_client};
use assetd_platform::{
    shutdown,
    storage::{Storage, StorageConfig},
};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

async fn bind(addr: std::net::SocketAddr, what: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} for {what}"))
}

async fn gateway_state(
    gateway: &GatewayConfig,
    storage: &StorageConfig,
    catalog_url: &str,
    listener: &TcpListener,
) -> anyhow::Result<AppState> {
    let storage = Storage::open(storage).context("cannot open object storage")?;
    let public_url = match &gateway.public_url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => format!("http://{}", listener.local_addr()?),
    };
    Ok(AppState {
        catalog: catalog_client::connect(catalog_url)?,
        storage,
        limits: gateway.limits,
        public_url,
    })
}

/// Every role in one process; the gateway still reaches the catalog over loopback gRPC.
pub async fn serve(
    catalog: CatalogConfig,
    gateway: GatewayConfig,
    storage: StorageConfig,
) -> anyhow::Result<()> {
    let shutdown = shutdown::on_signal();
    let db = Db::connect(&catalog.database).await?;
    db.migrate().await.context("cannot migrate the database")?;

    let grpc_listener = bind(catalog.catalog_grpc_addr, "the catalog's gRPC").await?;
    let catalog_url = format!("http://{}", grpc_listener.local_addr()?);
    let http_listener = bind(gateway.http_addr, "the HTTP API").await?;
    let state = gateway_state(&gateway, &storage, &catalog_url, &http_listener).await?;

    tracing::info!(
        "assetd is up. Create an API key with: assetd keys create --account NAME \
         (add --database-url if you changed it)"
    );
    let catalog_task = tokio::spawn(assetd_catalog::server::serve(
        grpc_listener,
        db.clone(),
        shutdown.clone(),
    ));
    let http_result = assetd_gateway::serve(http_listener, state, shutdown.clone()).await;
    // The gateway has drained; only now may the catalog stop.
    shutdown.cancel();
    let catalog_result = catalog_task.await.context("catalog task panicked")?;
    db.close().await;
    http_result.and(catalog_result)
}

pub async fn gateway(
    gateway: GatewayConfig,
    storage: StorageConfig,
    catalog_url: String,
) -> anyhow::Result<()> {
    let shutdown = shutdown::on_signal();
    let listener = bind(gateway.http_addr, "the HTTP API").await?;
    let state = gateway_state(&gateway, &storage, &catalog_url, &listener).await?;
    assetd_gateway::serve(listener, state, shutdown).await
}

pub async fn catalog(catalog: CatalogConfig) -> anyhow::Result<()> {
    let shutdown: CancellationToken = shutdown::on_signal();
    let db = Db::connect(&catalog.database).await?;
    let listener = bind(catalog.catalog_grpc_addr, "the catalog's gRPC").await?;
    let result = assetd_catalog::server::serve(listener, db.clone(), shutdown).await;
    db.close().await;
    result
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
