#!/usr/bin/env bash
# Restart time over gRPC, as a user runs the server (Release, RocksDb provider, logs at Warning):
# fill FILES open files across HOLDERS holders (LoadGenerator --mode fill, 256 in flight), SIGKILL
# the server, start it again on the same data directory and time process start until "listening"
# (the state is loaded and SERVING before Kestrel listens), then once more after a graceful stop
# (SIGTERM). Checks every file came back (leaseservice_files_open on the metrics port) and prints
# the bytes on disk per open file. Issue 10's target: 1,000,000 files / 100,000 holders ≤ 10 s.
# PORT (default 15421) and PORT+1 (metrics) are used.
# Usage: benchmarks/load/restart.sh [FILES=1000000] [HOLDERS=100000]
set -euo pipefail
cd "$(dirname "$0")/../.."
FILES=${1:-1000000}
HOLDERS=${2:-100000}
PORT=${PORT:-15421}
# shellcheck source=benchmarks/load/common.sh
source benchmarks/load/common.sh
build_release src/LeaseService.Server benchmarks/LeaseService.LoadGenerator
export Serilog__MinimumLevel__Default=Warning
URL=http://127.0.0.1:$PORT
METRICS=http://127.0.0.1:$((PORT + 1))
SERVER=(dotnet src/LeaseService.Server/bin/Release/net10.0/LeaseService.Server.dll --urls "$URL"
  --Storage:Provider=RocksDb "--Storage:Path=$WORK/data" "--Metrics:Url=$METRICS")

start_server() { # start_server LOG -> the PID in SERVER_PID, the seconds until listening in SECONDS_UNTIL_LISTENING
  local started
  started=$(date +%s.%N)
  "${SERVER[@]}" >"$1" 2>&1 & SERVER_PID=$!; PIDS+=("$SERVER_PID")
  for _ in $(seq 1 1200); do grep -q "listening on" "$1" 2>/dev/null && break; sleep 0.05; done
  grep -q "listening on" "$1" || { echo "server did not start:" >&2; cat "$1" >&2; exit 1; }
  SECONDS_UNTIL_LISTENING=$(echo "$(date +%s.%N) - $started" | bc)
}
open_files() { curl -s "$METRICS/metrics" | awk '/^leaseservice_files_open[{ ]/ { print $NF }'; }

start_server "$WORK/fill.log"
dotnet benchmarks/LeaseService.LoadGenerator/bin/Release/net10.0/LeaseService.LoadGenerator.dll \
  --mode fill --target "$URL" --concurrency 256 --count "$FILES" --holders "$HOLDERS" --warmup 0
kill -9 "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
bytes=$(du -sb "$WORK/data" | cut -f1)
echo "on disk after the fill: $bytes bytes, $((bytes / FILES)) bytes per open file"
for how in SIGKILL SIGTERM; do
  start_server "$WORK/restart-$how.log"
  files=$(open_files)
  echo "restart after $how: $SECONDS_UNTIL_LISTENING s until listening; open files $files; RSS $(awk '/VmRSS/ { printf "%.0f MiB", $2 / 1024 }' "/proc/$SERVER_PID/status")"
  [[ "$files" == "$FILES" ]] || { echo "expected $FILES open files after the restart, found $files" >&2; exit 1; }
  kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
done
