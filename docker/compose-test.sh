#!/usr/bin/env bash
# The compose file's test profile on a machine with podman and no Docker engine or registry:
# podman's Docker-compatible API on a private socket, Debian's docker-compose (v1) against it, and
# the base images as local stand-ins (docker/ci-image.sh --bases). Runs
#   docker-compose -f docker/docker-compose.yml --profile test run --rm integration-tests
# then removes what it started (containers, network, volumes) and stops the API service.
# Exit code: the test run's; docker/ci-image.sh's when the base images cannot be made (3: podman
# cannot run containers on this machine).
set -euo pipefail
cd "$(dirname "$0")/.."

command -v docker-compose >/dev/null || {
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null
}
# An assignment, not eval "$(...)": eval would hide ci-image.sh's exit code from set -e (and its 3,
# podman cannot run containers here), and the build would go on against the registry's images.
bases=$(docker/ci-image.sh --bases) || exit
eval "$bases"   # CONTAINERS_CONF, SDK_IMAGE, RUNTIME_IMAGE

run_dir=$(mktemp -d /run/leaseservice-compose.XXXXXX)
socket=$run_dir/podman.sock
podman system service --time=0 "unix://$socket" >"$run_dir/service.log" 2>&1 &
service=$!
# Debian's docker-compose 1.29 refuses the top-level `name:` key (Compose v2's project name): it gets
# the file without that line, paths still relative to docker/, and the project name below instead.
grep -v '^name:' docker/docker-compose.yml >"$run_dir/docker-compose.yml"
compose=(docker-compose -f "$run_dir/docker-compose.yml" --project-directory docker --profile test)
cleanup() {
  DOCKER_HOST=unix://$socket "${compose[@]}" down --volumes --remove-orphans >/dev/null 2>&1 || true
  kill "$service" 2>/dev/null || true
  wait "$service" 2>/dev/null || true
  rm -rf "$run_dir"
}
trap cleanup EXIT
for _ in $(seq 50); do [[ -S $socket ]] && break; sleep 0.1; done
export DOCKER_HOST=unix://$socket COMPOSE_PROJECT_NAME=leaseservice-compose-test

# Not as with Docker: without systemd (our VMs) podman runs no periodic health checks, so the
# test server's status would stay "starting", and docker-compose 1.29's `run` waits for
# depends_on's service_healthy: it waited for ever. So the test server is started first and the
# image's check run here (podman healthcheck run), as Docker's engine runs it every interval, until
# it passes; then `run` finds it healthy.
"${compose[@]}" build >&2
"${compose[@]}" up -d leaseservice-test >&2
server=$("${compose[@]}" ps -q leaseservice-test)
deadline=$((SECONDS + 60))
until podman healthcheck run "$server" >/dev/null 2>&1; do
  if ((SECONDS >= deadline)); then
    echo "compose-test: leaseservice-test did not pass its health check within 60 s:" >&2
    "${compose[@]}" logs --no-color --tail 40 leaseservice-test >&2 || true
    exit 1
  fi
  sleep 1
done
set +e
"${compose[@]}" run --rm integration-tests
status=$?
set -e
exit "$status"
