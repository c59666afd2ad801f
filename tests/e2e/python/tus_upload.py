"""Uploads one file to assetd's tus endpoint with tuspy (PyPI `tuspy` 1.1.0), for the Rust e2e tests.

Environment:
  TUS_ENDPOINT          creation URL, e.g. http://127.0.0.1:PORT/v1/uploads
  TUS_KEY               sent as `x-api-key` on every request
  TUS_FILE              path of the file to upload
  TUS_CHUNK_SIZE        bytes per PATCH (default: the whole rest of the file in one PATCH)
  TUS_UPLOAD_URL        resume this upload URL (tuspy's `url=`: a HEAD for the offset, then PATCH)
  TUS_CHECKSUM=1        upload_checksum=True: every PATCH carries `Upload-Checksum: sha1 <base64>`
  TUS_STOP_AFTER_BYTES  stop once the server has acknowledged at least this many bytes (and the
                        upload is not complete yet): print {"event":"stopped",...} and exit 3
  TUS_FILENAME          metadata `filename` (default: the file's base name)
  TUS_PROJECT_ID        metadata `projectId` (optional)
  TUS_RETRIES           tuspy's retries per chunk (default 0), TUS_RETRY_DELAY seconds (default 0)

Prints one JSON object per line on stdout:
  {"event":"created","url":U,"resumed":B,"offset":N}   after the POST (or the resume's HEAD)
  {"event":"chunk","offset":N}                         after each acknowledged PATCH
  {"event":"stopped","url":U,"offset":N}               TUS_STOP_AFTER_BYTES reached, exit 3
  {"event":"success","url":U,"offset":N,"lastResponseHeaders":{...}}   exit 0
  {"event":"error","message":M,"status":S|null,"body":B|null}          exit 1
"""

import json
import os
import sys

from tusclient import client as tus_client
from tusclient.exceptions import TusCommunicationError


def emit(**fields):
    print(json.dumps(fields), flush=True)


def int_var(name, default=None):
    raw = os.environ.get(name, "")
    if raw == "":
        return default
    value = int(raw)
    if value < 0:
        raise ValueError(f"{name} must not be negative")
    return value


def main():
    endpoint = os.environ.get("TUS_ENDPOINT", "")
    upload_url = os.environ.get("TUS_UPLOAD_URL") or None
    path = os.environ.get("TUS_FILE", "")
    if not path:
        raise ValueError("TUS_FILE is not set")
    if not endpoint and not upload_url:
        raise ValueError("set TUS_ENDPOINT (and/or TUS_UPLOAD_URL)")
    chunk_size = int_var("TUS_CHUNK_SIZE")
    stop_after = int_var("TUS_STOP_AFTER_BYTES")
    metadata = {"filename": os.environ.get("TUS_FILENAME") or os.path.basename(path)}
    if os.environ.get("TUS_PROJECT_ID"):
        metadata["projectId"] = os.environ["TUS_PROJECT_ID"]

    client = tus_client.TusClient(
        endpoint or upload_url, headers={"x-api-key": os.environ.get("TUS_KEY", "")}
    )
    kwargs = {
        "file_path": path,
        "metadata": metadata,
        "upload_checksum": os.environ.get("TUS_CHECKSUM") == "1",
        "retries": int_var("TUS_RETRIES", 0),
        "retry_delay": int_var("TUS_RETRY_DELAY", 0),
    }
    if chunk_size:
        kwargs["chunk_size"] = chunk_size
    # With url=, the constructor already sends the HEAD and sets `offset` from Upload-Offset.
    uploader = client.uploader(url=upload_url, **kwargs)
    if uploader.url is None:
        uploader.set_url(uploader.create_url())
        uploader.offset = 0
        emit(event="created", url=uploader.url, resumed=False, offset=0)
    else:
        emit(event="created", url=uploader.url, resumed=True, offset=uploader.offset)

    size = uploader.get_file_size()
    uploader.stop_at = size
    while uploader.offset < size:
        uploader.upload_chunk()
        emit(event="chunk", offset=uploader.offset)
        if stop_after is not None and stop_after <= uploader.offset < size:
            emit(event="stopped", url=uploader.url, offset=uploader.offset)
            return 3

    headers = dict(uploader.request.response_headers) if uploader.request is not None else {}
    emit(event="success", url=uploader.url, offset=uploader.offset, lastResponseHeaders=headers)
    return 0


def run():
    try:
        return main()
    except TusCommunicationError as err:
        body = err.response_content
        if isinstance(body, bytes):
            body = body.decode("utf-8", "replace")
        emit(event="error", message=str(err), status=err.status_code, body=body)
    except Exception as err:  # noqa: BLE001 - every failure is reported the same way
        emit(event="error", message=f"{type(err).__name__}: {err}", status=None, body=None)
    return 1


if __name__ == "__main__":
    sys.exit(run())
