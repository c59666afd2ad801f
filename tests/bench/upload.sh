#!/usr/bin/env bash
# Upload benchmark for assetd: large-upload throughput against nginx and the machine's ceilings,
# memory during concurrent large uploads, and small-upload rate on Postgres against pgbench.
# Every figure is compared with references measured in the same run (the machine is shared and noisy).
#
# Run from anywhere, as root (it may apt-get install nginx-light, wrk and jq):
#     bash tests/bench/upload.sh
# Needs PostgreSQL on 127.0.0.1:5432 with trust auth for user root and an existing database `test`
# (used only to CREATE/DROP a scratch database). Writes tests/bench/RESULTS.md (overwriting).
# Knobs (environment): SIZE_MIB (1024), REPS (3), PG_SECS (15), PG_CONC (32), SKIP_BUILD (0), ASSETD_SRC,
# CARGO_TARGET_DIR,
# PGHOST/PGPORT/PGUSER (127.0.0.1/5432/root), PG_ADMIN_DB (test), BENCH_TMP (a dir on the disk to test).
# Only 127.0.0.1 is contacted. Everything it starts or creates is removed on exit.
set -euo pipefail
# One API key drives all the load: the per-key rate and the per-account upload cap (edge
# defences, tested in tests/e2e/limits.rs) must not throttle a throughput benchmark.
export ASSETD_RATE_LIMIT_PER_SECOND=1000000 ASSETD_RATE_LIMIT_BURST=1000000
export ASSETD_MAX_CONCURRENT_UPLOADS=100000 ASSETD_MAX_CONCURRENT_UPLOADS_PER_ACCOUNT=100000

INVOCATION=""
for v in ASSETD_SRC CARGO_TARGET_DIR SIZE_MIB REPS PG_SECS PG_CONC SKIP_BUILD PERF BENCH_TMP RSS_AFTER_SECS; do
    if [[ -n ${!v:-} ]]; then INVOCATION+="$v=${!v} "; fi
