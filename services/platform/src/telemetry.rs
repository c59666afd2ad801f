//! Logging and tracing set-up, done once in `main`: JSON lines for machines, a pretty format for
//! terminals, W3C trace context on every span, and OTLP export of assetd's spans when configured.

use std::{io::IsTerminal, time::Duration};

use anyhow::Context as _;
use opentelemetry::{KeyValue, global, trace::TracerProvider as _};
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::{Resource, propagation::TraceContextPropagator, trace::SdkTracerProvider};
use tracing::Level;
use tracing_subscriber::{EnvFilter, filter::Targets, fmt, prelude::*};

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Pretty when standard error is a terminal, JSON otherwise.
    Auto,
    Json,
    Pretty,
}

#[derive(clap::Args, Clone, Debug)]
pub struct TelemetryConfig {
    /// Log line format.
    #[arg(
        long,
        env = "ASSETD_LOG_FORMAT",
        value_enum,
        default_value = "auto",
        global = true
    )]
    pub log_format: LogFormat,
    /// Log filter in `RUST_LOG` syntax, e.g. `info,assetd_gateway=debug`.
    #[arg(long, env = "ASSETD_LOG", default_value = "info", global = true)]
    pub log: String,
    /// OTLP/gRPC endpoint of an OpenTelemetry collector to export traces to, e.g.
    /// `http://otel-collector:4317`. Unset: trace context is still propagated and logged, nothing
    /// is exported. The service name is `OTEL_SERVICE_NAME`, or `assetd-<role>`.
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT", global = true)]
    pub otlp_endpoint: Option<String>,
}

/// How long an OTLP export may take before it is abandoned.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(5);

/// Owns the tracer provider; [`Telemetry::shutdown`] exports the spans still buffered.
#[must_use = "call shutdown() before exiting so buffered spans are exported"]
pub struct Telemetry {
    provider: SdkTracerProvider,
}

impl Telemetry {
    /// Exports what is still buffered. Call it inside the Tokio runtime's lifetime (the OTLP
    /// client runs on it), after the role has stopped.
    pub fn shutdown(self) {
        if let Err(err) = self.provider.shutdown() {
            eprintln!("trace export did not finish cleanly: {err}");
        }
    }
}

/// Installs the global subscriber and the W3C trace-context propagator. Logs go to standard
/// error so standard output stays for command results. `service` names this process in exported
/// traces. With an OTLP endpoint it must run inside a Tokio runtime.
pub fn init(config: &TelemetryConfig, service: &str) -> anyhow::Result<Telemetry> {
    let filter = EnvFilter::try_new(&config.log).unwrap_or_else(|err| {
        eprintln!(
            "invalid log filter {:?} ({err}); using \"info\"",
            config.log
        );
        EnvFilter::new("info")
    });
    let json = match config.log_format {
        LogFormat::Json => true,
        LogFormat::Pretty => false,
        LogFormat::Auto => !std::io::stderr().is_terminal(),
    };

    global::set_text_map_propagator(TraceContextPropagator::new());
    let provider = tracer_provider(config.otlp_endpoint.as_deref(), service)?;
    // Only assetd's own spans become trace spans (the exporter's gRPC client must not trace
    // itself), whatever the log filter lets through. Each layer has its own filter: a global
    // filter beside a per-layer one makes every disabled debug callsite of the HTTP and gRPC
    // stacks be evaluated again on each call.
    let traces = tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("assetd"))
        // Less per-span work (measured by tests/bench/trace.sh): assetd reads a span's context
        // from the span itself, never from OpenTelemetry's thread-local current context, and
        // exports no busy/idle times, thread ids or source locations.
        .with_context_activation(false)
        .with_tracked_inactivity(false)
        .with_threads(false)
        .with_location(false)
        .with_filter(Targets::new().with_target("assetd", Level::INFO));
    let logs = if json {
        fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .with_writer(std::io::stderr)
            .boxed()
    } else {
        fmt::layer().with_writer(std::io::stderr).boxed()
    };
    tracing_subscriber::registry()
        .with(traces)
        .with(logs.with_filter(filter))
        .init();
    if let Some(endpoint) = otlp_endpoint(config.otlp_endpoint.as_deref()) {
        tracing::info!(endpoint, service, "exporting traces over OTLP");
    }
    Ok(Telemetry { provider })
}

fn otlp_endpoint(configured: Option<&str>) -> Option<&str> {
    configured.map(str::trim).filter(|e| !e.is_empty())
}

/// Every span gets trace and span ids (so they reach logs and the next hop); they are exported
/// only when an endpoint is configured.
fn tracer_provider(endpoint: Option<&str>, service: &str) -> anyhow::Result<SdkTracerProvider> {
    let mut resource = Resource::builder();
    if std::env::var_os("OTEL_SERVICE_NAME").is_none() {
        resource = resource.with_service_name(service.to_owned());
    }
    let resource = resource
        .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
        .build();
    let builder = SdkTracerProvider::builder().with_resource(resource);
    let Some(endpoint) = otlp_endpoint(endpoint) else {
        return Ok(builder.build());
    };
    anyhow::ensure!(
        endpoint.starts_with("http://"),
        "--otlp-endpoint {endpoint:?} must be an http:// URL of a collector's OTLP/gRPC port \
         (usually 4317); TLS to the collector is not supported, use a node-local or sidecar collector"
    );
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint)
        .with_timeout(EXPORT_TIMEOUT)
        .build()
        .with_context(|| format!("cannot set up OTLP export to {endpoint}"))?;
    Ok(builder.with_batch_exporter(exporter).build())
}
