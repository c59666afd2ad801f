//! Webhooks against a receiver that checks every signature with PyPI's `standardwebhooks` 1.3.0
//! (tests/e2e/python/webhook_receiver.py), not with assetd's code: the four events with the asset
//! as `GET` shows it, retries of 500s on their schedule, `Retry-After`, 410 disabling the endpoint,
//! a hanging endpoint timing out, a redirect not followed, a private address refused, a secret
//! rotation signing with both secrets, the delivery log and replays over HTTP and gRPC, and a
//! SIGKILLed notifier (on Postgres and RabbitMQ) losing no event.

use std::{
    process::Stdio,
    time::{Duration, Instant},
};

use assetd_proto::catalog::v1 as pb;
use assetd_tests::{Assetd, Engine, Options, Role, Split, TestAmqp, fixture, python};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::{account_of, metric, metrics, probe::wait_probed, upload, upload_to};

const STANDARDWEBHOOKS: &str = "standardwebhooks==1.3.0";

/// The receiver process and its address.
struct Receiver {
    _child: tokio::process::Child,
    base: String,
}

impl Receiver {
    /// `None` when Python or the package cannot be installed and Python is not required.
    async fn start() -> Option<Self> {
        let python = tokio::task::spawn_blocking(|| {
            python::venv("standardwebhooks-venv", &[STANDARDWEBHOOKS])
        })
        .await
        .expect("venv task")?;
        let mut child = tokio::process::Command::new(python)
            .arg(python::script("webhook_receiver.py"))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("start the webhook receiver");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("the receiver starts")
            .expect("read the receiver")
            .expect("the receiver prints its port");
        let port = line.strip_prefix("listening ").expect("listening PORT");
        Some(Self {
            _child: child,
            base: format!("http://127.0.0.1:{port}"),
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn secrets(&self, path: &str, secrets: &[&str]) {
        let status = Client::new()
            .post(self.url("/_secrets"))
            .json(&json!({ "path": path, "secrets": secrets }))
            .send()
            .await
            .expect("set secrets")
            .status();
        assert_eq!(status, StatusCode::NO_CONTENT);
    }

    async fn log(&self) -> Vec<Value> {
        Client::new()
            .get(self.url("/_log"))
            .send()
            .await
            .expect("receiver log")
            .json()
            .await
            .expect("log json")
    }

    /// The requests to `path`, waiting until `done` holds for them.
    async fn wait(
        &self,
        path: &str,
        within: Duration,
        done: impl Fn(&[Value]) -> bool,
    ) -> Vec<Value> {
        let deadline = Instant::now() + within;
        loop {
            let requests: Vec<Value> = self
                .log()
                .await
                .into_iter()
                .filter(|r| r["path"] == path)
                .collect();
            if done(&requests) {
                return requests;
            }
            assert!(
                Instant::now() < deadline,
                "{path}: not done within {within:?}; got {requests:#?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Every request verified with every secret the receiver holds for its path.
fn assert_verified(requests: &[Value]) {
    for request in requests {
        let verified = request["verified"].as_array().expect("verified");
        assert!(
            !verified.is_empty() && verified.iter().all(|v| v == true),
            "not verified by standardwebhooks: {request:#}"
        );
        assert_eq!(request["contentType"], "application/json");
    }
}

fn of_type<'a>(requests: &'a [Value], kind: &str) -> Vec<&'a Value> {
    requests
        .iter()
        .filter(|r| r["body"]["type"] == kind)
        .collect()
}

async fn create_webhook(base: &str, key: &str, url: &str, events: &[&str]) -> Value {
    let mut body = json!({ "url": url, "description": "test receiver" });
    if !events.is_empty() {
        body["events"] = json!(events);
    }
    let response = Client::new()
        .post(format!("{base}/v1/webhooks"))
        .header("x-api-key", key)
        .json(&body)
        .send()
        .await
        .expect("create webhook");
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.expect("json");
    let secret = body["data"]["secret"].as_str().expect("secret");
    assert!(secret.starts_with("whsec_"), "{body}");
    body["data"].clone()
}

async fn get_json(base: &str, key: &str, path: &str) -> (StatusCode, Value) {
    let response = Client::new()
        .get(format!("{base}{path}"))
        .header("x-api-key", key)
        .send()
        .await
        .expect("get");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn post_json(base: &str, key: &str, path: &str, body: Value) -> (StatusCode, Value) {
    let response = Client::new()
        .post(format!("{base}{path}"))
        .header("x-api-key", key)
        .json(&body)
        .send()
        .await
        .expect("post");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The webhook's deliveries once `done` holds for them.
async fn wait_deliveries(
    base: &str,
    key: &str,
    webhook_id: &str,
    within: Duration,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let deadline = Instant::now() + within;
    loop {
        let (status, body) =
            get_json(base, key, &format!("/v1/webhooks/{webhook_id}/deliveries")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let deliveries = body["data"].as_array().cloned().unwrap_or_default();
        if done(&deliveries) {
            return deliveries;
        }
        assert!(
            Instant::now() < deadline,
            "deliveries of {webhook_id} not done within {within:?}: {deliveries:#?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The seconds between consecutive requests.
fn gaps(requests: &[&Value]) -> Vec<f64> {
    requests
        .windows(2)
        .map(|pair| {
            pair[1]["receivedAt"].as_f64().expect("t") - pair[0]["receivedAt"].as_f64().expect("t")
        })
        .collect()
}

#[tokio::test]
async fn webhooks_are_signed_retried_disabled_logged_and_replayed() {
    let Some(receiver) = Receiver::start().await else {
        return;
    };
    let Some(app) = Assetd::serve(
        Engine::Sqlite,
        None,
        Options {
            extra_args: [
                "--webhook-allow-loopback",
                "--webhook-retry-schedule",
                "1s,2s,2s",
                "--webhook-timeout-secs",
                "2",
            ]
            .map(String::from)
            .to_vec(),
        },
    )
    .await
    else {
        return;
    };
    let key = app.create_key("acme");
    let base = app.http.clone();

    // Bad endpoints are refused with their codes.
    for (body, code) in [
        (
            json!({ "url": "ftp://example.com/" }),
            "WEBHOOK_URL_INVALID",
        ),
        (
            json!({ "url": "https://u:p@example.com/" }),
            "WEBHOOK_URL_INVALID",
        ),
        (json!({}), "WEBHOOK_URL_INVALID"),
        (
            json!({ "url": "https://example.com/", "events": ["asset.*"] }),
            "WEBHOOK_EVENT_TYPE_INVALID",
        ),
    ] {
        let (status, problem) = post_json(&base, &key, "/v1/webhooks", body.clone()).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {problem}"
        );
        assert_eq!(problem["errorCode"], code, "{problem}");
    }

    let ok = create_webhook(&base, &key, &receiver.url("/ok"), &[]).await;
    let flaky = create_webhook(&base, &key, &receiver.url("/flaky/3"), &["asset.ready"]).await;
    let gone = create_webhook(
        &base,
        &key,
        &receiver.url("/gone"),
        // One event before the 410 (two could both be in flight when it comes), one after.
        &["asset.created", "asset.deleted"],
    )
    .await;
    let hang = create_webhook(&base, &key, &receiver.url("/hang"), &["asset.created"]).await;
    let later = create_webhook(
        &base,
        &key,
        &receiver.url("/retry-after/4"),
        &["asset.created"],
    )
    .await;
    let redirect =
        create_webhook(&base, &key, &receiver.url("/redirect"), &["asset.created"]).await;
    let private = create_webhook(&base, &key, "http://10.255.255.1/hook", &["asset.created"]).await;
    for (hook, path) in [
        (&ok, "/ok"),
        (&flaky, "/flaky/3"),
        (&gone, "/gone"),
        (&hang, "/hang"),
        (&later, "/retry-after/4"),
        (&redirect, "/redirect"),
    ] {
        receiver
            .secrets(path, &[hook["secret"].as_str().expect("secret")])
            .await;
    }
    // Listing shows them without secrets.
    let (_, listed) = get_json(&base, &key, "/v1/webhooks").await;
    let listed = listed["data"].as_array().expect("list").clone();
    assert_eq!(listed.len(), 7);
    assert!(
        listed.iter().all(|w| w.get("secret").is_none()),
        "{listed:?}"
    );

    // An upload: asset.created, then asset.ready once probed.
    let (status, uploaded) = upload(
        &app,
        &key,
        &[("x-file-name", "hero.png")],
        fixture("hero.png"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{uploaded}");
    let asset_id = uploaded["data"]["assetId"].as_str().expect("id").to_owned();
    let probed = wait_probed(&base, &key, &asset_id, Duration::from_secs(30)).await;

    let requests = receiver
        .wait("/ok", Duration::from_secs(20), |r| {
            !of_type(r, "asset.created").is_empty() && !of_type(r, "asset.ready").is_empty()
        })
        .await;
    assert_verified(&requests);
    let created = of_type(&requests, "asset.created")[0];
    assert_eq!(created["body"]["data"]["assetId"], asset_id.as_str());
    assert_eq!(created["body"]["data"]["probeStatus"], "pending");
    let ready = of_type(&requests, "asset.ready")[0];
    // `data` is the asset exactly as GET shows it.
    assert_eq!(ready["body"]["data"], probed, "{ready:#}");
    assert_eq!(ready["body"]["data"]["probeStatus"], "ready");
    assert!(
        ready["body"]["timestamp"]
            .as_str()
            .expect("ts")
            .ends_with('Z')
    );
    assert_ne!(created["webhookId"], ready["webhookId"]);

    // 500, 500, 500, then 200: the same webhook-id each time, about 1 s, 2 s, 2 s apart.
    let flaky_requests = receiver
        .wait("/flaky/3", Duration::from_secs(30), |r| r.len() >= 4)
        .await;
    assert_verified(&flaky_requests);
    let attempts: Vec<&Value> = flaky_requests.iter().collect();
    assert!(
        attempts
            .iter()
            .all(|r| r["webhookId"] == attempts[0]["webhookId"])
    );
    let waits = gaps(&attempts);
    for (wait, expected) in waits.iter().zip([1.0, 2.0, 2.0]) {
        assert!(
            *wait >= expected * 0.9 - 0.05 && *wait < expected * 1.1 + 1.5,
            "waits {waits:?}, schedule 1s,2s,2s"
        );
    }
    let flaky_log = wait_deliveries(
        &base,
        &key,
        flaky["webhookId"].as_str().expect("id"),
        Duration::from_secs(10),
        |d| d.first().is_some_and(|d| d["status"] == "succeeded"),
    )
    .await;
    let statuses: Vec<&Value> = flaky_log[0]["attemptLog"]
        .as_array()
        .expect("log")
        .iter()
        .map(|a| &a["statusCode"])
        .collect();
    assert_eq!(
        statuses,
        [&json!(500), &json!(500), &json!(500), &json!(200)]
    );
    assert_eq!(flaky_log[0]["eventId"], attempts[0]["webhookId"]);

    // 410: one attempt, the endpoint disabled, nothing more sent to it.
    let gone_id = gone["webhookId"].as_str().expect("id");
    let deadline = Instant::now() + Duration::from_secs(20);
    let disabled = loop {
        let (_, body) = get_json(&base, &key, &format!("/v1/webhooks/{gone_id}")).await;
        if body["data"]["enabled"] == false {
            break body["data"].clone();
        }
        assert!(Instant::now() < deadline, "not disabled: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        disabled["disabledReason"]
            .as_str()
            .expect("reason")
            .contains("410")
    );
    let gone_requests = receiver
        .wait("/gone", Duration::from_secs(1), |r| !r.is_empty())
        .await;
    assert_eq!(gone_requests.len(), 1, "{gone_requests:#?}");

    // Retry-After: 4 wins over the schedule's 1 s.
    let later_requests = receiver
        .wait("/retry-after/4", Duration::from_secs(20), |r| r.len() >= 2)
        .await;
    let wait = gaps(&later_requests.iter().collect::<Vec<_>>())[0];
    assert!(wait >= 3.9, "retried after {wait} s despite Retry-After: 4");

    // A redirect is a failed attempt, not followed.
    let redirect_log = wait_deliveries(
        &base,
        &key,
        redirect["webhookId"].as_str().expect("id"),
        Duration::from_secs(10),
        |d| d.first().is_some_and(|d| d["attempts"].as_u64() >= Some(1)),
    )
    .await;
    let first = &redirect_log[0]["attemptLog"][0];
    assert_eq!(first["statusCode"], 302);
    assert!(
        first["error"]
            .as_str()
            .expect("error")
            .contains("redirects are not followed")
    );

    // A private address is refused without connecting.
    let private_log = wait_deliveries(
        &base,
        &key,
        private["webhookId"].as_str().expect("id"),
        Duration::from_secs(10),
        |d| d.first().is_some_and(|d| d["attempts"].as_u64() >= Some(1)),
    )
    .await;
    let refused = &private_log[0]["attemptLog"][0];
    assert_eq!(refused["statusCode"], Value::Null);
    assert!(
        refused["error"]
            .as_str()
            .expect("error")
            .contains("private"),
        "{refused}"
    );

    // A hanging endpoint times out after 2 s, on every attempt, then the delivery fails.
    let hang_id = hang["webhookId"].as_str().expect("id");
    let hang_log = wait_deliveries(&base, &key, hang_id, Duration::from_secs(40), |d| {
        d.first().is_some_and(|d| d["status"] == "failed")
    })
    .await;
    let hang_attempts = hang_log[0]["attemptLog"].as_array().expect("log");
    assert_eq!(hang_attempts.len(), 4, "{hang_log:#?}");
    for attempt in hang_attempts {
        assert_eq!(attempt["statusCode"], Value::Null);
        assert!(
            attempt["error"]
                .as_str()
                .expect("e")
                .contains("no answer within 2 s"),
            "{attempt}"
        );
        let ms = attempt["latencyMs"].as_f64().expect("latency");
        assert!((1900.0..5000.0).contains(&ms), "{attempt}");
    }
    // Replaying everything failed since an hour ago queues it again with its webhook-id.
    let since = "2000-01-01T00:00:00Z";
    let (status, replayed) = post_json(
        &base,
        &key,
        &format!("/v1/webhooks/{hang_id}/replay"),
        json!({ "failedSince": since }),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{replayed}");
    assert_eq!(replayed["data"]["replayed"], 1);
    receiver
        .wait("/hang", Duration::from_secs(20), |r| r.len() >= 5)
        .await;

    // Rotation: both secrets sign during the overlap; the receiver verifies with each alone.
    let ok_id = ok["webhookId"].as_str().expect("id");
    let (status, rotated) = post_json(
        &base,
        &key,
        &format!("/v1/webhooks/{ok_id}/rotate-secret"),
        json!({ "overlapSeconds": 3600 }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let new_secret = rotated["data"]["secret"].as_str().expect("secret");
    assert_ne!(new_secret, ok["secret"].as_str().expect("old"));
    assert!(rotated["data"]["previousSecretExpiresAt"].is_string());
    receiver
        .secrets("/ok", &[ok["secret"].as_str().expect("old"), new_secret])
        .await;

    // Deleting the asset: asset.deleted, signed with both secrets; not sent to the disabled endpoint.
    let deleted = Client::new()
        .delete(app.url(&format!("/v1/assets/{asset_id}")))
        .header("x-api-key", &key)
        .send()
        .await
        .expect("delete");
    assert_eq!(deleted.status(), StatusCode::OK);
    let requests = receiver
        .wait("/ok", Duration::from_secs(20), |r| {
            !of_type(r, "asset.deleted").is_empty()
        })
        .await;
    let deleted_event = of_type(&requests, "asset.deleted")[0];
    assert_eq!(
        deleted_event["signatures"].as_array().expect("sigs").len(),
        2
    );
    assert_eq!(
        deleted_event["verified"],
        json!([true, true]),
        "{deleted_event:#}"
    );
    assert_eq!(deleted_event["body"]["data"]["assetId"], asset_id.as_str());
    assert_eq!(
        receiver.wait("/gone", Duration::ZERO, |_| true).await.len(),
        1
    );

    // Replaying one event sends it again with the same webhook-id.
    let created_id = created["webhookId"].as_str().expect("id");
    let (status, replayed) = post_json(
        &base,
        &key,
        &format!("/v1/webhooks/{ok_id}/replay"),
        json!({ "eventId": created_id }),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{replayed}");
    assert_eq!(replayed["data"]["replayed"], 1);
    receiver
        .wait("/ok", Duration::from_secs(20), |r| {
            r.iter().filter(|r| r["webhookId"] == created_id).count() == 2
        })
        .await;
    // Replays refused: an unknown event, neither or both fields, a disabled endpoint.
    for (hook, body, status, code) in [
        (
            ok_id,
            json!({ "eventId": uuid::Uuid::new_v4().to_string() }),
            StatusCode::NOT_FOUND,
            "WEBHOOK_EVENT_NOT_FOUND",
        ),
        (
            ok_id,
            json!({}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "WEBHOOK_REPLAY_INVALID",
        ),
        (
            ok_id,
            json!({ "eventId": created_id, "failedSince": since }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "WEBHOOK_REPLAY_INVALID",
        ),
        (
            gone_id,
            json!({ "failedSince": since }),
            StatusCode::CONFLICT,
            "WEBHOOK_DISABLED",
        ),
    ] {
        let (got, problem) = post_json(
            &base,
            &key,
            &format!("/v1/webhooks/{hook}/replay"),
            body.clone(),
        )
        .await;
        assert_eq!(
            (got, problem["errorCode"].as_str()),
            (status, Some(code)),
            "{body}: {problem}"
        );
    }
    // Enabling the gone endpoint again.
    let (status, enabled) = post_json(
        &base,
        &key,
        &format!("/v1/webhooks/{gone_id}/enable"),
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(enabled["data"]["enabled"], true);

    // The same over the catalog's gRPC.
    let account_id = account_of(&app, &key).await;
    let mut catalog = pb::catalog_service_client::CatalogServiceClient::connect(app.grpc.clone())
        .await
        .expect("catalog");
    let listed = catalog
        .list_webhooks(pb::ListWebhooksRequest {
            account_id: account_id.clone(),
            page_size: 100,
            page_cursor: String::new(),
        })
        .await
        .expect("list over gRPC")
        .into_inner();
    assert_eq!(listed.webhooks.len(), 7);
    let log = catalog
        .list_webhook_deliveries(pb::ListWebhookDeliveriesRequest {
            account_id: account_id.clone(),
            webhook_id: flaky["webhookId"].as_str().expect("id").to_owned(),
            page_size: 10,
            page_cursor: String::new(),
            status: "succeeded".into(),
        })
        .await
        .expect("deliveries over gRPC")
        .into_inner();
    assert_eq!(log.deliveries.len(), 1);
    assert_eq!(log.deliveries[0].attempt_log.len(), 4);
    // Another account sees none of it.
    let other = app.create_key("other");
    let (status, problem) = get_json(&base, &other, &format!("/v1/webhooks/{ok_id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(problem["errorCode"], "WEBHOOK_NOT_FOUND");

    // Deleting an endpoint.
    let response = Client::new()
        .delete(app.url(&format!("/v1/webhooks/{hang_id}")))
        .header("x-api-key", &key)
        .send()
        .await
        .expect("delete webhook");
    assert_eq!(response.status(), StatusCode::OK);
    let (status, _) = get_json(&base, &key, &format!("/v1/webhooks/{hang_id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let page = metrics(&app).await;
    assert!(
        metric(
            &page,
            "assetd_webhook_deliveries_total{outcome=\"succeeded\"}"
        ) >= 5.0,
        "{page}"
    );
    assert!(metric(&page, "assetd_webhook_deliveries_total{outcome=\"retry\"}") >= 3.0);
    assert!(metric(&page, "assetd_webhook_deliveries_total{outcome=\"gone\"}") >= 1.0);
    assert!(page.contains("assetd_webhook_attempt_seconds"));
    assert!(page.contains("assetd_webhook_backlog"));
}

/// `--webhooks-per-account` caps an account's endpoints: one more is 409
/// `WEBHOOK_LIMIT_EXCEEDED` and creates nothing; deleting one makes room. Other accounts are
/// not counted.
#[tokio::test]
async fn an_account_holds_at_most_the_configured_webhooks() {
    let Some(app) = Assetd::serve(
        Engine::Sqlite,
        None,
        Options {
            extra_args: ["--webhooks-per-account", "2"].map(String::from).to_vec(),
        },
    )
    .await
    else {
        return;
    };
    let key = app.create_key("acme");
    let other = app.create_key("other");
    let base = app.http.clone();
    let first = create_webhook(&base, &key, "https://hooks.example.com/1", &[]).await;
    create_webhook(&base, &key, "https://hooks.example.com/2", &[]).await;
    create_webhook(&base, &other, "https://hooks.example.com/3", &[]).await;

    let (status, body) = post_json(
        &base,
        &key,
        "/v1/webhooks",
        json!({ "url": "https://hooks.example.com/4" }),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["errorCode"], "WEBHOOK_LIMIT_EXCEEDED", "{body}");
    assert!(
        body["detail"].as_str().unwrap_or("").contains("at most 2"),
        "{body}"
    );
    let (status, list) = get_json(&base, &key, "/v1/webhooks").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["data"].as_array().map(Vec::len), Some(2), "{list}");

    let webhook_id = first["webhookId"].as_str().expect("id");
    let deleted = Client::new()
        .delete(format!("{base}/v1/webhooks/{webhook_id}"))
        .header("x-api-key", &key)
        .send()
        .await
        .expect("delete");
    assert_eq!(deleted.status(), StatusCode::OK);
    create_webhook(&base, &key, "https://hooks.example.com/4", &[]).await;
}

/// Postgres, RabbitMQ and roles apart: the notifier (in the prober) is SIGKILLed while an
/// endpoint holds its request; a new prober delivers the event, with the same webhook-id.
#[tokio::test]
async fn a_killed_notifier_loses_no_event() {
    let Some(receiver) = Receiver::start().await else {
        return;
    };
    let Some(amqp) = TestAmqp::create().await else {
        return;
    };
    let Some(split) = Split::builder(Engine::Postgres)
        .amqp(Some(&amqp))
        .start()
        .await
    else {
        return;
    };
    let base = split.gateway.addr.clone();
    let hold = create_webhook(
        &base,
        &split.key,
        &receiver.url("/hold"),
        &["asset.created"],
    )
    .await;
    receiver
        .secrets("/hold", &[hold["secret"].as_str().expect("secret")])
        .await;
    let prober = |name: &str| {
        let mut args = split.prober_args();
        args.extend(["--webhook-allow-loopback", "--webhook-timeout-secs", "30"].map(String::from));
        Role::spawn(&args, &split.scratch.path().join(format!("{name}.log")))
    };
    let mut first = prober("prober-1");
    let (status, uploaded) = upload_to(
        &base,
        &split.key,
        &[("x-file-name", "hero.png")],
        fixture("hero.png"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{uploaded}");
    // The first attempt is held open by the endpoint; the notifier dies in the middle of it.
    let held = receiver
        .wait("/hold", Duration::from_secs(30), |r| !r.is_empty())
        .await;
    first.kill();
    let _second = prober("prober-2");
    let requests = receiver
        .wait("/hold", Duration::from_secs(60), |r| r.len() >= 2)
        .await;
    assert_verified(&requests);
    assert_eq!(requests[1]["webhookId"], held[0]["webhookId"]);
    assert_eq!(requests[1]["body"]["type"], "asset.created");
    let deliveries = wait_deliveries(
        &base,
        &split.key,
        hold["webhookId"].as_str().expect("id"),
        Duration::from_secs(20),
        |d| d.first().is_some_and(|d| d["status"] == "succeeded"),
    )
    .await;
    assert_eq!(deliveries.len(), 1);
    let _ = split;
}
