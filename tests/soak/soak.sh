#!/usr/bin/env bash
# The soak test: thousands of uploads into split roles on Postgres + RabbitMQ while the broker
# restarts, a prober is SIGKILLed and the catalog is SIGKILLed, uploads arriving during each; then
# the end state, checked through the public API. Not part of CI (a few minutes, and it restarts
# the machine's RabbitMQ).
#
#   bash tests/soak/soak.sh            # writes tests/soak/RESULTS.md, exits 1 on any violation
#
# Topology: one catalog, one gateway, two probers (release build), fresh database and queue
# prefix, filesystem storage, every limit at its default. Timeline (SOAK_SECONDS, default 180, of
# uploads at SOAK_RATE/s, default 30, cycling through every fixture in tests/fixtures/media):
#   t=30s   broker restart     rabbitmqctl stop_app, 10 s down, start_app
#   t=80s   prober SIGKILL     prober 1 killed holding deliveries, back 5 s later
#   t=120s  catalog SIGKILL    killed mid-upload, back 5 s later on the same address
# Checked at the end (tests/examples/soak_load.rs verify, and the database and broker counts):
#   every 201 is `ready` with its fixture's kind, width, height and duration; nothing is stored
#   that was not answered 201 (the project's asset listing, every row in the database, every
#   object in storage, nothing under .incoming/); the only refusals are 503 with Retry-After; the
#   probe-job outbox and every queue (jobs, retries, dead letters) are empty.
# Knobs: SOAK_SECONDS, SOAK_RATE, SETTLE_SECS (120: how long the end state may take), SKIP_BUILD,
# ASSETD_BIN, RESULTS, KEEP=1 (keep the logs). Needs Postgres (127.0.0.1:5432, user root, database
# test), RabbitMQ (127.0.0.1:5672, guest/guest, and rabbitmqctl on this machine).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
SOAK_SECONDS=${SOAK_SECONDS:-180}
SOAK_RATE=${SOAK_RATE:-30}
SETTLE_SECS=${SETTLE_SECS:-120}
RESULTS=${RESULTS:-$ROOT/tests/soak/RESULTS.md}
BIN=${ASSETD_BIN:-$ROOT/target/release/assetd}
LOAD=$ROOT/target/release/examples/soak_load
MEDIA=$ROOT/tests/fixtures/media
AMQP=amqp://guest:guest@127.0.0.1:5672/%2f

source "$(dirname "${BASH_SOURCE[0]}")/../bench/lib.sh"
log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" | tee -a "$WORK/events.log" >&2; }
die() { log "FATAL: $*"; exit 1; }

