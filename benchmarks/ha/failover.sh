#!/usr/bin/env bash
# Failover, long form: a real 3-member etcd cluster and two replicas (SessionTtl TTL seconds,
# default 3, as in the suite; 2 is etcd's minimum); concurrent
# writers on the active, SIGKILL, the standby takes over, the killed replica comes back as the
# standby, KILLS times (default 10). After every failover the test checks every acknowledged
# grant is there with its holder and epoch, epochs are unique and above the old active's, and no
# early takeover is possible. Prints each failover time (SIGKILL to the first acknowledged
# AddLease on the new active) with the median and max. The suite runs the same test with 1 kill.
#
#   benchmarks/ha/failover.sh [KILLS] [TTL]
set -euo pipefail
cd "$(dirname "$0")/../.."
kills="${1:-10}"
ttl="${2:-3}"
command -v etcd >/dev/null || { echo "etcd missing: apt-get install -y etcd-server" >&2; exit 1; }
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# The verdict is dotnet test's exit code: at this verbosity it prints "Test Run Failed.", never the
# "Failed!" the output was once searched for.
set +e
LEASE_FAILOVER_KILLS="$kills" LEASE_HA_SESSION_TTL="$ttl" dotnet test tests/LeaseService.IntegrationTests \
  --filter "FullyQualifiedName~FailoverTests.ActiveKilledUnderLoad" \
  --logger "console;verbosity=detailed" 2>&1 | tee "$log" | grep -E '^ *(round [0-9]+:|FAILOVER )|^Test Run |^ +Failed |error'
status=${PIPESTATUS[0]}
set -e
grep -q 'FAILOVER ' "$log" || { echo "failover test did not finish (output above)" >&2; exit 1; }
((status == 0)) || { echo "failover test failed (dotnet test exit $status, output above)" >&2; exit "$status"; }
