#!/usr/bin/env bash
# Durable opens against etcd 3.4 in the same run, through the same client stack
# (benchmarks/LeaseService.LoadGenerator on Grpc.Net.Client; etcd through its generated Lease client on the same channel setup):
#   etcd LeaseGrant            one etcd member, data directory in this run's temp directory
#   AddLease, RocksDb          our server on the default provider, data in the same temp directory:
#                              every call opens a new path and answers after its synced write
#   AddLease, InMemory         the same calls without storage (what durability costs)
#   RenewLease, RocksDb / InMemory  RenewLease of HOLDERS holders (never persisted)
# Each round runs every measurement once, interleaved, so the machine's load hits all alike.
# Needs etcd (apt-get install -y etcd-server). Everything started here is stopped on exit.
# PIN=1 puts etcd and both servers on CPU 0 and the generator on CPU 1 (taskset), so no server
# shares its core with the client: the nearest this 2-core machine comes to a client machine of
# its own. Unset, everything shares both cores.
# TRANSPORT=h2 drives every measurement through the generator's lean HTTP/2 client (a few µs of
# client CPU per call instead of Grpc.Net.Client's tens; CONNECTIONS connections, default 1), so
# the servers get the cores the client leaves: how the servers compare when the client is cheap.
# Usage: [PIN=1] [TRANSPORT=grpc|h2] [CONNECTIONS=1] benchmarks/load/run-durable.sh [calls-per-run] [concurrency] [rounds] [holders]
set -euo pipefail
cd "$(dirname "$0")/../.."
CALLS=${1:-20000}
CONCURRENCY=${2:-64}
ROUNDS=${3:-3}
HOLDERS=${4:-1000}
TRANSPORT=${TRANSPORT:-grpc}
CONNECTIONS=${CONNECTIONS:-1}
command -v etcd >/dev/null || { echo "etcd missing: apt-get install -y etcd-server" >&2; exit 1; }
# shellcheck source=benchmarks/load/common.sh
source benchmarks/load/common.sh
build_release src/LeaseService.Server benchmarks/LeaseService.LoadGenerator

SERVER_CPUS=(); CLIENT_CPUS=()
if [[ -n ${PIN:-} ]]; then SERVER_CPUS=(taskset -c 0); CLIENT_CPUS=(taskset -c 1); fi

ETCD=127.0.0.1:23791
ETCD_PEER=127.0.0.1:23801
ROCKSDB=127.0.0.1:15091
INMEM=127.0.0.1:15092
"${SERVER_CPUS[@]}" etcd --name perf --data-dir "$WORK/etcd" \
  --listen-client-urls "http://$ETCD" --advertise-client-urls "http://$ETCD" \
  --listen-peer-urls "http://$ETCD_PEER" --initial-advertise-peer-urls "http://$ETCD_PEER" \
  --initial-cluster "perf=http://$ETCD_PEER" --log-level warn >"$WORK/etcd.log" 2>&1 & PIDS+=($!)
declare -A PID=([etcd]=$!)
export Serilog__MinimumLevel__Default=Warning
SERVER=src/LeaseService.Server/bin/Release/net10.0/LeaseService.Server.dll
"${SERVER_CPUS[@]}" dotnet "$SERVER" --urls "http://$ROCKSDB" --Storage:Provider=RocksDb "--Storage:Path=$WORK/rocksdb" --Metrics:Url=http://127.0.0.1:0 >"$WORK/rocksdb.log" 2>&1 & PIDS+=($!); PID[rocksdb]=$!
"${SERVER_CPUS[@]}" dotnet "$SERVER" --urls "http://$INMEM" --Storage:Provider=InMemory --Metrics:Url=http://127.0.0.1:0 >"$WORK/inmem.log" 2>&1 & PIDS+=($!); PID[inmem]=$!
for log in rocksdb inmem; do
  for _ in $(seq 1 300); do grep -q "listening on" "$WORK/$log.log" 2>/dev/null && break; sleep 0.1; done
  grep -q "listening on" "$WORK/$log.log" || { echo "$log did not start:" >&2; cat "$WORK/$log.log" >&2; exit 1; }
done
for _ in $(seq 1 300); do curl -s -m 1 "http://$ETCD/health" 2>/dev/null | grep -q '"health":"true"' && break; sleep 0.1; done
curl -s -m 1 "http://$ETCD/health" | grep -q '"health":"true"' || { echo "etcd did not start:" >&2; cat "$WORK/etcd.log" >&2; exit 1; }

GEN=("${CLIENT_CPUS[@]}" dotnet benchmarks/LeaseService.LoadGenerator/bin/Release/net10.0/LeaseService.LoadGenerator.dll)
MEASURES=(etcd add-rocksdb add-inmem renew-rocksdb renew-inmem)
declare -A NAME=([etcd]="etcd 3.4 LeaseGrant" [add-rocksdb]="AddLease new paths, RocksDb" [add-inmem]="AddLease new paths, InMemory"
                 [renew-rocksdb]="RenewLease, RocksDb" [renew-inmem]="RenewLease, InMemory")
