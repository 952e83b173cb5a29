#!/usr/bin/env bash
# templar serve against what a PyTorch user builds instead (FastAPI +
# uvicorn, one module per task: bench/serve/torch_server.py), side by side
# in one run on this machine, on loopback.  The same bank and tasks
# (bench_serve_make_tasks: the reference architecture, 1x28x28, width 64,
# 8 blocks, 4 templates, ten classes), single-image PNG requests, a task
# drawn at random per request (bench_serve_loadgen).
#
#   1. throughput, p50, p99 and errors at 1, 8 and 64 connections (closed
#      loop), with 1, 100 and 10,000 tasks loaded (PyTorch: 1, 100 and
#      1,000; 10,000 of its modules do not fit), and each server's RSS;
#      each server first warms up for WARM seconds (every task seen once)
#   2. both at the same offered load, open loop: 80 % of what PyTorch
#      managed with 100 tasks and 8 connections
#   3. templar for SOAK seconds at 80 % of its own saturation, 100 tasks
#   4. malformed requests (fuzz_requests.py), and PUT without the token
#
# Run from the repository root after `make build` (BUILD=build):
#   bench/serve/run.sh                   # SECS=10 per point, SOAK=300
#   SECS=3 SOAK=20 bench/serve/run.sh    # a quick look
# Packages: scripts/deps.sh bench (python3-torch, python3-fastapi,
# python3-uvicorn, python3-uvloop, python3-httptools, python3-pil).
set -euo pipefail
BUILD=${BUILD:-build}
PY=${PY:-/usr/bin/python3}
SECS=${SECS:-10}
SOAK=${SOAK:-300}
CACHE_MB=${CACHE_MB:-1536}
OUT=${OUT:-$BUILD/bench-serve}
HERE=$(cd "$(dirname "$0")" && pwd)
TEMPLAR=$(realpath "$BUILD/templar")
LOADGEN=$(realpath "$BUILD/bench_serve_loadgen")
TORCH_COUNTS=${TORCH_COUNTS:-"1 100 1000"}
TEMPLAR_COUNTS=${TEMPLAR_COUNTS:-"1 100 10000"}

echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
echo "# load before: $(cut -d' ' -f1-3 /proc/loadavg)"
mkdir -p "$OUT"
if [ ! -f "$OUT/bank.safetensors" ] || [ "$(ls "$OUT/tasks" 2>/dev/null | wc -l)" -lt 10000 ]; then
    echo "# writing the bank and 10,000 task files into $OUT"
    "$BUILD/bench_serve_make_tasks" "$OUT" 10000
fi
for n in 1 100 1000 10000; do
    if [ ! -d "$OUT/tasks-$n" ]; then
        mkdir -p "$OUT/tasks-$n"
        for ((i = 0; i < n; i++)); do printf -v f 't%05d.safetensors' "$i"; ln -s "../tasks/$f" "$OUT/tasks-$n/$f"; done
    fi
done
IMAGE=$OUT/image.png
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

# rss PID: KiB of the process and its children (uvicorn's workers)
rss() {
    local total=0 p
    for p in $1 $(pgrep -P "$1" || true); do
        total=$((total + $(awk '/^VmRSS/ { print $2 }' "/proc/$p/status" 2>/dev/null || echo 0)))
    done
    echo $total
}
field() { sed -n 's/.*"'"$1"'": *\([0-9.]*\).*/\1/p'; }
calc() { awk "BEGIN { printf \"%.${2:-3}f\", $1 }"; }

