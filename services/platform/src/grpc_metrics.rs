//! A tower layer for gRPC servers: counts calls by method and status, times them, and runs each
//! in a span carrying the caller's `x-request-id` and continuing its W3C trace context, so catalog
//! log lines and spans join the upload's.

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
    time::Instant,
};

use assetd_proto::context::{TraceContext, continue_trace};
use tower::{Layer, Service};
use tracing::Instrument;

/// Calls that get no span (they are still counted): health checks, which Kubernetes makes every
/// few seconds, and the embedded queue's polls for jobs, several a second per prober. Each would
/// otherwise start a trace of its own.
const UNTRACED: &[&str] = &[
    "/grpc.health.v1.Health/",
    "/assetd.catalog.v1.CatalogService/ClaimProbeJobs",
];

#[derive(Clone, Copy, Debug, Default)]
pub struct GrpcMetricsLayer;

impl<S> Layer<S> for GrpcMetricsLayer {
    type Service = GrpcMetrics<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GrpcMetrics { inner }
    }
}

#[derive(Clone, Debug)]
pub struct GrpcMetrics<S> {
    inner: S,
}

impl<S, B, RB> Service<http::Request<B>> for GrpcMetrics<S>
where
    S: Service<http::Request<B>, Response = http::Response<RB>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        // The clone that was polled ready is the one that must be called.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let method = request.uri().path().to_owned();
        let request_id = request
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let span = if UNTRACED.iter().any(|prefix| method.starts_with(prefix)) {
            tracing::Span::none()
        } else {
            tracing::info_span!(
                "grpc",
                method,
                request_id,
                trace_id = tracing::field::Empty,
                otel.name = method,
                otel.kind = "server",
            )
        };
        continue_trace(&span, &TraceContext::from_headers(request.headers()));
        let started = Instant::now();
        let call = inner.call(request);
        Box::pin(
            async move {
                let response = call.await;
                let code = match &response {
                    // A trailers-only (error) answer carries its status in the headers; a
                    // streamed success carries "0" in the trailers, which a layer cannot wait for.
                    Ok(response) => response
                        .headers()
                        .get("grpc-status")
                        .and_then(|v| v.to_str().ok())
                        .map_or_else(|| "0".to_owned(), str::to_owned),
                    Err(_) => "transport".to_owned(),
                };
                metrics::counter!("assetd_grpc_requests_total", "method" => method.clone(), "code" => code)
                    .increment(1);
                metrics::histogram!("assetd_grpc_request_duration_seconds", "method" => method)
                    .record(started.elapsed().as_secs_f64());
                response
            }
            .instrument(span),
        )
    }
}
