#!/usr/bin/env bash
# The pipeline benchmark: uploads and probes side by side, on each queue path, in one run.
#
#   bash tests/bench/pipeline.sh            # writes tests/bench/pipeline-RESULTS.md
#
# Topologies (each on a fresh database, release build):
#   embedded  `assetd serve`: SQLite, filesystem, embedded queue (the default a new user runs)
#   rabbitmq  `assetd serve` on Postgres + RabbitMQ
#   split     catalog, gateway and two probers as separate processes on Postgres + RabbitMQ
# Phases in each (a 3.8 KiB PNG, tests/fixtures/hero.png):
#   idle   IDLE_COUNT uploads one at a time (each after the previous one is ready): 201-to-ready p50/p99
#   burst  BURST uploads from BURST_CONC clients as fast as they get answers: uploads/s, probes/s,
#          lag from the last 201 to the last `ready`
#   rate   RATE uploads/s for RATE_SECS (open loop): 201-to-ready p50/p99, largest backlog
# CPU per upload and per probe comes from each process's utime+stime over the phase.
# Knobs: TOPOLOGIES ("embedded rabbitmq split"), IDLE_COUNT (200), BURST (2000), BURST_CONC (32),
# RATE (200), RATE_SECS (60), SKIP_BUILD (0), RESULTS, ASSETD_BIN (a binary to measure instead of the build). Needs Postgres (127.0.0.1:5432, user root,
# database test) and RabbitMQ (127.0.0.1:5672, guest/guest). Only 127.0.0.1 is contacted.
set -euo pipefail
# One API key drives all the load: the per-key rate and the per-account upload cap (edge
# defences, tested in tests/e2e/limits.rs) must not throttle a throughput benchmark.
export ASSETD_RATE_LIMIT_PER_SECOND=1000000 ASSETD_RATE_LIMIT_BURST=1000000
export ASSETD_MAX_CONCURRENT_UPLOADS=100000 ASSETD_MAX_CONCURRENT_UPLOADS_PER_ACCOUNT=100000
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
TOPOLOGIES=${TOPOLOGIES:-embedded rabbitmq split}
IDLE_COUNT=${IDLE_COUNT:-200}
BURST=${BURST:-2000}
BURST_CONC=${BURST_CONC:-32}
RATE=${RATE:-200}
RATE_SECS=${RATE_SECS:-60}
RESULTS=${RESULTS:-$ROOT/tests/bench/pipeline-RESULTS.md}
BIN=${ASSETD_BIN:-$ROOT/target/release/assetd}
LOAD=$ROOT/target/release/examples/pipeline_load
FILE=$ROOT/tests/fixtures/hero.png
AMQP=amqp://guest:guest@127.0.0.1:5672/%2f

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

