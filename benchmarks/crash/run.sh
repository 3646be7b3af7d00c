#!/usr/bin/env bash
# Crash test, long form: concurrent writers against a real server process, SIGKILL at random
# moments KILLS times (default 100), restarted on the same data directory each time. After every
# restart the test checks that every acknowledged operation is there, no path has two holders, no
# epoch or block id was issued twice, and each operation in flight at the kill is fully there or
# fully absent. Prints the counts. The suite runs the same test with 20 kills.
#
#   benchmarks/crash/run.sh [KILLS]
set -euo pipefail
cd "$(dirname "$0")/../.."
kills="${1:-100}"
LEASE_CRASH_KILLS="$kills" dotnet test tests/LeaseService.IntegrationTests \
  --filter "FullyQualifiedName~CrashTests" \
  --logger "console;verbosity=detailed" 2>&1 | tee /tmp/leaseservice-crash.log | grep -E '^CRASH |Passed!|Failed!|error' || true
grep -q '^CRASH ' /tmp/leaseservice-crash.log || { echo "crash test did not finish; see /tmp/leaseservice-crash.log" >&2; exit 1; }
grep -q 'Failed!' /tmp/leaseservice-crash.log && exit 1 || true
