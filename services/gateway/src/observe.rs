//! Per-request observability: a request id (the client's `x-request-id` or a new one, returned on
//! the response and forwarded to the catalog), a span continuing the client's W3C `traceparent`
//! (or starting a trace), and the HTTP metrics.

use std::time::Instant;

use assetd_proto::context::{REQUEST_ID, TraceContext, continue_trace, request_id_or_new};
use axum::{
    extract::{MatchedPath, Request},
    http::HeaderValue,
    middleware::Next,
    response::Response,
};
use tracing::Instrument;

pub async fn observe(mut request: Request, next: Next) -> Response {
    let request_id = request_id_or_new(
        request
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok()),
    );
    let header =
        HeaderValue::from_str(&request_id).unwrap_or_else(|_| HeaderValue::from_static("invalid"));
    // Handlers read the (possibly generated) id from the request like any header.
    request.headers_mut().insert("x-request-id", header.clone());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let method = request.method().as_str().to_owned();
    let span = tracing::info_span!(
        "http",
        %method,
        %route,
        request_id,
        trace_id = tracing::field::Empty,
        status = tracing::field::Empty,
        otel.name = format!("{method} {route}"),
        otel.kind = "server",
    );
    continue_trace(&span, &TraceContext::from_headers(request.headers()));
    let started = Instant::now();

    let mut response = REQUEST_ID
        .scope(request_id, next.run(request))
        .instrument(span.clone())
        .await;

    response.headers_mut().insert("x-request-id", header);
    span.record("status", response.status().as_u16());
    let status = response.status().as_u16().to_string();
    metrics::counter!("assetd_http_requests_total", "route" => route.clone(), "method" => method.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("assetd_http_request_duration_seconds", "route" => route, "method" => method)
        .record(started.elapsed().as_secs_f64());
    response
}
