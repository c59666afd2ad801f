//! Asset events for `WatchAsset`: an in-process broadcast that `RecordProbeResult` and
//! `DeleteAsset` feed directly, and on Postgres also through `NOTIFY assetd_probe_done` from
//! whichever catalog replica recorded the result or deleted the asset (every catalog `LISTEN`s),
//! so a watch on one replica sees what happened through another. Watchers re-read their asset on
//! each event (a deleted one ends the watch with NOT_FOUND); nothing polls. The same LISTEN
//! connection carries `assetd_probe_jobs` into [`JobsQueued`].

use assetd_platform::reconnect::reconnecting;
use assetd_proto::{
    catalog::v1 as pb,
    ids::{AccountId, AssetId},
};
use sqlx::postgres::PgListener;
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;
use tonic::{Code, Status};

use crate::{
    db::Db,
    jobs_signal::{self, JobsQueued},
    store::assets,
};

/// The Postgres notification channel; its payload is the asset id.
pub const CHANNEL: &str = "assetd_probe_done";

/// How many events a slow watcher may fall behind before it just re-reads its asset.
const CAPACITY: usize = 1024;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProbeEvent {
    /// A probe result was recorded for this asset, or it was deleted.
    Changed(AssetId),
    /// Events may have been missed (the LISTEN connection was re-established): re-read.
    Resync,
}

/// The sender side of the broadcast, plus the token that ends every watch at shutdown (the gRPC
/// server's graceful shutdown waits for open streams).
#[derive(Clone, Debug)]
pub struct ProbeEvents {
    sender: broadcast::Sender<ProbeEvent>,
    shutdown: CancellationToken,
}

impl ProbeEvents {
    pub fn new(shutdown: CancellationToken) -> Self {
        Self {
            sender: broadcast::channel(CAPACITY).0,
            shutdown,
        }
    }

    pub fn publish(&self, event: ProbeEvent) {
        // No receiver (nobody watching) is fine.
        let _ = self.sender.send(event);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<ProbeEvent> {
        self.sender.subscribe()
    }

    /// Cancelled when the catalog starts shutting down: open watches end.
    pub fn shutdown(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// On Postgres, feeds `NOTIFY assetd_probe_done` into the broadcast and `NOTIFY
    /// assetd_probe_jobs` into `jobs` until shutdown, reconnecting (with backoff) whenever the
    /// listening connection fails.
    pub fn spawn_pg_listener(&self, url: String, jobs: JobsQueued) {
        let events = self.clone();
        tokio::spawn(async move { events.listen(&url, &jobs).await });
    }

    async fn listen(&self, url: &str, jobs: &JobsQueued) {
        reconnecting(
            "Postgres LISTEN connection for probe results and jobs",
            &self.shutdown,
            || async { Ok(connect(url).await?) },
            |listener| self.follow(listener, jobs),
        )
        .await;
    }

    /// Forwards notifications until shutdown (`Ok`) or until the connection fails.
    async fn follow(&self, mut listener: PgListener, jobs: &JobsQueued) -> anyhow::Result<()> {
        tracing::debug!(channel = CHANNEL, "listening for probe results");
        // Whatever happened while not listening is unknown: watchers re-read, and the outbox is
        // looked at again.
        self.publish(ProbeEvent::Resync);
        jobs.notify();
        loop {
            let next = tokio::select! {
                () = self.shutdown.cancelled() => return Ok(()),
                next = listener.try_recv() => next?,
            };
            match next {
                Some(notification) if notification.channel() == jobs_signal::CHANNEL => {
                    jobs.notify()
                }
                Some(notification) => match notification.payload().parse() {
                    Ok(asset_id) => self.publish(ProbeEvent::Changed(asset_id)),
                    Err(_) => tracing::warn!(
                        payload = notification.payload(),
                        "ignoring a probe-result notification that names no asset"
                    ),
                },
                // The connection was lost; the next `try_recv` reconnects by itself.
                None => {
                    tracing::warn!("probe-result LISTEN connection lost; reconnecting");
                    self.publish(ProbeEvent::Resync);
                    jobs.notify();
                }
            }
        }
    }
}

async fn connect(url: &str) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect(url).await?;
    listener.listen_all([CHANNEL, jobs_signal::CHANNEL]).await?;
    Ok(listener)
}

fn is_terminal(status: pb::ProbeStatus) -> bool {
    matches!(status, pb::ProbeStatus::Ready | pb::ProbeStatus::Failed)
}

/// Sends `first`, then the asset again each time an event changes its probe status, until a
/// terminal status was sent, the asset was deleted (NOT_FOUND), the client went away, or the
/// catalog shuts down. `events` must
/// have been subscribed before `first` was read, so no result falls between the two.
pub async fn follow(
    db: Db,
    account_id: AccountId,
    asset_id: AssetId,
    first: pb::Asset,
    mut events: broadcast::Receiver<ProbeEvent>,
    shutdown: CancellationToken,
    out: mpsc::Sender<Result<pb::Asset, Status>>,
) {
    let mut last = first.probe_status();
    if out.send(Ok(first)).await.is_err() || is_terminal(last) {
        return;
    }
    loop {
        let event = tokio::select! {
            () = out.closed() => return,
            () = shutdown.cancelled() => {
                let _ = out
                    .send(Err(Status::new(Code::Unavailable, "the catalog is shutting down; watch again")))
                    .await;
                return;
            }
            event = events.recv() => event,
        };
        match event {
            Ok(ProbeEvent::Changed(id)) if id != asset_id => continue,
            Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
            Err(broadcast::error::RecvError::Closed) => return,
        }
        match assets::get(&db, account_id, asset_id).await {
            Ok(asset) if asset.probe_status() == last => {}
            Ok(asset) => {
                last = asset.probe_status();
                if out.send(Ok(asset)).await.is_err() || is_terminal(last) {
                    return;
                }
            }
            Err(err) => {
                let _ = out.send(Err(err.into())).await;
                return;
            }
        }
    }
}
