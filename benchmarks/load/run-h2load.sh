#!/usr/bin/env bash
# RenewLease over gRPC against two references, all measured in this run with the same h2load
# settings, interleaved round by round so the machine's load hits every target alike:
#   kestrel  bare Kestrel HTTP/2 answering every POST with one fixed framed response (LoadReference)
#   grpc     Grpc.AspNetCore with the same proto contract and a minimal RenewLease (GrpcReference)
#   inmem    our server, --Storage:Provider=InMemory
#   rocksdb  our server, the default RocksDb provider in a temp directory
# Each round measures throughput (-n REQUESTS -c CLIENTS -m STREAMS) and single-connection latency
# (-n LATENCY_REQUESTS -c 1 -m 1, mean time per request) of every target. Needs h2load
# (nghttp2-client). Everything started here is stopped on exit; every h2load run is bounded.
# Optional extra targets, measured in the same rounds:
#   BASELINE_DLL=/path/LeaseService.Server.dll  another build of the server (InMemory), e.g. the
#                                               commit before a change, built elsewhere
#   WITH_NOMETRICS=1                            our server, InMemory, metrics endpoint off
#                                               (--Metrics:Url=): what metrics cost per call
# Usage: benchmarks/load/run-h2load.sh [requests] [clients] [streams-per-client] [rounds] [latency-requests]
set -euo pipefail
cd "$(dirname "$0")/../.."
REQUESTS=${1:-300000}
CLIENTS=${2:-8}
STREAMS=${3:-100}
ROUNDS=${4:-5}
LATENCY_REQUESTS=${5:-20000}
command -v h2load >/dev/null || { echo "h2load missing: apt-get install -y nghttp2-client" >&2; exit 1; }
# shellcheck source=benchmarks/load/common.sh
source benchmarks/load/common.sh
build_release src/LeaseService.Server benchmarks/LeaseService.LoadReference benchmarks/LeaseService.GrpcReference

# Our servers keep the metrics exporter listening (a free port), as deployed; logs at Warning.
export Serilog__MinimumLevel__Default=Warning
SERVER=src/LeaseService.Server/bin/Release/net10.0/LeaseService.Server.dll
TARGETS=(kestrel grpc inmem rocksdb)
declare -A PORT=([kestrel]=15072 [grpc]=15074 [inmem]=15071 [rocksdb]=15073)
declare -A NAME=([kestrel]="bare Kestrel (LoadReference)" [grpc]="Grpc.AspNetCore minimal (GrpcReference)"
                 [inmem]="RenewLease, InMemory" [rocksdb]="RenewLease, RocksDb")
declare -A PID
dotnet benchmarks/LeaseService.LoadReference/bin/Release/net10.0/LeaseService.LoadReference.dll --urls "http://127.0.0.1:${PORT[kestrel]}" >"$WORK/kestrel.log" 2>&1 & PIDS+=($!); PID[kestrel]=$!
dotnet benchmarks/LeaseService.GrpcReference/bin/Release/net10.0/LeaseService.GrpcReference.dll --urls "http://127.0.0.1:${PORT[grpc]}" >"$WORK/grpc.log" 2>&1 & PIDS+=($!); PID[grpc]=$!
dotnet "$SERVER" --urls "http://127.0.0.1:${PORT[inmem]}" --Storage:Provider=InMemory --Metrics:Url=http://127.0.0.1:0 >"$WORK/inmem.log" 2>&1 & PIDS+=($!); PID[inmem]=$!
dotnet "$SERVER" --urls "http://127.0.0.1:${PORT[rocksdb]}" --Storage:Provider=RocksDb "--Storage:Path=$WORK/rocksdb" --Metrics:Url=http://127.0.0.1:0 >"$WORK/rocksdb.log" 2>&1 & PIDS+=($!); PID[rocksdb]=$!
if [ -n "${BASELINE_DLL:-}" ]; then
  TARGETS+=(baseline); PORT[baseline]=15075; NAME[baseline]="RenewLease, InMemory, BASELINE_DLL"
  dotnet "$BASELINE_DLL" --urls "http://127.0.0.1:${PORT[baseline]}" --Storage:Provider=InMemory --Metrics:Url=http://127.0.0.1:0 >"$WORK/baseline.log" 2>&1 & PIDS+=($!); PID[baseline]=$!
fi
if [ -n "${WITH_NOMETRICS:-}" ]; then
  TARGETS+=(nometrics); PORT[nometrics]=15076; NAME[nometrics]="RenewLease, InMemory, metrics off"
  dotnet "$SERVER" --urls "http://127.0.0.1:${PORT[nometrics]}" --Storage:Provider=InMemory --Metrics:Url= >"$WORK/nometrics.log" 2>&1 & PIDS+=($!); PID[nometrics]=$!
fi
SERVERS=()
for t in "${TARGETS[@]}"; do case $t in kestrel|grpc) ;; *) SERVERS+=("$t") ;; esac; done
for t in "${TARGETS[@]}"; do
  for _ in $(seq 1 300); do grep -q "listening on" "$WORK/$t.log" 2>/dev/null && break; sleep 0.1; done
  grep -q "listening on" "$WORK/$t.log" || { echo "$t did not start:" >&2; cat "$WORK/$t.log" >&2; exit 1; }
done

python3 benchmarks/load/grpc_body.py "$WORK/add.bin" 1=load-holder 2=/load/file 3=load-machine
python3 benchmarks/load/grpc_body.py "$WORK/renew.bin" 1=load-holder
H=(-H 'content-type: application/grpc' -H 'te: trailers')
url() { echo "http://127.0.0.1:${PORT[$1]}/leases.v1.LeaseService/RenewLease"; }