measure() { # measure [calls] -> the generator's result line
  local args
  case $1 in
    etcd) args=(--mode etcd --target "http://$ETCD") ;;
    add-rocksdb) args=(--mode add --target "http://$ROCKSDB") ;;
    add-inmem) args=(--mode add --target "http://$INMEM") ;;
    renew-rocksdb) args=(--mode renew --target "http://$ROCKSDB" --holders "$HOLDERS") ;;
    renew-inmem) args=(--mode renew --target "http://$INMEM" --holders "$HOLDERS") ;;
  esac
  timeout 600 "${GEN[@]}" "${args[@]}" --concurrency "$CONCURRENCY" --count "${2:-$CALLS}" --transport "$TRANSPORT" --connections "$CONNECTIONS"
}
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; } # user + system CPU of a process, in clock ticks
server_of() { case $1 in etcd) echo etcd ;; *-rocksdb) echo rocksdb ;; *) echo inmem ;; esac; }
HZ=$(getconf CLK_TCK)
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p"; } # key -> value from a result line

# Server CPU µs per call: the server's (or etcd's) user + system CPU over the run / calls; the
# generator reports its own (client_cpu_us). Both less sensitive to the machine's other load.
# A warm-up round, not recorded, of three runs' calls per measurement: the servers' tiered JIT
# (with PGO) needs more than one run to reach steady code on busy cores (server CPU per call kept
# falling over the first 100k calls here).
for m in "${MEASURES[@]}"; do measure "$m" $((CALLS * 3)) >/dev/null; done
declare -A RPS P50 P90 P99 MAX SCPU CCPU
for r in $(seq 1 "$ROUNDS"); do
  for m in "${MEASURES[@]}"; do
    pid=${PID[$(server_of "$m")]}
    before=$(ticks "$pid")
    line=$(measure "$m")
    after=$(ticks "$pid")
    echo "round $r $m: $line" >&2
    SCPU[$m]+="$(awk -v a="$before" -v b="$after" -v hz="$HZ" -v line="$line" 'BEGIN { match(line, /calls=[0-9]+/); n = substr(line, RSTART+6, RLENGTH-6); printf "%.1f", (b-a)/hz*1e6/n }') "
    CCPU[$m]+="$(field client_cpu_us <<<"$line") "
    RPS[$m]+="$(field rps <<<"$line") "; P50[$m]+="$(field p50_ms <<<"$line") "; P90[$m]+="$(field p90_ms <<<"$line") "
    P99[$m]+="$(field p99_ms <<<"$line") "; MAX[$m]+="$(field max_ms <<<"$line") "
  done
done

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR]=$1 } END { m = NR % 2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2; printf "%s", m }'; }
range() { printf '%s\n' "$@" | sort -g | awk '{ v[NR]=$1 } END { printf "%s–%s", v[1], v[NR] }'; }
echo "calls per run $CALLS, concurrency $CONCURRENCY, $ROUNDS rounds, holders $HOLDERS, transport $TRANSPORT ($CONNECTIONS connection(s)); $(etcd --version | head -1); load before: $(cut -d' ' -f1-3 /proc/loadavg); $([[ -n ${PIN:-} ]] && echo "servers on CPU 0, generator on CPU 1" || echo "servers and generator share both CPUs")"
echo "medians over the rounds; server CPU = the server's or etcd's CPU per call, client CPU = the generator's"
printf '%-30s %-24s %-9s %-9s %-9s %-9s %-16s %-16s\n' "measurement" "req/s median (range)" "p50 ms" "p90 ms" "p99 ms" "max ms" "server CPU µs" "client CPU µs"
for m in "${MEASURES[@]}"; do
  # shellcheck disable=SC2086
  printf '%-30s %-24s %-9s %-9s %-9s %-9s %-16s %-16s\n' "${NAME[$m]}" "$(median ${RPS[$m]}) ($(range ${RPS[$m]}))" \
    "$(median ${P50[$m]})" "$(median ${P90[$m]})" "$(median ${P99[$m]})" "$(median ${MAX[$m]})" \
    "$(median ${SCPU[$m]}) ($(range ${SCPU[$m]}))" "$(median ${CCPU[$m]})"
done
ratio() { paste -d' ' <(printf '%s\n' $1) <(printf '%s\n' $2) | awk '{ printf "%.2f\n", $1/$2 }'; }
# shellcheck disable=SC2046
echo "AddLease RocksDb / etcd LeaseGrant, per round: $(ratio "${RPS[add-rocksdb]}" "${RPS[etcd]}" | tr '\n' ' ')(median $(median $(ratio "${RPS[add-rocksdb]}" "${RPS[etcd]}"))×, target >= 3×)"
# shellcheck disable=SC2046
echo "RenewLease RocksDb / InMemory, per round: $(ratio "${RPS[renew-rocksdb]}" "${RPS[renew-inmem]}" | tr '\n' ' ')(median $(median $(ratio "${RPS[renew-rocksdb]}" "${RPS[renew-inmem]}"))×)"
