#!/usr/bin/env bash
# Fuzzes the HTTP API against its own OpenAPI document with schemathesis and every check it has:
# no 5xx, responses as documented (status codes, headers, bodies), schema-valid requests accepted
# and invalid ones refused, deleted resources gone, created ones available, and a stateful phase
# following the document's links. Settings (and the one documented exception) are in
# tests/schemathesis.toml. Needs network once (PyPI) for the venv.
#
#   tests/api-fuzz.sh                  # 30 examples per operation
#   MAX_EXAMPLES=200 tests/api-fuzz.sh # longer run
#   tests/api-fuzz.sh --phases=fuzzing # extra arguments go to `schemathesis run`
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
venv="$root/target/schemathesis-venv"
max_examples="${MAX_EXAMPLES:-30}"

if [[ ! -x "$venv/bin/schemathesis" ]]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet 'schemathesis==4.32.5'
fi
cargo build --quiet -p assetd
bin="${CARGO_TARGET_DIR:-$root/target}/debug/assetd"

data="$(mktemp -d "${TMPDIR:-/tmp}/assetd-fuzz.XXXXXX")"
db="sqlite://$data/assetd.db"
# Every listener on port 0 (picking free ports beforehand races other processes for them); the
# HTTP port is read back from the addresses file.
"$bin" serve \
    --http-addr 127.0.0.1:0 \
    --catalog-grpc-addr 127.0.0.1:0 \
    --gateway-grpc-addr 127.0.0.1:0 \
    --admin-addr 127.0.0.1:0 \
    --addresses-file "$data/addresses.json" \
    --database-url "$db" \
    --storage fs --storage-dir "$data/files" \
    --rate-limit-per-second 1000000 --rate-limit-burst 1000000 \
    --webhooks-per-account 10000 \
    >"$data/assetd.log" 2>&1 &
pid=$!
cleanup() {
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    rm -rf "$data"
}
trap cleanup EXIT

for _ in $(seq 1 300); do
    [[ -s "$data/addresses.json" ]] && break
    kill -0 "$pid" 2>/dev/null || { cat "$data/assetd.log"; exit 1; }
    sleep 0.1
done
[[ -s "$data/addresses.json" ]] || { cat "$data/assetd.log"; exit 1; }
http_port="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["http"].rsplit(":", 1)[1])' "$data/addresses.json")"
base="http://127.0.0.1:$http_port"
for _ in $(seq 1 300); do
    curl -fsS -o /dev/null "$base/openapi.json" 2>/dev/null && break
    sleep 0.1
done
key="$("$bin" keys create --account fuzz --database-url "$db" | tail -n 1)"

set +e
"$venv/bin/schemathesis" --config-file "$root/tests/schemathesis.toml" run "$base/openapi.json" \
    --header "x-api-key: $key" \
    --checks all \
    --max-examples "$max_examples" \
    "$@"
status=$?
set -e
if grep -Eq '"level":"ERROR"| ERROR ' "$data/assetd.log"; then
    echo "assetd logged errors:"
    grep -E '"level":"ERROR"| ERROR ' "$data/assetd.log" | head -n 20
fi
exit "$status"
