"""A webhook receiver for assetd's tests: verifies every request with the `standardwebhooks`
package (PyPI), answers by the request path, and logs each request as one JSON line.

Paths: /ok (200), /flaky/N (500 to the first N attempts of each webhook-id, then 200),
/gone (410), /hang (no answer for 60 s), /retry-after/S (503 with Retry-After: S once per
webhook-id, then 200), /redirect (302 to /ok), /hold (no answer for 60 s to the first attempt
of each webhook-id, then 200).

Control: POST /_secrets {"path": "/ok", "secrets": ["whsec_..."]} sets the secrets a path's
requests are verified with (each separately); GET /_log answers every logged request.

Prints `listening PORT` on stdout once it listens on 127.0.0.1.
"""

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

lock = threading.Lock()
secrets = {}
log = []
seen = {}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body=b"", headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/_log":
            with lock:
                body = json.dumps(log).encode()
            return self.reply(200, body, [("content-type", "application/json")])
        self.reply(404)

    def do_POST(self):
        length = int(self.headers.get("content-length", "0"))
        body = self.rfile.read(length)
        if self.path == "/_secrets":
            request = json.loads(body)
            with lock:
                secrets[request["path"]] = request["secrets"]
            return self.reply(204)
        received_at = time.time()
        headers = {name.lower(): value for name, value in self.headers.items()}
        webhook_id = headers.get("webhook-id", "")
        with lock:
            route_secrets = secrets.get(self.path, [])
            key = (self.path, webhook_id)
            seen[key] = seen.get(key, 0) + 1
            attempt = seen[key]
        verified = []
        errors = []
        for secret in route_secrets:
            try:
                Webhook(secret).verify(body, headers)
                verified.append(True)
            except WebhookVerificationError as err:
                verified.append(False)
                errors.append(str(err))
        parts = self.path.strip("/").split("/")
        status, extra, hang = 200, [], 0
        if parts[0] == "flaky" and attempt <= int(parts[1]):
            status = 500
        elif parts[0] == "gone":
            status = 410
        elif parts[0] == "hang":
            hang = 60
        elif parts[0] == "hold" and attempt == 1:
            hang = 60
        elif parts[0] == "retry-after" and attempt == 1:
            status, extra = 503, [("retry-after", parts[1])]
        elif parts[0] == "redirect":
            status, extra = 302, [("location", "/ok")]
        entry = {
            "path": self.path,
            "webhookId": webhook_id,
            "timestamp": headers.get("webhook-timestamp"),
            "signatures": headers.get("webhook-signature", "").split(" "),
            "contentType": headers.get("content-type"),
            "verified": verified,
            "errors": errors,
            "attempt": attempt,
            "receivedAt": received_at,
            "status": 0 if hang else status,
            "body": json.loads(body) if body else None,
        }
        with lock:
            log.append(entry)
        if hang:
            time.sleep(hang)
            return
        self.reply(status, b"", extra)


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(f"listening {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
