#!/usr/bin/env bash
# Memory per open file, measured on the server as a user starts it (Release, RocksDb provider,
# logs at Warning so a million grants do not measure the console):
#   1. fill: FILES open files across HOLDERS holders (LoadGenerator --mode fill), then RSS
#      (/proc/PID/status VmRSS) and the managed heap after the last GC (the runtime metrics on the
#      metrics port: dotnet_gc_last_collection_heap_size_bytes summed over generations);
#   2. churn: CHURN more files opened and closed at once: memory must stay flat (closed files leave
#      memory);
#   3. restart on the same data directory: time until "listening", then RSS and heap again.
# Extra server arguments go in SERVER_ARGS; the runtime's settings in the environment (e.g.
# DOTNET_gcServer=0 for workstation GC). PORT (default 15111) and PORT+1 (metrics) are used.
# Usage: benchmarks/load/memory.sh [FILES=1000000] [HOLDERS=100000] [CHURN=200000]
set -euo pipefail
cd "$(dirname "$0")/../.."
FILES=${1:-1000000}
HOLDERS=${2:-100000}
CHURN=${3:-200000}
. benchmarks/load/common.sh

build_release src/LeaseService.Server benchmarks/LeaseService.LoadGenerator
SERVER=src/LeaseService.Server/bin/Release/net10.0/LeaseService.Server.dll
GEN=(dotnet benchmarks/LeaseService.LoadGenerator/bin/Release/net10.0/LeaseService.LoadGenerator.dll)
ADDRESS=127.0.0.1:${PORT:-15111}
METRICS=127.0.0.1:$(( ${PORT:-15111} + 1 ))

start_server() {
  local log=$1
  # shellcheck disable=SC2086
  dotnet "$SERVER" --urls "http://$ADDRESS" --Storage:Provider=RocksDb "--Storage:Path=$WORK/data" \
    "--Metrics:Url=http://$METRICS" --Serilog:MinimumLevel:Default=Warning ${SERVER_ARGS:-} >"$log" 2>&1 & PIDS+=($!); SERVER_PID=$!
  STARTED=$(date +%s.%N)
  for _ in $(seq 1 1200); do grep -q "listening on" "$log" 2>/dev/null && break; sleep 0.05; done
  grep -q "listening on" "$log" || { echo "the server did not start:" >&2; cat "$log" >&2; exit 1; }
  READY=$(date +%s.%N)
}

# report LABEL OPEN: RSS and managed heap, total and per open file.
report() {
  local label=$1 open=$2
  sleep 2 # Let the runtime metrics see the latest collection.
  local rss_kb heap metrics
  rss_kb=$(awk '/^VmRSS:/ { print $2 }' "/proc/$SERVER_PID/status")
  metrics=$(curl -s -m 10 "http://$METRICS/metrics")
  heap=$(grep '^dotnet_gc_last_collection_heap_size_bytes' <<<"$metrics" | awk '{ s += $NF } END { printf "%d", s }')
  local in_memory
  in_memory=$(grep -E '^leaseservice_files_in_memory(_total)?(\{| )' <<<"$metrics" | awk '{ print $NF }' | head -1)
  awk -v l="$label" -v r="$rss_kb" -v h="$heap" -v o="$open" -v m="${in_memory:-?}" 'BEGIN {
    printf "%-34s open=%d in_memory=%s RSS=%.1f MiB (%.0f B/open file) managed heap=%.1f MiB (%.0f B/open file)\n",
      l, o, m, r / 1024, (o > 0 ? r * 1024 / o : 0), h / 1048576, (o > 0 ? h / o : 0) }'
}

start_server "$WORK/server.log"
report "empty server" 0
"${GEN[@]}" --mode fill --target "http://$ADDRESS" --concurrency 64 --count "$FILES" --holders "$HOLDERS" --warmup 0
report "after fill" "$FILES"
"${GEN[@]}" --mode churn --target "http://$ADDRESS" --concurrency 32 --count "$CHURN" --warmup 0
report "after churn (+$CHURN closed files)" "$FILES"
"${GEN[@]}" --mode churn --target "http://$ADDRESS" --concurrency 32 --count "$CHURN" --warmup 0
report "after churn (+$((2 * CHURN)) closed files)" "$FILES"

kill -TERM "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
start_server "$WORK/restart.log"
awk -v a="$STARTED" -v b="$READY" 'BEGIN { printf "restart: process start until listening: %.2f s\n", b - a }'
report "after restart" "$FILES"
du -sb "$WORK/data" | awk -v f="$FILES" '{ printf "data directory: %d bytes\n", $1 }'
