#!/usr/bin/env bash
# The probe benchmark: (1) time from the 201 to probeStatus "ready" at 100 uploads/s of small
# images on Postgres + RabbitMQ, next to the uploads' own HTTP latency in the same run;
# (2) bytes read to probe a 1 GiB MP4 whose moov box is at the end; (3) time and bytes to probe a
# 100-megapixel JPEG, next to ImageMagick's header-only `identify -ping` on the same file.
# Writes tests/bench/probe-RESULTS.md. Needs Postgres (127.0.0.1:5432, user root, database test)
# and RabbitMQ (127.0.0.1:5672, guest/guest). Knobs: RATE (100), SECS (30), SKIP_BUILD=1.
set -euo pipefail
# One API key drives all the load: the per-key rate and the per-account upload cap (edge
# defences, tested in tests/e2e/limits.rs) must not throttle a throughput benchmark.
export ASSETD_RATE_LIMIT_PER_SECOND=1000000 ASSETD_RATE_LIMIT_BURST=1000000
export ASSETD_MAX_CONCURRENT_UPLOADS=100000 ASSETD_MAX_CONCURRENT_UPLOADS_PER_ACCOUNT=100000
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
RATE=${RATE:-100}
SECS=${SECS:-30}
out=tests/bench/probe-RESULTS.md
work=$(mktemp -d)
db="assetd_probe_bench_$$"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    psql -h 127.0.0.1 -U root -d test -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

# ffmpeg makes the 100-megapixel JPEG (ImageMagick's default policy refuses that many pixels);
# ImageMagick's `identify -ping` is the header-only reference.
for tool in ffmpeg:ffmpeg identify:imagemagick; do
    command -v "${tool%%:*}" >/dev/null && { [ "${tool%%:*}" != identify ] || identify -version 2>/dev/null | grep -q ImageMagick; } || {
        apt-get install -y -q "${tool##*:}" >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q "${tool##*:}" >/dev/null; }
    }
done
if [ "${SKIP_BUILD:-0}" != 1 ]; then
    cargo build --release --locked -q -p assetd --bin assetd
    cargo build --release --locked -q -p assetd-media --example probe_file
fi
bin=target/release/assetd
probe=target/release/examples/probe_file

# --- (2) 1 GiB MP4 with moov at the end: ftyp, a sparse 1 GiB mdat, then a real moov.
python3 - "$root/tests/fixtures/media/h264.mp4" "$work/big.mp4" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
boxes, i = {}, 0
while i + 8 <= len(data):
    size, kind = struct.unpack(">I4s", data[i:i + 8])
    boxes[kind] = data[i:i + size]
    i += size
payload = 1 << 30
with open(sys.argv[2], "wb") as f:
    f.write(boxes[b"ftyp"])
    f.write(struct.pack(">I4s", 8 + payload, b"mdat"))
    f.seek(payload, 1)
    f.write(boxes[b"moov"])
PY
mp4_size=$(stat -c %s "$work/big.mp4")
mp4_json=$("$probe" video "$work/big.mp4" 20)

# --- (3) A 100-megapixel JPEG.
ffmpeg -loglevel error -y -f lavfi -i color=c=gray:s=10000x10000 -frames:v 1 -q:v 4 "$work/big.jpg"
jpg_size=$(stat -c %s "$work/big.jpg")
jpg_json=$("$probe" image "$work/big.jpg" 200)
identify_best_us=$(python3 - "$work/big.jpg" <<'PY'
import subprocess, sys, time
best = None
for _ in range(20):
    t = time.perf_counter()
    subprocess.run(["identify", "-ping", "-format", "%w %h", sys.argv[1]], check=True, capture_output=True)
    d = (time.perf_counter() - t) * 1e6
    best = d if best is None else min(best, d)
print(f"{best:.0f}")
PY
)

