//! The gRPC API for internal callers, through the real binary with a service token: the token
//! guards every call but health and reflection; the gateway's streaming `Upload` stores exact
//! bytes and fails like the HTTP upload does, leaving nothing behind; the catalog's
//! `WatchAsset` follows a probe to its end, on SQLite and on Postgres, across catalog replicas.

use std::{
    path::Path,
    process::Command,
    time::{Duration, Instant},
};

use assetd_proto::{
    catalog::v1::{self as catalog_pb, ProbeStatus, catalog_service_client::CatalogServiceClient},
    context::ForwardContext,
    gateway::v1::{
        UploadMetadata, UploadRequest, UploadResponse,
        gateway_service_client::GatewayServiceClient, upload_request::Part,
    },
};
use assetd_tests::{Assetd, Engine, Options, Proxy, Split, assetd_binary, cli, fixture};
use reqwest::StatusCode;
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Code, Status, service::interceptor::InterceptedService, transport::Channel};
use tonic_types::StatusExt;

use crate::probe::wait_probed;

const TOKEN: &str = "e2e-service-token-0123456789";

type Catalog = CatalogServiceClient<InterceptedService<Channel, ForwardContext>>;
type Gateway = GatewayServiceClient<InterceptedService<Channel, ForwardContext>>;

async fn channel(url: &str) -> Channel {
    tonic::transport::Endpoint::from_shared(url.to_owned())
        .expect("url")
        .connect()
        .await
        .unwrap_or_else(|err| panic!("connect to {url}: {err}"))
}

fn auth(token: Option<&str>) -> ForwardContext {
    ForwardContext::with_service_token(token.map(str::to_owned))
}

async fn catalog(url: &str, token: Option<&str>) -> Catalog {
    CatalogServiceClient::with_interceptor(channel(url).await, auth(token))
}

async fn gateway(url: &str, token: Option<&str>) -> Gateway {
    GatewayServiceClient::with_interceptor(channel(url).await, auth(token))
}

fn reason(status: &Status) -> String {
    status
        .get_details_error_info()
        .map(|info| info.reason)
        .unwrap_or_default()
}

#[track_caller]
fn assert_status(result: Result<impl std::fmt::Debug, Status>, code: Code, want_reason: &str) {
    let status = result.expect_err("the call must fail");
    assert_eq!(status.code(), code, "{status:?}");
    assert_eq!(reason(&status), want_reason, "{status:?}");
}

fn token_args() -> Vec<String> {
    vec!["--service-token".into(), TOKEN.into()]
}

async fn serve(engine: Engine, extra: &[&str]) -> Option<Assetd> {
    let mut extra_args = token_args();
    extra_args.extend(extra.iter().map(|s| (*s).to_owned()));
    Assetd::serve(engine, None, Options { extra_args }).await
}

/// The account id behind an API key, through the catalog with the token.
async fn account_of(catalog_url: &str, key: &str) -> String {
    catalog(catalog_url, Some(TOKEN))
        .await
        .authenticate(catalog_pb::AuthenticateRequest {
            api_key: key.to_owned(),
        })
        .await
        .expect("authenticate")
        .into_inner()
        .account_id
}

fn metadata(account_id: &str, filename: &str, size: Option<u64>) -> UploadRequest {
    UploadRequest {
        part: Some(Part::Metadata(UploadMetadata {
            account_id: account_id.to_owned(),
            filename: filename.to_owned(),
            project_id: None,
            size,
            request_id: None,
        })),
    }
}

fn chunk(bytes: &[u8]) -> UploadRequest {
    UploadRequest {
        part: Some(Part::Chunk(bytes.to_vec())),
    }
}

/// The metadata, then the bytes in chunks of `chunk_len`.
fn messages(first: UploadRequest, bytes: &[u8], chunk_len: usize) -> Vec<UploadRequest> {
    std::iter::once(first)
        .chain(bytes.chunks(chunk_len).map(chunk))
        .collect()
}

async fn upload(
    client: &mut Gateway,
    messages: Vec<UploadRequest>,
) -> Result<UploadResponse, Status> {
    client
        .upload(tokio_stream::iter(messages))
        .await
        .map(tonic::Response::into_inner)
}

