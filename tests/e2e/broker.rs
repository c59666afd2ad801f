//! The outbox relay against a failing broker (RabbitMQ reached through a proxy the test cuts or
//! stalls): cut while it publishes a backlog of hundreds, or silent so its confirms never come,
//! every asset still ends `ready`, and the outbox and the queues end empty.

use std::time::{Duration, Instant};

use assetd_tests::{Assetd, Engine, Options, Proxy, TestAmqp, fixture};
use futures::StreamExt;
use reqwest::StatusCode;

use crate::probe::wait_probed;

async fn start(amqp: &TestAmqp, proxy: &Proxy) -> Option<Assetd> {
    Assetd::serve(
        Engine::Postgres,
        None,
        Options {
            extra_args: amqp.via(&proxy.addr).args(),
        },
    )
    .await
}

/// Uploads `count` small PNGs, eight at a time; returns their asset ids.
async fn upload_many(app: &Assetd, key: &str, count: usize) -> Vec<String> {
    let png = fixture("hero.png");
    futures::stream::iter(0..count)
        .map(|i| {
            let (png, name) = (png.clone(), format!("hero-{i}.png"));
            async move {
                let (status, body) = crate::upload(app, key, &[("x-file-name", &name)], png).await;
                assert_eq!(status, StatusCode::CREATED, "{body}");
                body["data"]["assetId"].as_str().expect("id").to_owned()
            }
        })
        .buffer_unordered(8)
        .collect()
        .await
}

/// Waits until each named RabbitMQ connection of `app` has logged that it is connected.
async fn wait_connected(app: &Assetd, names: &[&str]) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let log = app.log();
        let connected = |name: &&str| {
            log.lines().any(|line| {
                line.contains("connected to RabbitMQ")
                    && line.contains(&format!("\"connection\":\"{name}\""))
            })
        };
        if names.iter().all(connected) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "not connected to RabbitMQ: {names:?}\nlog:\n{log}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn outbox_len(app: &Assetd) -> i64 {
    let pool = app.db.pool().await;
    let (n,): (i64,) = sqlx::query_as("SELECT CAST(COUNT(*) AS BIGINT) FROM probe_jobs")
        .fetch_one(&pool)
        .await
        .expect("count the outbox");
    pool.close().await;
    n
}

/// Every asset `ready` with its width, then the outbox, the work queue and the dead-letter
/// queue empty.
async fn assert_all_probed(app: &Assetd, amqp: &TestAmqp, key: &str, ids: &[String]) {
    for id in ids {
        let asset = wait_probed(&app.http, key, id, Duration::from_secs(120)).await;
        assert_eq!(asset["probeStatus"], "ready", "{asset}");
        assert_eq!(asset["width"], 64, "{asset}");
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let outbox = outbox_len(app).await;
        let queued = amqp.queue_len(&format!("{}.probe.jobs", amqp.prefix)).await;
        if outbox == 0 && queued == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{outbox} jobs left in the outbox, {queued} in the queue\nlog:\n{}",
            app.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        amqp.queue_len(&format!("{}.probe.dead", amqp.prefix)).await,
        0,
        "dead letters"
    );
}

/// A backlog of 300 jobs piles up while the broker is away; the broker comes back and is cut
/// again as soon as the relay has removed its first published rows, with the rest in flight.
#[tokio::test]
async fn broker_cut_while_the_relay_publishes_a_backlog_loses_no_job() {
    let Some(amqp) = TestAmqp::create().await else {
        return;
    };
    let proxy = Proxy::start(&amqp.addr()).await;
    let Some(app) = start(&amqp, &proxy).await else {
        return;
    };
    let key = app.create_key("acme");
    proxy.set_enabled(false);
    let ids = upload_many(&app, &key, 300).await;
    assert_eq!(
        outbox_len(&app).await,
        300,
        "the backlog waits in the outbox"
    );

    proxy.set_enabled(true);
    let deadline = Instant::now() + Duration::from_secs(60);
    let left = loop {
        let left = outbox_len(&app).await;
        if left < 300 {
            break left;
        }
        assert!(Instant::now() < deadline, "the relay never published");
        tokio::time::sleep(Duration::from_millis(2)).await;
    };
    proxy.set_enabled(false);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        outbox_len(&app).await <= left,
        "rows the broker confirmed stay removed"
    );
    proxy.set_enabled(true);
    assert_all_probed(&app, &amqp, &key, &ids).await;
}

/// The broker takes the relay's publishes but its confirms never arrive: after the confirm
/// timeout the jobs are still in the outbox (none removed unconfirmed), and once the broker
/// answers again each is published and probed.
#[tokio::test]
async fn confirms_that_never_come_leave_the_jobs_in_the_outbox() {
    let Some(amqp) = TestAmqp::create().await else {
        return;
    };
    let proxy = Proxy::start(&amqp.addr()).await;
    let Some(app) = start(&amqp, &proxy).await else {
        return;
    };
    let key = app.create_key("acme");
    // Stalled once connected: a stalled handshake would be a different failure.
    wait_connected(&app, &["assetd-relay", "assetd-prober"]).await;
    proxy.set_stalled(true);
    let ids = upload_many(&app, &key, 20).await;
    // Longer than the relay's confirm timeout (10 s).
    let deadline = Instant::now() + Duration::from_secs(30);
    while !app.log().contains("not confirmed by RabbitMQ") {
        assert!(
            Instant::now() < deadline,
            "the relay never gave up waiting for confirms\nlog:\n{}",
            app.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        outbox_len(&app).await,
        20,
        "unconfirmed jobs stay in the outbox"
    );
    for id in &ids {
        assert_eq!(
            crate::probe::probe_status(&app.http, &key, id).await,
            "pending"
        );
    }
    proxy.set_stalled(false);
    assert_all_probed(&app, &amqp, &key, &ids).await;
}