# --- (1) 201 -> ready at $RATE uploads/s on Postgres + RabbitMQ.
psql -h 127.0.0.1 -U root -d test -qc "CREATE DATABASE $db" >/dev/null
"$bin" serve --http-addr 127.0.0.1:0 --catalog-grpc-addr 127.0.0.1:0 --admin-addr 127.0.0.1:0 --gateway-grpc-addr 127.0.0.1:0 \
    --database-url "postgres://root@127.0.0.1:5432/$db" --storage-dir "$work/objects" \
    --amqp-url "amqp://guest:guest@127.0.0.1:5672/%2f" --amqp-prefix "bench$$" \
    --addresses-file "$work/addresses.json" \
    --log-format json --log warn,assetd_gateway=info 2> "$work/assetd.log" &
pids+=($!)
# The addresses file appears, complete, once every listener is bound.
port=""
for _ in $(seq 1 200); do
    [ -s "$work/addresses.json" ] && port=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["http"].rsplit(":",1)[1])' "$work/addresses.json") && break
    sleep 0.1
done
[ -n "$port" ] || { echo "assetd did not start"; cat "$work/assetd.log"; exit 1; }
key=$("$bin" keys create --account bench --database-url "postgres://root@127.0.0.1:5432/$db" 2>/dev/null)
http_stats=$(python3 - "$port" "$key" "$RATE" "$SECS" "$root/tests/fixtures/hero.png" <<'PY'
import http.client, json, sys, threading, time
port, key, rate, secs, path = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
body = open(path, "rb").read()
lat, errors, lock = [], [0], threading.Lock()
def worker(offset, step, total):
    conn = http.client.HTTPConnection("127.0.0.1", port)
    start = time.monotonic()
    for i in range(offset, total, step):
        due = start + i / rate
        now = time.monotonic()
        if due > now:
            time.sleep(due - now)
        t = time.monotonic()
        try:
            conn.request("POST", "/v1/uploads", body, {"x-api-key": key, "x-file-name": f"b{i}.png", "content-type": "image/png"})
            r = conn.getresponse(); r.read()
            ok = r.status == 201
        except Exception:
            conn = http.client.HTTPConnection("127.0.0.1", port); ok = False
        with lock:
            (lat.append((time.monotonic() - t) * 1000) if ok else errors.__setitem__(0, errors[0] + 1))
total, threads = rate * secs, 16
ts = [threading.Thread(target=worker, args=(k, threads, total)) for k in range(threads)]
t0 = time.monotonic(); [t.start() for t in ts]; [t.join() for t in ts]
wall = time.monotonic() - t0
lat.sort()
q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] if lat else float("nan")
print(json.dumps({"sent": total, "created": len(lat), "errors": errors[0], "wall": wall, "rate": len(lat) / wall, "p50": q(0.5), "p99": q(0.99)}))
PY
)
# Wait for the probes to drain.
for _ in $(seq 1 600); do
    pending=$(psql -h 127.0.0.1 -U root -d "$db" -tAc "SELECT COUNT(*) FROM assets WHERE probe_status = 'pending'")
    [ "$pending" = 0 ] && break
    sleep 0.2
