#!/usr/bin/env bash
# Trace-context overhead benchmark for assetd. The same load, in the same run, interleaved, on:
#   base  - a build of BASE, the last commit before W3C trace context and OTLP export (the reference);
#   trace - this tree without an OTLP endpoint (trace context on every span, ids in logs, no export);
#   otlp  - this tree exporting every span to a local OTLP/gRPC sink (tests/examples/otlp_sink.rs).
# Load, against `assetd serve` on SQLite and the filesystem (all roles in one process, so every hop
# is in the measurement): wrk GET /v1/assets/{id} (API-key check + read: two catalog gRPC calls),
# then wrk POSTing a 3.8 KiB PNG (upload, record, queued probe through the embedded queue).
#
# Run from anywhere, as root (it may apt-get install wrk):
#     bash tests/bench/trace.sh
# Writes tests/bench/trace-RESULTS.md (overwriting). Knobs (environment): BASE (a608bc1), REPS (3),
# SECS (15), CONC (32), SKIP_BUILD (0). The base build goes to target/bench-base (kept for reruns).
# Only 127.0.0.1 is contacted. Everything it starts or creates is removed on exit.
set -euo pipefail
# One API key drives all the load: the per-key rate and the per-account upload cap (edge
# defences, tested in tests/e2e/limits.rs) must not throttle a throughput benchmark.
export ASSETD_RATE_LIMIT_PER_SECOND=1000000 ASSETD_RATE_LIMIT_BURST=1000000
export ASSETD_MAX_CONCURRENT_UPLOADS=100000 ASSETD_MAX_CONCURRENT_UPLOADS_PER_ACCOUNT=100000

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
RESULTS=${RESULTS:-$HERE/trace-RESULTS.md}
BASE=${BASE:-a608bc1}
REPS=${REPS:-3}
SECS=${SECS:-15}
CONC=${CONC:-32}
SKIP_BUILD=${SKIP_BUILD:-0}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
BASE_TARGET=$ROOT/target/bench-base
CONFIGS=(base trace otlp)

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PIDS=()
WORK=$(mktemp -d /tmp/assetd-trace-bench.XXXXXX)
cleanup() {
    local rc=$?
    set +e
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    rm -rf "$WORK"
    if ((rc != 0)); then log "benchmark failed (exit $rc); $RESULTS not written"; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

calc() { awk "BEGIN { printf \"%.${2:-2}f\", $1 }"; }
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
stop_pid() {
    local pid=$1 kept=() p
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    for p in "${PIDS[@]}"; do [[ $p == "$pid" ]] || kept+=("$p"); done
    PIDS=("${kept[@]}")
}
# wrk's "Latency Distribution" value for PERCENT (50%, 99%) in milliseconds.
wrk_pct_ms() {
    awk -v p="$2" '$1 == p {
        v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v)
        if (u == "us") v /= 1000; else if (u == "s") v *= 1000; else if (u == "m") v *= 60000
        printf "%.2f", v }' "$1"
}
cpu_ticks() { local f; read -r -a f <"/proc/$1/stat"; echo $((f[13] + f[14])); }
CLK_TCK=$(getconf CLK_TCK)
wrk_rps() { awk '/^Requests\/sec:/ { print $2 }' "$1"; }
wrk_bad() { awk '/Non-2xx or 3xx responses:/ { n += $5 } /Socket errors:/ { gsub(/,/, ""); n += $4 + $6 + $8 + $10 } END { print n + 0 }' "$1"; }

command -v wrk >/dev/null || {
    log "installing wrk"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y wrk >/dev/null 2>&1 || {
        apt-get update >/dev/null 2>&1 || log "apt-get update reported errors; trying the install anyway"
        apt-get install -y wrk >/dev/null
    }
}

# ---------------------------------------------------------------- builds
BIN_TRACE=$CARGO_TARGET_DIR/release/assetd
BIN_BASE=$BASE_TARGET/release/assetd
SINK=$CARGO_TARGET_DIR/release/examples/otlp_sink
if [[ $SKIP_BUILD != 1 ]]; then
    log "building this tree (release) and the OTLP sink"
    (cd "$ROOT" && cargo build --release --locked -p assetd -p assetd-tests --example otlp_sink --bin assetd)
    log "building $BASE (release) into $BASE_TARGET"
    mkdir -p "$WORK/base-src"
    git -C "$ROOT" archive "$BASE" | tar -x -C "$WORK/base-src"
    (cd "$WORK/base-src" && CARGO_TARGET_DIR=$BASE_TARGET cargo build --release --locked -p assetd)
fi
for f in "$BIN_TRACE" "$BIN_BASE" "$SINK"; do [[ -x $f ]] || die "missing $f (run without SKIP_BUILD=1)"; done
BASE_COMMIT=$(git -C "$ROOT" rev-parse --short "$BASE")
HEAD_COMMIT=$(git -C "$ROOT" rev-parse --short HEAD)
DIRTY=$(git -C "$ROOT" status --porcelain -- Cargo.toml Cargo.lock proto services migrations |
    grep -qv '^??' && echo " (with uncommitted changes to its sources)" || true)

