//! Every route of the contract over HTTP on SQLite and Postgres: projects (idempotent create,
//! keyset pages, patch, delete), project assets (pages, bind, unbind), asset delete (409 while
//! bound, object removed), cross-account 404s and every bad-input code; plus the same operations
//! over the catalog's gRPC.

use std::collections::HashSet;

use assetd_proto::catalog::v1 as pb;
use assetd_tests::{Assetd, Engine, Options, fixture};
use reqwest::{Client, Method, RequestBuilder, StatusCode};
use serde_json::{Value, json};

use crate::upload;

/// One account's view of the HTTP API.
struct Api<'a> {
    app: &'a Assetd,
    key: String,
    client: Client,
}

impl<'a> Api<'a> {
    fn new(app: &'a Assetd, key: &str) -> Self {
        Self {
            app,
            key: key.to_owned(),
            client: Client::new(),
        }
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, self.app.url(path))
            .bearer_auth(&self.key)
    }

    async fn send(&self, request: RequestBuilder) -> (StatusCode, Value) {
        let response = request.send().await.expect("send");
        let status = response.status();
        let problem = response
            .headers()
            .get("content-type")
            .is_some_and(|v| v == "application/problem+json");
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if status.is_client_error() || status.is_server_error() {
            assert!(problem, "{status}: errors are problem+json: {body}");
            for field in ["type", "title", "status", "detail", "errorCode"] {
                assert!(body.get(field).is_some(), "problem lacks {field}: {body}");
            }
            assert_eq!(body["status"], status.as_u16());
        } else {
            assert!(body["meta"].is_object(), "{body}");
        }
        (status, body)
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut request = self.request(method, path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        self.send(request).await
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, None).await
    }

    async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::DELETE, path, None).await
    }

    async fn create_project(&self, body: Value) -> String {
        let (status, body) = self.call(Method::POST, "/v1/projects", Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["data"]["projectId"]
            .as_str()
            .expect("projectId")
            .to_owned()
    }

    /// Every page of a list route, as (ids, page count); checks `meta.nextPageCursor`.
    async fn all_pages(&self, path: &str, page_size: u32, id_field: &str) -> (Vec<String>, usize) {
        let (mut ids, mut pages, mut cursor) = (Vec::new(), 0, None::<String>);
        loop {
            let mut url = format!("{path}?pageSize={page_size}");
            if let Some(cursor) = &cursor {
                url.push_str(&format!("&pageCursor={cursor}"));
            }
            let (status, body) = self.get(&url).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            let items = body["data"].as_array().expect("data is a list");
            assert!(items.len() <= page_size as usize);
            ids.extend(
                items
                    .iter()
                    .map(|item| item[id_field].as_str().expect("id").to_owned()),
            );
            pages += 1;
            match &body["meta"]["nextPageCursor"] {
                Value::Null => return (ids, pages),
                Value::String(next) => cursor = Some(next.clone()),
                other => panic!("nextPageCursor is {other}"),
            }
        }
    }
}

/// `POST /v1/projects` over a raw socket: the head plus `extra` headers, then `body` as is; reads
/// the whole answer (the server closes after it).
async fn raw_post(app: &Assetd, key: &str, extra: &str, body: &[u8]) -> (StatusCode, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = app.http.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "POST /v1/projects HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: application/json\r\nConnection: close\r\n{extra}\r\n"
    );
    stream.write_all(head.as_bytes()).await.expect("write head");
    let _ = stream.write_all(body).await;
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    let text = String::from_utf8_lossy(&answer);
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse::<u16>().ok())
        .and_then(|code| StatusCode::from_u16(code).ok())
        .unwrap_or_else(|| panic!("no HTTP answer: {text}"));
    let json = text.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    (status, serde_json::from_str(json).unwrap_or(Value::Null))
}

fn assert_error(result: &(StatusCode, Value), status: StatusCode, code: &str) {
    assert_eq!(result.0, status, "{}", result.1);
    assert_eq!(result.1["errorCode"], code, "{}", result.1);
}

