#!/usr/bin/env bash
# The compose file's high-availability profile, run as an operator would, on a machine with podman
# and no Docker engine or registry (as docker/compose-test.sh does for the test profile):
#   docker-compose -f docker/docker-compose.yml --profile ha up -d etcd-1 etcd-2 etcd-3 lease-1 lease-2
# with the base images as local stand-ins (docker/ci-image.sh --bases) and, for etcd's official
# image, a stand-in holding this machine's etcd 3.4 (Debian's etcd-server) at the same path.
# Then, from the host, with the `lease` CLI given both replicas (localhost:5051,localhost:5052) and
# a JWT signed with a key made for this run:
#   1. finds the active replica through grpc.health.v1 (the server's --probe mode);
#   2. opens a file (`lease add`), and reads it back through both addresses;
#   3. kills the active's container (SIGKILL) and repeats `lease get` until the standby answers:
#      same holder and epoch; prints the time from the kill;
#   4. opens another file on the new active, then removes everything it started (containers,
#      network, volumes) and stops the API service.
# Exit code: 0 when every step held; docker/ci-image.sh's when the base images cannot be made (3:
# podman cannot run containers on this machine).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'compose-ha: %s\n' "$*" >&2; }
fail() { log "FAILED: $*"; exit 1; }
install() { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null; }
command -v docker-compose >/dev/null || install docker-compose
command -v etcd >/dev/null || install etcd-server
# An assignment, not eval "$(...)": eval would hide ci-image.sh's exit code from set -e (and its 3,
# podman cannot run containers here), and the build would go on against the registry's images.
bases=$(docker/ci-image.sh --bases) || exit
eval "$bases"   # CONTAINERS_CONF, SDK_IMAGE, RUNTIME_IMAGE

# etcd's official image, stood in for: the runtime stand-in plus this machine's etcd binary.
ETCD_IMAGE=localhost/leaseservice-etcd-standin:$(etcd --version | awk '/etcd Version/ {print $3}')
if ! podman image exists "$ETCD_IMAGE"; then
  context=$(mktemp -d)
  cp /usr/bin/etcd "$context/etcd"
  printf 'FROM %s\nCOPY etcd /usr/local/bin/etcd\n' "$RUNTIME_IMAGE" >"$context/Containerfile"
  podman build -q -t "$ETCD_IMAGE" "$context" >&2
  rm -rf "$context"
fi
export ETCD_IMAGE

# The host-side tools: the CLI and the server's probe mode (the build's output only if it fails).
for project in src/LeaseService.Cli src/LeaseService.Server; do
  if ! build_output=$(dotnet build -c Release "$project" -v q -nologo 2>&1); then
    printf '%s\n' "$build_output" >&2
    fail "dotnet build $project"
  fi
done
CLI=(dotnet src/LeaseService.Cli/bin/Release/net10.0/lease.dll)
[[ -f ${CLI[1]} ]] || CLI=(dotnet src/LeaseService.Cli/bin/Release/net10.0/LeaseService.Cli.dll)
PROBE=(dotnet src/LeaseService.Server/bin/Release/net10.0/LeaseService.Server.dll --probe --timeout 2s)

