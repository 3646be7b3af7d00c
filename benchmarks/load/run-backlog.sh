#!/usr/bin/env bash
# Backlog of expired leases (issue 13): FILES files opened across FILES/10 holders on a real server
# process (RocksDb, real clock, default logging), left to expire together while LIVE holders keep
# renewing; how fast the monitor recovers them and what the live holders see meanwhile.
#   1. server A, default limits: the driver opens the files (and one per live holder); RSS
#      (/proc/PID/status VmRSS) and the managed heap (runtime metrics) per open file are read here,
#      before anything expires.
#   2. server A stops (SIGTERM); server B starts on the same data with soft 1 s / hard 2 s (or
#      SOFT/HARD): loading counts every lease as renewed at the load, so all of them pass the hard
#      limit together one hard limit later. The driver renews the live holders every 50 ms and
#      reads B's metrics until only the live files are open.
# Reports opens/s, recoveries/s, the peak backlog, RenewLease p50/p99/max of the live holders
# during the backlog, RSS and heap per open file, and the bytes of log B wrote during the backlog.
# Everything started here is stopped on exit.
# Usage: benchmarks/load/run-backlog.sh [files] [live-holders]
#   env: SOFT=00:00:01 HARD=00:00:02 LOG_LEVEL=Information EXTRA="--Leases:MonitorBatchSize=128 ..."
set -euo pipefail
cd "$(dirname "$0")/../.."
FILES=${1:-1000000}
LIVE=${2:-4}
SOFT=${SOFT:-00:00:01}
HARD=${HARD:-00:00:02}
LOG_LEVEL=${LOG_LEVEL:-Information}
read -r -a EXTRA <<<"${EXTRA:-}"
# shellcheck source=benchmarks/load/common.sh
source benchmarks/load/common.sh
build_release src/LeaseService.Server benchmarks/LeaseService.BacklogBenchmark

URL=http://127.0.0.1:15093
METRICS=http://127.0.0.1:15094
SERVER=src/LeaseService.Server/bin/Release/net10.0/LeaseService.Server.dll
DRIVER=(dotnet benchmarks/LeaseService.BacklogBenchmark/bin/Release/net10.0/LeaseService.BacklogBenchmark.dll)
export Serilog__MinimumLevel__Default="$LOG_LEVEL"
start_server() { # start_server NAME ARGS... -> PID in $SERVER_PID, log in $WORK/NAME.log
  local name=$1; shift
  dotnet "$SERVER" --urls "$URL" --Metrics:Url="$METRICS" --Storage:Provider=RocksDb "--Storage:Path=$WORK/data" "$@" "${EXTRA[@]}" >"$WORK/$name.log" 2>&1 &
  SERVER_PID=$!; PIDS+=("$SERVER_PID")
  for _ in $(seq 1 600); do grep -q "listening on" "$WORK/$name.log" 2>/dev/null && return; kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
  echo "server $name did not start:" >&2; cat "$WORK/$name.log" >&2; exit 1
}
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
metric() { # metric NAME -> its value summed over label sets
  curl -s -m 5 "$METRICS/metrics" | awk -v n="$1" '{ name = $1; sub(/\{.*/, "", name) } name == n { sum += $NF; found = 1 } END { if (found) printf "%.0f\n", sum }'
}
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2

start_server a
A=$SERVER_PID
EMPTY_RSS=$(rss_kib "$A")
"${DRIVER[@]}" open --target "$URL" --metrics "$METRICS" --files "$FILES" --live "$LIVE" | tee "$WORK/open.txt"
sleep 5 # Let the group commit and the GC settle before reading memory.
RSS=$(rss_kib "$A"); HEAP=$(metric dotnet_gc_last_collection_heap_size_bytes); OPEN=$(metric leaseservice_files_open)
awk -v rss="$RSS" -v empty="$EMPTY_RSS" -v heap="${HEAP:-0}" -v open="$OPEN" 'BEGIN {
  printf "memory before expiry: open_files=%d rss_mib=%.1f (empty server %.1f) rss_per_open_file_b=%.0f heap_mib=%.1f heap_per_open_file_b=%.0f\n",
    open, rss/1024, empty/1024, rss*1024/open, heap/1048576, heap/open }'
kill -TERM "$A"; wait "$A" 2>/dev/null || true

start_server b "--Leases:SoftLimit=$SOFT" "--Leases:HardLimit=$HARD"
B=$SERVER_PID
LOG_BEFORE=$(stat -c %s "$WORK/b.log")
"${DRIVER[@]}" backlog --target "$URL" --metrics "$METRICS" --files "$FILES" --live "$LIVE" | tee "$WORK/backlog.txt"
LOG_AFTER=$(stat -c %s "$WORK/b.log")
echo "log: b wrote $((LOG_AFTER - LOG_BEFORE)) bytes ($(grep -c 'Lease monitor pass' "$WORK/b.log") pass summaries) during the backlog at $LOG_LEVEL; rss after: $(( $(rss_kib "$B") / 1024 )) MiB"
grep -m 3 'Lease monitor pass' "$WORK/b.log" >&2 || true
echo "machine after: load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
