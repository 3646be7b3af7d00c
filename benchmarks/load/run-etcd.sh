#!/usr/bin/env bash
# The etcd provider against etcd itself, same run, same etcd, same client stack
# (benchmarks/LeaseService.LoadGenerator on Grpc.Net.Client; etcd through its generated Lease client on the same channel setup):
#   etcd LeaseGrant             straight to etcd (TTL 1 h)
#   AddLease, Etcd provider     our server as the active replica on the same etcd: every call opens
#                               a new path and answers after its guarded transaction committed
#                               (concurrent calls share a transaction, up to 128 keys)
# MEMBERS etcd members (default 1; 3 for a real cluster) on loopback, data in this run's temp
# directory. Rounds interleave both measurements. Everything started here is stopped on exit.
# Usage: benchmarks/load/run-etcd.sh [calls-per-run] [concurrency] [rounds] [members]
set -euo pipefail
cd "$(dirname "$0")/../.."
CALLS=${1:-20000}
CONCURRENCY=${2:-64}
ROUNDS=${3:-3}
MEMBERS=${4:-1}
command -v etcd >/dev/null || { echo "etcd missing: apt-get install -y etcd-server" >&2; exit 1; }
# shellcheck source=benchmarks/load/common.sh
source benchmarks/load/common.sh
build_release src/LeaseService.Server benchmarks/LeaseService.LoadGenerator

SERVER_URL=127.0.0.1:15133
cluster=""
endpoints=""
for i in $(seq 0 $((MEMBERS - 1))); do
  cluster+="${cluster:+,}m$i=http://127.0.0.1:$((23811 + i))"
  endpoints+="${endpoints:+,}http://127.0.0.1:$((23791 + i))"
done
for i in $(seq 0 $((MEMBERS - 1))); do
  client=127.0.0.1:$((23791 + i)); peer=127.0.0.1:$((23811 + i))
  etcd --name "m$i" --data-dir "$WORK/etcd-$i" \
    --listen-client-urls "http://$client" --advertise-client-urls "http://$client" \
    --listen-peer-urls "http://$peer" --initial-advertise-peer-urls "http://$peer" \
    --initial-cluster "$cluster" --initial-cluster-token "perf-$$" --log-level warn >"$WORK/etcd-$i.log" 2>&1 & PIDS+=($!)
done
ETCD_PIDS=("${PIDS[@]}")
for _ in $(seq 1 300); do curl -s -m 1 "http://127.0.0.1:23791/health" 2>/dev/null | grep -q '"health":"true"' && break; sleep 0.1; done
curl -s -m 1 "http://127.0.0.1:23791/health" | grep -q '"health":"true"' || { echo "etcd did not start:" >&2; cat "$WORK"/etcd-*.log >&2; exit 1; }

export Serilog__MinimumLevel__Default=Warning
SERVER=src/LeaseService.Server/bin/Release/net10.0/LeaseService.Server.dll
dotnet "$SERVER" --urls "http://$SERVER_URL" --Storage:Provider=Etcd "--Storage:Etcd:Endpoints=$endpoints" \
  "--Storage:Etcd:Prefix=/perf-$$/" "--Cluster:AdvertiseUrl=http://$SERVER_URL" --Metrics:Url=http://127.0.0.1:0 >"$WORK/server.log" 2>&1 & PIDS+=($!)
SERVER_PID=$!
for _ in $(seq 1 300); do grep -q "listening on" "$WORK/server.log" 2>/dev/null && break; sleep 0.1; done
grep -q "listening on" "$WORK/server.log" || { echo "server did not start:" >&2; cat "$WORK/server.log" >&2; exit 1; }

GEN=(dotnet benchmarks/LeaseService.LoadGenerator/bin/Release/net10.0/LeaseService.LoadGenerator.dll)
measure() { # measure etcd|add -> the generator's result line
  case $1 in
    etcd) timeout 600 "${GEN[@]}" --mode etcd --target "http://127.0.0.1:23791" --concurrency "$CONCURRENCY" --count "$CALLS" ;;
    add)
      # The replica serves once elected and loaded: retry the first run until it answers.
      for _ in $(seq 1 100); do
        timeout 600 "${GEN[@]}" --mode add --target "http://$SERVER_URL" --concurrency "$CONCURRENCY" --count "$CALLS" && return 0
        sleep 0.2
      done
      return 1 ;;
  esac
}
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
etcd_ticks() { local t=0; for p in "${ETCD_PIDS[@]}"; do t=$((t + $(ticks "$p"))); done; echo "$t"; }
HZ=$(getconf CLK_TCK)
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p"; }

for m in etcd add; do measure "$m" >/dev/null 2>&1; done # Warm-up, not recorded.
declare -A RPS P50 P99 SCPU ECPU
for r in $(seq 1 "$ROUNDS"); do
  for m in etcd add; do
    sb=$(ticks "$SERVER_PID"); eb=$(etcd_ticks)
    line=$(measure "$m")
    sa=$(ticks "$SERVER_PID"); ea=$(etcd_ticks)
    echo "round $r $m: $line" >&2
    n=$(field calls <<<"$line")
    SCPU[$m]+="$(awk -v a="$sb" -v b="$sa" -v hz="$HZ" -v n="$n" 'BEGIN { printf "%.1f", (b-a)/hz*1e6/n }') "
    ECPU[$m]+="$(awk -v a="$eb" -v b="$ea" -v hz="$HZ" -v n="$n" 'BEGIN { printf "%.1f", (b-a)/hz*1e6/n }') "
    RPS[$m]+="$(field rps <<<"$line") "; P50[$m]+="$(field p50_ms <<<"$line") "; P99[$m]+="$(field p99_ms <<<"$line") "
  done
done

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR]=$1 } END { m = NR % 2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2; printf "%s", m }'; }
range() { printf '%s\n' "$@" | sort -g | awk '{ v[NR]=$1 } END { printf "%s–%s", v[1], v[NR] }'; }
echo "calls per run $CALLS, concurrency $CONCURRENCY, $ROUNDS rounds, $MEMBERS etcd member(s); $(etcd --version | head -1); load before: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-32s %-24s %-9s %-9s %-18s %-18s\n' "measurement" "req/s median (range)" "p50 ms" "p99 ms" "etcd CPU µs/call" "server CPU µs/call"
declare -A NAME=([etcd]="etcd 3.4 LeaseGrant" [add]="AddLease new paths, Etcd provider")
for m in etcd add; do
  # shellcheck disable=SC2086
  printf '%-32s %-24s %-9s %-9s %-18s %-18s\n' "${NAME[$m]}" "$(median ${RPS[$m]}) ($(range ${RPS[$m]}))" \
    "$(median ${P50[$m]})" "$(median ${P99[$m]})" "$(median ${ECPU[$m]})" "$(median ${SCPU[$m]})"
done
ratio() { paste -d' ' <(printf '%s\n' $1) <(printf '%s\n' $2) | awk '{ printf "%.2f\n", $1/$2 }'; }
# shellcheck disable=SC2046
echo "AddLease on Etcd / etcd LeaseGrant, per round: $(ratio "${RPS[add]}" "${RPS[etcd]}" | tr '\n' ' ')(median $(median $(ratio "${RPS[add]}" "${RPS[etcd]}"))×, target >= 1×)"
