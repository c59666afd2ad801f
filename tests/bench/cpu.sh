#!/usr/bin/env bash
# CPU per small upload: this tree against a reference commit, the same work in the same run,
# paired per repetition.
#
#   bash tests/bench/cpu.sh            # writes tests/bench/cpu-RESULTS.md
#
# Reference: REF (default 6471622, the pipeline before the throughput work of
# tests/bench/pipeline-ANALYSIS.md), built once into target/bench-ref (a git worktree with its own
# target directory), or REF_BIN. Both binaries are release builds of their tree.
# Phases, each on a fresh database and storage directory, a 3.8 KiB PNG (tests/fixtures/hero.png):
#   edge-sqlite    catalog (SQLite) and gateway as two processes, no prober: SEND uploads from
#                  CONC clients; CPU of both processes until the last 201, per upload
#   edge-postgres  the same with the catalog on Postgres
#   serve-sqlite   `assetd serve`, the embedded default: BURST uploads and all their probes; CPU
#                  of the process until the last asset is `ready`, per upload
#   serve-postgres the same with `--database-url postgres://…` (the embedded queue on Postgres)
# Objects and SQLite files go to BENCH_TMP (default /dev/shm, a tmpfs): on this machine's
# journal-less ext4, creating a file spent most of the gateway's CPU in the kernel's inode
# allocator (`recently_deleted`, which ext4 runs only without a journal, slower the more files
# earlier runs deleted), a cost of the disk's history, not of assetd.
# Every repetition runs each phase with both binaries back to back (which goes first alternates),
# so each ratio compares two runs a few seconds apart. Knobs: REPS (3), SEND (4000), BURST (2000),
# CONC (32), BENCH_TMP, PHASES, SKIP_BUILD, REF, REF_ABOUT (what the reference is, for the results), REF_BIN,
# RESULTS. Needs Postgres (127.0.0.1:5432, user
# root, database test). Only 127.0.0.1 is contacted.
set -euo pipefail
# One API key drives all the load: the edge's per-key rate and per-account upload cap must not
# throttle it (the reference has no such limits and ignores these).
export ASSETD_RATE_LIMIT_PER_SECOND=1000000 ASSETD_RATE_LIMIT_BURST=1000000
export ASSETD_MAX_CONCURRENT_UPLOADS=100000 ASSETD_MAX_CONCURRENT_UPLOADS_PER_ACCOUNT=100000
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
REF=${REF:-6471622}
REF_ABOUT=${REF_ABOUT:-before the pipeline changes of \`pipeline-ANALYSIS.md\`}
REPS=${REPS:-3}
SEND=${SEND:-4000}
BURST=${BURST:-2000}
CONC=${CONC:-32}
PHASES=${PHASES:-edge-sqlite edge-postgres serve-sqlite serve-postgres}
BENCH_TMP=${BENCH_TMP:-/dev/shm}
RESULTS=${RESULTS:-$ROOT/tests/bench/cpu-RESULTS.md}
NEW_BIN=$ROOT/target/release/assetd
REF_DIR=$ROOT/target/bench-ref
REF_BIN=${REF_BIN:-$REF_DIR/target/release/assetd}
LOAD=$ROOT/target/release/examples/pipeline_load
FILE=$ROOT/tests/fixtures/hero.png

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

WORK=$(mktemp -d "$BENCH_TMP/assetd-cpu.XXXXXX")
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


# start BIN NAME ARGS...: runs `BIN ARGS...` in the background and waits for its /readyz; sets
# PID_<NAME>.
start() {
    local bin=$1 name=$2 admin
    shift 2
    admin=$(free_port)
    "$bin" "$@" --admin-addr "127.0.0.1:$admin" --log-format json --log warn >"$WORK/$name.log" 2>&1 &
    PIDS+=($!)
    eval "PID_$name=$!"
    for _ in $(seq 300); do
        curl -sf "http://127.0.0.1:$admin/readyz" >/dev/null 2>&1 && return
        kill -0 "${PIDS[-1]}" 2>/dev/null || { cat "$WORK/$name.log" >&2; die "$name exited"; }
        sleep 0.1
    done
    cat "$WORK/$name.log" >&2
    die "$name did not become ready"
}

for tool in psql curl python3 git; do command -v "$tool" >/dev/null || die "$tool is missing"; done
if [[ ${SKIP_BUILD:-0} != 1 ]]; then
    log "building this tree's release binary and the load tool"
    cargo build --release --locked -q -p assetd --bin assetd
    cargo build --release --locked -q -p assetd-tests --example pipeline_load
    if [[ ! -x $REF_BIN ]]; then
        log "building the reference $REF into $REF_DIR (once)"
        [[ -d $REF_DIR ]] || git worktree add --detach "$REF_DIR" "$REF" >/dev/null
        (cd "$REF_DIR" && CARGO_TARGET_DIR=$REF_DIR/target cargo build --release --locked -q -p assetd --bin assetd)
    fi
fi
[[ -x $REF_BIN ]] || die "no reference binary at $REF_BIN (run without SKIP_BUILD=1, or set REF_BIN)"
REF_COMMIT=$(cd "$REF_DIR" 2>/dev/null && git rev-parse --short HEAD || echo "$REF")

# run_phase BIN LABEL PHASE REP: one measurement, appended to phases.jsonl.
run_phase() {
    local bin=$1 label=$2 phase=$3 rep=$4 dir db_url http grpc key out pids
    dir=$WORK/$label-$phase-$rep
    mkdir -p "$dir"
    case $phase in
        *-sqlite) db_url="sqlite://$dir/assetd.db" ;;
        *-postgres)
            local db="assetd_cpu_$$_${label}_$rep"
            PGOPTIONS=--client-min-messages=warning psql -h 127.0.0.1 -U root -d test -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
            DBS+=("$db")
            db_url="postgres://root@127.0.0.1:5432/$db"
            ;;
    esac
    http=$(free_port)
    case $phase in
        edge-*)
            grpc=$(free_port)
            "$bin" migrate --database-url "$db_url" >/dev/null 2>&1
            start "$bin" catalog catalog --database-url "$db_url" --catalog-grpc-addr "127.0.0.1:$grpc"
            start "$bin" gateway gateway --catalog-url "http://127.0.0.1:$grpc" --storage-dir "$dir/objects" \
                --http-addr "127.0.0.1:$http" --gateway-grpc-addr "127.0.0.1:$(free_port)"
            pids="$PID_catalog $PID_gateway"
            ;;
        serve-*)
            start "$bin" serve serve --database-url "$db_url" --storage-dir "$dir/objects" \
                --http-addr "127.0.0.1:$http" --catalog-grpc-addr "127.0.0.1:$(free_port)" \
                --gateway-grpc-addr "127.0.0.1:$(free_port)"
            pids="$PID_serve"
            ;;
    esac
    key=$("$bin" keys create --account bench --database-url "$db_url" 2>/dev/null)
    # Warm-up: connections, the page cache of the fixture. For the edge phases it is a `send`
    # too, so nothing probes it.
    "$LOAD" send "http://127.0.0.1:$http" "$key" "$db_url" "$FILE" 50 4 >/dev/null
    local mode=send n=$SEND
    [[ $phase == serve-* ]] && mode=burst n=$BURST
    # shellcheck disable=SC2086
    out=$("$LOAD" "$mode" "http://127.0.0.1:$http" "$key" "$db_url" "$FILE" "$n" "$CONC" $pids)
    stop_all
    python3 -c 'import json,sys; d=json.loads(sys.argv[1]); d.update(binary=sys.argv[2], phase=sys.argv[3], rep=int(sys.argv[4])); print(json.dumps(d))' \
        "$out" "$label" "$phase" "$rep" >>"$WORK/phases.jsonl"
    log "  $label $phase: $(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print("%.3f ms CPU per upload, %.0f uploads/s, %d errors, %d not ready" % (sum(d["cpu_ms"])/d["created"], d["uploads_per_sec"], d["errors"], d["not_ready"]))' "$out")"
}

START=$(date +%s)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
: >"$WORK/phases.jsonl"
for rep in $(seq "$REPS"); do
    log "repetition $rep of $REPS"
    for phase in $PHASES; do
        if ((rep % 2)); then order="new ref"; else order="ref new"; fi
        for label in $order; do
            if [[ $label == new ]]; then bin=$NEW_BIN; else bin=$REF_BIN; fi
            run_phase "$bin" "$label" "$phase" "$rep"
        done
    done
done

python3 - "$WORK/phases.jsonl" "$RESULTS" "$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- services proto migrations || echo '+changes')" \
    "$REF_COMMIT" "$BENCH_TMP ($(df --output=fstype "$BENCH_TMP" | tail -1))" "$(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p' | head -1)" \
    "$LOAD_START / $(cut -d' ' -f1-3 /proc/loadavg)" "$(( ($(date +%s) - START) / 60 ))" "$SEND" "$BURST" "$CONC" "$REF_ABOUT" <<'PY'
import datetime, json, statistics, sys
phases_file, out, commit, ref, tmp, machine, load, minutes, send, burst, conc, ref_about = sys.argv[1:]
rows = [json.loads(line) for line in open(phases_file)]
by = {(r["phase"], r["rep"], r["binary"]): r for r in rows}
per_upload = lambda r: sum(r["cpu_ms"]) / r["created"]
names = {
    "edge-sqlite": f"upload edge: catalog (SQLite) + gateway, no prober, {send} uploads",
    "edge-postgres": f"upload edge: catalog (Postgres) + gateway, no prober, {send} uploads",
    "serve-sqlite": f"`assetd serve` (embedded default): {burst} uploads and their probes",
    "serve-postgres": f"`assetd serve` on Postgres (embedded queue): {burst} uploads and their probes",
}
lines = [f"""# assetd CPU per small upload — results

Produced by `bash tests/bench/cpu.sh` (overwritten by each run). CPU is each process's
utime + stime over the phase (`/proc/PID/stat`), divided by the uploads answered 201; a 3.8 KiB
PNG from {conc} clients as fast as they are answered; release builds. The reference is the same
work by commit {ref} ({ref_about}), measured in the
same run: each repetition runs a phase with both binaries back to back, so read the paired
ratios, not the absolute figures (this machine is shared).

| fact | value |
| --- | --- |
| date | {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC |
| git commit | {commit} |
| reference | {ref} |
| objects and SQLite files | {tmp} |
| machine | {machine}; load average at the start / end {load} |
| duration | {minutes} min |

## Paired ratios (this tree / reference, per repetition)

| phase | ratio per repetition | **median** | this tree: ms per upload | reference: ms per upload | uploads/s this tree / reference (medians) |
| --- | --- | ---: | --- | --- | --- |"""]
for phase in names:
    reps = sorted({r["rep"] for r in rows if r["phase"] == phase})
    pairs = [(by[(phase, i, "new")], by[(phase, i, "ref")]) for i in reps if (phase, i, "new") in by and (phase, i, "ref") in by]
    if not pairs:
        continue
    ratios = [per_upload(n) / per_upload(r) for n, r in pairs]
    lines.append(
        f"| {names[phase]} | {' / '.join(f'{x:.2f}' for x in ratios)} | **{statistics.median(ratios):.2f}** "
        f"| {' / '.join(f'{per_upload(n):.2f}' for n, _ in pairs)} | {' / '.join(f'{per_upload(r):.2f}' for _, r in pairs)} "
        f"| {statistics.median(n['uploads_per_sec'] for n, _ in pairs):.0f} / {statistics.median(r['uploads_per_sec'] for _, r in pairs):.0f} |"
    )
errors = sum(r["errors"] for r in rows)
not_ready = sum(r["not_ready"] for r in rows if r["phase"].startswith("serve"))
lines.append(f"""
Errors (non-201 answers) over all phases: {errors}. Serve phases' assets not `ready` at the end: {not_ready}.
In the edge phases nothing probes, so their figures are the upload alone: HTTP, the storage
write with its fsync, the gRPC call to the catalog, the key lookup and the transaction that
writes the asset and its probe job. The serve phases add every probe; there the reference also
paid for loopback gRPC between its roles in one process and for polling the embedded queue
(`pipeline-ANALYSIS.md` lists what changed and where the time went).

## Raw phases

```json""")
lines += [json.dumps(r, sort_keys=True) for r in rows]
lines.append("```\n")
open(out, "w").write("\n".join(lines))
print("\n".join(lines[:30]))
PY