WORK=$(mktemp -d)
PIDS=()
DBS=()
cleanup() {
    local rc=$?
    set +e
    stop_all
    for db in "${DBS[@]}"; do
        psql -h 127.0.0.1 -U root -d test -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1
    done
    if [[ ${KEEP:-0} == 1 ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
    exit "$rc"
}
stop_all() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    PIDS=()
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM


# start NAME ADMIN_PORT ARGS...: runs `assetd ARGS...` in the background, waits for /readyz.
start() {
    local name=$1 admin=$2
    shift 2
    "$BIN" "$@" --admin-addr "127.0.0.1:$admin" --log-format json --log warn >"$WORK/$name.log" 2>&1 &
    PIDS+=($!)
    eval "PID_$name=$! ADMIN_$name=$admin"
    for _ in $(seq 300); do
        curl -sf "http://127.0.0.1:$admin/readyz" >/dev/null 2>&1 && return
        kill -0 "${PIDS[-1]}" 2>/dev/null || { cat "$WORK/$name.log" >&2; die "$name exited"; }
        sleep 0.1
    done
    cat "$WORK/$name.log" >&2
    die "$name did not become ready"
}

for tool in psql curl python3; do command -v "$tool" >/dev/null || die "$tool is missing"; done
if [[ ${SKIP_BUILD:-0} != 1 ]]; then
    log "building the release binary and the load tool"
    cargo build --release --locked -q -p assetd --bin assetd
    cargo build --release --locked -q -p assetd-tests --example pipeline_load
fi

: >"$WORK/phases.jsonl"
for topology in $TOPOLOGIES; do
    log "topology $topology"
    objects=$WORK/$topology/objects
    mkdir -p "$objects"
    http=$(free_port)
    case $topology in
        embedded)
            db_url="sqlite://$WORK/$topology/assetd.db"
            start serve "$(free_port)" serve --database-url "$db_url" --storage-dir "$objects" \
                --http-addr "127.0.0.1:$http" --catalog-grpc-addr "127.0.0.1:$(free_port)" \
                --gateway-grpc-addr "127.0.0.1:$(free_port)"
            pids="$PID_serve"
            roles="serve"
            ;;
        rabbitmq | split)
            db="assetd_pipeline_bench_$$_$topology"
            DBS+=("$db")
            psql -h 127.0.0.1 -U root -d test -qc "CREATE DATABASE $db" >/dev/null
            db_url="postgres://root@127.0.0.1:5432/$db"
            prefix="pipebench$$$topology"
            if [[ $topology == rabbitmq ]]; then
                start serve "$(free_port)" serve --database-url "$db_url" --storage-dir "$objects" \
                    --amqp-url "$AMQP" --amqp-prefix "$prefix" \
                    --http-addr "127.0.0.1:$http" --catalog-grpc-addr "127.0.0.1:$(free_port)" \
                    --gateway-grpc-addr "127.0.0.1:$(free_port)"
                pids="$PID_serve"
                roles="serve"
            else
                "$BIN" migrate --database-url "$db_url" >/dev/null 2>&1
                grpc=$(free_port)
                start catalog "$(free_port)" catalog --database-url "$db_url" --amqp-url "$AMQP" \
                    --amqp-prefix "$prefix" --catalog-grpc-addr "127.0.0.1:$grpc"
                start gateway "$(free_port)" gateway --catalog-url "http://127.0.0.1:$grpc" \
                    --storage-dir "$objects" --http-addr "127.0.0.1:$http" \
                    --gateway-grpc-addr "127.0.0.1:$(free_port)"
                start prober1 "$(free_port)" prober --catalog-url "http://127.0.0.1:$grpc" \
                    --storage-dir "$objects" --amqp-url "$AMQP" --amqp-prefix "$prefix"
                start prober2 "$(free_port)" prober --catalog-url "http://127.0.0.1:$grpc" \
                    --storage-dir "$objects" --amqp-url "$AMQP" --amqp-prefix "$prefix"
                pids="$PID_catalog $PID_gateway $PID_prober1 $PID_prober2"
                roles="catalog gateway prober1 prober2"
            fi
            ;;
        *) die "unknown topology $topology" ;;
    esac
    key=$("$BIN" keys create --account bench --database-url "$db_url" 2>/dev/null)
    url="http://127.0.0.1:$http"
    # Warm-up: connections, caches, the page cache of the fixture.
    "$LOAD" burst "$url" "$key" "$db_url" "$FILE" 50 4 >/dev/null
    for phase in idle burst rate; do
        case $phase in
            idle) n=$IDLE_COUNT m=10 ;;
            burst) n=$BURST m=$BURST_CONC ;;
            rate) n=$RATE m=$RATE_SECS ;;
        esac
        log "  $phase"
        # shellcheck disable=SC2086
        out=$("$LOAD" "$phase" "$url" "$key" "$db_url" "$FILE" "$n" "$m" $pids)
        log "  $out"
        python3 -c 'import json,sys; d=json.loads(sys.argv[1]); d["topology"]=sys.argv[2]; d["roles"]=sys.argv[3].split(); print(json.dumps(d))' \
            "$out" "$topology" "$roles" >>"$WORK/phases.jsonl"
    done
    # Two probers on one queue: how the work was shared (the jobs each recorded, from its metrics).
    if [[ $topology == split ]]; then
        for role in prober1 prober2; do
            port=$(eval echo "\$ADMIN_$role")
            n=$(curl -sf "http://127.0.0.1:$port/metrics" | awk '/^assetd_probe_jobs_total/ && /outcome="recorded"/ { s += $2 } END { print s + 0 }')
            echo "{\"share\": \"$role\", \"recorded\": $n}" >>"$WORK/phases.jsonl"
        done
    fi
    if [[ ${KEEP:-0} == 1 ]]; then
        for role in $roles; do curl -sf "http://127.0.0.1:$(eval echo "\$ADMIN_$role")/metrics" >"$WORK/$role.metrics" || true; done
    fi
    stop_all
done

python3 - "$WORK/phases.jsonl" "$RESULTS" "$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- services proto migrations || echo '+changes')" \
    "$(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p' | head -1)" "$(cut -d' ' -f1-3 /proc/loadavg)" \
    "$IDLE_COUNT" "$BURST" "$BURST_CONC" "$RATE" "$RATE_SECS" <<'PY'