# Open the file on both servers (grants the lease) and prove every target answers grpc-status 0.
for t in "${SERVERS[@]}"; do
  timeout 30 h2load -n 1 -c 1 "${H[@]}" -d "$WORK/add.bin" "http://127.0.0.1:${PORT[$t]}/leases.v1.LeaseService/AddLease" >/dev/null
done
for t in "${TARGETS[@]}"; do
  curl -s -m 10 --http2-prior-knowledge "${H[@]}" --data-binary @"$WORK/renew.bin" -o /dev/null -D "$WORK/trailers" "$(url "$t")"
  grep -qi '^grpc-status: 0' "$WORK/trailers" || { echo "$t: RenewLease did not answer grpc-status 0:"; cat "$WORK/trailers"; exit 1; }
done

h2() { # requests clients streams url -> h2load output in $WORK/h2load.out
  timeout 300 h2load -n "$1" -c "$2" -m "$3" -t 1 "${H[@]}" -d "$WORK/renew.bin" "$4" >"$WORK/h2load.out" || true
  grep -q " 0 failed, 0 errored" "$WORK/h2load.out" || {
    echo "h2load against $4 failed:" >&2; cat "$WORK/h2load.out" >&2
    for t in "${TARGETS[@]}"; do kill -0 "${PID[$t]}" 2>/dev/null || { echo "$t exited; its log:" >&2; tail -20 "$WORK/$t.log" >&2; }; done
    exit 1
  }
}
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; } # user + system CPU of a process, in clock ticks
throughput() { h2 "$REQUESTS" "$CLIENTS" "$STREAMS" "$1"; awk '/finished in/ {print $4}' "$WORK/h2load.out"; }
latency() { # mean time per request in microseconds
  h2 "$LATENCY_REQUESTS" 1 1 "$1"
  awk '/time for request:/ { v=$6; if (v ~ /ms$/) { sub(/ms$/, "", v); v*=1000 } else if (v ~ /us$/) { sub(/us$/, "", v) } else { sub(/s$/, "", v); v*=1000000 } print v }' "$WORK/h2load.out"
}

# Warm up every target (JIT, tiered PGO), then the measured rounds.
for t in "${TARGETS[@]}"; do throughput "$(url "$t")" >/dev/null; latency "$(url "$t")" >/dev/null; done
# CPU µs per request: the target process's user + system CPU over the throughput run / requests.
# Less sensitive to the other load on the machine than req/s.
declare -A RPS LAT CPU
HZ=$(getconf CLK_TCK)
for r in $(seq 1 "$ROUNDS"); do
  for t in "${TARGETS[@]}"; do
    before=$(ticks "${PID[$t]}")
    RPS[$t]+="$(throughput "$(url "$t")") "
    CPU[$t]+="$(awk -v a="$before" -v b="$(ticks "${PID[$t]}")" -v hz="$HZ" -v n="$REQUESTS" 'BEGIN { printf "%.2f", (b-a)/hz*1e6/n }') "
    LAT[$t]+="$(latency "$(url "$t")") "
  done
done

stats() { # values... -> "median (min–max)"
  printf '%s\n' "$@" | sort -g | awk '{ v[NR]=$1 } END { m = NR % 2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2; printf "%.1f (%.1f–%.1f)", m, v[1], v[NR] }'
}
ratios() { # a-values b-values -> per-round 100*a/b
  paste -d' ' <(printf '%s\n' $1) <(printf '%s\n' $2) | awk '{ printf "%.1f\n", 100*$1/$2 }'
}
echo "h2load settings: throughput -n $REQUESTS -c $CLIENTS -m $STREAMS -t 1; latency -n $LATENCY_REQUESTS -c 1 -m 1; $ROUNDS rounds; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "median (min–max) over the rounds"
for t in "${TARGETS[@]}"; do
  printf '%-56s %-32s per round: %s\n' "${NAME[$t]} req/s" "$(stats ${RPS[$t]})" "${RPS[$t]}"
done
for t in "${TARGETS[@]}"; do
  printf '%-56s %-32s per round: %s\n' "${NAME[$t]} server CPU µs/request" "$(stats ${CPU[$t]})" "${CPU[$t]}"
done
for t in "${TARGETS[@]}"; do
  printf '%-56s %-32s per round: %s\n' "${NAME[$t]} -c1 -m1 mean µs" "$(stats ${LAT[$t]})" "${LAT[$t]}"
done
for t in "${SERVERS[@]}"; do
  # shellcheck disable=SC2046
  printf '%-56s %s  (target >= 85%%)\n' "${NAME[$t]} / GrpcReference, %" "$(stats $(ratios "${RPS[$t]}" "${RPS[grpc]}"))"
  # shellcheck disable=SC2046
  printf '%-56s %s  (target >= 55%%)\n' "${NAME[$t]} / bare Kestrel, %" "$(stats $(ratios "${RPS[$t]}" "${RPS[kestrel]}"))"
  # shellcheck disable=SC2046
  printf '%-56s %s  (target <= 115%%)\n' "${NAME[$t]} latency / GrpcReference, %" "$(stats $(ratios "${LAT[$t]}" "${LAT[grpc]}"))"
done
# shellcheck disable=SC2046
printf '%-56s %s\n' "GrpcReference / bare Kestrel, %" "$(stats $(ratios "${RPS[grpc]}" "${RPS[kestrel]}"))"
