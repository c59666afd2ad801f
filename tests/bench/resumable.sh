#!/usr/bin/env bash
# Resumable-upload benchmark: what a tus upload costs against a single-request upload of the same
# file through the same `assetd serve` (SQLite + filesystem), paired per repetition, in the order
# single / tus in one PATCH / tus in 16 MiB PATCHes, alternating which goes first. The file is a
# real WAV (48 kHz stereo), so every upload is probed like any other.
#
#     bash tests/bench/resumable.sh            # writes tests/bench/resumable-RESULTS.md
# Knobs: SIZE_MIB (256), REPS (5), SKIP_BUILD (0), CARGO_TARGET_DIR.
# On the filesystem a tus upload's chunks are copied into the asset's object at completion, so
# it writes every byte twice; on S3 it completes its own multipart upload instead (no copy), which
# this script does not measure (the local S3 server, moto, is no measure of S3).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
source "$HERE/lib.sh"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=$CARGO_TARGET_DIR/release/assetd
SIZE_MIB=${SIZE_MIB:-256}
REPS=${REPS:-5}
RESULTS=${RESULTS:-$HERE/resumable-RESULTS.md}
export ASSETD_RATE_LIMIT_PER_SECOND=1000000 ASSETD_RATE_LIMIT_BURST=1000000

if [[ ${SKIP_BUILD:-0} != 1 ]]; then
    log "building assetd (release)"
    (cd "$ROOT" && cargo build --release --locked -q -p assetd)
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/assetd-resumable-bench.XXXXXX")
PID=""
cleanup() {
    [[ -n $PID ]] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

FILE=$WORK/voice.wav
python3 - "$FILE" "$SIZE_MIB" <<'EOF'
import struct, sys
path, mib = sys.argv[1], int(sys.argv[2])
n = mib * 1024 * 1024 - 44
rate, channels = 48000, 2
header = (b"RIFF" + struct.pack("<I", 36 + n) + b"WAVEfmt " +
          struct.pack("<IHHIIHH", 16, 1, channels, rate, rate * channels * 2, channels * 2, 16) +
          b"data" + struct.pack("<I", n))
block = bytes((i * 7) % 256 for i in range(1 << 20))
with open(path, "wb") as f:
    f.write(header)
    left = n
    while left:
        f.write(block[:min(left, len(block))])
        left -= min(left, len(block))
EOF
SIZE=$(stat -c %s "$FILE")
split -b $((16 * 1024 * 1024)) -d -a 3 "$FILE" "$WORK/part."

DB="sqlite://$WORK/assetd.db"
"$BIN" serve --http-addr 127.0.0.1:0 --catalog-grpc-addr 127.0.0.1:0 --gateway-grpc-addr 127.0.0.1:0 \
    --admin-addr 127.0.0.1:0 --addresses-file "$WORK/addr.json" --database-url "$DB" \
    --storage fs --storage-dir "$WORK/objects" --audio-max-bytes $((2 * SIZE)) \
    --log-format json > "$WORK/assetd.log" 2>&1 &
PID=$!
for _ in $(seq 300); do [[ -s $WORK/addr.json ]] && break; sleep 0.1; done
[[ -s $WORK/addr.json ]] || die "assetd did not start: $(tail -5 "$WORK/assetd.log")"
BASE="http://127.0.0.1:$(http_port "$WORK/addr.json")"
KEY=$("$BIN" keys create --account bench --database-url "$DB" | tail -n 1)
META="filename $(printf voice.wav | base64)"

now() { date +%s.%N; }
single() {
    curl -sf -o /dev/null -X POST "$BASE/v1/uploads" -H "x-api-key: $KEY" -H "x-file-name: voice.wav" \
        -H "Content-Type: application/octet-stream" --data-binary "@$FILE" || die "single upload failed"
}
create() {
    curl -sf -D - -o /dev/null -X POST "$BASE/v1/uploads" -H "x-api-key: $KEY" -H "Tus-Resumable: 1.0.0" \
        -H "Upload-Length: $SIZE" -H "Upload-Metadata: $META" | tr -d '\r' | awk 'tolower($1) == "location:" { print $2 }'
}
patch() { # path offset file
    curl -sf -o /dev/null -X PATCH "$BASE$1" -H "x-api-key: $KEY" -H "Tus-Resumable: 1.0.0" \
        -H "Upload-Offset: $2" -H "Content-Type: application/offset+octet-stream" --data-binary "@$3" \
        || die "PATCH at $2 failed"
}
tus_one() { patch "$(create)" 0 "$FILE"; }
tus_chunked() {
    local path offset=0
    path=$(create)
    for part in "$WORK"/part.*; do
        patch "$path" "$offset" "$part"
        offset=$((offset + $(stat -c %s "$part")))
    done
}
timed() { local t0; t0=$(now); "$@"; python3 -c "print($(now) - $t0)"; }

log "warm-up"
single; tus_one
declare -a S O C
for rep in $(seq "$REPS"); do
    if ((rep % 2)); then
        s=$(timed single); o=$(timed tus_one); c=$(timed tus_chunked)
    else
        c=$(timed tus_chunked); o=$(timed tus_one); s=$(timed single)
    fi
    S+=("$s"); O+=("$o"); C+=("$c")
    log "rep $rep: single ${s}s, tus one PATCH ${o}s, tus 16 MiB PATCHes ${c}s"
done
left=$(find "$WORK/objects/uploads" -type f 2>/dev/null | wc -l)

python3 - "$RESULTS" "$SIZE" "$REPS" "$left" "$(git -C "$ROOT" rev-parse --short HEAD)" "${S[*]}" "${O[*]}" "${C[*]}" <<'EOF'
import statistics as st, sys, platform, os
out, size, reps, left, commit = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
s, o, c = ([float(x) for x in a.split()] for a in sys.argv[6:9])
mib = size / 2**20
ro = [b / a for a, b in zip(s, o)]
rc = [b / a for a, b in zip(s, c)]
rows = "\n".join(f"| {i+1} | {a:.2f} | {b:.2f} | {d:.2f} | {x:.2f} | {y:.2f} |" for i, (a, b, d, x, y) in enumerate(zip(s, o, c, ro, rc)))
open(out, "w").write(f"""# Resumable uploads against single-request uploads

`bash tests/bench/resumable.sh` at {commit}, {platform.node()}, {os.cpu_count()} CPUs: `assetd serve` (release) on
SQLite + filesystem, one {mib:.0f} MiB WAV, {reps} repetitions, each timing the three uploads of the same file
back to back (order alternating), from the first byte to the last answer.

| rep | single request (s) | tus, one PATCH (s) | tus, 16 MiB PATCHes (s) | one PATCH / single | 16 MiB PATCHes / single |
|---|---:|---:|---:|---:|---:|
{rows}

- **Median ratio, tus in one PATCH / single request: {st.median(ro):.2f}**; in 16 MiB PATCHes: **{st.median(rc):.2f}**.
- Single-request throughput, median: {mib / st.median(s):.0f} MiB/s.
- Chunk objects left under `uploads/` after the run: {left} (every completion removes its chunks).
- Not yet profiled. What the filesystem path does more than a single request: each append writes its chunk
  objects (fsynced and renamed into place, as every object) and records them in the catalog, and completion
  reads every chunk back and writes it again into the asset's object (hashing it) while the client waits for
  the last answer: every byte is written twice. On S3, completion uploads only the tail as the last part and
  completes assetd's own multipart upload (no copy); the local S3 server is no measure of S3, so it is not
  measured here.
""")
print(open(out).read())
EOF