import datetime, json, sys
phases_file, out, commit, machine, load, idle_n, burst, conc, rate, secs = sys.argv[1:]
rows = [json.loads(l) for l in open(phases_file)]
shares = [r for r in rows if "share" in r]
rows = [r for r in rows if "share" not in r]
by = {(r["topology"], r["mode"]): r for r in rows}
topologies = list(dict.fromkeys(r["topology"] for r in rows))
names = {"embedded": "`serve`, SQLite + embedded queue", "rabbitmq": "`serve`, Postgres + RabbitMQ",
         "split": "split roles (catalog, gateway, 2 probers), Postgres + RabbitMQ"}
def cpu_per(r, which):
    # CPU ms per upload: the gateway (or serve); per probe: the probers (split only).
    roles, cpu = r["roles"], r["cpu_ms"]
    n = max(r["created"], 1)
    if roles == ["serve"]:
        return sum(cpu) / n, None
    per = dict(zip(roles, cpu))
    return (per["gateway"] + per["catalog"]) / n, (per["prober1"] + per["prober2"]) / n
lines = [f"""# assetd pipeline benchmark — results

Produced by `bash tests/bench/pipeline.sh` (overwritten by each run). Release build, one run: every
figure in a row comes from the same phase of the same run; compare ratios, not rates, across runs.

| fact | value |
| --- | --- |
| date | {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC |
| git commit | {commit} |
| machine | {machine}; load average at the end {load} |

Each topology runs on a fresh database; the load tool (`tests/examples/pipeline_load.rs`) shares
the 2 cores with assetd, Postgres and RabbitMQ. 201-to-ready is the asset row's `updated_at`
(written when the probe result is recorded) minus the moment the client read the 201.

## Burst: {burst} uploads of a 3.8 KiB PNG from {conc} clients, as fast as they are answered

`probes/s` counts the whole window (first upload to last `ready`), while uploads take most of the
2 cores; `drain` is how fast the backlog left at the last 201 was worked off once they stopped.

| topology | uploads/s | probes/s | probes / uploads | drain after the last 201 | last `ready` after the last 201 | backlog at the last 201 | errors | not ready |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"""]
for t in topologies:
    r = by.get((t, "burst"))
    if r:
        drain = r['backlog_at_last_201'] / max(r['lag_after_last_201_ms'], 1e-3) * 1000
        lines.append(f"| {names[t]} | {r['uploads_per_sec']:.0f} | {r['probes_per_sec']:.0f} | **{r['probes_per_sec'] / r['uploads_per_sec']:.2f}** | {drain:.0f}/s | **{r['lag_after_last_201_ms']:.0f} ms** | {r['backlog_at_last_201']} | {r['errors']} | {r['not_ready']} |")
lines.append(f"""
## Latency: 201 to `ready`

Idle: {idle_n} uploads one at a time. Sustained: {rate} uploads/s for {secs} s, open loop.

| topology | idle p50 | idle p99 | sustained p50 | sustained p99 | sustained max | largest backlog | achieved rate | errors |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |""")
for t in topologies:
    i, s = by.get((t, "idle")), by.get((t, "rate"))
    if i and s:
        lines.append(f"| {names[t]} | **{i['ready_p50_ms']:.1f} ms** | **{i['ready_p99_ms']:.1f} ms** | {s['ready_p50_ms']:.1f} ms | **{s['ready_p99_ms']:.1f} ms** | {s['ready_max_ms']:.0f} ms | {s['max_backlog']} | {s['uploads_per_sec']:.0f}/s | {s['errors']} |")
lines.append("""
## CPU per upload (process CPU over the phase / uploads)

`serve`: the one process, upload and probe together. Split: gateway + catalog per upload, both probers per probe.

| topology | burst: per upload | burst: per probe | sustained: per upload | sustained: per probe |
| --- | ---: | ---: | ---: | ---: |""")
for t in topologies:
    b, s = by.get((t, "burst")), by.get((t, "rate"))
    if b and s:
        bu, bp = cpu_per(b, "u"); su, sp = cpu_per(s, "u")
        f = lambda v: "—" if v is None else f"{v:.2f} ms"
        lines.append(f"| {names[t]} | {f(bu)} | {f(bp)} | {f(su)} | {f(sp)} |")
if shares:
    total = sum(r["recorded"] for r in shares)
    lines.append(f"""
## Two probers on one RabbitMQ queue (split)

Jobs each prober recorded over the whole run (its `assetd_probe_jobs_total{{outcome="recorded"}}`):
""" + ", ".join(f"{r['share']} {r['recorded']}" for r in shares) + f" (together {total}; uploads in the run: {sum(r['created'] for r in rows if r['topology'] == 'split') + 50}).")
lines.append("\n## Raw phases\n\n```json")
lines += [json.dumps(r) for r in rows]
lines.append("```\n")
open(out, "w").write("\n".join(lines))
print("\n".join(lines))
PY