# ---------------------------------------------------------------- one measurement
cat >"$WORK/upload.lua" <<'EOF'
local f = assert(io.open(os.getenv("BENCH_BODY"), "rb"))
local body = f:read("*a")
f:close()
wrk.method = "POST"
wrk.body = body
wrk.headers["x-api-key"] = os.getenv("BENCH_KEY")
wrk.headers["x-file-name"] = "a.png"
wrk.headers["Content-Type"] = "image/png"
EOF
cat >"$WORK/get.lua" <<'EOF'
wrk.headers["x-api-key"] = os.getenv("BENCH_KEY")
EOF
# A real 3.8 KiB PNG, so every upload is probed like a user's.
SMALL=$ROOT/tests/fixtures/hero.png
[[ -f $SMALL ]] || die "missing $SMALL"
SMALL_BYTES=$(stat -c %s "$SMALL")

# run CONFIG REP: starts assetd for CONFIG, runs both loads, stops it; appends to $WORK/results.
run() {
    local cfg=$1 rep=$2 dir=$WORK/$1.$2 bin=$BIN_TRACE extra=() sink_pid="" endpoint port key id
    mkdir -p "$dir"
    [[ $cfg == base ]] && bin=$BIN_BASE
    if [[ $cfg == otlp ]]; then
        "$SINK" >"$dir/sink.out" 2>"$dir/sink.err" &
        sink_pid=$!
        PIDS+=("$sink_pid")
        for _ in $(seq 100); do grep -q '^endpoint ' "$dir/sink.out" 2>/dev/null && break; sleep 0.1; done
        endpoint=$(awk '/^endpoint / { print $2 }' "$dir/sink.out")
        [[ -n $endpoint ]] || die "the OTLP sink did not start"
        extra=(--otlp-endpoint "$endpoint")
    fi
    (cd "$dir" && exec "$bin" "${extra[@]}" serve --http-addr 127.0.0.1:0 --catalog-grpc-addr 127.0.0.1:0 \
        --gateway-grpc-addr 127.0.0.1:0 --admin-addr 127.0.0.1:0 --storage-dir "$dir/objects" \
        --database-url "sqlite://$dir/assetd.db" --addresses-file "$dir/addresses.json" --log-format json \
        2>"$dir/serve.log" >/dev/null) &
    local pid=$!
    PIDS+=("$pid")
    port=""
    for _ in $(seq 300); do
        [[ -s $dir/addresses.json ]] && port=$(http_port "$dir/addresses.json") && break
        sleep 0.1
    done
    [[ -n $port ]] || die "assetd ($cfg) did not start: $(tail -5 "$dir/serve.log")"
    key=$("$bin" keys create --account bench --database-url "sqlite://$dir/assetd.db" --log-format json 2>>"$dir/admin.log")
    id=$(curl -sf -H "x-api-key: $key" -H 'x-file-name: a.png' --data-binary @"$SMALL" \
        "http://127.0.0.1:$port/v1/uploads" | sed -nE 's/.*"assetId":"([^"]+)".*/\1/p')
    [[ -n $id ]] || die "warm-up upload failed ($cfg)"
    BENCH_KEY=$key wrk -t2 -c"$CONC" -d2s -s "$WORK/get.lua" "http://127.0.0.1:$port/v1/assets/$id" >/dev/null 2>&1
    local t0 t1 gets cpu_us
    t0=$(cpu_ticks "$pid")
    BENCH_KEY=$key wrk -t2 -c"$CONC" -d"${SECS}s" --latency --timeout 10s -s "$WORK/get.lua" \
        "http://127.0.0.1:$port/v1/assets/$id" >"$dir/get.out" 2>&1
    t1=$(cpu_ticks "$pid")
    gets=$(awk '/requests in/ { print $1 }' "$dir/get.out")
    cpu_us=$(calc "($t1 - $t0) * 1000000 / $CLK_TCK / $gets" 1)
    BENCH_KEY=$key BENCH_BODY=$SMALL wrk -t2 -c"$CONC" -d"${SECS}s" --latency --timeout 10s -s "$WORK/upload.lua" \
        "http://127.0.0.1:$port/v1/uploads" >"$dir/upload.out" 2>&1
    local uploads
    uploads=$(awk '/requests in/ { print $1 }' "$dir/upload.out")
    stop_pid "$pid"
    local spans=""
    if [[ -n $sink_pid ]]; then
        stop_pid "$sink_pid"
        spans=$(awk '/^spans / { print $2 }' "$dir/sink.out")
    fi
    printf '%s %s %s %s %s %s %s %s %s %s %s %s\n' "$cfg" "$rep" \
        "$(wrk_rps "$dir/get.out")" "$(wrk_pct_ms "$dir/get.out" 50%)" "$(wrk_pct_ms "$dir/get.out" 99%)" "$(wrk_bad "$dir/get.out")" \
        "$(wrk_rps "$dir/upload.out")" "$(wrk_pct_ms "$dir/upload.out" 50%)" "$(wrk_pct_ms "$dir/upload.out" 99%)" "$(wrk_bad "$dir/upload.out")" \
        "${spans:--}" "$cpu_us" >>"$WORK/results"
    log "$cfg rep $rep: GET $(wrk_rps "$dir/get.out")/s ($cpu_us us CPU each), uploads $(wrk_rps "$dir/upload.out")/s ($uploads), spans ${spans:--}"
    rm -rf "$dir/objects"
}

