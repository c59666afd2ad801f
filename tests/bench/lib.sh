# Shell helpers the benchmark and soak scripts share; sourced, not run.

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "FATAL: $*"; exit 1; }

# A free TCP port below Linux's ephemeral range (32768-60999), so no client socket of a load
# generator holds it; for ports a script must know before starting assetd (to pass to other
# roles, or to keep across restarts). Otherwise bind :0 and read --addresses-file (http_port).
free_port() {
    local p
    for _ in $(seq 200); do
        p=$((10000 + RANDOM % 22000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
    done
    die "no free port found"
}

# http_port FILE: the gateway HTTP port from an --addresses-file (written once every listener is bound).
http_port() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["http"].rsplit(":", 1)[1])' "$1"; }
