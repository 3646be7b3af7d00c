#!/usr/bin/env bash
# A CPU profile of our server answering durable AddLease of new paths over gRPC (issue 10): the
# Release server on RocksDb (its data in a temp directory), warmed up, then LeaseService.LoadGenerator
# (--mode add, 64 in flight) for 10 s while `perf record -g -a` samples 6 s of it. Prints where the
# server's CPU samples land (benchmarks/profile/perf-summary.py). JIT-compiled frames are named
# through the runtime's perf map (DOTNET_PerfMapEnabled=1; W^X off so perf can read the code, and
# ReadyToRun off so framework code is JIT-compiled and named too).
# Needs perf (apt-get install -y linux-perf). Usage: benchmarks/profile/durable-add.sh [RocksDb|InMemory]
set -euo pipefail
cd "$(dirname "$0")/../.."
PROVIDER=${1:-RocksDb}
command -v perf >/dev/null || { echo "perf missing: apt-get install -y linux-perf" >&2; exit 1; }
# shellcheck source=benchmarks/load/common.sh
source benchmarks/load/common.sh
build_release src/LeaseService.Server benchmarks/LeaseService.LoadGenerator
URL=http://127.0.0.1:15191
DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0 DOTNET_ReadyToRun=0 Serilog__MinimumLevel__Default=Warning \
  dotnet src/LeaseService.Server/bin/Release/net10.0/LeaseService.Server.dll --urls "$URL" \
  "--Storage:Provider=$PROVIDER" "--Storage:Path=$WORK/data" --Metrics:Url=http://127.0.0.1:0 >"$WORK/server.log" 2>&1 & PIDS+=($!)
SERVER=$!
for _ in $(seq 1 300); do grep -q "listening on" "$WORK/server.log" 2>/dev/null && break; kill -0 "$SERVER" 2>/dev/null || break; sleep 0.1; done
grep -q "listening on" "$WORK/server.log" || { echo "the server did not start:" >&2; cat "$WORK/server.log" >&2; exit 1; }
GEN=(dotnet benchmarks/LeaseService.LoadGenerator/bin/Release/net10.0/LeaseService.LoadGenerator.dll --mode add --target "$URL" --concurrency 64)
"${GEN[@]}" --count 150000 >/dev/null # warm-up: the server's tiered JIT reaches steady code
"${GEN[@]}" --seconds 10 >"$WORK/load.txt" & LOAD=$!; PIDS+=("$LOAD")
sleep 2
perf record -F 999 -g -a -o "$WORK/perf.data" -- sleep 6 >/dev/null 2>&1
wait "$LOAD"
cat "$WORK/load.txt"
perf script -i "$WORK/perf.data" -F pid,tid,comm,ip,sym,dso 2>/dev/null >"$WORK/perf.txt"
/usr/bin/python3 benchmarks/profile/perf-summary.py "$WORK/perf.txt" "$SERVER" 30 60