fn media(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/media")
            .join(name),
    )
    .expect("fixture")
}

#[tokio::test]
async fn the_service_token_guards_internal_grpc() {
    let Some(app) = serve(Engine::Sqlite, &[]).await else {
        return;
    };
    let gateway_url = app.gateway_grpc().await;
    let key = app.create_key("acme");
    let get = catalog_pb::GetAssetRequest {
        account_id: uuid::Uuid::new_v4().to_string(),
        asset_id: uuid::Uuid::new_v4().to_string(),
    };

    // No token, a wrong one, a prefix of the right one: refused, on both servers.
    for token in [None, Some("wrong"), Some(&TOKEN[..TOKEN.len() - 1])] {
        let result = catalog(&app.grpc, token).await.get_asset(get.clone()).await;
        assert_status(result, Code::Unauthenticated, "SERVICE_TOKEN_INVALID");
        let result = upload(
            &mut gateway(&gateway_url, token).await,
            vec![metadata(&uuid::Uuid::new_v4().to_string(), "a.png", None)],
        )
        .await;
        assert_status(result, Code::Unauthenticated, "SERVICE_TOKEN_INVALID");
    }
    // The right token gets through to the service (which then says what it thinks).
    let result = catalog(&app.grpc, Some(TOKEN)).await.get_asset(get).await;
    assert_status(result, Code::NotFound, "ASSET_NOT_FOUND");

    // Health and reflection need no token. (The catalog's turns SERVING once its readiness
    // checks have passed.)
    for url in [&app.grpc, &gateway_url] {
        let mut health = tonic_health::pb::health_client::HealthClient::new(channel(url).await);
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let response = health
                .check(tonic_health::pb::HealthCheckRequest {
                    service: String::new(),
                })
                .await
                .expect("health without a token")
                .into_inner();
            if response.status() == tonic_health::pb::health_check_response::ServingStatus::Serving
            {
                break;
            }
            assert!(Instant::now() < deadline, "{url}: {response:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    assert_eq!(
        reflected_services(&app.grpc).await,
        ["assetd.catalog.v1.CatalogService", "grpc.health.v1.Health"]
    );
    assert_eq!(
        reflected_services(&gateway_url).await,
        ["assetd.gateway.v1.GatewayService", "grpc.health.v1.Health"]
    );

    // Every internal client sends it: the gateway (HTTP upload), the prober (probe recorded)...
    let (status, body) = crate::upload(
        &app,
        &key,
        &[("x-file-name", "hero.png")],
        fixture("hero.png"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let asset_id = body["data"]["assetId"].as_str().expect("id");
    let asset = wait_probed(&app.http, &key, asset_id, Duration::from_secs(30)).await;
    assert_eq!(asset["probeStatus"], "ready", "{asset}");
    // ... and `assetd reprobe`, which is refused without it.
    let queued = cli(&[
        "reprobe",
        "--all-failed",
        "--catalog-url",
        &app.grpc,
        "--service-token",
        TOKEN,
    ]);
    assert_eq!(queued, "0");
    let refused = Command::new(assetd_binary())
        .args(["reprobe", "--all-failed", "--catalog-url", &app.grpc])
        .env_remove("ASSETD_SERVICE_TOKEN")
        .output()
        .expect("run assetd reprobe");
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("Unauthenticated"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    assert!(!app.log().contains(TOKEN), "the token must never be logged");
}

/// grpcio-reflection (PyPI), which speaks reflection v1alpha as grpcurl's older builds and
/// Postman do, finds every service, method and message type of both gRPC servers from reflection
/// alone, and calls methods with messages built from what it found.
#[tokio::test]
async fn reflection_v1alpha_serves_grpcio_reflection() {
    const PACKAGES: [&str; 2] = ["grpcio==1.85.1", "grpcio-reflection==1.85.1"];
    let Some(python) =
        tokio::task::spawn_blocking(|| assetd_tests::python::venv("grpcio-venv", &PACKAGES))
            .await
            .expect("venv task")
    else {
        return;
    };
    let Some(app) = serve(Engine::Sqlite, &[]).await else {
        return;
    };
    let gateway_url = app.gateway_grpc().await;
    for (url, service) in [
        (&app.grpc, "assetd.catalog.v1.CatalogService"),
        (&gateway_url, "assetd.gateway.v1.GatewayService"),
    ] {
        let target = url.trim_start_matches("http://");
        let output = tokio::process::Command::new(&python)
            .arg(assetd_tests::python::script("reflection_client.py"))
            .args([target, service, TOKEN])
            .output()
            .await
            .expect("run the reflection client");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success() && stdout.contains("reflection flow passed"),
            "{service}: the reflection client failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// The services a server's reflection lists, sorted.
async fn reflected_services(url: &str) -> Vec<String> {
    use tonic_reflection::pb::v1::{
        ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
        server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
    };
    let mut client = ServerReflectionClient::new(channel(url).await);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = client
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .expect("reflection without a token")
        .into_inner();
    let response = responses
        .message()
        .await
        .expect("reflection answer")
        .expect("one answer");
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("unexpected reflection answer {response:?}");
    };
    let mut names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    names.sort();
    names
}

#[tokio::test]
async fn streamed_uploads_store_the_exact_bytes() {
    let Some(app) = serve(Engine::Sqlite, &[]).await else {
        return;
    };
    let mut client = gateway(&app.gateway_grpc().await, Some(TOKEN)).await;
    let key = app.create_key("acme");
    let account_id = account_of(&app.grpc, &key).await;
    let files: Vec<(&str, Vec<u8>, &str, usize)> = vec![
        ("hero.png", fixture("hero.png"), "IMAGE", 1000),
        ("h264.mp4", media("h264.mp4"), "VIDEO", 4096),
        ("flac.flac", media("flac.flac"), "AUDIO", 7),
        ("caption.srt", media("caption.srt"), "CAPTION", 64 * 1024),
    ];
    for (i, (name, bytes, kind, chunk_len)) in files.iter().enumerate() {
        // Half of them declare their size.
        let size = (i % 2 == 0).then_some(bytes.len() as u64);
        let response = upload(
            &mut client,
            messages(metadata(&account_id, name, size), bytes, *chunk_len),
        )
        .await
        .unwrap_or_else(|status| panic!("{name}: {status:?}"));
        let asset = response.asset.expect("asset");
        assert_eq!(asset.account_id, account_id);
        assert_eq!(asset.filename, *name);
        assert_eq!(asset.size, bytes.len() as u64, "{name}");
        assert_eq!(asset.sha256, hex::encode(Sha256::digest(bytes)), "{name}");
        assert_eq!(asset.probe_status(), ProbeStatus::Pending);
        let kind_name = format!("{:?}", asset.kind()).to_uppercase();
        assert_eq!(kind_name, *kind, "{name}");
        assert_eq!(&app.storage.read(&asset.file_key).await, bytes, "{name}");
        // The same asset through the HTTP API, and fileUrl serves the exact bytes.
        assert!(response.file_url.ends_with(&asset.file_key));
        let served = reqwest::get(&response.file_url)
            .await
            .expect("GET fileUrl")
            .bytes()
            .await
            .expect("body");
        assert_eq!(&served[..], &bytes[..], "{name}");
        let got: serde_json::Value = reqwest::Client::new()
            .get(app.url(&format!("/v1/assets/{}", asset.asset_id)))
            .header("x-api-key", &key)
            .send()
            .await
            .expect("GET asset")
            .json()
            .await
            .expect("json");
        assert_eq!(got["data"]["size"], bytes.len(), "{got}");
    }
    assert_eq!(app.row_counts().await.0, files.len() as i64);
}

async fn assert_nothing_left(app: &Assetd) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let rows = app.row_counts().await;
        let files = app.storage.all_files().await;
        if rows == (0, 0) && files.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "left behind: rows {rows:?}, files {files:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn streamed_upload_errors_leave_nothing_behind() {
    let Some(app) = serve(Engine::Sqlite, &["--image-max-bytes", "4096"]).await else {
        return;
    };
    let gateway_url = app.gateway_grpc().await;
    let mut client = gateway(&gateway_url, Some(TOKEN)).await;
    let key = app.create_key("acme");
    let account_id = account_of(&app.grpc, &key).await;
    let hero = fixture("hero.png");
    let big = media("bmp.bmp");
    assert!(big.len() > 4096);

    // A chunk before the metadata, or no message at all.
    let result = upload(&mut client, vec![chunk(&hero)]).await;
    assert_status(result, Code::InvalidArgument, "UPLOAD_METADATA_REQUIRED");
    let result = upload(&mut client, vec![]).await;
    assert_status(result, Code::InvalidArgument, "UPLOAD_METADATA_REQUIRED");
    // Metadata again in the middle of the bytes.
    let mut twice = messages(metadata(&account_id, "hero.png", None), &hero, 1000);
    twice.insert(2, metadata(&account_id, "hero.png", None));
    let result = upload(&mut client, twice).await;
    assert_status(result, Code::InvalidArgument, "UPLOAD_STREAM_INVALID");
    // Bad metadata, refused like the HTTP headers are.
    let result = upload(
        &mut client,
        messages(metadata("acme", "hero.png", None), &hero, 1000),
    )
    .await;
    assert_status(result, Code::InvalidArgument, "ID_INVALID");
    let result = upload(
        &mut client,
        messages(metadata(&account_id, " ", None), &hero, 1000),
    )
    .await;
    assert_status(result, Code::InvalidArgument, "UPLOAD_FILE_NAME_INVALID");
    let mut with_project = metadata(&account_id, "hero.png", None);
    if let Some(Part::Metadata(m)) = &mut with_project.part {
        m.project_id = Some(uuid::Uuid::new_v4().to_string());
    }
    let result = upload(&mut client, messages(with_project, &hero, 1000)).await;
    assert_status(result, Code::NotFound, "PROJECT_NOT_FOUND");
    let stranger = uuid::Uuid::new_v4().to_string();
    let result = upload(
        &mut client,
        messages(metadata(&stranger, "hero.png", None), &hero, 1000),
    )
    .await;
    assert_status(result, Code::NotFound, "ACCOUNT_NOT_FOUND");
    // Nothing after the metadata.
    let result = upload(&mut client, vec![metadata(&account_id, "empty.png", None)]).await;
    assert_status(result, Code::InvalidArgument, "UPLOAD_BODY_EMPTY");
    // Not an accepted format.
    let result = upload(
        &mut client,
        messages(
            metadata(&account_id, "anim.json", None),
            &fixture("lottie.json"),
            16,
        ),
    )
    .await;
    assert_status(
        result,
        Code::InvalidArgument,
        "UPLOAD_FILE_TYPE_UNSUPPORTED",
    );
    // Over the image limit: declared, and found out while streaming.
    for size in [Some(big.len() as u64), None] {
        let result = upload(
            &mut client,
            messages(metadata(&account_id, "big.bmp", size), &big, 1024),
        )
        .await;
        assert_status(result, Code::ResourceExhausted, "UPLOAD_TOO_LARGE");
    }

    // The sender goes away half-way: fewer bytes than declared.
    let (sender, receiver) = mpsc::channel(16);
    sender
        .send(metadata(&account_id, "hero.png", Some(hero.len() as u64)))
        .await
        .expect("send");
    sender.send(chunk(&hero[..2000])).await.expect("send");
    let call = {
        let mut client = client.clone();
        tokio::spawn(async move { client.upload(ReceiverStream::new(receiver)).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    drop(sender);
    let result = call.await.expect("join").map(tonic::Response::into_inner);
    assert_status(result, Code::InvalidArgument, "UPLOAD_INCOMPLETE");

    // The connection breaks mid-stream (a caller that crashed): the write is cleaned up all the
    // same. (Dropping the call alone would not do: the channel still ends the stream cleanly.)
    let proxy = Proxy::start(gateway_url.trim_start_matches("http://")).await;
    let (sender, receiver) = mpsc::channel(16);
    sender
        .send(metadata(&account_id, "h264.mp4", None))
        .await
        .expect("send");
    let video = media("h264.mp4");
    sender.send(chunk(&video[..9000])).await.expect("send");
    let call = {
        let mut client = gateway(&format!("http://{}", proxy.addr), Some(TOKEN)).await;
        tokio::spawn(async move { client.upload(ReceiverStream::new(receiver)).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    proxy.set_enabled(false);
    assert!(call.await.expect("join").is_err());

    assert_nothing_left(&app).await;
    drop(sender);
    // And the server is fine afterwards.
    let done = upload(
        &mut client,
        messages(metadata(&account_id, "hero.png", None), &hero, 1000),
    )
    .await;
    assert!(done.is_ok(), "{done:?}");
}

/// Streams `hero.png` in `chunk_len`-byte messages for `account_id`; returns the new asset's id.
async fn upload_hero(client: &mut Gateway, account_id: &str, chunk_len: usize) -> String {
    let sent = messages(
        metadata(account_id, "hero.png", None),
        &fixture("hero.png"),
        chunk_len,
    );
    let response = upload(client, sent).await.expect("upload");
    response.asset.expect("asset").asset_id
}

/// Every message of a watch until it ends, with a deadline.
async fn watch(
    catalog_url: &str,
    account_id: &str,
    asset_id: &str,
) -> tonic::Streaming<catalog_pb::Asset> {
    catalog(catalog_url, Some(TOKEN))
        .await
        .watch_asset(catalog_pb::WatchAssetRequest {
            account_id: account_id.to_owned(),
            asset_id: asset_id.to_owned(),
        })
        .await
        .expect("watch")
        .into_inner()
}

async fn next(stream: &mut tonic::Streaming<catalog_pb::Asset>) -> Option<catalog_pb::Asset> {
    tokio::time::timeout(Duration::from_secs(60), stream.message())
        .await
        .expect("a watch message within 60 s")
        .expect("a watch message, not an error")
}

/// A watch on `assetd serve`: whatever it sees first, it ends with the ready asset; and a watch
/// on someone else's or no asset is NOT_FOUND.
async fn watch_on_serve(engine: Engine) {
    let Some(app) = serve(engine, &[]).await else {
        return;
    };
    let mut client = gateway(&app.gateway_grpc().await, Some(TOKEN)).await;
    let key = app.create_key("acme");
    let account_id = account_of(&app.grpc, &key).await;
    let asset_id = upload_hero(&mut client, &account_id, 1000).await;
    let mut stream = watch(&app.grpc, &account_id, &asset_id).await;
    let mut seen = Vec::new();
    while let Some(asset) = next(&mut stream).await {
        seen.push(asset);
    }
    let statuses: Vec<ProbeStatus> = seen.iter().map(catalog_pb::Asset::probe_status).collect();
    assert!(
        statuses == [ProbeStatus::Pending, ProbeStatus::Ready] || statuses == [ProbeStatus::Ready],
        "{statuses:?}"
    );
    let last = seen.last().expect("one message");
    assert_eq!((last.width, last.height), (Some(64), Some(32)));

    // A finished asset: one message, then the end.
    let mut again = watch(&app.grpc, &account_id, &asset_id).await;
    assert_eq!(
        next(&mut again).await.map(|a| a.probe_status()),
        Some(ProbeStatus::Ready)
    );
    assert!(next(&mut again).await.is_none());

    let other = account_of(&app.grpc, &app.create_key("other")).await;
    let mut watcher = catalog(&app.grpc, Some(TOKEN)).await;
    for (account, asset) in [
        (&other, &asset_id),
        (&account_id, &uuid::Uuid::new_v4().to_string()),
    ] {
        let result = watcher
            .watch_asset(catalog_pb::WatchAssetRequest {
                account_id: account.clone(),
                asset_id: asset.clone(),
            })
            .await;
        assert_status(result.map(|_| ()), Code::NotFound, "ASSET_NOT_FOUND");
    }
}

#[tokio::test]
async fn watch_follows_a_probe_sqlite() {
    watch_on_serve(Engine::Sqlite).await;
}

#[tokio::test]
async fn watch_follows_a_probe_postgres() {
    watch_on_serve(Engine::Postgres).await;
}

/// Roles apart with the service token: `catalogs` catalog processes on one database, a gateway
/// on the first; the prober starts when the test says so.
async fn cluster(engine: Engine, catalogs: usize) -> Option<Split> {
    Split::builder(engine)
        .catalogs(catalogs)
        .args(token_args())
        .start()
        .await
}

fn gateway_grpc(split: &Split) -> String {
    split
        .gateway
        .addresses
        .url("gateway_grpc")
        .expect("gateway gRPC")
}

/// Upload, watch (pending), only then start the prober (through catalog `record_via`), and see
/// the watch deliver ready with the size and end.
async fn watch_sees_pending_then_ready(engine: Engine, catalogs: usize, record_via: usize) {
    let Some(cluster) = cluster(engine, catalogs).await else {
        return;
    };
    let watch_on = &cluster.catalogs[0].addr;
    let account_id = account_of(watch_on, &cluster.key).await;
    let mut client = gateway(&gateway_grpc(&cluster), Some(TOKEN)).await;
    let asset_id = upload_hero(&mut client, &account_id, 512).await;
    let mut stream = watch(watch_on, &account_id, &asset_id).await;
    let first = next(&mut stream).await.expect("the current asset");
    assert_eq!(first.probe_status(), ProbeStatus::Pending);
    assert_eq!(first.width, None);

    let _prober = cluster.start_prober_via(record_via, "prober");
    let ready = next(&mut stream).await.expect("the probed asset");
    assert_eq!(ready.probe_status(), ProbeStatus::Ready, "{ready:?}");
    assert_eq!((ready.width, ready.height), (Some(64), Some(32)));
    assert!(
        next(&mut stream).await.is_none(),
        "the watch ends after ready"
    );
    assert_eq!(
        cluster.storage.read(&ready.file_key).await,
        fixture("hero.png")
    );
    drop(cluster.db);
}

#[tokio::test]
async fn watch_sees_pending_then_ready_sqlite() {
    watch_sees_pending_then_ready(Engine::Sqlite, 1, 0).await;
}

#[tokio::test]
async fn watch_sees_pending_then_ready_postgres() {
    watch_sees_pending_then_ready(Engine::Postgres, 1, 0).await;
}

/// A watch of an asset still pending ends with NOT_FOUND when the asset is deleted, also when it
/// is deleted through another catalog replica (LISTEN/NOTIFY).
async fn watch_ends_when_the_asset_is_deleted(engine: Engine, catalogs: usize, delete_via: usize) {
    let Some(cluster) = cluster(engine, catalogs).await else {
        return;
    };
    let watch_on = &cluster.catalogs[0].addr;
    let account_id = account_of(watch_on, &cluster.key).await;
    let mut client = gateway(&gateway_grpc(&cluster), Some(TOKEN)).await;
    let asset_id = upload_hero(&mut client, &account_id, 512).await;
    // No prober runs: the asset stays pending.
    let mut stream = watch(watch_on, &account_id, &asset_id).await;
    let first = next(&mut stream).await.expect("the current asset");
    assert_eq!(first.probe_status(), ProbeStatus::Pending);

    catalog(&cluster.catalogs[delete_via].addr, Some(TOKEN))
        .await
        .delete_asset(catalog_pb::DeleteAssetRequest {
            account_id: account_id.clone(),
            asset_id: asset_id.clone(),
        })
        .await
        .expect("delete");
    let ended = tokio::time::timeout(Duration::from_secs(30), stream.message())
        .await
        .expect("the watch answers within 30 s of the delete");
    match ended {
        Err(status) => assert_eq!(status.code(), tonic::Code::NotFound, "{status:?}"),
        Ok(message) => panic!("expected NOT_FOUND, got {message:?}"),
    }
    drop(cluster.db);
}

#[tokio::test]
async fn watch_ends_when_the_asset_is_deleted_sqlite() {
    watch_ends_when_the_asset_is_deleted(Engine::Sqlite, 1, 0).await;
}

/// Deleted through the second replica: the watch on the first hears it through Postgres.
#[tokio::test]
async fn watch_ends_when_the_asset_is_deleted_on_another_catalog_postgres() {
    watch_ends_when_the_asset_is_deleted(Engine::Postgres, 2, 1).await;
}

/// Two catalog replicas on one Postgres database: the watch is on one, the prober records
/// through the other; LISTEN/NOTIFY carries the result across.
#[tokio::test]
async fn watch_hears_results_recorded_by_another_catalog_postgres() {
    watch_sees_pending_then_ready(Engine::Postgres, 2, 1).await;
}
