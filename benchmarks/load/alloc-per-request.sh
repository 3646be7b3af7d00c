#!/usr/bin/env bash
# Managed bytes allocated per RenewLease in the server process, for the server and the
# Grpc.AspNetCore reference (and BASELINE_DLL, another server build, when set): the runtime's
# dotnet.gc.heap.total_allocated counter read with dotnet-counters over one h2load run of
# REQUESTS calls, divided by REQUESTS (idle allocation of the few seconds around it included, so
# a slight overestimate). Unlike req/s this does not depend on the machine's other load.
# Needs h2load and dotnet-counters (dotnet tool install --tool-path DIR dotnet-counters; put DIR
# on PATH or set DOTNET_COUNTERS). Everything started here is stopped on exit.
# Usage: benchmarks/load/alloc-per-request.sh [requests] [collect-seconds]
set -euo pipefail
cd "$(dirname "$0")/../.."
REQUESTS=${1:-200000}
COLLECT_SECONDS=${2:-30} # must cover the measured h2load run
COUNTERS=${DOTNET_COUNTERS:-dotnet-counters}
command -v h2load >/dev/null || { echo "h2load missing: apt-get install -y nghttp2-client" >&2; exit 1; }
command -v "$COUNTERS" >/dev/null || { echo "dotnet-counters missing (see the header)" >&2; exit 1; }
# shellcheck source=benchmarks/load/common.sh
source benchmarks/load/common.sh
build_release src/LeaseService.Server benchmarks/LeaseService.GrpcReference
export Serilog__MinimumLevel__Default=Warning
python3 benchmarks/load/grpc_body.py "$WORK/add.bin" 1=load-holder 2=/load/file 3=load-machine
python3 benchmarks/load/grpc_body.py "$WORK/renew.bin" 1=load-holder
H=(-H 'content-type: application/grpc' -H 'te: trailers')

# Called as a command, not in $(...): a command substitution runs it in a subshell without set -e
# and without the EXIT trap, so a failed measurement printed a blank number, the script went on and
# exited 0, and the server it started was left running.
measure() { # name port command... -> bytes per request in BYTES
  local name=$1 port=$2; shift 2
  "$@" --urls "http://127.0.0.1:$port" >"$WORK/$name.log" 2>&1 & PIDS+=($!)
  local pid=$!
  for _ in $(seq 1 300); do grep -q "listening on" "$WORK/$name.log" 2>/dev/null && break; kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  grep -q "listening on" "$WORK/$name.log" || { echo "$name did not start:" >&2; cat "$WORK/$name.log" >&2; exit 1; }
  timeout 30 h2load -n 1 -c 1 "${H[@]}" -d "$WORK/add.bin" "http://127.0.0.1:$port/leases.v1.LeaseService/AddLease" >/dev/null
  local url="http://127.0.0.1:$port/leases.v1.LeaseService/RenewLease"
  timeout 300 h2load -n "$REQUESTS" -c 8 -m 100 -t 1 "${H[@]}" -d "$WORK/renew.bin" "$url" >/dev/null # warm-up
  # The session writes its file when its duration ends; the run must finish within it.
  timeout 120 "$COUNTERS" collect -p "$pid" --counters 'System.Runtime[dotnet.gc.heap.total_allocated]' \
    --refresh-interval 1 --format csv --duration "00:00:00:$COLLECT_SECONDS" -o "$WORK/$name.csv" >/dev/null 2>&1 & PIDS+=($!)
  local counters=$!
  sleep 2
  timeout 300 h2load -n "$REQUESTS" -c 8 -m 100 -t 1 "${H[@]}" -d "$WORK/renew.bin" "$url" >"$WORK/h2load.out"
  grep -q " 0 failed, 0 errored" "$WORK/h2load.out" || { cat "$WORK/h2load.out" >&2; exit 1; }
  wait "$counters" || true
  kill "$pid"; wait "$pid" 2>/dev/null || true
  [ -s "$WORK/$name.csv" ] || { echo "dotnet-counters wrote nothing for $name" >&2; exit 1; }
  # Rows: timestamp, provider, counter, type, value (bytes allocated in that interval).
  BYTES=$(awk -F, -v n="$REQUESTS" '/total_allocated/ { s += $NF } END { printf "%.0f", s / n }' "$WORK/$name.csv")
}

SERVER=src/LeaseService.Server/bin/Release/net10.0/LeaseService.Server.dll
echo "bytes allocated per RenewLease, $REQUESTS requests (h2load -c 8 -m 100)"
measure grpc 15084 dotnet benchmarks/LeaseService.GrpcReference/bin/Release/net10.0/LeaseService.GrpcReference.dll
echo "Grpc.AspNetCore reference:  $BYTES"
measure inmem 15085 dotnet "$SERVER" --Storage:Provider=InMemory --Metrics:Url=http://127.0.0.1:0
echo "server, InMemory:           $BYTES"
measure nometrics 15086 dotnet "$SERVER" --Storage:Provider=InMemory --Metrics:Url=
echo "server, InMemory, no metrics endpoint: $BYTES"
if [ -n "${BASELINE_DLL:-}" ]; then
  measure baseline 15087 dotnet "$BASELINE_DLL" --Storage:Provider=InMemory --Metrics:Url=http://127.0.0.1:0
  echo "BASELINE_DLL, InMemory:     $BYTES"
fi