fn editor_state() -> Value {
    json!({"tracks": [{"id": "t1", "items": []}], "items": {}, "n": 1.5})
}

async fn upload_png(app: &Assetd, key: &str, project_id: Option<&str>) -> Value {
    let mut headers = vec![("x-file-name", "hero.png"), ("content-type", "image/png")];
    if let Some(project_id) = project_id {
        headers.push(("x-project-id", project_id));
    }
    let (status, body) = upload(app, key, &headers, fixture("hero.png")).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["data"].clone()
}

async fn whole_contract(engine: Engine) {
    let Some(app) = Assetd::serve(engine, None, Options::default()).await else {
        return;
    };
    let key = app.create_key("acme");
    let api = Api::new(&app, &key);
    let other = Api::new(&app, &app.create_key("other"));

    // --- Create: the summary, defaults, 1.0 bodies, idempotency. ---
    let (status, created) = api
        .call(
            Method::POST,
            "/v1/projects",
            Some(json!({"editorState": editor_state(), "stateSchemaVersion": "v1", "title": "First"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let project = &created["data"];
    assert_eq!(created["meta"], json!({}));
    let pid = project["projectId"].as_str().expect("projectId").to_owned();
    assert!(uuid::Uuid::parse_str(&pid).is_ok());
    assert_eq!(project["title"], "First");
    assert_eq!(project["description"], Value::Null);
    let created_at = project["createdAt"].as_str().expect("createdAt");
    assert!(
        created_at.ends_with('Z') && created_at.len() == 27,
        "{created_at}"
    );
    assert_eq!(project["updatedAt"], project["createdAt"]);
    assert_eq!(
        project.as_object().map(|o| o.len()),
        Some(5),
        "a summary, no editor state: {project}"
    );

    // A 1.0 client: `stateVersion` and `x-api-key`; no title is "".
    let (status, legacy) = api
        .send(
            api.client
                .post(app.url("/v1/projects"))
                .header("x-api-key", &key)
                .json(&json!({"editorState": {}, "stateVersion": "v1"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{legacy}");
    assert_eq!(legacy["data"]["title"], "");

    let idem = |k: &str, title: &str| {
        api.request(Method::POST, "/v1/projects")
            .header("idempotency-key", k)
            .json(&json!({"editorState": editor_state(), "stateSchemaVersion": "v1", "title": title, "description": "d"}))
    };
    let (s1, first) = api.send(idem("key-1", "Idem")).await;
    let (s2, replay) = api.send(idem("key-1", "Idem")).await;
    assert_eq!((s1, s2), (StatusCode::CREATED, StatusCode::CREATED));
    assert_eq!(first, replay, "a replay answers the first response");
    assert_error(
        &api.send(idem("key-1", "Different")).await,
        StatusCode::CONFLICT,
        "IDEMPOTENCY_KEY_REUSED",
    );
    // Keys are per account.
    let (status, theirs) = other.send(other.request(Method::POST, "/v1/projects").header("idempotency-key", "key-1").json(&json!({"editorState": editor_state(), "stateSchemaVersion": "v1", "title": "Idem", "description": "d"}))).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_ne!(theirs["data"]["projectId"], first["data"]["projectId"]);
    assert_error(
        &api.send(
            api.request(Method::POST, "/v1/projects")
                .header("idempotency-key", "")
                .json(&json!({"editorState": {}, "stateSchemaVersion": "v1"})),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "IDEMPOTENCY_KEY_INVALID",
    );

    // --- Create: every invalid field. ---
    let long_title = "t".repeat(121);
    let long_description = "d".repeat(501);
    let cases = [
        (
            json!({"stateSchemaVersion": "v1"}),
            "PROJECT_EDITOR_STATE_INVALID",
        ),
        (
            json!({"editorState": [], "stateSchemaVersion": "v1"}),
            "PROJECT_EDITOR_STATE_INVALID",
        ),
        (
            json!({"editorState": {}}),
            "STATE_SCHEMA_VERSION_UNSUPPORTED",
        ),
        (
            json!({"editorState": {}, "stateSchemaVersion": "v2"}),
            "STATE_SCHEMA_VERSION_UNSUPPORTED",
        ),
        (
            json!({"editorState": {}, "stateVersion": 1}),
            "STATE_SCHEMA_VERSION_UNSUPPORTED",
        ),
        (
            json!({"editorState": {}, "stateSchemaVersion": "v1", "title": long_title}),
            "PROJECT_TITLE_INVALID",
        ),
        (
            json!({"editorState": {}, "stateSchemaVersion": "v1", "title": 7}),
            "PROJECT_TITLE_INVALID",
        ),
        (
            json!({"editorState": {}, "stateSchemaVersion": "v1", "description": long_description}),
            "PROJECT_DESCRIPTION_INVALID",
        ),
        (
            json!({"editorState": {}, "stateSchemaVersion": "v1", "description": false}),
            "PROJECT_DESCRIPTION_INVALID",
        ),
    ];
    for (body, code) in cases {
        let result = api
            .call(Method::POST, "/v1/projects", Some(body.clone()))
            .await;
        assert_error(&result, StatusCode::UNPROCESSABLE_ENTITY, code);
        assert_eq!(result.1["type"], "UNPROCESSABLE_CONTENT", "{body}");
    }
    // Exactly at the limits is fine.
    api.create_project(json!({"editorState": {}, "stateSchemaVersion": "v1", "title": "t".repeat(120), "description": "d".repeat(500)})).await;

    // --- Malformed bodies: 400 BODY_INVALID as problem JSON; too large: 413. ---
    let raw = |content_type: &str, body: &'static str| {
        api.request(Method::POST, "/v1/projects")
            .header("content-type", content_type)
            .body(body)
    };
    for request in [
        raw("application/json", "{\"editorState\":"),
        raw("application/json", "[1, 2]"),
        raw("application/json", ""),
        raw(
            "text/plain",
            "{\"editorState\": {}, \"stateSchemaVersion\": \"v1\"}",
        ),
        api.request(Method::POST, "/v1/projects"),
    ] {
        let result = api.send(request).await;
        assert_error(&result, StatusCode::BAD_REQUEST, "BODY_INVALID");
        assert_eq!(result.1["type"], "BAD_REQUEST");
    }
    // Over 1 MiB: refused from Content-Length before reading, or at the byte that crosses it.
    // (Raw sockets: the server answers without reading the rest, which a normal client may see as
    // a reset while it is still sending.)
    let declared = raw_post(&app, &key, "Content-Length: 2000000\r\n", b"").await;
    assert_error(&declared, StatusCode::PAYLOAD_TOO_LARGE, "BODY_TOO_LARGE");
    let mut chunked = Vec::new();
    for _ in 0..17 {
        chunked.extend_from_slice(format!("{:x}\r\n", 64 * 1024).as_bytes());
        chunked.extend(std::iter::repeat_n(b' ', 64 * 1024));
        chunked.extend_from_slice(b"\r\n");
    }
    let crossed = raw_post(&app, &key, "Transfer-Encoding: chunked\r\n", &chunked).await;
    assert_error(&crossed, StatusCode::PAYLOAD_TOO_LARGE, "BODY_TOO_LARGE");

    // --- Detail and patch. ---
    let (status, detail) = api.get(&format!("/v1/projects/{pid}")).await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    assert_eq!(detail["data"]["editorState"], editor_state());
    assert_eq!(detail["data"]["stateSchemaVersion"], "v1");
    assert_eq!(detail["data"]["title"], "First");

    let (status, patched) = api
        .call(
            Method::PATCH,
            &format!("/v1/projects/{pid}"),
            Some(json!({"title": "Renamed", "description": "About"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    let data = &patched["data"];
    assert_eq!(data["projectId"], pid.as_str());
    assert_eq!(
        (&data["title"], &data["description"]),
        (&json!("Renamed"), &json!("About"))
    );
    assert!(data["updatedAt"].as_str() >= Some(created_at));
    assert_eq!(data.as_object().map(|o| o.len()), Some(4), "{data}");
    let (_, patched) = api
        .call(
            Method::PATCH,
            &format!("/v1/projects/{pid}"),
            Some(json!({"description": null})),
        )
        .await;
    assert_eq!(
        (&patched["data"]["title"], &patched["data"]["description"]),
        (&json!("Renamed"), &Value::Null)
    );
    let (_, detail) = api.get(&format!("/v1/projects/{pid}")).await;
    assert_eq!(
        detail["data"]["editorState"],
        editor_state(),
        "a patch keeps the editor state"
    );
    assert_error(
        &api.call(
            Method::PATCH,
            &format!("/v1/projects/{pid}"),
            Some(json!({"title": long_title})),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "PROJECT_TITLE_INVALID",
    );
    assert_error(
        &api.call(
            Method::PATCH,
            &format!("/v1/projects/{pid}"),
            Some(json!({"title": null})),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "PROJECT_TITLE_INVALID",
    );

    // --- Uploads bound via x-project-id, listed across pages. ---
    let mut bound = Vec::new();
    for _ in 0..5 {
        bound.push(upload_png(&app, &key, Some(&pid)).await);
    }
    let assets_path = format!("/v1/projects/{pid}/assets");
    let (ids, pages) = api.all_pages(&assets_path, 2, "assetId").await;
    assert_eq!(pages, 3);
    let expected: Vec<String> = bound
        .iter()
        .rev()
        .map(|a| a["assetId"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(ids, expected, "newest binding first, no gaps or duplicates");
    let (status, page) = api.get(&assets_path).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        page["data"].as_array().map(Vec::len),
        Some(5),
        "default page holds all"
    );
    assert_eq!(page["meta"], json!({"nextPageCursor": null}));
    assert_eq!(page["data"][0]["fileKey"], bound[4]["fileKey"]);
    assert_eq!(
        page["data"][0]
            .as_object()
            .map(|o| o.contains_key("fileUrl")),
        Some(true)
    );
    for size in ["0", "101", "-1", "ten", ""] {
        assert_error(
            &api.get(&format!("{assets_path}?pageSize={size}")).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "PAGE_SIZE_INVALID",
        );
    }
    for cursor in ["nope", "%21%21", &"f".repeat(48)] {
        assert_error(
            &api.get(&format!("{assets_path}?pageCursor={cursor}")).await,
            StatusCode::BAD_REQUEST,
            "PAGE_CURSOR_INVALID",
        );
    }

    // --- Bind idempotently, unbind, 404 on unbind again. ---
    let loose = upload_png(&app, &key, None).await;
    let loose_id = loose["assetId"].as_str().expect("id").to_owned();
    for _ in 0..2 {
        let (status, body) = api
            .call(
                Method::POST,
                &assets_path,
                Some(json!({"assetId": loose_id})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["data"], json!({"projectId": pid, "assetId": loose_id}));
    }
    let (ids, _) = api.all_pages(&assets_path, 100, "assetId").await;
    assert_eq!(ids.len(), 6);
    assert_eq!(ids[0], loose_id);
    let binding = format!("{assets_path}/{loose_id}");
    let (status, body) = api.delete(&binding).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["data"],
        json!({"projectId": pid, "assetId": loose_id, "deleted": true})
    );
    assert_error(
        &api.delete(&binding).await,
        StatusCode::NOT_FOUND,
        "BINDING_NOT_FOUND",
    );
    let missing = uuid::Uuid::new_v4().to_string();
    assert_error(
        &api.call(
            Method::POST,
            &assets_path,
            Some(json!({"assetId": missing})),
        )
        .await,
        StatusCode::NOT_FOUND,
        "ASSET_NOT_FOUND",
    );
    for body in [json!({}), json!({"assetId": "x"}), json!({"assetId": 5})] {
        assert_error(
            &api.call(Method::POST, &assets_path, Some(body)).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "ASSET_ID_INVALID",
        );
    }
    assert_error(
        &api.send(
            api.request(Method::POST, &assets_path)
                .header("content-type", "application/json")
                .body("{"),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "BODY_INVALID",
    );
    assert_error(
        &api.call(
            Method::POST,
            &format!("/v1/projects/{missing}/assets"),
            Some(json!({"assetId": loose_id})),
        )
        .await,
        StatusCode::NOT_FOUND,
        "PROJECT_NOT_FOUND",
    );

    // --- Asset delete: 409 while bound, then 200, 404, object gone. ---
    let target = bound[0]["assetId"].as_str().expect("id").to_owned();
    let target_key = bound[0]["fileKey"].as_str().expect("key").to_owned();
    let asset_path = format!("/v1/assets/{target}");
    let referenced = api.delete(&asset_path).await;
    assert_error(&referenced, StatusCode::CONFLICT, "ASSET_REFERENCED");
    assert_eq!(referenced.1["type"], "CONFLICT");
    assert!(app.storage.all_files().await.contains(&target_key));
    api.delete(&format!("{assets_path}/{target}")).await;
    let (status, body) = api.delete(&asset_path).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!({"data": {"assetId": target, "deleted": true}, "meta": {}})
    );
    assert_error(
        &api.get(&asset_path).await,
        StatusCode::NOT_FOUND,
        "ASSET_NOT_FOUND",
    );
    assert_error(
        &api.delete(&asset_path).await,
        StatusCode::NOT_FOUND,
        "ASSET_NOT_FOUND",
    );
    assert!(
        !app.storage.all_files().await.contains(&target_key),
        "the deleted asset's object must leave storage"
    );
    let pool = app.db.pool().await;
    let jobs: i64 = sqlx::Row::get(
        &sqlx::query("SELECT CAST(COUNT(*) AS BIGINT) AS n FROM probe_jobs WHERE asset_id = $1")
            .bind(&target)
            .fetch_one(&pool)
            .await
            .expect("count jobs"),
        "n",
    );
    pool.close().await;
    assert_eq!(jobs, 0, "no probe job outlives its asset");
    // The loose asset is unbound: deletable at once.
    let (status, _) = api.delete(&format!("/v1/assets/{loose_id}")).await;
    assert_eq!(status, StatusCode::OK);

    // --- Another account: everything of acme is a 404, exactly like a missing one. ---
    let other_asset = bound[1]["assetId"].as_str().expect("id");
    for (method, path, body, code) in [
        (
            Method::GET,
            format!("/v1/projects/{pid}"),
            None,
            "PROJECT_NOT_FOUND",
        ),
        (
            Method::PATCH,
            format!("/v1/projects/{pid}"),
            Some(json!({"title": "x"})),
            "PROJECT_NOT_FOUND",
        ),
        (
            Method::DELETE,
            format!("/v1/projects/{pid}"),
            None,
            "PROJECT_NOT_FOUND",
        ),
        (Method::GET, assets_path.clone(), None, "PROJECT_NOT_FOUND"),
        (
            Method::POST,
            assets_path.clone(),
            Some(json!({"assetId": other_asset})),
            "PROJECT_NOT_FOUND",
        ),
        (
            Method::DELETE,
            format!("{assets_path}/{other_asset}"),
            None,
            "PROJECT_NOT_FOUND",
        ),
        (
            Method::GET,
            format!("/v1/assets/{other_asset}"),
            None,
            "ASSET_NOT_FOUND",
        ),
        (
            Method::DELETE,
            format!("/v1/assets/{other_asset}"),
            None,
            "ASSET_NOT_FOUND",
        ),
    ] {
        let theirs = other.call(method.clone(), &path, body.clone()).await;
        assert_error(&theirs, StatusCode::NOT_FOUND, code);
        let missing_path = path.replace(&pid, &missing).replace(other_asset, &missing);
        let mine_missing = api.call(method, &missing_path, body).await;
        assert_eq!(theirs.1["detail"], mine_missing.1["detail"], "{path}");
    }
    // Their own project cannot bind acme's asset either.
    let their_project = theirs["data"]["projectId"].as_str().expect("id");
    assert_error(
        &other
            .call(
                Method::POST,
                &format!("/v1/projects/{their_project}/assets"),
                Some(json!({"assetId": other_asset})),
            )
            .await,
        StatusCode::NOT_FOUND,
        "ASSET_NOT_FOUND",
    );
    let (ids, _) = other.all_pages("/v1/projects", 50, "projectId").await;
    assert_eq!(ids, vec![their_project.to_owned()]);

    // --- Bad ids, wrong methods, unknown routes, no key. ---
    for (method, path) in [
        (Method::GET, "/v1/projects/not-a-uuid"),
        (Method::PATCH, "/v1/projects/123"),
        (Method::DELETE, "/v1/projects/123"),
        (Method::GET, "/v1/projects/123/assets"),
        (Method::DELETE, "/v1/assets/xyz"),
    ] {
        let body = (method == Method::PATCH).then(|| json!({}));
        assert_error(
            &api.call(method, path, body).await,
            StatusCode::BAD_REQUEST,
            "ID_INVALID",
        );
    }
    assert_error(
        &api.delete(&format!("{assets_path}/xyz")).await,
        StatusCode::BAD_REQUEST,
        "ID_INVALID",
    );
    let result = api.call(Method::PUT, "/v1/projects", None).await;
    assert_error(
        &result,
        StatusCode::METHOD_NOT_ALLOWED,
        "METHOD_NOT_ALLOWED",
    );
    assert_error(
        &api.call(Method::POST, &asset_path, None).await,
        StatusCode::METHOD_NOT_ALLOWED,
        "METHOD_NOT_ALLOWED",
    );
    assert_error(
        &api.get("/v1/nothing").await,
        StatusCode::NOT_FOUND,
        "ROUTE_NOT_FOUND",
    );
    let anonymous = api.send(api.client.get(app.url("/v1/projects"))).await;
    assert_error(&anonymous, StatusCode::UNAUTHORIZED, "OPEN_API_KEY_INVALID");

    // --- Project delete unbinds its assets. ---
    let (status, body) = api.delete(&format!("/v1/projects/{pid}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"], json!({"projectId": pid, "deleted": true}));
    assert_error(
        &api.get(&format!("/v1/projects/{pid}")).await,
        StatusCode::NOT_FOUND,
        "PROJECT_NOT_FOUND",
    );
    assert_error(
        &api.delete(&format!("/v1/projects/{pid}")).await,
        StatusCode::NOT_FOUND,
        "PROJECT_NOT_FOUND",
    );
    assert_error(
        &api.get(&assets_path).await,
        StatusCode::NOT_FOUND,
        "PROJECT_NOT_FOUND",
    );
    for asset in &bound[1..] {
        let (status, body) = api
            .delete(&format!(
                "/v1/assets/{}",
                asset["assetId"].as_str().expect("id")
            ))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    // An idempotent replay after the delete answers the first response, it creates nothing.
    let (status, again) = api.send(idem("key-1", "Idem")).await;
    assert_eq!((status, &again), (StatusCode::CREATED, &first));
}

/// 45 projects, pages of 20: three pages, newest first, no duplicates and no gaps.
async fn project_pages(engine: Engine) {
    let Some(app) = Assetd::serve(engine, None, Options::default()).await else {
        return;
    };
    let api = Api::new(&app, &app.create_key("pager"));
    let mut created = Vec::new();
    for i in 0..45 {
        created.push(
            api.create_project(
                json!({"editorState": {}, "stateSchemaVersion": "v1", "title": format!("p{i}")}),
            )
            .await,
        );
    }
    let (ids, pages) = api.all_pages("/v1/projects", 20, "projectId").await;
    assert_eq!(pages, 3);
    assert_eq!(ids.len(), 45);
    assert_eq!(
        ids.iter().collect::<HashSet<_>>().len(),
        45,
        "no duplicates"
    );
    assert_eq!(
        ids.iter().collect::<HashSet<_>>(),
        created.iter().collect::<HashSet<_>>(),
        "no gaps"
    );
    assert_eq!(ids.first(), created.last(), "newest first");
    let (_, first) = api.get("/v1/projects").await;
    assert_eq!(
        first["data"].as_array().map(Vec::len),
        Some(20),
        "default page size"
    );
    assert!(first["meta"]["nextPageCursor"].is_string());
    for size in ["0", "51", "abc", "1.5"] {
        let result = api.get(&format!("/v1/projects?pageSize={size}")).await;
        assert_error(&result, StatusCode::BAD_REQUEST, "PAGE_SIZE_INVALID");
    }
    for cursor in ["zz", "%2F%2F", &"a".repeat(200)] {
        let result = api.get(&format!("/v1/projects?pageCursor={cursor}")).await;
        assert_error(&result, StatusCode::BAD_REQUEST, "PAGE_CURSOR_INVALID");
    }
    let (status, single) = api.get("/v1/projects?pageSize=50").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(single["data"].as_array().map(Vec::len), Some(45));
    assert_eq!(single["meta"]["nextPageCursor"], Value::Null);
}

/// The same operations straight over the catalog's gRPC.
/// An idempotency key is remembered for `--idempotency-key-ttl-secs`: within it a retry replays,
/// after it the same key creates again, and the sweeper deletes the expired row.
async fn idempotency_keys_expire(engine: Engine) {
    let Some(app) = Assetd::serve(
        engine,
        None,
        Options {
            extra_args: vec!["--idempotency-key-ttl-secs".into(), "2".into()],
        },
    )
    .await
    else {
        return;
    };
    let key = app.create_key("acme");
    let api = Api::new(&app, &key);
    let create = || {
        api.request(Method::POST, "/v1/projects")
            .header("idempotency-key", "expiring")
            .json(&json!({"editorState": editor_state(), "stateSchemaVersion": "v1", "title": "T"}))
    };
    let (status, first) = api.send(create()).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let (_, replay) = api.send(create()).await;
    assert_eq!(replay["data"]["projectId"], first["data"]["projectId"]);

    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let (status, again) = api.send(create()).await;
    assert_eq!(status, StatusCode::CREATED, "{again}");
    assert_ne!(
        again["data"]["projectId"], first["data"]["projectId"],
        "an expired key creates again"
    );
    let (_, replay) = api.send(create()).await;
    assert_eq!(
        replay["data"]["projectId"], again["data"]["projectId"],
        "and is remembered afresh"
    );

    // The sweeper (every ttl here) deletes the row once it is older than the ttl.
    let pool = app.db.pool().await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM idempotency_keys")
            .fetch_one(&pool)
            .await
            .expect("count keys");
        if rows == 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "expired idempotency keys were not swept:\n{}",
            app.log()
        );
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    let (_, projects) = api.get("/v1/projects?pageSize=10").await;
    assert_eq!(
        projects["data"].as_array().map(Vec::len),
        Some(2),
        "sweeping keys leaves their projects: {projects}"
    );
}

#[tokio::test]
async fn idempotency_keys_expire_sqlite() {
    idempotency_keys_expire(Engine::Sqlite).await;
}

#[tokio::test]
async fn idempotency_keys_expire_postgres() {
    idempotency_keys_expire(Engine::Postgres).await;
}

async fn grpc_operations(engine: Engine) {
    let Some(app) = Assetd::serve(engine, None, Options::default()).await else {
        return;
    };
    let key = app.create_key("grpc");
    let account_id = crate::account_of(&app, &key).await;
    let mut catalog = app.catalog().await;
    let create = |title: &str, key: Option<&str>| pb::CreateProjectRequest {
        account_id: account_id.clone(),
        title: title.into(),
        description: Some("d".into()),
        editor_state_json: "{\"a\":1}".into(),
        state_schema_version: "v1".into(),
        idempotency_key: key.map(str::to_owned),
    };
    let first = catalog
        .create_project(create("one", Some("k")))
        .await
        .expect("create")
        .into_inner();
    let replay = catalog
        .create_project(create("one", Some("k")))
        .await
        .expect("replay")
        .into_inner();
    assert_eq!(first, replay);
    let reused = catalog
        .create_project(create("two", Some("k")))
        .await
        .expect_err("reused");
    assert_eq!(reused.code(), tonic::Code::AlreadyExists);
    catalog
        .create_project(create("two", None))
        .await
        .expect("create");

    let page = catalog
        .list_projects(pb::ListProjectsRequest {
            account_id: account_id.clone(),
            page_size: 1,
            page_cursor: String::new(),
        })
        .await
        .expect("list")
        .into_inner();
    assert_eq!(page.projects.len(), 1);
    assert_eq!(page.projects[0].title, "two");
    assert!(
        page.projects[0].editor_state_json.is_empty(),
        "lists carry no editor state"
    );
    let rest = catalog
        .list_projects(pb::ListProjectsRequest {
            account_id: account_id.clone(),
            page_size: 0,
            page_cursor: page.next_page_cursor.expect("more"),
        })
        .await
        .expect("list")
        .into_inner();
    assert_eq!(
        rest.projects
            .iter()
            .map(|p| p.project_id.as_str())
            .collect::<Vec<_>>(),
        vec![first.project_id.as_str()]
    );
    assert_eq!(rest.next_page_cursor, None);
    let bad = catalog
        .list_projects(pb::ListProjectsRequest {
            account_id: account_id.clone(),
            page_size: 51,
            page_cursor: String::new(),
        })
        .await
        .expect_err("too big");
    assert_eq!(bad.code(), tonic::Code::InvalidArgument);
    let bad = catalog
        .list_projects(pb::ListProjectsRequest {
            account_id: account_id.clone(),
            page_size: 1,
            page_cursor: "x".into(),
        })
        .await
        .expect_err("bad cursor");
    assert_eq!(bad.code(), tonic::Code::InvalidArgument);

    let updated = catalog
        .update_project(pb::UpdateProjectRequest {
            account_id: account_id.clone(),
            project_id: first.project_id.clone(),
            title: Some("renamed".into()),
            description: None,
            clear_description: true,
        })
        .await
        .expect("update")
        .into_inner();
    assert_eq!(
        (updated.title.as_str(), updated.description),
        ("renamed", None)
    );
    assert_eq!(updated.editor_state_json, "{\"a\":1}");

    let asset = upload_png(&app, &key, Some(&first.project_id)).await;
    let assets = catalog
        .list_project_assets(pb::ListProjectAssetsRequest {
            account_id: account_id.clone(),
            project_id: first.project_id.clone(),
            page_size: 0,
            page_cursor: String::new(),
        })
        .await
        .expect("list assets")
        .into_inner();
    assert_eq!(assets.assets.len(), 1);
    assert_eq!(
        assets.assets[0].asset_id,
        asset["assetId"].as_str().expect("id")
    );
    let missing = catalog
        .list_project_assets(pb::ListProjectAssetsRequest {
            account_id,
            project_id: uuid::Uuid::new_v4().to_string(),
            page_size: 0,
            page_cursor: String::new(),
        })
        .await
        .expect_err("no such project");
    assert_eq!(missing.code(), tonic::Code::NotFound);
}

#[tokio::test]
async fn whole_contract_sqlite() {
    whole_contract(Engine::Sqlite).await;
}

#[tokio::test]
async fn whole_contract_postgres() {
    whole_contract(Engine::Postgres).await;
}

#[tokio::test]
async fn project_pages_sqlite() {
    project_pages(Engine::Sqlite).await;
}

#[tokio::test]
async fn project_pages_postgres() {
    project_pages(Engine::Postgres).await;
}

#[tokio::test]
async fn grpc_operations_sqlite() {
    grpc_operations(Engine::Sqlite).await;
}

#[tokio::test]
async fn grpc_operations_postgres() {
    grpc_operations(Engine::Postgres).await;
}