WORK=$(mktemp -d)
DB="assetd_soak_$$"
PREFIX="soak$$"
declare -A PID ADMIN
cleanup() {
    local rc=$?
    set +e
    for name in "${!PID[@]}"; do kill "${PID[$name]}" 2>/dev/null; done
    sleep 1
    for name in "${!PID[@]}"; do kill -9 "${PID[$name]}" 2>/dev/null; done
    rabbitmqctl start_app >/dev/null 2>&1
    psql -h 127.0.0.1 -U root -d test -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1
    for q in jobs retry.2s retry.10s retry.60s dead; do
        rabbitmqctl delete_queue "$PREFIX.probe.$q" >/dev/null 2>&1
    done
    if [[ ${KEEP:-0} == 1 ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM


# start NAME ARGS...: runs `assetd ARGS...` in the background (log appended to NAME.log), waits
# for /readyz on its admin port (kept across restarts).
start() {
    local name=$1
    shift
    ADMIN[$name]=${ADMIN[$name]:-$(free_port)}
    "$BIN" "$@" --admin-addr "127.0.0.1:${ADMIN[$name]}" --log-format json --log info \
        >>"$WORK/$name.log" 2>&1 &
    PID[$name]=$!
    for _ in $(seq 300); do
        curl -sf "http://127.0.0.1:${ADMIN[$name]}/readyz" >/dev/null 2>&1 && return
        kill -0 "${PID[$name]}" 2>/dev/null || { tail -20 "$WORK/$name.log" >&2; die "$name exited"; }
        sleep 0.1
    done
    tail -20 "$WORK/$name.log" >&2
    die "$name did not become ready"
}

# sigkill NAME: kills the role outright and reaps it.
sigkill() {
    kill -9 "${PID[$1]}"
    wait "${PID[$1]}" 2>/dev/null || true
}

# at SECONDS: sleeps until that many seconds after the load started.
at() {
    local now
    now=$(($(date +%s) - LOAD_STARTED))
    (($1 > now)) && sleep $(($1 - now))
    return 0
}

for tool in psql curl python3 rabbitmqctl; do command -v "$tool" >/dev/null || die "$tool is missing"; done
rabbitmqctl status >/dev/null 2>&1 || die "rabbitmqctl cannot reach the broker"
if [[ ${SKIP_BUILD:-0} != 1 ]]; then
    log "building the release binary and the soak client"
    cargo build --release --locked -q -p assetd --bin assetd
    cargo build --release --locked -q -p assetd-tests --example soak_load
fi

psql -h 127.0.0.1 -U root -d test -qc "CREATE DATABASE $DB" >/dev/null
DB_URL="postgres://root@127.0.0.1:5432/$DB"
OBJECTS=$WORK/objects
mkdir -p "$OBJECTS"
"$BIN" migrate --database-url "$DB_URL" >/dev/null 2>&1
KEY=$("$BIN" keys create --account soak --database-url "$DB_URL" 2>/dev/null)
GRPC=$(free_port)
HTTP=$(free_port)
CATALOG=(catalog --database-url "$DB_URL" --amqp-url "$AMQP" --amqp-prefix "$PREFIX"
    --catalog-grpc-addr "127.0.0.1:$GRPC")
PROBER=(prober --catalog-url "http://127.0.0.1:$GRPC" --storage-dir "$OBJECTS"
    --amqp-url "$AMQP" --amqp-prefix "$PREFIX")
start catalog "${CATALOG[@]}"
start gateway gateway --catalog-url "http://127.0.0.1:$GRPC" --storage-dir "$OBJECTS" \
    --http-addr "127.0.0.1:$HTTP" --gateway-grpc-addr "127.0.0.1:$(free_port)"
start prober1 "${PROBER[@]}"
start prober2 "${PROBER[@]}"
URL="http://127.0.0.1:$HTTP"
PROJECT=$(curl -sf -X POST "$URL/v1/projects" -H "x-api-key: $KEY" -H 'content-type: application/json' \
    -d '{"title":"soak","editorState":{},"stateSchemaVersion":"v1"}' |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["data"]["projectId"])')

log "uploading $SOAK_RATE/s for $SOAK_SECONDS s into project $PROJECT"
LOAD_STARTED=$(date +%s)
"$LOAD" upload "$URL" "$KEY" "$PROJECT" "$MEDIA" "$SOAK_RATE" "$SOAK_SECONDS" "$WORK/uploads.jsonl" \
    >"$WORK/upload-summary.json" &
LOAD_PID=$!

at 30
log "broker restart: rabbitmqctl stop_app"
rabbitmqctl stop_app >/dev/null
sleep 10
rabbitmqctl start_app >/dev/null
log "broker restart: start_app done"

at 80
log "prober SIGKILL: prober1 (pid ${PID[prober1]})"
sigkill prober1
sleep 5
start prober1 "${PROBER[@]}"
log "prober SIGKILL: prober1 back"

at 120
log "catalog SIGKILL (pid ${PID[catalog]})"
sigkill catalog
sleep 5
start catalog "${CATALOG[@]}"
log "catalog SIGKILL: catalog back"

wait "$LOAD_PID" || die "the soak client failed"
log "uploads done: $(cat "$WORK/upload-summary.json")"

log "verifying (up to $SETTLE_SECS s for the end state)"
status=0
"$LOAD" verify "$URL" "$KEY" "$PROJECT" "$MEDIA" "$WORK/uploads.jsonl" "$OBJECTS" "$SETTLE_SECS" \
    >"$WORK/verify.json" || status=1
log "verify: $(cat "$WORK/verify.json")"

# Counts the API cannot show: every row, the outbox, the queues.
rows=$(psql -h 127.0.0.1 -U root -d "$DB" -tAc "SELECT count(*) FROM assets")
outbox=$(psql -h 127.0.0.1 -U root -d "$DB" -tAc "SELECT count(*) FROM probe_jobs")
queues=$(rabbitmqctl list_queues -q --no-table-headers name messages 2>/dev/null | awk -v p="$PREFIX.probe." \
    'index($1, p) == 1 { printf "%s%s=%s", sep, substr($1, length(p) + 1), $2; sep=", " }')
queued=$(rabbitmqctl list_queues -q --no-table-headers name messages 2>/dev/null | awk -v p="$PREFIX.probe." \
    'index($1, p) == 1 { s += $2 } END { print s + 0 }')
log "database: $rows asset rows, $outbox outbox rows; queues: $queues"
created=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["created"])' "$WORK/verify.json")
[[ $rows == "$created" ]] || { log "VIOLATION: $rows asset rows for $created uploads answered 201"; status=1; }
[[ $outbox == 0 ]] || { log "VIOLATION: $outbox probe jobs left in the outbox"; status=1; }
[[ $queued == 0 ]] || { log "VIOLATION: messages left in the queues: $queues"; status=1; }

# How the roles saw it: their own counters, for the results.
for name in gateway prober1 prober2 catalog; do
    curl -sf "http://127.0.0.1:${ADMIN[$name]}/metrics" >"$WORK/$name.metrics" 2>/dev/null || true
done
metric() { # FILE PATTERN: sum of the matching samples
    awk -v pat="$2" '$0 !~ /^#/ && $0 ~ pat { s += $NF } END { print s + 0 }' "$WORK/$1.metrics"
}
undone=$(grep -c "deleted the record of an upload that was answered 503" "$WORK/gateway.log" || true)
retried=$({ grep -c "probe failed for now; retrying later" "$WORK"/prober*.log || true; } | awk -F: '{ s += $2 } END { print s + 0 }')

python3 - "$WORK" "$RESULTS" "$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- services proto migrations || echo '+changes')" \
    "$(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p' | head -1)" "$SOAK_SECONDS" "$SOAK_RATE" \
    "$rows" "$outbox" "$queues" "$undone" "$retried" "$status" \
    "$(metric prober1 '^assetd_probe_jobs_total.*recorded') $(metric prober2 '^assetd_probe_jobs_total.*recorded')" <<'PY'
import datetime, json, sys
work, out, commit, machine, secs, rate, rows, outbox, queues, undone, retried, status, shares = sys.argv[1:]
upload = json.load(open(f"{work}/upload-summary.json"))
verify = json.load(open(f"{work}/verify.json"))
events = open(f"{work}/events.log").read().strip()
verdict = "**passed**" if status == "0" else "**FAILED**"
p1, p2 = shares.split()
lines = f"""# assetd soak test — results

Produced by `bash tests/soak/soak.sh` (overwritten by each run). Split roles (catalog, gateway,
two probers) on Postgres + RabbitMQ, filesystem storage, every limit at its default, release build.

| fact | value |
| --- | --- |
| date | {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC |
| git commit | {commit} |
| machine | {machine} |
| load | {rate} uploads/s for {secs} s, cycling through the {len(json.load(open('tests/fixtures/media/expected.json')))} media fixtures, each bound to one project |
| verdict | {verdict} ({verify['violations']} violations) |

## Outcome

| check | figure |
| --- | ---: |
| uploads sent | {upload['sent']} |
| answered 201 | {verify['created']} |
| 201s probed right (`ready`, kind, width, height, duration as the fixture's) | {verify['probedRight']} |
| refusals, by kind | {', '.join(f'{k}: {v}' for k, v in verify['refused'].items()) or 'none'} |
| assets in the project's listing | {verify['listed']} |
| asset rows in the database | {rows} |
| objects in storage | {verify['storedObjects']} |
| probe-job outbox rows at the end | {outbox} |
| messages in the queues at the end | {queues or 'none'} |
| end state reached after the last upload | {verify['settledAfterSeconds']:.1f} s |
| records undone after a lost `CreateAsset` answer (gateway log) | {undone} |
| probe attempts retried later (prober logs) | {retried} |
| jobs recorded by prober 1 / prober 2 (their metrics, prober 1 since its restart) | {p1} / {p2} |

Violations (first 20): {json.dumps(verify['firstViolations'], indent=1) if verify['firstViolations'] else 'none'}

## Timeline

```text
{events}
```
"""
open(out, "w").write(lines)
print(lines)
PY
exit $status