# A signing key, issuer and audience for this run, and a token for user "ops".
LEASE_JWT_SIGNING_KEY=$(head -c 32 /dev/urandom | base64)
LEASE_JWT_ISSUER=https://issuer.compose-ha.test
LEASE_JWT_AUDIENCE=leaseservice
export LEASE_JWT_SIGNING_KEY LEASE_JWT_ISSUER LEASE_JWT_AUDIENCE
LEASE_TOKEN=$(/usr/bin/python3 - <<'EOF'
import base64, hashlib, hmac, json, os, time
def part(data): return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
now = int(time.time())
header = part(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
payload = part(json.dumps({"sub": "ops", "iss": os.environ["LEASE_JWT_ISSUER"], "aud": os.environ["LEASE_JWT_AUDIENCE"],
                           "iat": now, "nbf": now, "exp": now + 3600}).encode())
key = base64.b64decode(os.environ["LEASE_JWT_SIGNING_KEY"])
signature = part(hmac.new(key, f"{header}.{payload}".encode(), hashlib.sha256).digest())
print(f"{header}.{payload}.{signature}")
EOF
)
export LEASE_TOKEN
REPLICAS=(http://localhost:5051 http://localhost:5052)
BOTH=localhost:5051,localhost:5052

run_dir=$(mktemp -d /run/leaseservice-compose-ha.XXXXXX)
socket=$run_dir/podman.sock
podman system service --time=0 "unix://$socket" >"$run_dir/service.log" 2>&1 &
service=$!
# Debian's docker-compose 1.29 refuses the top-level `name:` key (see compose-test.sh).
grep -v '^name:' docker/docker-compose.yml >"$run_dir/docker-compose.yml"
compose=(docker-compose -f "$run_dir/docker-compose.yml" --project-directory docker --profile ha)
cleanup() {
  status=$?
  if [[ $status -ne 0 ]]; then
    DOCKER_HOST=unix://$socket "${compose[@]}" logs --no-color --tail 40 >&2 2>/dev/null || true
  fi
  DOCKER_HOST=unix://$socket "${compose[@]}" down --volumes --remove-orphans >/dev/null 2>&1 || true
  kill "$service" 2>/dev/null || true
  wait "$service" 2>/dev/null || true
  rm -rf "$run_dir"
}
trap cleanup EXIT
for _ in $(seq 50); do [[ -S $socket ]] && break; sleep 0.1; done
export DOCKER_HOST=unix://$socket COMPOSE_PROJECT_NAME=leaseservice-compose-ha

log "building and starting 3 etcd members and 2 replicas"
"${compose[@]}" build >&2
"${compose[@]}" up -d etcd-1 etcd-2 etcd-3 lease-1 lease-2 >&2

# The active: the replica whose leases.v1.LeaseService is SERVING (a standby's is NOT_SERVING).
find_active() { # find_active [EXCEPT] -> index of the active replica, or fails after 60 s
  local deadline=$((SECONDS + 60))
  while ((SECONDS < deadline)); do
    for i in 0 1; do
      [[ ${1:-} == "$i" ]] && continue
      if "${PROBE[@]}" --address "${REPLICAS[$i]}" >/dev/null 2>&1; then echo "$i"; return; fi
    done
    sleep 0.2
  done
  return 1
}
active=$(find_active) || fail "no replica became active within 60 s"
log "active: lease-$((active + 1)) (${REPLICAS[$active]})"
"${PROBE[@]}" --address "${REPLICAS[$((1 - active))]}" --service "" >/dev/null \
  || fail "the standby's process health (service \"\") is not SERVING"

"${CLI[@]}" --server "$BOTH" add /ha/smoke --holder writer-1 >&2 || fail "lease add through both addresses"
before=$("${CLI[@]}" --server "$BOTH" get /ha/smoke --json) || fail "lease get"
log "before the kill: $before"
"${CLI[@]}" --server "${REPLICAS[$((1 - active))]}" get /ha/smoke >/dev/null 2>&1 \
  && fail "the standby answered a call"

killed_at=$(date +%s%N)
podman kill --signal KILL "leaseservice-compose-ha_lease-$((active + 1))_1" >/dev/null \
  || podman kill --signal KILL "leaseservice-compose-ha-lease-$((active + 1))-1" >/dev/null
log "SIGKILL sent to lease-$((active + 1))"
deadline=$((SECONDS + 60))
until after=$("${CLI[@]}" --server "$BOTH" get /ha/smoke --json 2>/dev/null); do
  ((SECONDS < deadline)) || fail "the standby did not take over within 60 s"
  sleep 0.2
done
failover_ms=$((($(date +%s%N) - killed_at) / 1000000))
log "after the failover: $after"
field() { /usr/bin/python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }
[[ $(field "$after" holder) == writer-1 ]] || fail "holder changed: $after"
[[ $(field "$after" epoch) == $(field "$before" epoch) ]] || fail "epoch changed: $before -> $after"
next=$(find_active "$active") || fail "lease-$((2 - active)) is not SERVING"
"${CLI[@]}" --server "$BOTH" add /ha/after --holder writer-2 >&2 || fail "lease add on the new active"
echo "compose-ha: passed; failover (SIGKILL of lease-$((active + 1)) to the first answer through the CLI, which starts a process per try): ${failover_ms} ms; now active: lease-$((next + 1))"
