#!/usr/bin/env bash
# Webhook delivery latency at idle: from an event's commit (its `timestamp`, taken in the
# transaction that writes it) to the receiver reading the request, through `assetd serve`
# (release, SQLite + filesystem, the embedded queue), one upload at a time. The receiver is
# tests/e2e/python/webhook_receiver.py, which verifies every request with PyPI's
# standardwebhooks. The reference, paired per repetition, is the same receiver taking a signed
# POST straight from the benchmark (the HTTP floor the notifier's path adds to).
#
#     bash tests/bench/webhooks.sh            # writes tests/bench/webhooks-RESULTS.md
# Knobs: REPS (200), SKIP_BUILD (0), CARGO_TARGET_DIR.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
source "$HERE/lib.sh"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=$CARGO_TARGET_DIR/release/assetd
REPS=${REPS:-200}
RESULTS=${RESULTS:-$HERE/webhooks-RESULTS.md}
export ASSETD_RATE_LIMIT_PER_SECOND=1000000 ASSETD_RATE_LIMIT_BURST=1000000

if [[ ${SKIP_BUILD:-0} != 1 ]]; then
    log "building assetd (release)"
    (cd "$ROOT" && cargo build --release --locked -q -p assetd)
fi
VENV=$CARGO_TARGET_DIR/bench-webhooks-venv
if [[ ! -x $VENV/bin/python ]] || ! "$VENV/bin/python" -c 'import standardwebhooks' 2>/dev/null; then
    log "installing standardwebhooks into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q 'standardwebhooks==1.3.0'
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/assetd-webhooks-bench.XXXXXX")
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

"$VENV/bin/python" "$ROOT/tests/e2e/python/webhook_receiver.py" > "$WORK/receiver.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do grep -q listening "$WORK/receiver.out" && break; sleep 0.1; done
RECEIVER="http://127.0.0.1:$(awk '/listening/ { print $2 }' "$WORK/receiver.out")"

DB="sqlite://$WORK/assetd.db"
"$BIN" serve --http-addr 127.0.0.1:0 --catalog-grpc-addr 127.0.0.1:0 --gateway-grpc-addr 127.0.0.1:0 \
    --admin-addr 127.0.0.1:0 --addresses-file "$WORK/addr.json" --database-url "$DB" \
    --storage fs --storage-dir "$WORK/objects" --webhook-allow-loopback \
    --log-format json > "$WORK/assetd.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 300); do [[ -s $WORK/addr.json ]] && break; sleep 0.1; done
[[ -s $WORK/addr.json ]] || die "assetd did not start: $(tail -5 "$WORK/assetd.log")"
BASE="http://127.0.0.1:$(http_port "$WORK/addr.json")"
KEY=$("$BIN" keys create --account bench --database-url "$DB" | tail -n 1)
ADMIN=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["admin"])' "$WORK/addr.json")

log "$REPS repetitions"
"$VENV/bin/python" - "$BASE" "$KEY" "$RECEIVER" "$REPS" "$ROOT/tests/fixtures/hero.png" "$RESULTS" \
    "$(git -C "$ROOT" rev-parse --short HEAD)" "$ADMIN" <<'EOF'
import json, os, platform, statistics as st, sys, time, urllib.request, uuid
from standardwebhooks.webhooks import Webhook

base, key, receiver, reps, fixture, out, commit, admin = sys.argv[1:9]
if not admin.startswith("http"):
    admin = "http://" + admin
reps = int(reps)
png = open(fixture, "rb").read()

def call(method, url, body=None, headers=None):
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    with urllib.request.urlopen(request) as response:
        data = response.read()
        return json.loads(data) if data else None

def receiver_log():
    return call("GET", receiver + "/_log")

hook = call("POST", base + "/v1/webhooks",
            json.dumps({"url": receiver + "/ok", "events": ["asset.created"]}).encode(),
            {"x-api-key": key, "content-type": "application/json"})["data"]
secret = hook["secret"]
call("POST", receiver + "/_secrets", json.dumps({"path": "/ok", "secrets": [secret]}).encode(),
     {"content-type": "application/json"})
call("POST", receiver + "/_secrets", json.dumps({"path": "/ref", "secrets": [secret]}).encode(),
     {"content-type": "application/json"})
signer = Webhook(secret)

def parse_ts(text):
    # 2026-12-07T20:30:00.123456Z
    from datetime import datetime, timezone
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc).timestamp()