done
ready_stats=$(psql -h 127.0.0.1 -U root -d "$db" -tAc "
  SELECT json_build_object(
    'ready', COUNT(*) FILTER (WHERE probe_status = 'ready'),
    'failed', COUNT(*) FILTER (WHERE probe_status = 'failed'),
    'p50', percentile_cont(0.5) WITHIN GROUP (ORDER BY (updated_at - created_at) / 1000.0),
    'p99', percentile_cont(0.99) WITHIN GROUP (ORDER BY (updated_at - created_at) / 1000.0),
    'max', MAX((updated_at - created_at) / 1000.0))
  FROM assets")
psql -h 127.0.0.1 -U root -d test -qc "SELECT 1" >/dev/null

python3 - "$out" "$mp4_json" "$mp4_size" "$jpg_json" "$jpg_size" "$identify_best_us" "$http_stats" "$ready_stats" "$RATE" "$SECS" "$(git rev-parse --short HEAD)" "$(nproc)" "$(lscpu | sed -n 's/^Model name: *//p' | head -1)" "$(cat /proc/loadavg | cut -d' ' -f1-3)" <<'PY'
import json, sys, datetime
out, mp4, mp4_size, jpg, jpg_size, ident, http, ready, rate, secs, commit, nproc, cpu, load = sys.argv[1:]
mp4, jpg, http, ready = json.loads(mp4), json.loads(jpg), json.loads(http), json.loads(ready)
mib = 1 << 20
lines = f"""# assetd probe benchmark — results

Produced by `tests/bench/probe.sh` (overwritten by each run): `bash tests/bench/probe.sh`
(`SKIP_BUILD=1` to reuse the release build; `RATE`, `SECS`). Release build, one run; read the ratios.

| fact | value |
| --- | --- |
| date | {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC |
| git commit | {commit} |
| machine | {nproc} cores, {cpu}; load average at the end {load} |

## 1. Time from the 201 to `ready`, {rate} uploads/s of a 3.8 KiB PNG for {secs} s, Postgres + RabbitMQ

`assetd serve` (release) with `--database-url postgres://…` and `--amqp-url …`: every upload goes
through the outbox, the relay, RabbitMQ, the prober and the catalog. The time is the asset row's
`updated_at − created_at` (the row is created just before the 201 is sent; `updated_at` is set when
the probe result is recorded). Reference: the uploads' own HTTP latency, measured by the client in
the same run.

| what | p50 | p99 |
| --- | ---: | ---: |
| 201 → ready | **{ready['p50']:.1f} ms** | **{ready['p99']:.1f} ms** |
| upload HTTP latency (reference) | {http['p50']:.1f} ms | {http['p99']:.1f} ms |
| ratio | {ready['p50'] / http['p50']:.2f} | {ready['p99'] / http['p99']:.2f} |

Sent {http['sent']} uploads, {http['created']} answered 201, {http['errors']} errors; achieved
{http['rate']:.1f} uploads/s. Assets ready {ready['ready']}, failed {ready['failed']}; slowest
201 → ready {ready['max']:.1f} ms.

## 2. Bytes read to probe a 1 GiB MP4 with its moov box at the end

A real H.264 fixture's `ftyp` and `moov` around a 1 GiB (sparse) `mdat`, probed from a file through the
prober's budgeted range reader, {20} times.

| what | value |
| --- | ---: |
| file size | {int(mp4_size) / mib:.1f} MiB |
| found | {mp4['format']} {mp4['width']}x{mp4['height']}, {mp4['duration']} s |
| bytes read | **{mp4['bytes_read']} ({mp4['bytes_read'] / mib:.3f} MiB)** in {mp4['reads']} reads |
| share of the file read | {mp4['bytes_read'] / int(mp4_size) * 100:.4f} % |
| time (best / mean) | {mp4['best_us']:.0f} / {mp4['mean_us']:.0f} µs |

Target: ≤ 1 MiB → **{'PASS' if mp4['bytes_read'] <= mib else 'MISS'}**.

## 3. A 100-megapixel JPEG (10000 × 10000)

| what | value |
| --- | ---: |
| file size | {int(jpg_size) / mib:.1f} MiB |
| found | {jpg['format']} {jpg['width']}x{jpg['height']} |
| bytes read | {jpg['bytes_read']} in {jpg['reads']} reads |
| probe time (best / mean of 200) | **{jpg['best_us']:.0f} / {jpg['mean_us']:.0f} µs** |
| `identify -ping` on the same file, best of 20 (reference, whole process) | {int(ident)} µs |
| ratio probe / identify | {jpg['best_us'] / int(ident):.4f} |

Target: no pixel decode (only {jpg['bytes_read']} of {jpg_size} bytes are read), under 5 ms →
**{'PASS' if jpg['mean_us'] < 5000 else 'MISS'}**.
"""
open(out, "w").write(lines)
print(lines)
PY