START=$(date -u '+%Y-%m-%d %H:%M UTC')
: >"$WORK/results"
for rep in $(seq "$REPS"); do
    # Rotate the order so no configuration always runs first (or right after a heavy one).
    for i in 0 1 2; do
        run "${CONFIGS[$(((i + rep - 1) % 3))]}" "$rep"
    done
done

# ---------------------------------------------------------------- report
col() { awk -v c="$1" -v k="$2" '$1 == c { print $k }' "$WORK/results"; }
ratio_median() { # CONFIG FIELD -> median over reps of CONFIG/base
    local r=() rep a b
    for rep in $(seq "$REPS"); do
        a=$(awk -v c="$1" -v r="$rep" -v k="$2" '$1 == c && $2 == r { print $k }' "$WORK/results")
        b=$(awk -v r="$rep" -v k="$2" '$1 == "base" && $2 == r { print $k }' "$WORK/results")
        r+=("$(calc "$a / $b" 3)")
    done
    median "${r[@]}"
}
row() {
    local cfg=$1
    # shellcheck disable=SC2046
    printf '| %s | %s | %s | %s | %s | %s / %s | %s | %s | %s / %s | %s |\n' "$cfg" \
        "$(median $(col "$cfg" 3))" "$([[ $cfg == base ]] && echo 1 || ratio_median "$cfg" 3)" \
        "$(median $(col "$cfg" 12))" "$([[ $cfg == base ]] && echo 1 || ratio_median "$cfg" 12)" \
        "$(median $(col "$cfg" 4))" "$(median $(col "$cfg" 5))" \
        "$(median $(col "$cfg" 7))" "$([[ $cfg == base ]] && echo 1 || ratio_median "$cfg" 7)" \
        "$(median $(col "$cfg" 8))" "$(median $(col "$cfg" 9))" \
        "$(awk -v c="$cfg" '$1 == c { n += $6 + $10 } END { print n + 0 }' "$WORK/results")"
}
{
    cat <<EOF
# Trace-context overhead

Written by \`bash tests/bench/trace.sh\` on $START: $(nproc) cores, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo).
Shared machine; every figure below comes from this one run, the three configurations interleaved
($REPS repetitions, order rotated each time), each against a fresh \`assetd serve\` on SQLite and the
filesystem. wrk: 2 threads, $CONC connections, ${SECS} s per load.

- **base**: \`$BASE_COMMIT\`, the last commit before W3C trace context (the reference).
- **trace**: \`$HEAD_COMMIT\`$DIRTY without \`--otlp-endpoint\`: every span continues or starts a trace,
  \`trace_id\` on log lines, context forwarded on every gRPC call and with every probe job; nothing exported.
- **otlp**: the same binary exporting every span to a local OTLP/gRPC sink (\`tests/examples/otlp_sink.rs\`).

Loads: \`GET /v1/assets/{id}\` (API-key check and read: two catalog gRPC calls, three spans), then
POSTs of a $SMALL_BYTES-byte PNG (\`/v1/uploads\`: two catalog calls, and each upload's probe through the
embedded queue runs in the same process: about seven spans per upload).

| config | GET/s (median) | vs base (median of per-rep ratios) | assetd CPU per GET, µs | vs base | GET p50 / p99 ms | uploads/s (median) | vs base | upload p50 / p99 ms | errors |
|---|---|---|---|---|---|---|---|---|---|
$(row base)
$(row trace)
$(row otlp)

Spans the sink received per run (otlp): $(col otlp 11 | tr '\n' ' ')

CPU per GET is the assetd process's user + system time during the GET load (from /proc) divided
by the GETs wrk completed: less sensitive to the machine's other load than the rates.

Raw (config, rep, GET/s, GET p50, GET p99, GET errors, uploads/s, upload p50, upload p99, upload errors, spans, CPU µs per GET):

\`\`\`
$(cat "$WORK/results")
\`\`\`
EOF
} >"$RESULTS"
log "wrote $RESULTS"
cat "$RESULTS"