def wait_for(count, path):
    deadline = time.time() + 30
    while time.time() < deadline:
        entries = [e for e in receiver_log() if e["path"] == path]
        if len(entries) >= count:
            return entries
        time.sleep(0.005)
    raise SystemExit(f"{path}: fewer than {count} requests arrived")

lat, ref = [], []
for rep in range(reps + 5):
    call("POST", base + "/v1/uploads", png, {"x-api-key": key, "x-file-name": f"hero-{rep}.png"})
    event = wait_for(rep + 1, "/ok")[-1]
    if not all(event["verified"]):
        raise SystemExit(f"unverified request: {event}")
    delivered = event["receivedAt"] - parse_ts(event["body"]["timestamp"])
    # The reference: a signed POST of the same body, straight to the receiver.
    body = json.dumps(event["body"]).encode()
    msg_id, ts = str(uuid.uuid4()), int(time.time())
    from datetime import datetime, timezone
    sig = signer.sign(msg_id, datetime.fromtimestamp(ts, tz=timezone.utc), body)
    sent = time.time()
    call("POST", receiver + "/ref", body, {"content-type": "application/json", "webhook-id": msg_id,
                                          "webhook-timestamp": str(ts), "webhook-signature": sig})
    direct = wait_for(rep + 1, "/ref")[-1]["receivedAt"] - sent
    if rep >= 5:  # warm-up
        lat.append(delivered); ref.append(direct)
    time.sleep(0.05)

ratio = [a / b for a, b in zip(lat, ref)]
# The notifier's own split of the time (its histograms' means, warm-up included): from the
# commit to the start of the successful attempt (signal, claim, dispatch read, render, sign),
# and the attempt itself (connect, send, the answer's status).
page = urllib.request.urlopen(admin + "/metrics").read().decode()
def mean(name):
    total = count = 0.0
    for line in page.splitlines():
        if line.startswith(name + "_sum"):
            total = float(line.split()[-1])
        elif line.startswith(name + "_count"):
            count = float(line.split()[-1])
    return total / count * 1000 if count else float("nan")
to_attempt, attempt = mean("assetd_webhook_event_to_attempt_seconds"), mean("assetd_webhook_attempt_seconds")
def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]
ms = lambda s: s * 1000
open(out, "w").write(f"""# Webhook delivery latency at idle

`bash tests/bench/webhooks.sh` at {commit}, {platform.node()}, {os.cpu_count()} CPUs: `assetd serve` (release) on
SQLite + filesystem with the embedded queue, one endpoint (`asset.created`), {reps} uploads one at a time (after 5
warm-up), 50 ms apart. The receiver (tests/e2e/python/webhook_receiver.py) verifies every request with PyPI's
`standardwebhooks` 1.3.0; all {reps} verified.

**Latency** is the receiver's clock when it has read the request, minus the event's `timestamp` (taken in the
transaction that writes the asset and its event, just before the commit). **Reference**, paired per repetition:
the same receiver taking a signed POST of the same body straight from the benchmark (send to read).

| | p50 | p90 | p99 | max |
|---|---:|---:|---:|---:|
| event written → receiver (ms) | {ms(pct(lat,50)):.2f} | {ms(pct(lat,90)):.2f} | {ms(pct(lat,99)):.2f} | {ms(max(lat)):.2f} |
| reference: direct signed POST (ms) | {ms(pct(ref,50)):.2f} | {ms(pct(ref,90)):.2f} | {ms(pct(ref,99)):.2f} | {ms(max(ref)):.2f} |
| ratio, paired per repetition | {pct(ratio,50):.2f} | {pct(ratio,90):.2f} | {pct(ratio,99):.2f} | {max(ratio):.2f} |

Where the time goes, from the notifier's histograms (means over the run): from the event's commit to the start
of its attempt **{to_attempt:.2f} ms** (the in-process "work queued" signal waking the notifier's waiting
`ClaimWebhookDeliveries` long poll, the claim's `UPDATE … RETURNING` and dispatch read on SQLite, rendering the
asset as `GET` does, signing); the attempt itself **{attempt:.2f} ms** (a fresh connection, the POST, the
receiver's answer; the Python receiver verifies the signature before answering). The latency above ends
inside the attempt: the receiver reads its clock once it has read the request, before it verifies and answers.
""")
print(open(out).read())
EOF
