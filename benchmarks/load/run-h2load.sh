#!/usr/bin/env bash
# RenewLease over gRPC vs. a bare Kestrel HTTP/2 endpoint returning a fixed gRPC response,
# both measured in this run with the same h2load settings. Needs h2load (nghttp2-client).
# Usage: benchmarks/load/run-h2load.sh [requests] [clients] [streams-per-client]
set -euo pipefail
cd "$(dirname "$0")/../.."
REQUESTS=${1:-300000}
CLIENTS=${2:-8}
STREAMS=${3:-100}
command -v h2load >/dev/null || { echo "h2load missing: apt-get install -y nghttp2-client" >&2; exit 1; }
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

for project in src/LeaseService.Server benchmarks/LeaseService.LoadReference; do
  dotnet build -c Release -v q -nologo "$project" >"$WORK/build.log" 2>&1 || { cat "$WORK/build.log" >&2; exit 1; }
done

export Serilog__MinimumLevel__Default=Warning
dotnet src/LeaseService.Server/bin/Release/net10.0/LeaseService.Server.dll --urls http://127.0.0.1:5071 >"$WORK/server.log" 2>&1 & PIDS+=($!)
dotnet benchmarks/LeaseService.LoadReference/bin/Release/net10.0/LeaseService.LoadReference.dll --urls http://127.0.0.1:5072 >"$WORK/reference.log" 2>&1 & PIDS+=($!)
for log in server reference; do
  for _ in $(seq 1 100); do grep -q "listening on" "$WORK/$log.log" 2>/dev/null && break; sleep 0.1; done
done

python3 benchmarks/load/grpc_body.py "$WORK/add.bin" 1=load-holder 2=/load/file 3=load-machine
python3 benchmarks/load/grpc_body.py "$WORK/renew.bin" 1=load-holder
H=(-H 'content-type: application/grpc' -H 'te: trailers')

# Open the file (grants the lease) and prove a RenewLease answers grpc-status 0.
h2load -n 1 -c 1 "${H[@]}" -d "$WORK/add.bin" http://127.0.0.1:5071/leases.v1.LeaseService/AddLease >/dev/null
curl -s --http2-prior-knowledge "${H[@]}" --data-binary @"$WORK/renew.bin" -o /dev/null -D "$WORK/trailers" \
  http://127.0.0.1:5071/leases.v1.LeaseService/RenewLease
grep -qi '^grpc-status: 0' "$WORK/trailers" || { echo "RenewLease did not answer grpc-status 0:"; cat "$WORK/trailers"; exit 1; }

run() { # url -> requests/s
  h2load -n "$REQUESTS" -c "$CLIENTS" -m "$STREAMS" -t 1 "${H[@]}" -d "$WORK/renew.bin" "$1" >"$WORK/h2load.out"
  grep -q " 0 failed, 0 errored" "$WORK/h2load.out" || { cat "$WORK/h2load.out" >&2; exit 1; }
  awk '/finished in/ {print $4}' "$WORK/h2load.out"
}
# Warm up both (JIT, tiered PGO), then measure.
run http://127.0.0.1:5071/leases.v1.LeaseService/RenewLease >/dev/null
run http://127.0.0.1:5072/leases.v1.LeaseService/RenewLease >/dev/null
SERVER=$(run http://127.0.0.1:5071/leases.v1.LeaseService/RenewLease)
REFERENCE=$(run http://127.0.0.1:5072/leases.v1.LeaseService/RenewLease)
echo "settings: -n $REQUESTS -c $CLIENTS -m $STREAMS -t 1"
echo "RenewLease over gRPC:        $SERVER req/s"
echo "bare Kestrel reference:      $REFERENCE req/s"
awk -v s="$SERVER" -v r="$REFERENCE" 'BEGIN { printf "ratio:                       %.1f%% (target >= 60%%)\n", 100*s/r }'
