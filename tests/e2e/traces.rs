//! W3C trace context and OTLP export through the real binary: one upload's trace runs from the
//! client's `traceparent` through the gateway, the catalog (gRPC metadata), the queue (the outbox
//! table, or RabbitMQ message headers) and the prober, in the spans a collector receives and in
//! every role's log lines.

use std::{path::Path, time::Duration};

use assetd_tests::{
    Assetd, Engine, Options, Role, Split, TestAmqp, fixture,
    otlp::{Collector, Received},
};
use reqwest::StatusCode;
use serde_json::Value;

use crate::{log_lines, probe::wait_probed, upload_to};

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CLIENT_SPAN_ID: &str = "00f067aa0ba902b7";

fn client_traceparent() -> String {
    format!("00-{TRACE_ID}-{CLIENT_SPAN_ID}-01")
}

/// The one span of `trace` named `name` whose parent is `parent`, from `service`.
fn child<'a>(trace: &'a [Received], name: &str, parent: &str, service: &str) -> &'a Received {
    let found: Vec<&Received> = trace
        .iter()
        .filter(|span| span.name == name && span.parent_span_id == parent)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "expected one {name:?} span under {parent}, got {found:?}; the trace:\n{trace:#?}"
    );
    assert_eq!(found[0].service, service, "{:?}", found[0]);
    found[0]
}

/// The spans of one upload and its probe form one tree under the client's span:
/// gateway request → catalog CreateAsset → probe → catalog GetAssetForProbe and RecordProbeResult.
fn assert_upload_trace(trace: &[Received], gateway: &str, catalog: &str, prober: &str) {
    let http = child(trace, "POST /v1/uploads", CLIENT_SPAN_ID, gateway);
    child(
        trace,
        "/assetd.catalog.v1.CatalogService/Authenticate",
        &http.span_id,
        catalog,
    );
    let create = child(
        trace,
        "/assetd.catalog.v1.CatalogService/CreateAsset",
        &http.span_id,
        catalog,
    );
    let probe = child(trace, "probe", &create.span_id, prober);
    child(
        trace,
        "/assetd.catalog.v1.CatalogService/GetAssetForProbe",
        &probe.span_id,
        catalog,
    );
    child(
        trace,
        "/assetd.catalog.v1.CatalogService/RecordProbeResult",
        &probe.span_id,
        catalog,
    );
}

/// Uploads `hero.png` with the given extra headers; returns the asset id.
async fn upload_hero(base: &str, key: &str, headers: &[(&str, &str)]) -> String {
    let headers = [headers, &[("x-file-name", "hero.png")]].concat();
    let (status, body) = upload_to(base, key, &headers, fixture("hero.png")).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["data"]["assetId"]
        .as_str()
        .expect("asset id")
        .to_owned()
}

/// The `trace_id` of the first log line with `message` whose span has `field` = `value`.
fn logged_trace_id(lines: &[Value], message: &str, field: &str, value: &str) -> Option<String> {
    lines
        .iter()
        .find(|line| line["message"] == message && line["span"][field] == value)
        .and_then(|line| line["span"]["trace_id"].as_str())
        .map(str::to_owned)
}

fn read_log(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// `assetd serve` on SQLite with the embedded queue: the trace goes through the outbox row.
#[tokio::test]
async fn an_upload_is_one_trace_embedded() {
    let (collector, otlp) = Collector::start();
    let Some(mut app) = Assetd::serve(Engine::Sqlite, None, Options { extra_args: otlp }).await
    else {
        return;
    };
    let key = app.create_key("acme");
    let traced = upload_hero(
        &app.http,
        &key,
        &[
            ("traceparent", client_traceparent().as_str()),
            ("x-request-id", "traced-upload"),
        ],
    )
    .await;
    // A malformed traceparent starts a new trace instead of failing the upload.
    let untraced = upload_hero(
        &app.http,
        &key,
        &[
            ("traceparent", "00-not-a-trace-01"),
            ("x-request-id", "untraced-upload"),
        ],
    )
    .await;
    wait_probed(&app.http, &key, &traced, Duration::from_secs(30)).await;
    wait_probed(&app.http, &key, &untraced, Duration::from_secs(30)).await;
    // Stopping exports what is still buffered.
    assert!(app.terminate(), "assetd exits cleanly:\n{}", app.log());

    let trace = collector.trace(TRACE_ID);
    assert_upload_trace(&trace, "assetd", "assetd", "assetd");

    let lines = log_lines(&app.log());
    assert_eq!(
        logged_trace_id(&lines, "upload stored", "request_id", "traced-upload").as_deref(),
        Some(TRACE_ID),
        "the gateway's log line carries the client's trace id:\n{}",
        app.log()
    );
    assert_eq!(
        logged_trace_id(&lines, "probed", "asset_id", &traced).as_deref(),
        Some(TRACE_ID),
        "the prober's log line carries the client's trace id:\n{}",
        app.log()
    );
    let fresh = logged_trace_id(&lines, "upload stored", "request_id", "untraced-upload")
        .expect("a new trace id on the gateway's log line");
    assert!(
        fresh.len() == 32 && fresh != TRACE_ID && fresh != "0".repeat(32),
        "{fresh}"
    );
    assert_eq!(
        logged_trace_id(&lines, "probed", "asset_id", &untraced).as_deref(),
        Some(fresh.as_str()),
        "the new trace reaches the prober"
    );
    assert!(
        !collector.trace(&fresh).is_empty(),
        "the new trace is exported"
    );
}

/// Separate catalog, gateway and prober on Postgres and RabbitMQ: the trace crosses two gRPC hops
/// and the AMQP message headers, and each role exports its own spans under its own name.
#[tokio::test]
async fn an_upload_is_one_trace_across_roles_rabbitmq() {
    let Some(amqp) = TestAmqp::create().await else {
        return;
    };
    let (collector, otlp) = Collector::start();
    let Some(mut split) = Split::builder(Engine::Postgres)
        .amqp(Some(&amqp))
        .args(otlp)
        .start()
        .await
    else {
        return;
    };
    let prober_log = split.scratch.path().join("prober.log");
    let mut prober = Role::spawn(&split.prober_args(), &prober_log);

    let asset_id = upload_hero(
        &split.gateway.addr,
        &split.key,
        &[
            ("traceparent", client_traceparent().as_str()),
            ("x-request-id", "traced-upload"),
        ],
    )
    .await;
    wait_probed(
        &split.gateway.addr,
        &split.key,
        &asset_id,
        Duration::from_secs(30),
    )
    .await;
    assert!(prober.terminate(), "the prober exits cleanly");
    assert!(split.gateway.terminate(), "the gateway exits cleanly");
    assert!(split.catalog_mut().terminate(), "the catalog exits cleanly");

    let trace = collector.trace(TRACE_ID);
    assert_upload_trace(&trace, "assetd-gateway", "assetd-catalog", "assetd-prober");

    let gateway_log = read_log(&split.scratch.path().join("gateway.log"));
    assert_eq!(
        logged_trace_id(
            &log_lines(&gateway_log),
            "upload stored",
            "request_id",
            "traced-upload"
        )
        .as_deref(),
        Some(TRACE_ID),
        "{gateway_log}"
    );
    let prober_log = read_log(&prober_log);
    assert_eq!(
        logged_trace_id(&log_lines(&prober_log), "probed", "asset_id", &asset_id).as_deref(),
        Some(TRACE_ID),
        "{prober_log}"
    );
}
