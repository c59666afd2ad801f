"""The official Python client (indream-client 1.1.0) and a 1.0-style plain HTTP client against assetd.

Run by the end-to-end suite (tests/e2e/python_client.rs) with:
  ASSETD_URL          base URL of the running gateway
  ASSETD_KEY          an API key of an enabled account
  ASSETD_OTHER_KEY    an API key of another enabled account
  ASSETD_DISABLED_KEY an API key of a disabled account
  ASSETD_FIXTURE      path of a PNG to upload
Exits non-zero (with a traceback) on the first failed expectation.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request

from indream import APIError, AuthError, IndreamClient, ValidationError

URL = os.environ["ASSETD_URL"]
KEY = os.environ["ASSETD_KEY"]
OTHER_KEY = os.environ["ASSETD_OTHER_KEY"]
DISABLED_KEY = os.environ["ASSETD_DISABLED_KEY"]
PNG = open(os.environ["ASSETD_FIXTURE"], "rb").read()

EDITOR_STATE = {
    "stateSchemaVersion": "v1",
    "compositionWidth": 1080,
    "compositionHeight": 1920,
    "timebaseTicksPerSecond": 240000,
    "tracks": [{"id": "t1", "items": [], "hidden": False, "muted": False}],
    "assets": {},
    "items": {},
    "transitions": {},
}


def expect_error(kind, status, code, call, *args, **kwargs):
    """Runs `call` and checks it raises `kind` with this status and errorCode."""
    try:
        call(*args, **kwargs)
    except APIError as error:
        assert isinstance(error, kind), f"{type(error).__name__} is not {kind.__name__}: {error.problem}"
        assert error.status == status, f"status {error.status} != {status}: {error.problem}"
        assert error.error_code == code, f"errorCode {error.error_code} != {code}: {error.problem}"
        return error
    raise AssertionError(f"{call.__qualname__} did not fail with {status} {code}")


def sdk_flow() -> None:
    client = IndreamClient(api_key=KEY, base_url=URL, max_retries=0, timeout=30)
    other = IndreamClient(api_key=OTHER_KEY, base_url=URL, max_retries=0, timeout=30)

    # Projects: create (idempotent with a key), get, update, list.
    payload = {"editorState": EDITOR_STATE, "stateSchemaVersion": "v1", "title": "From Python"}
    project = client.projects.create(payload, idempotency_key="py-flow-1")
    assert project.title == "From Python" and project.description is None
    again = client.projects.create(payload, idempotency_key="py-flow-1")
    assert again.project_id == project.project_id, "an idempotent replay must return the same project"
    assert again.created_at == project.created_at
    expect_error(
        APIError, 409, "IDEMPOTENCY_KEY_REUSED", client.projects.create,
        {**payload, "title": "Another"}, idempotency_key="py-flow-1",
    )
    untitled = client.projects.create({"editorState": EDITOR_STATE, "stateSchemaVersion": "v1"})
    assert untitled.title == ""
    pid = project.project_id

    detail = client.projects.get(pid)
    assert detail.editor_state == EDITOR_STATE and detail.state_schema_version == "v1"
    updated = client.projects.update(pid, {"title": "Renamed", "description": "About it"})
    assert (updated.project_id, updated.title, updated.description) == (pid, "Renamed", "About it")
    cleared = client.projects.update(pid, {"description": None})
    assert cleared.title == "Renamed" and cleared.description is None

    seen, cursor = [], None
    while True:
        page = client.projects.list(page_size=1, page_cursor=cursor)
        seen += [p.project_id for p in page.items]
        cursor = page.next_page_cursor
        if cursor is None:
            break
    assert sorted(seen) == sorted({pid, untitled.project_id}), seen

    # Uploads bound to the project, read back, listed across pages.
    uploaded = [
        client.uploads.upload(PNG, filename=f"hero-{i}.png", content_type="image/png", project_id=pid)
        for i in range(5)
    ]
    for asset in uploaded:
        assert asset.type == "IMAGE" and asset.source == "UPLOAD" and asset.size == len(PNG)
    fetched = client.assets.get(uploaded[0].asset_id)
    assert fetched.file_key == uploaded[0].file_key and fetched.filename == "hero-0.png"

    listed, cursor, pages = [], None, 0
    while True:
        page = client.projects.list_assets(pid, page_size=2, page_cursor=cursor)
        listed += [a.asset_id for a in page.items]
        pages += 1
        cursor = page.next_page_cursor
        if cursor is None:
            break
    assert pages == 3, pages
    assert listed == [a.asset_id for a in reversed(uploaded)], "newest binding first"

    # Bind (idempotent), unbind, 404 on a second unbind.
    loose = client.uploads.upload(PNG, filename="loose.png", content_type="image/png")
    bound = client.projects.add_asset(pid, loose.asset_id)
    assert (bound.project_id, bound.asset_id) == (pid, loose.asset_id)
    client.projects.add_asset(pid, loose.asset_id)
    removed = client.projects.remove_asset(pid, loose.asset_id)
    assert removed.deleted is True and removed.asset_id == loose.asset_id
    expect_error(APIError, 404, "BINDING_NOT_FOUND", client.projects.remove_asset, pid, loose.asset_id)

    # Asset delete: 409 while bound, then gone.
    first = uploaded[0].asset_id
    expect_error(APIError, 409, "ASSET_REFERENCED", client.assets.delete, first)
    client.projects.remove_asset(pid, first)
    deleted = client.assets.delete(first)
    assert deleted.asset_id == first and deleted.deleted is True
    expect_error(APIError, 404, "ASSET_NOT_FOUND", client.assets.get, first)
    expect_error(APIError, 404, "ASSET_NOT_FOUND", client.assets.delete, first)

    # Another account sees nothing of this one.
    expect_error(APIError, 404, "PROJECT_NOT_FOUND", other.projects.get, pid)
    expect_error(APIError, 404, "PROJECT_NOT_FOUND", other.projects.list_assets, pid)
    expect_error(APIError, 404, "ASSET_NOT_FOUND", other.assets.get, loose.asset_id)
    assert other.projects.list().items == []

    # Typed errors: AuthError for 401/403, ValidationError for 400/422.
    wrong = IndreamClient(api_key="not-a-key", base_url=URL, max_retries=0)
    expect_error(AuthError, 401, "OPEN_API_KEY_INVALID", wrong.projects.list)
    disabled = IndreamClient(api_key=DISABLED_KEY, base_url=URL, max_retries=0)
    expect_error(AuthError, 403, "OPEN_API_RUNTIME_ACCESS_FORBIDDEN", disabled.assets.get, loose.asset_id)
    expect_error(ValidationError, 400, "PAGE_SIZE_INVALID", client.projects.list, page_size=51)
    expect_error(ValidationError, 400, "PAGE_CURSOR_INVALID", client.projects.list, page_cursor="nope")
    expect_error(ValidationError, 422, "PAGE_SIZE_INVALID", client.projects.list_assets, pid, page_size=101)
    expect_error(ValidationError, 400, "ID_INVALID", client.assets.get, "not-a-uuid")
    expect_error(ValidationError, 400, "UPLOAD_BODY_EMPTY", client.uploads.upload,
                 b"", filename="empty.png", content_type="image/png")
    expect_error(ValidationError, 422, "UPLOAD_FILE_TYPE_UNSUPPORTED", client.uploads.upload,
                 b'{"v": "5.7.4", "layers": []}', filename="anim.json", content_type="application/json")
    expect_error(ValidationError, 422, "PROJECT_TITLE_INVALID", client.projects.update, pid, {"title": "x" * 121})
    expect_error(ValidationError, 422, "ASSET_ID_INVALID", client.projects.add_asset, pid, "not-a-uuid")
    # The SDK checks editor states itself before sending (its own EDITOR_SCHEMA_INVALID).
    expect_error(ValidationError, 422, "EDITOR_SCHEMA_INVALID", client.projects.create,
                 {"editorState": {}, "stateSchemaVersion": "v1"})

    # Project delete unbinds its assets: they can be deleted afterwards.
    gone = client.projects.delete(pid)
    assert gone.project_id == pid and gone.deleted is True
    expect_error(APIError, 404, "PROJECT_NOT_FOUND", client.projects.get, pid)
    for asset in uploaded[1:]:
        assert client.assets.delete(asset.asset_id).deleted is True
    client.assets.delete(loose.asset_id)
    client.projects.delete(untitled.project_id)
    client.close()
    other.close()


def http(method, path, key, body=None, headers=None):
    """One plain HTTP call, 1.0 style (`x-api-key`); returns (status, parsed JSON)."""
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    request = urllib.request.Request(URL + path, data=data, method=method)
    request.add_header("x-api-key", key)
    if isinstance(body, dict):
        request.add_header("Content-Type", "application/json")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        assert error.headers.get("Content-Type") == "application/problem+json", error.headers
        return error.code, json.loads(error.read())


def plain_http_flow() -> None:
    status, body = http("POST", "/v1/projects", KEY, {"editorState": {"tracks": []}, "stateVersion": "v1", "title": "1.0"})
    assert status == 201 and body["meta"] == {}, (status, body)
    pid = body["data"]["projectId"]
    status, body = http("POST", "/v1/uploads", KEY, PNG, {"x-file-name": "hero.png", "Content-Type": "image/png", "x-project-id": pid})
    assert status == 201, (status, body)
    aid = body["data"]["assetId"]
    status, body = http("GET", f"/v1/assets/{aid}", KEY)
    assert status == 200 and body["data"]["assetId"] == aid
    status, body = http("GET", f"/v1/projects/{pid}/assets", KEY)
    assert status == 200 and [a["assetId"] for a in body["data"]] == [aid]
    assert body["meta"] == {"nextPageCursor": None}, body["meta"]
    status, body = http("DELETE", f"/v1/assets/{aid}", KEY)
    assert (status, body["errorCode"], body["type"]) == (409, "ASSET_REFERENCED", "CONFLICT"), body
    status, body = http("DELETE", f"/v1/projects/{pid}/assets/{aid}", KEY)
    assert status == 200 and body["data"] == {"projectId": pid, "assetId": aid, "deleted": True}, body
    status, body = http("DELETE", f"/v1/assets/{aid}", KEY)
    assert status == 200 and body["data"] == {"assetId": aid, "deleted": True}, body
    status, body = http("DELETE", f"/v1/projects/{pid}", KEY)
    assert status == 200 and body["data"] == {"projectId": pid, "deleted": True}, body
    status, body = http("GET", f"/v1/projects/{pid}", KEY)
    assert (status, body["errorCode"]) == (404, "PROJECT_NOT_FOUND"), body
    status, body = http("GET", "/v1/projects", "wrong-key")
    assert (status, body["errorCode"]) == (401, "OPEN_API_KEY_INVALID"), body


if __name__ == "__main__":
    sdk_flow()
    plain_http_flow()
    print("indream-client 1.1.0 flow and 1.0-style flow passed")
