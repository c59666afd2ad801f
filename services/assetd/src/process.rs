//! One assetd process: its shutdown signal, readiness and admin listener, the listeners it bound
//! (reported in `--addresses-file`), and the order it drains in: on SIGTERM it turns not-ready,
//! the work (gateway, prober) drains, then the core (the catalog others call, the admin listener)
//! stops.

use std::{collections::BTreeMap, net::SocketAddr, path::Path};

use anyhow::Context;
use assetd_platform::{
    admin::{self, AdminConfig, Check, Readiness},
    service_token::ServiceTokenConfig,
    shutdown,
};
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::{net::TcpListener, task::JoinSet};
use tokio_util::sync::CancellationToken;

type Tasks = JoinSet<anyhow::Result<()>>;

/// A process being assembled by the role builders, then run by [`Process::run`].
pub struct Process {
    /// Cancelled on SIGTERM or SIGINT, or when any task fails: the work starts draining.
    pub shutdown: CancellationToken,
    /// Cancelled once the work has drained: the core stops.
    pub core_shutdown: CancellationToken,
    pub readiness: Readiness,
    pub service_token: ServiceTokenConfig,
    admin: AdminConfig,
    metrics: PrometheusHandle,
    checks: Vec<Check>,
    addresses: BTreeMap<&'static str, SocketAddr>,
    work: Tasks,
    core: Tasks,
}

impl Process {
    pub fn new(
        admin: AdminConfig,
        service_token: ServiceTokenConfig,
        metrics: PrometheusHandle,
    ) -> Self {
        Self {
            shutdown: shutdown::on_signal(),
            core_shutdown: CancellationToken::new(),
            readiness: Readiness::default(),
            service_token,
            admin,
            metrics,
            checks: Vec::new(),
            addresses: BTreeMap::new(),
            work: JoinSet::new(),
            core: JoinSet::new(),
        }
    }

    /// Binds the listener named `name` in the addresses file; `what` names it in errors.
    pub async fn bind(
        &mut self,
        name: &'static str,
        addr: SocketAddr,
        what: &str,
    ) -> anyhow::Result<TcpListener> {
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr} for {what}"))?;
        self.addresses.insert(name, listener.local_addr()?);
        Ok(listener)
    }

    /// Adds a dependency check to readiness.
    pub fn check(&mut self, check: Check) {
        self.checks.push(check);
    }

    /// Runs `task` as work: it drains on SIGTERM (`shutdown`).
    pub fn spawn_work(&mut self, task: impl Future<Output = anyhow::Result<()>> + Send + 'static) {
        self.work.spawn(task);
    }

    /// Runs `task` in the core: it stops (`core_shutdown`) only after the work has drained.
    pub fn spawn_core(&mut self, task: impl Future<Output = anyhow::Result<()>> + Send + 'static) {
        self.core.spawn(task);
    }

    /// Starts the admin listener and readiness checks, reports the bound addresses, and runs
    /// until shut down and drained. The first failure of any task starts the drain and is
    /// returned.
    pub async fn run(mut self) -> anyhow::Result<()> {
        let admin = self
            .bind("admin", self.admin.admin_addr, "the admin endpoints")
            .await?;
        self.readiness
            .spawn_checks(std::mem::take(&mut self.checks), self.core_shutdown.clone());
        {
            let (readiness, shutdown) = (self.readiness.clone(), self.shutdown.clone());
            tokio::spawn(async move {
                shutdown.cancelled().await;
                readiness.start_draining();
            });
        }
        self.core.spawn(admin::serve(
            admin,
            self.readiness.clone(),
            self.metrics.clone(),
            self.core_shutdown.clone(),
        ));
        if let Some(path) = &self.admin.addresses_file {
            write_addresses(path, &self.addresses)?;
        }

        let Self {
            shutdown,
            core_shutdown,
            mut work,
            mut core,
            ..
        } = self;
        let mut failure = None;
        let mut settle = |joined: Result<anyhow::Result<()>, tokio::task::JoinError>| {
            if let Err(err) = joined.context("a role task panicked").and_then(|r| r) {
                tracing::error!(
                    error = format!("{err:#}"),
                    "a role failed; stopping the others"
                );
                shutdown.cancel();
                failure.get_or_insert(err);
            }
        };
        // Until shutdown and the work has drained; a core task ending early is a failure too.
        while !(shutdown.is_cancelled() && work.is_empty()) {
            tokio::select! {
                () = shutdown.cancelled(), if !shutdown.is_cancelled() => {}
                Some(joined) = work.join_next() => settle(joined),
                Some(joined) = core.join_next() => settle(joined),
            }
        }
        core_shutdown.cancel();
        while let Some(joined) = core.join_next().await {
            settle(joined);
        }
        failure.map_or(Ok(()), Err)
    }
}

/// Writes `{"name":"ip:port",...}` to `path` through a temporary file renamed into place.
fn write_addresses(path: &Path, addresses: &BTreeMap<&str, SocketAddr>) -> anyhow::Result<()> {
    let json = serde_json::to_string(addresses)?;
    let temporary = path.with_extension("tmp");
    std::fs::write(&temporary, json)
        .and_then(|()| std::fs::rename(&temporary, path))
        .with_context(|| format!("cannot write the addresses file {}", path.display()))
}
