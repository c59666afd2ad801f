//! The one reconnect loop: keeps a connection to a dependency (RabbitMQ, Postgres LISTEN) up until
//! shutdown, connecting again on the dependency backoff (`retry::Backoff::dependency`: 0.5 s,
//! doubling to 30 s) while the dependency stays away.

use tokio_util::sync::CancellationToken;

use crate::retry::Backoff;

/// Runs `work` on each connection `connect` makes until `shutdown`. Whenever connecting fails or
/// `work` returns an error, logs it (naming `what`, e.g. "RabbitMQ connection assetd-relay") and
/// tries again after the backoff; a connection that worked resets the backoff. `work` returning
/// `Ok` means it stopped for shutdown.
pub async fn reconnecting<C, Connect, ConnectFut, Work, WorkFut>(
    what: &str,
    shutdown: &CancellationToken,
    mut connect: Connect,
    mut work: Work,
) where
    Connect: FnMut() -> ConnectFut,
    ConnectFut: Future<Output = anyhow::Result<C>>,
    Work: FnMut(C) -> WorkFut,
    WorkFut: Future<Output = anyhow::Result<()>>,
{
    let mut backoff = Backoff::dependency();
    while !shutdown.is_cancelled() {
        let connected = tokio::select! {
            () = shutdown.cancelled() => break,
            connected = connect() => connected,
        };
        let delay = match connected {
            Ok(connection) => {
                backoff.reset();
                let worked = work(connection).await;
                let delay = backoff.next_delay();
                if let Err(err) = worked {
                    tracing::warn!(
                        what,
                        error = format!("{err:#}"),
                        retry_in_ms = delay.as_millis() as u64,
                        "connection failed; reconnecting"
                    );
                }
                delay
            }
            Err(err) => {
                let delay = backoff.next_delay();
                tracing::warn!(
                    what,
                    error = format!("{err:#}"),
                    retry_in_ms = delay.as_millis() as u64,
                    "cannot connect; retrying"
                );
                delay
            }
        };
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep(delay) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{
        Arc,
        atomic::{AtomicU32, Ordering},
    };

    use std::time::Duration;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn retries_with_backoff_until_shutdown() {
        let shutdown = CancellationToken::new();
        let attempts = Arc::new(AtomicU32::new(0));
        let started = tokio::time::Instant::now();
        let counted = attempts.clone();
        let stop = shutdown.clone();
        reconnecting(
            "test",
            &shutdown,
            move || {
                let (counted, stop) = (counted.clone(), stop.clone());
                async move {
                    // Refused three times, then connected.
                    if counted.fetch_add(1, Ordering::SeqCst) < 3 {
                        anyhow::bail!("refused")
                    }
                    Ok(stop)
                }
            },
            |stop: CancellationToken| async move {
                stop.cancel();
                Ok(())
            },
        )
        .await;
        assert_eq!(attempts.load(Ordering::SeqCst), 4);
        // 0.5 + 1 + 2 s of backoff before the fourth attempt.
        assert_eq!(started.elapsed(), Duration::from_millis(3500));
    }
}
