#!/usr/bin/env bash
# A CPU profile of the monitor working off a backlog (issue 13): the in-process backlog benchmark
# (`LeaseService.Benchmarks -- backlog FILES HOLDERS ENGINE BATCH`) under dotnet-trace's sampled
# thread-time profile, converted to speedscope (open it at https://www.speedscope.app) and summed
# over the stacks below LeaseManager.RunMonitorPassAsync: where a pass's running time goes,
# exclusive and inclusive. Needs the dotnet-trace global tool (installed into $TOOLS when missing).
# Usage: benchmarks/profile/backlog.sh [files] [holders] [rocksdb|inmemory] [batch]
set -euo pipefail
cd "$(dirname "$0")/../.."
FILES=${1:-200000}; HOLDERS=${2:-20000}; ENGINE=${3:-rocksdb}; BATCH=${4:-128}
TOOLS=${TOOLS:-/tmp/leaseservice-tools}
[[ -x $TOOLS/dotnet-trace ]] || dotnet tool install --tool-path "$TOOLS" dotnet-trace --version 10.0.750501 >/dev/null
# The build's output only if it fails (set -e alone would end the script without a word).
build_output=$(dotnet build -c Release benchmarks/LeaseService.Benchmarks -v q -nologo 2>&1) \
  || { printf '%s\n' "$build_output" >&2; echo "dotnet build benchmarks/LeaseService.Benchmarks failed" >&2; exit 1; }
OUT=$(mktemp -d /tmp/leaseservice-profile.XXXXXX)
"$TOOLS/dotnet-trace" collect --profile dotnet-sampled-thread-time --show-child-io -o "$OUT/backlog.nettrace" -- \
  dotnet benchmarks/LeaseService.Benchmarks/bin/Release/net10.0/LeaseService.Benchmarks.dll backlog "$FILES" "$HOLDERS" "$ENGINE" "$BATCH"
"$TOOLS/dotnet-trace" convert "$OUT/backlog.nettrace" --format speedscope -o "$OUT/backlog" >/dev/null
/usr/bin/python3 benchmarks/profile/speedscope-summary.py "$OUT/backlog.speedscope.json" RunMonitorPassAsync 20 30
echo "trace: $OUT/backlog.nettrace, speedscope: $OUT/backlog.speedscope.json"
