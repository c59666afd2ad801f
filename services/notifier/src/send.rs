//! One HTTP attempt of a webhook: the signed request, sent through the address guard with a
//! timeout and no redirects, and what came of it.

use std::time::{Duration, Instant};

use assetd_proto::catalog::v1 as pb;
use bytes::Bytes;
use reqwest::{Client, StatusCode, redirect::Policy};

use crate::{
    guard::{AddressPolicy, GuardedResolver},
    sign,
};

/// What one attempt came to.
#[derive(Debug)]
pub struct Attempted {
    pub started_at_unix_micros: i64,
    /// The status answered; `None` when there was no answer.
    pub status: Option<StatusCode>,
    pub latency: Duration,
    /// Why it failed; empty when it succeeded.
    pub error: String,
    pub retry_after: Option<Duration>,
}

#[derive(Clone, Debug)]
pub struct Sender {
    client: Client,
    policy: AddressPolicy,
    timeout: Duration,
}

/// An error and its causes, one line (reqwest's top error rarely says why).
fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let line = cause.to_string();
        if !text.contains(&line) {
            text.push_str(": ");
            text.push_str(&line);
        }
        source = cause.source();
    }
    text
}

impl Sender {
    pub fn new(policy: AddressPolicy, timeout: Duration) -> anyhow::Result<Self> {
        let client = Client::builder()
            .redirect(Policy::none())
            // A proxy would connect on the receiver's behalf, past the address guard.
            .no_proxy()
            .dns_resolver(GuardedResolver::shared(policy))
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("assetd-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            client,
            policy,
            timeout,
        })
    }

    /// Sends `body` to the dispatch's endpoint, signed with each of its secrets.
    pub async fn send(&self, dispatch: &pb::WebhookDispatch, body: Bytes) -> Attempted {
        let started = Instant::now();
        let started_at_unix_micros = assetd_platform::clock::now_micros();
        let failed = |error: String| Attempted {
            started_at_unix_micros,
            status: None,
            latency: started.elapsed(),
            error,
            retry_after: None,
        };
        let url = match url::Url::parse(&dispatch.url) {
            Ok(url) => url,
            Err(err) => return failed(format!("the endpoint URL is invalid: {err}")),
        };
        if let Err(why) = self.policy.check_url(&url) {
            return failed(format!("refused: {why}"));
        }
        let timestamp = started_at_unix_micros / 1_000_000;
        let Some(signature) =
            sign::signature_header(&dispatch.secrets, &dispatch.event_id, timestamp, &body)
        else {
            return failed("the endpoint has no usable signing secret".into());
        };
        let response = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", &dispatch.event_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await;
        let response = match response {
            Ok(response) => response,
            Err(err) if err.is_timeout() => {
                return failed(format!("no answer within {} s", self.timeout.as_secs_f64()));
            }
            Err(err) => return failed(chain(&err)),
        };
        let status = response.status();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|value| value.to_str().ok())
            .and_then(assetd_platform::retry::retry_after);
        let error = if status.is_success() {
            String::new()
        } else if status.is_redirection() {
            format!("answered {status}; redirects are not followed")
        } else {
            format!("answered {status}")
        };
        // The body is not read: the status is the answer.
        drop(response);
        Attempted {
            started_at_unix_micros,
            status: Some(status),
            latency: started.elapsed(),
            error,
            retry_after,
        }
    }
}
