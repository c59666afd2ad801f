//! The RabbitMQ broker of a test: its URL and a topology prefix of its own, removed afterwards.

use crate::{required, skipped};

/// URL of the RabbitMQ broker for tests that use one.
pub const AMQP_URL_VAR: &str = "ASSETD_TEST_AMQP_URL";
/// Set to 1 (CI does) to make RabbitMQ-backed tests fail instead of skipping when it is unreachable.
pub const REQUIRE_RABBITMQ_VAR: &str = "ASSETD_TEST_REQUIRE_RABBITMQ";

const DEFAULT_AMQP_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

/// A RabbitMQ broker for one test: the URL and a topology prefix of its own.
#[derive(Clone, Debug)]
pub struct TestAmqp {
    pub url: String,
    pub prefix: String,
}

impl TestAmqp {
    /// `None` when RabbitMQ is unreachable and not required (the test is skipped).
    pub async fn create() -> Option<Self> {
        let url = std::env::var(AMQP_URL_VAR).unwrap_or_else(|_| DEFAULT_AMQP_URL.into());
        let host_port = url.rsplit_once('@').map_or(url.as_str(), |(_, rest)| rest);
        let host_port = host_port
            .trim_start_matches("amqp://")
            .split('/')
            .next()
            .unwrap_or("127.0.0.1:5672")
            .to_owned();
        if let Err(err) = tokio::net::TcpStream::connect(&host_port).await {
            if required(REQUIRE_RABBITMQ_VAR) {
                panic!(
                    "RabbitMQ is required ({REQUIRE_RABBITMQ_VAR}=1) but unreachable at {host_port}: {err}"
                );
            }
            skipped(&format!(
                "RabbitMQ unreachable at {host_port} ({err}); set {REQUIRE_RABBITMQ_VAR}=1 to fail instead"
            ));
            return None;
        }
        Some(Self {
            url,
            prefix: format!(
                "assetd-e2e-{}",
                &uuid::Uuid::new_v4().simple().to_string()[..12]
            ),
        })
    }

    /// The same broker reached through another address (a proxy), same prefix.
    pub fn via(&self, addr: &str) -> Self {
        let (creds, rest) = self
            .url
            .trim_start_matches("amqp://")
            .rsplit_once('@')
            .unwrap_or(("", ""));
        let vhost = rest.split_once('/').map_or("%2f", |(_, v)| v);
        let creds = if creds.is_empty() {
            String::new()
        } else {
            format!("{creds}@")
        };
        Self {
            url: format!("amqp://{creds}{addr}/{vhost}"),
            prefix: self.prefix.clone(),
        }
    }

    /// Messages waiting in a queue of this test's topology.
    pub async fn queue_len(&self, queue: &str) -> u32 {
        let connection =
            lapin::Connection::connect(&self.url, lapin::ConnectionProperties::default())
                .await
                .expect("connect to RabbitMQ");
        let channel = connection.create_channel().await.expect("channel");
        let options = lapin::options::QueueDeclareOptions {
            passive: true,
            ..Default::default()
        };
        let queue = channel
            .queue_declare(queue.into(), options, lapin::types::FieldTable::default())
            .await
            .expect("queue exists");
        let _ = connection.close(200, "done".into()).await;
        queue.message_count()
    }

    pub fn args(&self) -> Vec<String> {
        vec![
            "--amqp-url".into(),
            self.url.clone(),
            "--amqp-prefix".into(),
            self.prefix.clone(),
        ]
    }

    /// The broker's host:port.
    pub fn addr(&self) -> String {
        let rest = self.url.trim_start_matches("amqp://");
        let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
        rest.split('/').next().unwrap_or_default().to_owned()
    }
}

impl Drop for TestAmqp {
    /// Deletes this test's exchange and queues (only the original, not proxied copies, own them).
    fn drop(&mut self) {
        if self.url.contains("127.0.0.1:5672")
            || std::env::var(AMQP_URL_VAR).is_ok_and(|u| u == self.url)
        {
            let (url, prefix) = (self.url.clone(), self.prefix.clone());
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .ok()?;
                runtime.block_on(async {
                    let connection =
                        lapin::Connection::connect(&url, lapin::ConnectionProperties::default())
                            .await
                            .ok()?;
                    let channel = connection.create_channel().await.ok()?;
                    for suffix in ["jobs", "retry.2s", "retry.10s", "retry.60s", "dead"] {
                        let name = format!("{prefix}.probe.{suffix}");
                        let _ = channel
                            .queue_delete(name.as_str().into(), Default::default())
                            .await;
                    }
                    let _ = channel
                        .exchange_delete(
                            format!("{prefix}.probe").as_str().into(),
                            Default::default(),
                        )
                        .await;
                    let _ = connection.close(200, "done".into()).await;
                    Some(())
                })
            })
            .join();
        }
    }
}
