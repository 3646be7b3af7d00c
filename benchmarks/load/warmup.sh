#!/usr/bin/env bash
# How fast the server reaches steady code when it has one CPU and no pause in its load (a container
# limited to one CPU, a standby that takes over under full load): the Release server on RocksDb
# pinned to CPU 0, the generator on CPU 1, durable AddLease of new paths (LoadGenerator --mode add),
# RUNS runs of CALLS calls back to back from a fresh start (the gap between runs, a new generator
# process, is well under a second); prints req/s and the server's CPU per call for each run. Once
# per setting, each on a fresh server, in the order given by ORDER (default "default image"):
#   default    the .NET runtime's defaults
#   image      DOTNET_TC_CallCountingDelayMs=0, as the container image sets it (docker/Dockerfile)
# With one CPU the runtime starts counting calls toward optimized (tier-1, PGO) code only after a
# full second without new tier-0 JIT activity; under steady load something new keeps being
# compiled, so the hot path can stay at tier 0 for a long time (docs/PERFORMANCE.md). Any pause of
# a second lets it through, which is why this measures with no pause between runs.
# Usage: [ORDER="image default"] benchmarks/load/warmup.sh [RUNS=8] [CALLS=30000] [CONCURRENCY=256]
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${1:-8}
CALLS=${2:-30000}
CONCURRENCY=${3:-256}
# shellcheck source=benchmarks/load/common.sh
source benchmarks/load/common.sh
unset DOTNET_TC_CallCountingDelayMs # set per server below
build_release src/LeaseService.Server benchmarks/LeaseService.LoadGenerator
export Serilog__MinimumLevel__Default=Warning
declare -A ENV=([default]="" [image]="DOTNET_TC_CallCountingDelayMs=0")
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)
echo "runs of $CALLS durable AddLease back to back, $CONCURRENCY in flight, server on CPU 0, generator on CPU 1; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for s in ${ORDER:-default image}; do
  [[ -v "ENV[$s]" ]] || { echo "unknown setting $s (default, image)" >&2; exit 2; }
  # shellcheck disable=SC2086
  env ${ENV[$s]} taskset -c 0 dotnet src/LeaseService.Server/bin/Release/net10.0/LeaseService.Server.dll \
    --urls http://127.0.0.1:15431 --Storage:Provider=RocksDb "--Storage:Path=$WORK/$s" \
    --Metrics:Url=http://127.0.0.1:0 >"$WORK/$s.log" 2>&1 & PIDS+=($!); pid=$!
  for _ in $(seq 1 300); do grep -q "listening on" "$WORK/$s.log" 2>/dev/null && break; sleep 0.1; done
  grep -q "listening on" "$WORK/$s.log" || { echo "$s did not start:" >&2; cat "$WORK/$s.log" >&2; exit 1; }
  echo "$s${ENV[$s]:+ (${ENV[$s]})}"
  for r in $(seq 1 "$RUNS"); do
    before=$(ticks "$pid")
    line=$(taskset -c 1 dotnet benchmarks/LeaseService.LoadGenerator/bin/Release/net10.0/LeaseService.LoadGenerator.dll \
      --mode add --target http://127.0.0.1:15431 --concurrency "$CONCURRENCY" --count "$CALLS" --warmup 0)
    after=$(ticks "$pid")
    printf '  run %-3s %6s req/s  %6.1f µs server CPU per call\n' "$r" "$(sed -n 's/.* rps=\([0-9]*\).*/\1/p' <<<"$line")" \
      "$(echo "($after - $before) / $HZ * 1000000 / $CALLS" | bc -l)"
  done
  kill "$pid"; wait "$pid" 2>/dev/null || true
done