start_templar() { # N: sets PID PORT
    "$TEMPLAR" serve "$OUT/bank.safetensors" --tasks-dir "$OUT/tasks-$1" --listen 127.0.0.1:0 \
        --cache-mb "$CACHE_MB" --token-file "$OUT/token" >"$OUT/templar.out" 2>&1 &
    PID=$!
    PIDS+=("$PID")
    PORT=
    for _ in $(seq 1 600); do
        PORT=$(sed -n 's/^templar serve: listening on http:\/\/127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$OUT/templar.out")
        [ -n "$PORT" ] && return 0
        sleep 0.1
    done
    echo "templar serve did not start: $(cat "$OUT/templar.out")" >&2
    exit 1
}
start_torch() { # N: sets PID PORT
    PORT=$((20000 + RANDOM % 20000))
    (cd "$HERE" && TORCH_SERVE_BANK="$(realpath "$OUT/bank.safetensors")" TORCH_SERVE_TASKS="$(realpath "$OUT/tasks-$1")" \
        exec "$PY" torch_server.py --port "$PORT" --workers 2) >"$OUT/torch.out" 2>&1 &
    PID=$!
    PIDS+=("$PID")
    for _ in $(seq 1 3000); do
        curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && sleep 1 &&
            curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && return 0
        kill -0 "$PID" 2>/dev/null || break
        sleep 0.2
    done
    echo "the PyTorch server did not start: $(tail -5 "$OUT/torch.out")" >&2
    exit 1
}
stop() { kill -TERM "$PID"; wait "$PID" 2>/dev/null || true; }

load() { # PORT TASKS CONNECTIONS [RATE SECONDS]
    "$LOADGEN" --port "$1" --body "$IMAGE" --tasks "$2" --connections "$3" --rate "${4:-0}" \
        --seconds "${5:-$SECS}"
}

printf 'sesame\n' >"$OUT/token"
declare -A THR
echo
echo "| server | tasks | RSS idle MiB | connections | req/s | p50 ms | p99 ms | errors | RSS after MiB |"
echo "|---|---|---|---|---|---|---|---|---|"
WARM=${WARM:-5}
warm() { load "$PORT" "$1" 8 0 "$WARM" >/dev/null; } # N: every task seen, caches and lazy set-ups filled
point() { # NAME N
    local idle r
    idle=$(rss "$PID")
    warm "$2"
    for c in 1 8 64; do
        r=$(load "$PORT" "$2" "$c")
        THR[$1-$2-$c]=$(echo "$r" | field throughput)
        printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$1" "$2" "$(calc "$idle / 1024" 0)" "$c" \
            "$(echo "$r" | field throughput)" "$(echo "$r" | field p50_ms)" "$(echo "$r" | field p99_ms)" \
            "$(echo "$r" | field errors)" "$(calc "$(rss "$PID") / 1024" 0)"
    done
    RSS_AFTER[$1-$2]=$(rss "$PID")
}
declare -A RSS_AFTER
for n in $TEMPLAR_COUNTS; do start_templar "$n"; point templar "$n"; stop; done
for n in $TORCH_COUNTS; do start_torch "$n"; point pytorch "$n"; stop; done

echo
p100=${RSS_AFTER[pytorch-100]:-0} p1k=${RSS_AFTER[pytorch-1000]:-0}
[ "$p1k" -gt 0 ] && echo "PyTorch RSS from 100 to 1,000 tasks: $(((p1k - p100) * 1024 / 900)) bytes a task"
# templar's RSS against its task count with the cache full in every case
# (--cache-mb 512: 45 tasks' mixed weights, fewer than 100, so WARM seconds
# of requests fill it whatever the count); idle: before any request
declare -A IDLE FULL
for n in 100 1000 10000; do
    CACHE_MB=512 start_templar "$n"
    IDLE[$n]=$(rss "$PID")
    warm "$n"
    FULL[$n]=$(rss "$PID")
    stop
    echo "templar, $n tasks, --cache-mb 512: RSS $((IDLE[$n] / 1024)) MiB idle, $((FULL[$n] / 1024)) MiB after $WARM s of requests"
done
echo "templar RSS from 100 to 10,000 tasks: $(((IDLE[10000] - IDLE[100]) * 1024 / 9900)) bytes a task idle," \
    "$(((FULL[10000] - FULL[100]) * 1024 / 9900)) with the cache full (bar: 20 KB)"
a=${THR[templar-100-8]} b=${THR[pytorch-100-8]}
echo "throughput at 8 connections, 100 tasks: templar $a, PyTorch $b req/s: $(calc "$a / $b" 2)x (bar: 5x)"

# ---- the same offered load ------------------------------------------------------
rate=$(calc "$b * 0.8" 0)
echo
echo "same offered load, open loop: $rate req/s (80 % of PyTorch's 8-connection throughput), 8 connections, 100 tasks"
start_torch 100
warm 100
rt=$(load "$PORT" 100 8 "$rate")
stop
start_templar 100
warm 100
rtt=$(load "$PORT" 100 8 "$rate")
echo "  PyTorch: $rt"
echo "  templar: $rtt"
pt=$(echo "$rt" | field p99_ms) tt=$(echo "$rtt" | field p99_ms)
echo "  p99 templar/PyTorch: $(calc "$tt / $pt" 3) (bar: 0.2)"

# ---- a long run at 80 % of templar's saturation ------------------------------------
sat=$(load "$PORT" 100 8 | field throughput) # saturation now, the server warm
soak=$(calc "$sat * 0.8" 0)
echo
echo "templar for $SOAK s at $soak req/s (80 % of the $sat req/s it managed at 8 connections just before), 100 tasks:"
echo "  $(load "$PORT" 100 8 "$soak" "$SOAK")"

# ---- malformed requests, and the token ------------------------------------------------
echo
echo "malformed requests:"
echo "  $(python3 "$HERE/fuzz_requests.py" "$PORT" "$IMAGE" t00001 2000 || true)"
code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT --data-binary "@$OUT/tasks/t00001.safetensors" \
    "http://127.0.0.1:$PORT/v1/tasks/new")
echo "PUT without the token: $code"
stop
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
