"""schemathesis hooks for tests/api-fuzz.sh.

Random bytes are almost never accepted media, so without help every generated upload is refused
(422) and no generated scenario holds an asset to follow the document's links from (GET and
DELETE /v1/assets/{assetId}, binding to a project). Half the generated uploads therefore carry a
real caption file instead; the other half stay random and keep testing the refusals. Webhook
creations get the same help with their URL.
"""

import schemathesis

CAPTION = b"1\n00:00:00,000 --> 00:00:01,000\nHello from schemathesis\n"


@schemathesis.hook
def map_body(ctx, body):
    operation = (ctx.operation.method.upper(), ctx.operation.path)
    if operation == ("POST", "/v1/uploads"):
        # Generated binary bodies come wrapped (`Binary`, with the bytes in `.data`).
        raw = getattr(body, "data", body)
        size = len(raw) if isinstance(raw, (bytes, bytearray, str)) else 0
        return CAPTION if size % 2 == 0 else body
    if operation == ("POST", "/v1/webhooks"):
        # A generated `url` string is almost never an absolute http(s) URL, so without help
        # every endpoint is refused (422) and the webhook operations are reached only with ids
        # that do not exist. Half the bodies that name a URL get a real one, on loopback, which
        # the notifier refuses here: nothing is sent anywhere.
        if isinstance(body, dict) and isinstance(body.get("url"), str):
            url = body["url"]
            if len(url) % 2 == 0:
                return {**body, "url": f"https://127.0.0.1:9/assetd/{len(url)}"}
    return body


# tus appends are raw bytes under their own media type; schemathesis only knows
# application/octet-stream, so it is told how to send these.
@schemathesis.serializer("application/offset+octet-stream")
def offset_octet_stream(ctx, value):
    raw = getattr(value, "data", value)
    if isinstance(raw, str):
        return raw.encode()
    return bytes(raw) if raw is not None else b""
