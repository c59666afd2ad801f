//! assetd's one end-to-end test binary: the real `assetd` over real sockets.

mod api;
mod bad_input;
mod broker;
mod cli;
mod digests;
mod docs;
mod grpc;
mod limits;
mod midstream;
mod ops;
mod outage;
mod probe;
mod python_client;
mod resumable;
mod s3;
mod streaming;
mod traces;
mod uploads;
mod webhooks;

use assetd_tests::Assetd;
use reqwest::{Client, StatusCode};
use serde_json::Value;

/// Sends `POST /v1/uploads` with the API key as `x-api-key` and the given extra headers.
pub async fn upload(
    app: &Assetd,
    key: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> (StatusCode, Value) {
    upload_to(&app.http, key, headers, body).await
}

/// [`upload`] to the gateway at `base` (`http://host:port`), for roles started apart.
pub async fn upload_to(
    base: &str,
    key: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> (StatusCode, Value) {
    let mut request = Client::new()
        .post(format!("{base}/v1/uploads"))
        .header("x-api-key", key)
        .body(body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("send upload");
    let status = response.status();
    let body = response.json::<Value>().await.unwrap_or(Value::Null);
    (status, body)
}

/// Creates a project for the key's account through the catalog's gRPC API.
pub async fn create_project(app: &Assetd, account_id: &str) -> String {
    let project = app
        .catalog()
        .await
        .create_project(assetd_proto::catalog::v1::CreateProjectRequest {
            account_id: account_id.to_owned(),
            title: "e2e".into(),
            description: None,
            editor_state_json: "{}".into(),
            state_schema_version: "v1".into(),
            idempotency_key: None,
        })
        .await
        .expect("create project")
        .into_inner();
    project.project_id
}

/// The account id behind a key, through the catalog's gRPC API.
pub async fn account_of(app: &Assetd, key: &str) -> String {
    app.catalog()
        .await
        .authenticate(assetd_proto::catalog::v1::AuthenticateRequest {
            api_key: key.to_owned(),
        })
        .await
        .expect("authenticate")
        .into_inner()
        .account_id
}

/// The JSON log lines of a role's log (other lines skipped).
pub fn log_lines(log: &str) -> Vec<Value> {
    log.lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect()
}

/// The value of one series (`name{labels}` exactly as exposed) in a Prometheus text page; 0 when absent.
pub fn metric(page: &str, name_and_labels: &str) -> f64 {
    page.lines()
        .find_map(|line| line.strip_prefix(name_and_labels))
        .and_then(|rest| rest.trim().parse().ok())
        .unwrap_or(0.0)
}

/// The app's `/metrics` page, from its admin listener.
pub async fn metrics(app: &Assetd) -> String {
    reqwest::get(format!("{}/metrics", app.admin()))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text")
}
