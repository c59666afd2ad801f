//! The admin HTTP listener every role has: `/livez`, `/readyz` (cached dependency checks, 503
//! while draining) and `/metrics` (Prometheus text).

use std::{
    future::Future,
    net::SocketAddr,
    pin::Pin,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use axum::{Router, extract::State, http::StatusCode, routing::get};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

#[derive(clap::Args, Clone, Debug)]
pub struct AdminConfig {
    /// Address of the admin listener (`/livez`, `/readyz`, `/metrics`); port 0 picks a free port.
    #[arg(long, env = "ASSETD_ADMIN_ADDR", default_value = "127.0.0.1:9090")]
    pub admin_addr: SocketAddr,
    /// Once every listener of the process is bound, write their addresses here as one JSON
    /// object, e.g. `{"admin":"127.0.0.1:9090","http":"127.0.0.1:8080"}` (names: `admin`, `http`,
    /// `gateway_grpc`, `catalog_grpc`). Written whole (a temporary file renamed into place), so a
    /// reader sees it complete or not at all: how scripts and tests find ports picked with `:0`.
    #[arg(long, env = "ASSETD_ADDRESSES_FILE")]
    pub addresses_file: Option<std::path::PathBuf>,
}

/// How often the readiness checks run, and how long one may take.
const CHECK_EVERY: Duration = Duration::from_secs(2);
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

type CheckFuture = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;

/// One dependency check: a name and a function producing the check.
pub struct Check {
    pub name: &'static str,
    pub run: Box<dyn Fn() -> CheckFuture + Send + Sync>,
}

impl Check {
    pub fn new<F, Fut>(name: &'static str, run: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        Self {
            name,
            run: Box::new(move || Box::pin(run())),
        }
    }
}

/// Whether this process should receive traffic: every check passed on its last run and the
/// process is not draining. Cheap to read: checks run in the background, not per request.
#[derive(Clone, Default)]
pub struct Readiness {
    draining: Arc<AtomicBool>,
    failing: Arc<Mutex<Option<Vec<String>>>>,
}

impl Readiness {
    /// Turns `/readyz` to 503 for good; the first thing a role does on SIGTERM.
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    /// `Ok` when ready, else why not.
    pub fn status(&self) -> Result<(), String> {
        if self.is_draining() {
            return Err("shutting down".into());
        }
        match &*self.failing.lock().unwrap_or_else(|e| e.into_inner()) {
            None => Err("checks have not run yet".into()),
            Some(failing) if failing.is_empty() => Ok(()),
            Some(failing) => Err(failing.join("; ")),
        }
    }

    /// Runs `checks` every few seconds until `shutdown`, caching the outcome.
    pub fn spawn_checks(&self, checks: Vec<Check>, shutdown: CancellationToken) {
        let failing = self.failing.clone();
        tokio::spawn(async move {
            let mut last_failing: Vec<String> = Vec::new();
            loop {
                let mut now_failing = Vec::new();
                for check in &checks {
                    let outcome = tokio::time::timeout(CHECK_TIMEOUT, (check.run)()).await;
                    match outcome {
                        Ok(Ok(())) => {}
                        Ok(Err(why)) => now_failing.push(format!("{}: {why}", check.name)),
                        Err(_) => now_failing.push(format!(
                            "{}: no answer within {CHECK_TIMEOUT:?}",
                            check.name
                        )),
                    }
                }
                if now_failing != last_failing {
                    if now_failing.is_empty() {
                        tracing::info!("ready: every dependency answers");
                    } else {
                        tracing::warn!(failing = now_failing.join("; "), "not ready");
                    }
                    last_failing = now_failing.clone();
                }
                *failing.lock().unwrap_or_else(|e| e.into_inner()) = Some(now_failing);
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    () = tokio::time::sleep(CHECK_EVERY) => {}
                }
            }
        });
    }
}

/// Installs the process-wide Prometheus recorder; call once, in `main`.
pub fn install_metrics() -> anyhow::Result<PrometheusHandle> {
    const SECONDS: &[f64] = &[
        0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
    ];
    const BYTES: &[f64] = &[1e3, 1e4, 1e5, 1e6, 1e7, 5e7, 1e8, 5e8, 1e9];
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(
            metrics_exporter_prometheus::Matcher::Suffix("_seconds".into()),
            SECONDS,
        )?
        .set_buckets_for_metric(
            metrics_exporter_prometheus::Matcher::Suffix("_bytes".into()),
            BYTES,
        )?
        .install_recorder()?;
    Ok(handle)
}

#[derive(Clone)]
struct AdminState {
    readiness: Readiness,
    metrics: PrometheusHandle,
}

/// Serves the admin routes on `listener` until `shutdown`.
pub async fn serve(
    listener: TcpListener,
    readiness: Readiness,
    metrics: PrometheusHandle,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let app = Router::new()
        .route("/livez", get(|| async { "alive\n" }))
        .route("/readyz", get(readyz))
        .route(
            "/metrics",
            get(|State(state): State<AdminState>| async move { state.metrics.render() }),
        )
        .with_state(AdminState { readiness, metrics });
    tracing::info!(addr = %listener.local_addr()?, "admin HTTP listening");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await?;
    Ok(())
}

async fn readyz(State(state): State<AdminState>) -> (StatusCode, String) {
    match state.readiness.status() {
        Ok(()) => (StatusCode::OK, "ready\n".into()),
        Err(why) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {why}\n"),
        ),
    }
}