done
INVOCATION+="bash tests/bench/upload.sh"
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
RESULTS=${RESULTS:-$HERE/RESULTS.md}
# The source tree that is built and described (default: this checkout, working tree as it is). Point it
# at a clean clone (git clone --no-local . /tmp/x) to measure a commit while others edit this tree.
SRC=$(cd "${ASSETD_SRC:-$ROOT}" && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$SRC/target}
BIN=$CARGO_TARGET_DIR/release/assetd
SIZE_MIB=${SIZE_MIB:-1024}
SIZE=$((SIZE_MIB * 1024 * 1024))
REPS=${REPS:-3}
PG_SECS=${PG_SECS:-15}
PG_CONC=${PG_CONC:-32}
SKIP_BUILD=${SKIP_BUILD:-0}
export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432} PGUSER=${PGUSER:-root}
PG_ADMIN_DB=${PG_ADMIN_DB:-test}
START_TS=$EPOCHREALTIME
LOAD_START=""

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# ---------------------------------------------------------------- clean-up of everything we start
PIDS=()
PG_DB=""
WORK=""
cleanup() {
    local rc=$?
    set +e
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null
    done
    for pid in "${PIDS[@]}"; do
        # Give each child up to 10 s to stop, then force it.
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    if [[ -n $PG_DB ]]; then
        psql -q -d "$PG_ADMIN_DB" -c "DROP DATABASE IF EXISTS \"$PG_DB\" WITH (FORCE)" >/dev/null 2>&1 \
            || log "could not drop scratch database $PG_DB"
    fi
    if [[ -n $WORK && -d $WORK ]]; then rm -rf "$WORK"; fi
    if ((rc != 0)); then log "benchmark failed (exit $rc); RESULTS.md not (fully) written"; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- small helpers
calc() { awk "BEGIN { printf \"%.${2:-2}f\", $1 }"; }
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
verdict() { awk "BEGIN { exit !($1) }" && echo PASS || echo MISS; }
machine_busy() { # prints "busy_ticks total_ticks" from /proc/stat
    local cpu user nice sys idle iowait irq softirq steal rest
    read -r cpu user nice sys idle iowait irq softirq steal rest </proc/stat
    echo "$((user + nice + sys + irq + softirq + steal)) $((user + nice + sys + idle + iowait + irq + softirq + steal))"
}
cpu_ticks() { local f; read -r -a f <"/proc/$1/stat"; echo $((f[13] + f[14])); }
CLK_TCK=$(getconf CLK_TCK)
status_kib() { # PID FIELD -> value in KiB of a /proc/PID/status field (VmRSS, VmHWM)
    local k v
    while IFS=: read -r k v; do
        if [[ $k == "$2" ]]; then v=${v//[^0-9]/}; echo "$v"; return; fi
    done <"/proc/$1/status"
}
syscw() { local k v; while IFS=': ' read -r k v; do [[ $k == syscw ]] && { echo "$v"; return; }; done <"/proc/$1/io"; }
ctxsw_snapshot() { # PID -> "tid switches" per live thread (voluntary + involuntary)
    local t k v sum
    for t in /proc/"$1"/task/*; do
        sum=0
        while IFS=: read -r k v; do [[ $k == *ctxt_switches ]] && sum=$((sum + ${v//[^0-9]/})); done <"$t/status"
        echo "${t##*/} $sum"
    done
}
ctxsw_delta() { awk 'NR == FNR { b[$1] = $2; next } { d += $2 - (($1 in b) ? b[$1] : 0) } END { print d + 0 }' "$1" "$2"; }
wchar() { local k v; while IFS=': ' read -r k v; do [[ $k == wchar ]] && { echo "$v"; return; }; done <"/proc/$1/io"; }


# Records the moment a process has written TARGET more bytes (wchar) than BASE, or gives up when STOP exists.
# That is when the whole body went through write(2); what remains is fsync, rename, the catalog, the reply.
watch_written() { # PID BASE TARGET STOPFILE OUTFILE
    local pid=$1 base=$2 target=$3 stop=$4 out=$5 v
    while [[ ! -e $stop ]]; do
        v=$(wchar "$pid")
        if ((v - base >= target)); then echo "$EPOCHREALTIME" >"$out"; return; fi
        sleep 0.01
    done
}

# ---------------------------------------------------------------- prerequisites
need_apt=()
command -v nginx >/dev/null || need_apt+=(nginx-light)
command -v wrk >/dev/null || need_apt+=(wrk)
command -v jq >/dev/null || need_apt+=(jq)
if ((${#need_apt[@]})); then
    log "installing ${need_apt[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y "${need_apt[@]}" >/dev/null 2>&1 \
        || { apt-get update >/dev/null && apt-get install -y "${need_apt[@]}" >/dev/null; }
fi
for tool in nginx wrk curl openssl psql pgbench dd jq awk; do
    command -v "$tool" >/dev/null || die "$tool is missing"
done
NGINX=$(command -v nginx)
psql -qtA -d "$PG_ADMIN_DB" -c 'SELECT 1' >/dev/null || die "PostgreSQL is not reachable at $PGHOST:$PGPORT as $PGUSER"

if [[ $SKIP_BUILD != 1 ]]; then
    log "building the release binary (cargo build --release -p assetd)"
    (cd "$SRC" && cargo build --release -p assetd) >&2
fi
[[ -x $BIN ]] || die "$BIN is missing (build failed?)"
BIN_AGE=$(date -u -r "$BIN" '+%Y-%m-%d %H:%M UTC')

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
MEASURE_TS=$EPOCHREALTIME
WORK=$(mktemp -d "${BENCH_TMP:-${TMPDIR:-/tmp}}/assetd-bench.XXXXXX")
log "work dir $WORK ($(df --output=source,fstype "$WORK" | tail -1 | tr -s ' '))"

# ---------------------------------------------------------------- payloads
BIG=$WORK/big.mp4
SMALL=$WORK/small.png
log "creating a ${SIZE_MIB} MiB MP4-headed payload"
{
    printf '\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom'
    head -c $((SIZE - 24)) /dev/urandom
} >"$BIG"
[[ $(stat -c %s "$BIG") == "$SIZE" ]] || die "payload has the wrong size"
cat "$BIG" >/dev/null # into the page cache
{
    printf '\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00\x00\x40\x00\x00\x00\x40\x08\x06\x00\x00\x00\xaa\x69\x71\xde'
    head -c $((4096 - 33)) /dev/zero
} >"$SMALL"

# ---------------------------------------------------------------- assetd
# start_assetd NAME DATABASE_URL [extra serve flags...]; sets ASSETD_PID, ASSETD_PORT, ASSETD_DIR, ASSETD_KEY
start_assetd() {
    local name=$1 db=$2
    shift 2
    ASSETD_DIR=$WORK/$name
    mkdir -p "$ASSETD_DIR"
    (cd "$ASSETD_DIR" && exec "$BIN" serve --http-addr 127.0.0.1:0 --catalog-grpc-addr 127.0.0.1:0 --gateway-grpc-addr 127.0.0.1:0 --admin-addr 127.0.0.1:0 \
        --storage-dir "$ASSETD_DIR/objects" --database-url "$db" --addresses-file "$ASSETD_DIR/addresses.json" \
        --log-format json "$@" \
        2>"$ASSETD_DIR/serve.log" >/dev/null) &
    ASSETD_PID=$!
    PIDS+=("$ASSETD_PID")
    ASSETD_PORT=""
    for _ in $(seq 300); do
        [[ -s $ASSETD_DIR/addresses.json ]] && ASSETD_PORT=$(http_port "$ASSETD_DIR/addresses.json") && break
        kill -0 "$ASSETD_PID" 2>/dev/null || { cat "$ASSETD_DIR/serve.log" >&2; die "assetd ($name) exited at start"; }
        sleep 0.1
    done
    [[ -n $ASSETD_PORT ]] || die "assetd ($name) did not report its HTTP port"
    ASSETD_KEY=$("$BIN" keys create --account bench --database-url "$db" --log-format json 2>>"$ASSETD_DIR/admin.log")
    [[ -n $ASSETD_KEY ]] || die "no API key"
    log "assetd ($name) pid $ASSETD_PID on port $ASSETD_PORT"
}
stop_pid() {
    local pid=$1
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    local kept=()
    for p in "${PIDS[@]}"; do [[ $p == "$pid" ]] || kept+=("$p"); done
    PIDS=("${kept[@]}")
}
log_problems() { # serve.log -> "N WARN / M ERROR" and the distinct messages with their counts
    local w e top
    w=$(grep -c '"level":"WARN"' "$1" || true)
    e=$(grep -c '"level":"ERROR"' "$1" || true)
    top=$(grep -E '"level":"(WARN|ERROR)"' "$1" | jq -r '"\(.level) \(.message)" + (if .error then " (\(.error))" else "" end)' 2>/dev/null |
        sort | uniq -c | sort -rn | head -4 | awk '{ c = $1; $1 = ""; printf "%s%s×%s", sep, substr($0, 2), c; sep = "; " }')
    echo "$w WARN / $e ERROR${top:+ — $top}"
}

# post URL FILE NAME CTYPE RESPFILE [KEY] -> "code seconds bytes_sent"
post() {
    local url=$1 file=$2 name=$3 ctype=$4 resp=$5 key=${6:-none}
    curl -sS -o "$resp" -w '%{http_code} %{time_total} %{size_upload}\n' -X POST -T "$file" \
        -H 'Expect:' -H "x-api-key: $key" -H "x-file-name: $name" -H "Content-Type: $ctype" "$url"
}

settle() { sync; sleep 1; }

# ================================================================= 1. throughput
log "section 1: ${SIZE_MIB} MiB upload throughput, $REPS repetitions, interleaved"
start_assetd fs "sqlite://$WORK/fs/assetd.db" --video-max-bytes $((2 * SIZE > 2147483648 ? 2 * SIZE : 2147483648))
FS_PID=$ASSETD_PID FS_PORT=$ASSETD_PORT FS_KEY=$ASSETD_KEY FS_DIR=$ASSETD_DIR
# Diagnostic twin: the same binary with --storage memory (no file write, no fsync), to split the cost
# of the HTTP receive + SHA-256 path from the cost of the filesystem write and fsync.
start_assetd mem "sqlite://$WORK/mem/assetd.db" --storage memory --video-max-bytes $((2 * SIZE > 2147483648 ? 2 * SIZE : 2147483648))
MEM_PID=$ASSETD_PID MEM_PORT=$ASSETD_PORT MEM_KEY=$ASSETD_KEY MEM_DIR=$ASSETD_DIR

NG=$WORK/nginx
mkdir -p "$NG"
NG_PORT=$(free_port)
cat >"$NG/nginx.conf" <<EOF
user root;
worker_processes 1;
daemon off;
pid $NG/nginx.pid;
error_log $NG/error.log warn;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path $NG/body;
    proxy_temp_path $NG/proxy;
    fastcgi_temp_path $NG/fastcgi;
    uwsgi_temp_path $NG/uwsgi;
    scgi_temp_path $NG/scgi;
    client_max_body_size 0;
    server {
        listen 127.0.0.1:$NG_PORT;
        # The whole body is read into a file under client_body_temp_path (kept: in_file_only on),
        # then a body-less request to the location below produces the 201.
        location = /v1/uploads {
            client_body_in_file_only on;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header X-Body-File \$request_body_file;
            proxy_pass http://127.0.0.1:$NG_PORT/received;
        }
        location = /received { return 201 '{"data":"received"}\n'; }
    }
}
EOF
"$NGINX" -p "$NG" -c "$NG/nginx.conf" -e "$NG/error.log" &
NG_PID=$!
PIDS+=("$NG_PID")
for _ in $(seq 100); do
    curl -s -o /dev/null "http://127.0.0.1:$NG_PORT/received" -X POST && break
    kill -0 "$NG_PID" 2>/dev/null || { cat "$NG/error.log" >&2; die "nginx exited at start"; }
    sleep 0.1
done
NG_WORKER=""
for _ in $(seq 50); do
    NG_WORKER=$(cat "/proc/$NG_PID/task/$NG_PID/children" 2>/dev/null | awk '{ print $1 }')
    [[ -n $NG_WORKER ]] && break
    sleep 0.1
done
[[ -n $NG_WORKER ]] || die "nginx worker not found"
log "nginx master $NG_PID worker $NG_WORKER on port $NG_PORT"

# upload_run assetd|memory|nginx -> appends to the arrays below
declare -a A_MBS A_RECV_MBS A_TAIL A_CPU A_WR A_CS N_MBS N_RECV_MBS N_TAIL N_CPU N_WR N_CS M_MBS M_CPU DDF DDN
upload_run() {
    local who=$1 url pid key resp code secs sent t0 t1 tw cpu0 cpu1 base stop out w0 w1 wr cs
    if [[ $who == assetd ]]; then
        url="http://127.0.0.1:$FS_PORT/v1/uploads" pid=$FS_PID key=$FS_KEY
    elif [[ $who == memory ]]; then
        url="http://127.0.0.1:$MEM_PORT/v1/uploads" pid=$MEM_PID key=$MEM_KEY
    else
        url="http://127.0.0.1:$NG_PORT/v1/uploads" pid=$NG_WORKER key=none
    fi
    resp=$WORK/resp.json stop=$WORK/stop.$who out=$WORK/written.$who
    rm -f "$stop" "$out"
    settle
    base=$(wchar "$pid")
    cpu0=$(cpu_ticks "$pid")
    w0=$(syscw "$pid")
    ctxsw_snapshot "$pid" >"$WORK/cs0"
    watch_written "$pid" "$base" "$SIZE" "$stop" "$out" &
    local watcher=$!
    t0=$EPOCHREALTIME
    read -r code secs sent < <(post "$url" "$BIG" x.mp4 video/mp4 "$resp" "$key")
    t1=$EPOCHREALTIME
    touch "$stop"
    wait "$watcher" || true
    cpu1=$(cpu_ticks "$pid")
    w1=$(syscw "$pid")
    ctxsw_snapshot "$pid" >"$WORK/cs1"
    wr=$((w1 - w0))
    cs=$(ctxsw_delta "$WORK/cs0" "$WORK/cs1")
    [[ $code == 201 ]] || { cat "$resp" >&2; die "$who answered $code to a ${SIZE_MIB} MiB upload"; }
    [[ $sent == "$SIZE" ]] || die "curl sent $sent bytes, not $SIZE"
    if [[ $who != nginx ]]; then
        local got want
        got=$(jq -r '.data.sha256' "$resp")
        want=${BIG_SHA:=$(sha256sum "$BIG" | cut -d' ' -f1)}
        [[ $got == "$want" ]] || die "assetd reported sha256 $got, expected $want"
        [[ $(jq -r '.data.size' "$resp") == "$SIZE" ]] || die "assetd reported a wrong size"
    fi
    tw=$(cat "$out" 2>/dev/null || echo "$t1")
    tw=$(awk -v a="$tw" -v b="$t1" 'BEGIN { printf "%.6f", (a < b ? a : b) }') # sampling lag can pass curl's end
    local mbs recv tail cpu
    mbs=$(calc "$SIZE / $secs / 1e6" 1)
    recv=$(calc "$SIZE / ($tw - $t0) / 1e6" 1)
    tail=$(calc "$t1 - $tw" 2)
    cpu=$(calc "($cpu1 - $cpu0) / $CLK_TCK" 2)
    log "  $who: ${mbs} MB/s (${secs}s; body written after $(calc "$tw - $t0" 2)s, then ${tail}s to the reply; CPU ${cpu}s; $wr write calls, $cs context switches)"
    if [[ $who == assetd ]]; then
        A_MBS+=("$mbs") A_RECV_MBS+=("$recv") A_TAIL+=("$tail") A_CPU+=("$cpu") A_WR+=("$wr") A_CS+=("$cs")
        # The object stays until the section ends: the embedded prober reads it after the upload.
    elif [[ $who == memory ]]; then
        M_MBS+=("$mbs") M_CPU+=("$cpu")
    else
        N_MBS+=("$mbs") N_RECV_MBS+=("$recv") N_TAIL+=("$tail") N_CPU+=("$cpu") N_WR+=("$wr") N_CS+=("$cs")
        find "$NG/body" -type f -delete
    fi
}
dd_run() { # fdatasync|none
    local flag=() line bytes secs
    [[ $1 == fdatasync ]] && flag=(conv=fdatasync)
    settle
    line=$(dd if=/dev/zero of="$WORK/dd.out" bs=1M count="$SIZE_MIB" "${flag[@]}" 2>&1 | tail -1)
    bytes=$(awk '{ print $1 }' <<<"$line")
    secs=$(sed -E 's/.*copied, ([0-9.e+-]+) s.*/\1/' <<<"$line")
    rm -f "$WORK/dd.out"
    local mbs
    mbs=$(calc "$bytes / $secs / 1e6" 1)
    log "  dd ($1): $mbs MB/s"
    if [[ $1 == fdatasync ]]; then DDF+=("$mbs"); else DDN+=("$mbs"); fi
}
declare -a SHA
sha_run() {
    local k
    k=$(openssl speed -evp sha256 -bytes 16384 -seconds 3 2>/dev/null | awk '/^sha256/ { v = $NF } END { print v }')
    k=${k%k}
    SHA+=("$(calc "$k * 1000 / 1e6" 1)")
    log "  openssl sha256: ${SHA[-1]} MB/s"
}

for rep in $(seq "$REPS"); do
    log " repetition $rep/$REPS"
    dd_run fdatasync
    dd_run none
    sha_run
    if ((rep % 2)); then upload_run nginx; upload_run assetd; else upload_run assetd; upload_run nginx; fi
    upload_run memory
done
# Optional: where assetd's CPU goes during one more filesystem upload (needs perf; PERF=0 skips it).
PERF_TOP=""
if [[ ${PERF:-1} == 1 ]] && command -v perf >/dev/null; then
    log "  perf profile of one more assetd upload"
    settle
    perf record -q -F 999 -g -p "$FS_PID" -o "$WORK/perf.data" >/dev/null 2>&1 &
    PERF_PID=$!
    PIDS+=("$PERF_PID")
    sleep 1
    post "http://127.0.0.1:$FS_PORT/v1/uploads" "$BIG" x.mp4 video/mp4 "$WORK/resp.json" "$FS_KEY" >/dev/null
    kill -INT "$PERF_PID" 2>/dev/null || true
    wait "$PERF_PID" 2>/dev/null || true
    kept=()
    for p in "${PIDS[@]}"; do [[ $p == "$PERF_PID" ]] || kept+=("$p"); done
    PIDS=("${kept[@]}")
    PERF_TOP=$(perf report -i "$WORK/perf.data" --no-children --sort dso,sym --stdio -g none 2>/dev/null |
        grep '%' | grep -v '^#' | head -15 | sed -E 's/[[:space:]]+$//' || true)
fi
FS_PROBLEMS=$(log_problems "$FS_DIR/serve.log")
MEM_PROBLEMS=$(log_problems "$MEM_DIR/serve.log")
NG_ERRORS=$(grep -c '\[error\]\|\[crit\]\|\[alert\]\|\[emerg\]' "$NG/error.log" || true)
stop_pid "$FS_PID"
stop_pid "$MEM_PID"
stop_pid "$NG_PID"
rm -rf "$FS_DIR/objects" "$NG/body"

# ================================================================= 2. memory under 4 concurrent uploads
log "section 2: RSS during 4 concurrent ${SIZE_MIB} MiB uploads"
start_assetd rss "sqlite://$WORK/rss/assetd.db" --video-max-bytes $((2 * SIZE > 2147483648 ? 2 * SIZE : 2147483648))
RSS_PID=$ASSETD_PID
# One small upload first, so lazily built state (gRPC channel, pools) is there before "idle".
read -r code _ _ < <(post "http://127.0.0.1:$ASSETD_PORT/v1/uploads" "$SMALL" a.png image/png "$WORK/warm.json" "$ASSETD_KEY")
[[ $code == 201 ]] || die "warm-up upload answered $code"
settle
sleep 2
IDLE_KIB=$(status_kib "$RSS_PID" VmRSS)
HWM_BEFORE_KIB=$(status_kib "$RSS_PID" VmHWM)
STOP=$WORK/rss.stop
(
    max=0 n=0
    while [[ ! -e $STOP ]]; do
        v=$(status_kib "$RSS_PID" VmRSS)
        ((v > max)) && max=$v
        n=$((n + 1))
        echo "$EPOCHREALTIME $v" >>"$WORK/rss.samples"
        sleep 0.05
    done
    echo "$max $n" >"$WORK/rss.max"
) &
SAMPLER=$!
CPU0=$(cpu_ticks "$RSS_PID")
T0=$EPOCHREALTIME
CURLS=()
for i in 1 2 3 4; do
    post "http://127.0.0.1:$ASSETD_PORT/v1/uploads" "$BIG" "x$i.mp4" video/mp4 "$WORK/c$i.json" "$ASSETD_KEY" >"$WORK/c$i.out" &
    CURLS+=($!)
done
CONC_FAIL=0
for pid in "${CURLS[@]}"; do wait "$pid" || CONC_FAIL=$((CONC_FAIL + 1)); done
T1=$EPOCHREALTIME
CPU1=$(cpu_ticks "$RSS_PID")
HWM_KIB=$(status_kib "$RSS_PID" VmHWM)
# Keep sampling a while: the embedded prober reads each new object after its upload is answered.
sleep "${RSS_AFTER_SECS:-5}"
touch "$STOP"
wait "$SAMPLER"
read -r _ RSS_SAMPLES <"$WORK/rss.max"
PEAK_KIB=$(awk -v t="$T1" '$1 <= t && $2 > m { m = $2 } END { print m + 0 }' "$WORK/rss.samples")
PEAK_AFTER_KIB=$(awk -v t="$T1" '$1 > t && $2 > m { m = $2 } END { print m + 0 }' "$WORK/rss.samples")
HWM_LATE_KIB=$(status_kib "$RSS_PID" VmHWM)
AFTER_KIB=$(status_kib "$RSS_PID" VmRSS)
CONC_CODES=$(cat "$WORK"/c?.out | awk '{ print $1 }' | sort | uniq -c | awk '{ printf "%s%s x%s", sep, $2, $1; sep = ", " }')
CONC_OK=$(cat "$WORK"/c?.out | awk '$1 == 201' | wc -l)
CONC_SECS=$(calc "$T1 - $T0" 1)
CONC_MBS=$(calc "4 * $SIZE / ($T1 - $T0) / 1e6" 1)
CONC_CPU=$(calc "($CPU1 - $CPU0) / $CLK_TCK" 1)
DELTA_MIB=$(calc "($PEAK_KIB - $IDLE_KIB) / 1024" 1)
log "  idle $IDLE_KIB KiB, peak $PEAK_KIB KiB over $RSS_SAMPLES samples, VmHWM $HWM_KIB KiB; $CONC_CODES in ${CONC_SECS}s"
RSS_PROBLEMS=$(log_problems "$ASSETD_DIR/serve.log")
stop_pid "$RSS_PID"
rm -rf "$WORK/rss/objects"

# ================================================================= 3. small uploads on Postgres vs pgbench
log "section 3: 4 KiB uploads at concurrency $PG_CONC on Postgres, ${PG_SECS}s x $REPS, against pgbench"
PG_DB="assetd_bench_$$_$RANDOM"
psql -q -d "$PG_ADMIN_DB" -c "CREATE DATABASE \"$PG_DB\"" >/dev/null
PG_URL="postgres://$PGUSER@$PGHOST:$PGPORT/$PG_DB"
start_assetd pg "$PG_URL"
PG_PID=$ASSETD_PID PG_DIR=$ASSETD_DIR
PG_POOL=$("$BIN" serve --help | grep -A6 -- '--database-max-connections' | grep -o 'default: [0-9]*' | head -1 | grep -o '[0-9]*' || echo "?")
ACCOUNT_ID=$(psql -qtA -d "$PG_DB" -c "SELECT account_id FROM accounts WHERE name = 'bench'")
[[ -n $ACCOUNT_ID ]] || die "bench account missing"
for _ in $(seq 20); do
    read -r code _ _ < <(post "http://127.0.0.1:$ASSETD_PORT/v1/uploads" "$SMALL" a.png image/png "$WORK/warm.json" "$ASSETD_KEY")
    [[ $code == 201 ]] || { cat "$WORK/warm.json" >&2; die "warm-up upload on Postgres answered $code"; }
done

cat >"$WORK/upload.lua" <<'EOF'
local f = assert(io.open(os.getenv("BENCH_BODY"), "rb"))
local body = f:read("*a")
f:close()
wrk.method = "POST"
wrk.body = body
wrk.headers["x-api-key"] = os.getenv("BENCH_KEY")
wrk.headers["x-file-name"] = "a.png"
wrk.headers["Content-Type"] = "image/png"
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) created = 0; other = 0 end
function response(status, headers, body)
    if status == 201 then created = created + 1 else other = other + 1 end
end
function done(summary, latency, requests)
    local c, o = 0, 0
    for _, t in ipairs(threads) do c = c + t:get("created"); o = o + t:get("other") end
    io.write(string.format("BENCH created=%d other=%d p50_ms=%.2f p99_ms=%.2f\n", c, o,
        latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
EOF
# The database work of one upload (catalog/src/store/accounts.rs and assets.rs): the API-key lookup, then
# the asset row and its probe-job outbox row in one transaction (the outbox insert fires the same
# NOTIFY trigger as assetd's). Its jobs are due only in a day: pgbench's rows have no object, and
# assetd's embedded prober must not spend the assetd runs retrying them.
KEY_HASH=$(printf '%s' "$ASSETD_KEY" | sha256sum | cut -d' ' -f1)
cat >"$WORK/insert.sql" <<EOF
SELECT a.account_id, CAST(CASE WHEN a.open_api_enabled THEN 1 ELSE 0 END AS BIGINT) AS enabled
FROM api_keys k JOIN accounts a ON a.account_id = k.account_id
WHERE k.key_hash = '$KEY_HASH' AND k.revoked_at IS NULL;
BEGIN;
WITH s AS (SELECT gen_random_uuid()::text AS u,
                  (extract(epoch FROM clock_timestamp()) * 1000000)::bigint AS t),
     a AS (INSERT INTO assets (asset_id, account_id, kind, source, filename, mimetype, size, file_key, sha256,
                               probe_status, created_at, updated_at)
           SELECT u, '$ACCOUNT_ID', 'IMAGE', 'UPLOAD', 'pgbench.png', 'image/png', 4096,
                  'assets/$ACCOUNT_ID/' || u || '.png', md5(u) || md5(u || 'x'), 'pending', t, t FROM s
           ON CONFLICT DO NOTHING RETURNING asset_id, created_at)
INSERT INTO probe_jobs (job_id, asset_id, attempts, available_at, request_id, traceparent, tracestate, created_at)
SELECT gen_random_uuid()::text, asset_id, 0, created_at + 86400000000, 'pgbench', '', '', created_at FROM a;
COMMIT;
EOF
declare -a W_RPS W_ERR W_P50 W_P99 W_BUSY W_CPUMS P_TPS P_FAIL P_BUSY
W_CREATED_TOTAL=0
ROWS_BEFORE=$(psql -qtA -d "$PG_DB" -c "SELECT count(*) FROM assets WHERE filename = 'a.png'")
for rep in $(seq "$REPS"); do
    settle
    read -r b0 t0 < <(machine_busy)
    c0=$(cpu_ticks "$PG_PID")
    BENCH_BODY=$SMALL BENCH_KEY=$ASSETD_KEY wrk -t2 -c"$PG_CONC" -d"${PG_SECS}s" --timeout 10s \
        -s "$WORK/upload.lua" "http://127.0.0.1:$ASSETD_PORT/v1/uploads" >"$WORK/wrk.$rep.out" 2>&1
    read -r b1 t1 < <(machine_busy)
    c1=$(cpu_ticks "$PG_PID")
    rps=$(awk '/^Requests\/sec:/ { print $2 }' "$WORK/wrk.$rep.out")
    read -r created other p50 p99 < <(sed -nE 's/^BENCH created=([0-9]+) other=([0-9]+) p50_ms=([0-9.]+) p99_ms=([0-9.]+)/\1 \2 \3 \4/p' "$WORK/wrk.$rep.out")
    sock=$(awk '/Socket errors:/ { gsub(/,/, ""); print $4 + $6 + $8 + $10 }' "$WORK/wrk.$rep.out")
    errs=$((other + ${sock:-0}))
    W_CREATED_TOTAL=$((W_CREATED_TOTAL + created))
    W_RPS+=("$rps") W_ERR+=("$errs") W_P50+=("$p50") W_P99+=("$p99")
    W_BUSY+=("$(calc "100 * ($b1 - $b0) / ($t1 - $t0)" 0)")
    W_CPUMS+=("$(calc "1000 * ($c1 - $c0) / $CLK_TCK / ($created + $other)" 2)")
    log "  assetd: $rps req/s, $created created, $errs errors (p50 ${p50} ms, p99 ${p99} ms; machine ${W_BUSY[-1]}% busy, assetd ${W_CPUMS[-1]} ms CPU/upload)"
    settle
    read -r b0 t0 < <(machine_busy)
    pgbench -n -c "$PG_CONC" -j 2 -T "$PG_SECS" -f "$WORK/insert.sql" "$PG_DB" >"$WORK/pgbench.$rep.out" 2>&1
    read -r b1 t1 < <(machine_busy)
    P_BUSY+=("$(calc "100 * ($b1 - $b0) / ($t1 - $t0)" 0)")
    tps=$(awk '/^tps = / { printf "%.1f", $3 }' "$WORK/pgbench.$rep.out" | head -1)
    fail=$(awk '/failed transactions:/ { print $5 }' "$WORK/pgbench.$rep.out")
    P_TPS+=("$tps") P_FAIL+=("${fail:-0}")
    log "  pgbench: $tps tps, ${fail:-0} failed (machine ${P_BUSY[-1]}% busy)"
done
ROWS_AFTER=$(psql -qtA -d "$PG_DB" -c "SELECT count(*) FROM assets WHERE filename = 'a.png'")
OBJECTS=$(find "$PG_DIR/objects" -type f -name '*.png' | wc -l)
ROWS_NEW=$((ROWS_AFTER - ROWS_BEFORE))
# How fast the embedded prober (if any) works off its backlog once the load has stopped.
probe_done() { psql -qtA -d "$PG_DB" -c "SELECT count(*) FROM assets WHERE filename = 'a.png' AND probe_status <> 'pending'"; }
DRAIN0=$(probe_done)
sleep 10
DRAIN1=$(probe_done)
DRAIN_RATE=$(calc "($DRAIN1 - $DRAIN0) / 10" 1)
PROBE_STATES=$(psql -qtA -F ' ' -d "$PG_DB" -c "SELECT probe_status, count(*) FROM assets WHERE filename = 'a.png' GROUP BY 1 ORDER BY 1" |
    awk '{ printf "%s%s %s", sep, $2, $1; sep = ", " }')
PG_PROBLEMS=$(log_problems "$PG_DIR/serve.log")
stop_pid "$PG_PID"

# ================================================================= results
A=$(median "${A_MBS[@]}") N=$(median "${N_MBS[@]}")
DF=$(median "${DDF[@]}") DN=$(median "${DDN[@]}") S=$(median "${SHA[@]}")
AR=$(median "${A_RECV_MBS[@]}") NR=$(median "${N_RECV_MBS[@]}")
AT=$(median "${A_TAIL[@]}") NT=$(median "${N_TAIL[@]}")
AC=$(median "${A_CPU[@]}") NC=$(median "${N_CPU[@]}")
M=$(median "${M_MBS[@]}") MC=$(median "${M_CPU[@]}")
AW=$(median "${A_WR[@]}") NW=$(median "${N_WR[@]}") ACS=$(median "${A_CS[@]}") NCS=$(median "${N_CS[@]}")
R_MN=$(calc "$M / $N")
R_AN=$(calc "$A / $N") R_ADF=$(calc "$A / $DF") R_ADN=$(calc "$A / $DN") R_AS=$(calc "$A / $S")
R_RECV=$(calc "$AR / $NR")
PAIRS=()
for i in "${!A_MBS[@]}"; do PAIRS+=("$(calc "${A_MBS[$i]} / ${N_MBS[$i]}")"); done
R_PAIRED=$(median "${PAIRS[@]}")
best() { printf '%s\n' "$@" | sort -g | tail -1; }
least() { printf '%s\n' "$@" | sort -g | head -1; }
A_BEST=$(best "${A_MBS[@]}") N_BEST=$(best "${N_MBS[@]}")
R_BEST=$(calc "$A_BEST / $N_BEST")
R_CPU=$(calc "$(least "${N_CPU[@]}") / $(least "${A_CPU[@]}")")
WR=$(median "${W_RPS[@]}") PT=$(median "${P_TPS[@]}")
R_WP=$(calc "$WR / $PT" 3)
PG_PAIRS=()
for i in "${!W_RPS[@]}"; do PG_PAIRS+=("$(calc "${W_RPS[$i]} / ${P_TPS[$i]}" 3)"); done
R_WP_PAIRED=$(median "${PG_PAIRS[@]}")
W_ERR_TOTAL=0
for e in "${W_ERR[@]}"; do W_ERR_TOTAL=$((W_ERR_TOTAL + e)); done
P_FAIL_TOTAL=0
for e in "${P_FAIL[@]}"; do P_FAIL_TOTAL=$((P_FAIL_TOTAL + e)); done
join() { local out="" x; for x in "$@"; do out+="${out:+ / }$x"; done; echo "$out"; }
RUNTIME=$(calc "($EPOCHREALTIME - $START_TS) / 60" 1)
MEASURE_MIN=$(calc "($EPOCHREALTIME - $MEASURE_TS) / 60" 1)
DIRTY=$(git -C "$SRC" status --porcelain -- services proto migrations Cargo.toml Cargo.lock 2>/dev/null | wc -l)
DIRTY_HASH=$(git -C "$SRC" diff HEAD -- services proto migrations Cargo.toml Cargo.lock 2>/dev/null | sha256sum | cut -c1-12)

{
    cat <<EOF
# assetd upload benchmark — results

Produced by \`tests/bench/upload.sh\`; this file is overwritten by each run. Rerun with

    bash tests/bench/upload.sh            # as root; builds target/release/assetd first

It needs PostgreSQL on 127.0.0.1:5432 (trust auth, user \`root\`, an existing database \`test\`) and
installs \`nginx-light\`, \`wrk\` and \`jq\` with apt-get when missing. Knobs: \`SIZE_MIB\` (1024), \`REPS\` (3),
\`PG_SECS\` (15), \`PG_CONC\` (32), \`SKIP_BUILD=1\`, \`BENCH_TMP\` (where the scratch files go),
\`ASSETD_SRC\` (the source tree to build and describe; default this checkout with its working-tree edits).
Every reference is measured in the same run, interleaved with the assetd runs, because the machine is
shared and noisy: read the **ratios**, not the absolute numbers. Each figure is the median of $REPS
repetitions; MB = 10^6 bytes. All traffic is to 127.0.0.1.

## Machine

| fact | value |
| --- | --- |
| date | $(date -u '+%Y-%m-%d %H:%M UTC') |
| git commit | $(git -C "$SRC" rev-parse --short HEAD) $(if ((DIRTY)); then echo "+ $DIRTY uncommitted changed/new paths under services/, proto/, migrations/, Cargo.* at report time (tracked diff sha256 $DIRTY_HASH): the binary was built from the working tree"; else echo "(clean working tree for services/, proto/, migrations/, Cargo.*)"; fi) |
| binary | \`$BIN\` — release profile (\`cargo build --release -p assetd\` in \`$SRC\`$( ((SKIP_BUILD == 1)) && echo ", build skipped")), built $BIN_AGE |
| nproc | $(nproc) |
| CPU | $(lscpu | sed -nE 's/^Model name:[[:space:]]*//p' | head -1) |
| memory | $(free -h | awk '/^Mem:/ { print $2 }') |
| kernel | $(uname -r) |
| scratch filesystem | $(df --output=source,fstype "$WORK" | tail -1 | tr -s ' ') (payloads, assetd objects, nginx body files, dd output) |
| tools | $("$NGINX" -v 2>&1 | sed 's/.*: //'), $(wrk -v 2>&1 | head -1 | awk '{ print $1, $2 }'), curl $(curl --version | awk 'NR == 1 { print $2 }'), $(openssl version | awk '{ print $1, $2 }'), PostgreSQL $(psql -qtA -d "$PG_ADMIN_DB" -c 'SHOW server_version' | awk '{ print $1 }') |
| load average (1/5/15 min) when measuring began / when it ended | $LOAD_START / $(cut -d' ' -f1-3 /proc/loadavg) (a load far above $(nproc) means other work shared the cores) |
| invocation | \`$INVOCATION\` |
| runtime | $MEASURE_MIN min of measuring; $RUNTIME min including the build step (plus the final clean-up) |

## 1. ${SIZE_MIB} MiB upload throughput (filesystem storage, SQLite)

One \`curl -X POST -T file -H 'Expect:'\` from a page-cached file, the same for both servers. nginx reads
the body into a file (\`client_body_in_file_only on\`, \`client_body_temp_path\` on the same filesystem,
\`client_max_body_size 0\`, one worker) and answers 201 from a body-less proxied subrequest.
"Body written" is when the server process's \`wchar\` (/proc/PID/io) had grown by the whole size; "tail"
is the time from then to curl's end (for assetd: fsync of the object, rename, catalog record, reply).

| what | MB/s (median) | runs |
| --- | ---: | --- |
| assetd upload, end to end | **$A** | $(join "${A_MBS[@]}") |
| nginx upload to file, end to end | **$N** | $(join "${N_MBS[@]}") |
| dd 1 MiB blocks, \`conv=fdatasync\` | $DF | $(join "${DDF[@]}") |
| dd 1 MiB blocks, page cache only | $DN | $(join "${DDN[@]}") |
| \`openssl speed -evp sha256 -bytes 16384\` (1 core) | $S | $(join "${SHA[@]}") |

| ratio | value | target |
| --- | ---: | --- |
| assetd / nginx, median of the per-repetition ratios (runs back to back: $(join "${PAIRS[@]}")) | **$R_PAIRED** | >= 0.9 → **$(verdict "$R_PAIRED >= 0.9")** |
| assetd / nginx (ratio of the medians) | $R_AN | >= 0.9 → $(verdict "$R_AN >= 0.9") |
| assetd / nginx, best run of each ($A_BEST / $N_BEST MB/s; interference only slows a run down) | $R_BEST | >= 0.9 → $(verdict "$R_BEST >= 0.9") |
| nginx CPU / assetd CPU per upload, least of each run ($(least "${N_CPU[@]}") s / $(least "${A_CPU[@]}") s) | $R_CPU | — |
| assetd / dd fdatasync | $R_ADF | — |
| assetd / dd page cache | $R_ADN | — |
| assetd / openssl sha256 | $R_AS | — |

Where the time goes (medians):

| | assetd | nginx |
| --- | ---: | ---: |
| receive + write rate until the body was written (MB/s) | $AR | $NR |
| tail after the body was written (s) | $AT | $NT |
| CPU time of the server process per upload (s, user+sys) | $AC | $NC |
| write(2)-family calls per upload (\`syscw\`) / average bytes per call | $AW / $(calc "$SIZE / $AW" 0) | $NW / $(calc "$SIZE / $NW" 0) |
| context switches per upload, all threads of the server process | $ACS | $NCS |
| receive-phase ratio assetd / nginx | $R_RECV | |

Diagnostic twin, same binary with \`--storage memory\` (no file write, no fsync; still SHA-256 and the
catalog record): **$M MB/s** end to end (runs $(join "${M_MBS[@]}")), $MC s CPU per upload,
ratio to nginx $R_MN.

Log problems during section 1: assetd $FS_PROBLEMS lines (memory twin: $MEM_PROBLEMS); nginx $NG_ERRORS error lines.
EOF
if [[ -n $PERF_TOP ]]; then
    cat <<EOF

\`perf record -F 999 -g -p PID\` of assetd (filesystem) during one more ${SIZE_MIB} MiB upload, self time,
top symbols (all of assetd's threads: the async workers receive and hash, the blocking pool writes):

\`\`\`
$PERF_TOP
\`\`\`
EOF
fi
cat <<EOF

## 2. Memory during 4 concurrent ${SIZE_MIB} MiB uploads

A fresh \`assetd serve\` (SQLite, filesystem); one 4 KiB upload to warm it, then idle VmRSS; VmRSS
sampled every 50 ms ($RSS_SAMPLES samples) while four curls upload ${SIZE_MIB} MiB each at once, and for
${RSS_AFTER_SECS:-5} s after the last answer (when the embedded prober, if any, reads the new objects).

| what | value |
| --- | ---: |
| idle VmRSS before | $(calc "$IDLE_KIB / 1024" 1) MiB |
| VmHWM before the uploads | $(calc "$HWM_BEFORE_KIB / 1024" 1) MiB |
| peak sampled VmRSS during the uploads | $(calc "$PEAK_KIB / 1024" 1) MiB |
| VmHWM right after the last answer | $(calc "$HWM_KIB / 1024" 1) MiB |
| peak sampled VmRSS in the ${RSS_AFTER_SECS:-5} s after the uploads | $(calc "$PEAK_AFTER_KIB / 1024" 1) MiB |
| VmHWM / VmRSS at the end | $(calc "$HWM_LATE_KIB / 1024" 1) / $(calc "$AFTER_KIB / 1024" 1) MiB |
| **peak − idle** | **$DELTA_MIB MiB** |
| responses | $CONC_CODES ($CONC_FAIL curl failures) |
| wall time / aggregate rate | ${CONC_SECS} s / $CONC_MBS MB/s |
| assetd CPU time (user+sys) | ${CONC_CPU} s |

Target: peak − idle < 64 MiB during the uploads → **$(verdict "$DELTA_MIB < 64")**; in the window after them,
peak − idle was $(calc "($PEAK_AFTER_KIB - $IDLE_KIB) / 1024" 1) MiB. (VmHWM is updated lazily by the kernel, so it can read
slightly below a sampled VmRSS.) Log problems: $RSS_PROBLEMS lines.

## 3. 4 KiB uploads per second on Postgres, concurrency $PG_CONC

assetd (\`--database-url postgres://…\`, filesystem storage, default pool of $PG_POOL connections) driven by
\`wrk -t2 -c$PG_CONC -d${PG_SECS}s\` POSTing a 4 KiB PNG with the API key; against \`pgbench -n -c $PG_CONC -j 2
-T $PG_SECS\` doing the database work of one upload per transaction: the API-key lookup, then \`BEGIN;\`
the asset row and its probe-job outbox row \`COMMIT\` (what assetd's catalog does per upload), into the same
tables of the same scratch database. Runs alternate; assetd also writes the file and probes it.

| what | per second (median) | runs | errors |
| --- | ---: | --- | ---: |
| assetd uploads (201s and others) | **$WR** | $(join "${W_RPS[@]}") | $W_ERR_TOTAL non-201 or socket errors |
| pgbench upload transactions | **$PT** | $(join "${P_TPS[@]}") | $P_FAIL_TOTAL failed |

| ratio | value |
| --- | ---: |
| assetd / pgbench, median of the per-repetition ratios ($(join "${PG_PAIRS[@]}")) | **$R_WP_PAIRED** |
| assetd / pgbench (ratio of the medians) | $R_WP |

Latency of assetd uploads (medians of runs): p50 $(median "${W_P50[@]}") ms, p99 $(median "${W_P99[@]}") ms.
CPU: the whole machine ($(nproc) cores) was $(median "${W_BUSY[@]}")% busy during the wrk runs (wrk, assetd and
PostgreSQL together) and $(median "${P_BUSY[@]}")% during the pgbench runs; assetd itself used
$(median "${W_CPUMS[@]}") ms of CPU (user+sys) per upload.
Target: 0 non-201 responses → **$( ((W_ERR_TOTAL == 0)) && echo PASS || echo MISS)**.
Consistency: wrk counted $W_CREATED_TOTAL responses 201; during the wrk runs the assets table gained
$ROWS_NEW assetd rows (requests still in flight when wrk stops are recorded but not counted by wrk, at
most $PG_CONC per run); the storage holds $OBJECTS objects, which is those rows plus 20 warm-up uploads.
Probe status of assetd's rows 10 s after the last run ended: $PROBE_STATES; in those 10 s of no load,
$DRAIN_RATE probes per second finished. Log problems: $PG_PROBLEMS lines.
EOF
} >"$RESULTS"
log "wrote $RESULTS (run took $RUNTIME min)"
