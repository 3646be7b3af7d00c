#!/usr/bin/env bash
# Builds the service image from docker/Dockerfile, the file users build from, with podman on a
# machine that reaches no container registry (only Debian's mirror and NuGet). The Dockerfile's base
# images (SDK_IMAGE, RUNTIME_IMAGE) become local stand-ins (docker/ci-base.Containerfile): a
# debootstrapped Debian plus the .NET this machine already has.
#
#   docker/ci-image.sh            stand-ins if missing, then the service image (IMAGE)
#   docker/ci-image.sh --bases    stand-ins only (for docker/compose-test.sh)
#
# stdout: shell `export` lines for the caller to eval: CONTAINERS_CONF, SDK_IMAGE, RUNTIME_IMAGE and,
# unless --bases, LEASE_SERVICE_IMAGE. Progress and timings go to stderr.
# Exit: 0 built; 3 podman cannot run containers on this machine (one line on stderr says why);
# anything else: a failure (debootstrap, a build, NuGet...).
#
# Environment:
#   IMAGE                  the service image to build (default localhost/leaseservice:ci)
#   LEASESERVICE_CI_CACHE  outside the clone, kept between runs (default /var/cache/leaseservice-ci):
#                          the bootstrapped root file system and containers.conf. The stand-in images
#                          live in podman's own storage; each is rebuilt only when it is missing
#                          (its tag names what it was made from).
#   CONTAINERS_CONF        podman's configuration; unset: $LEASESERVICE_CI_CACHE/containers.conf,
#                          written here (runc and the ulimits this machine allows, see below).
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE=${IMAGE:-localhost/leaseservice:ci}
CACHE=${LEASESERVICE_CI_CACHE:-/var/cache/leaseservice-ci}
SUITE=bookworm                          # ci-base.Containerfile's libicu72 is bookworm's ICU
INCLUDE=ca-certificates,libssl3         # what the official runtime-deps image adds for .NET
bases_only=false
[[ ${1:-} == --bases ]] && bases_only=true

log() { printf 'ci-image: %s\n' "$*" >&2; }
cannot_run() { printf 'ci-image: podman cannot run containers on this machine: %s\n' "$*" >&2; exit 3; }
elapsed() { printf '%ds' $((SECONDS - $1)); }
hash12() { sha256sum | cut -c1-12; }

# ---- podman, runc, debootstrap (Debian's packages) ----
missing=()
for tool in podman runc debootstrap; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if ((${#missing[@]})); then
  log "installing ${missing[*]}"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"; } >&2 \
    || cannot_run "apt-get install ${missing[*]} failed"
fi
mkdir -p "$CACHE"

# ---- podman's configuration (containers/containers.conf) ----
# Measured on our VMs (shared/reference/containers.md): crun fails, runc works; podman's default
# ulimits exceed the hard limits, so they are set to what this machine allows. nproc above the
# kernel's pid_max is refused inside the container too (EPERM from runc's setrlimit), so it is capped.
if [[ -z ${CONTAINERS_CONF:-} ]]; then
  nofile=$(ulimit -Hn); [[ $nofile == unlimited ]] && nofile=1048576
  nproc=$(ulimit -Hu); [[ $nproc == unlimited ]] && nproc=1048576
  pid_max=$(cat /proc/sys/kernel/pid_max)
  ((nproc > pid_max)) && nproc=$pid_max
  CONTAINERS_CONF=$CACHE/containers.conf
  cat >"$CONTAINERS_CONF.tmp" <<EOF
# Written by docker/ci-image.sh for this machine; podman reads it through CONTAINERS_CONF.
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
log_driver = "k8s-file"

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
  mv "$CONTAINERS_CONF.tmp" "$CONTAINERS_CONF"
fi
export CONTAINERS_CONF
if ! out=$(podman info 2>&1 >/dev/null); then
  cannot_run "$(printf '%s' "$out" | tail -n 1)"
fi

# ---- the Debian base: debootstrap (cached as a tar outside the clone), podman import ----
# The mirror is the one this machine's apt uses, else debootstrap's default.
key=$(printf '%s %s' "$SUITE" "$INCLUDE" | hash12)
debian=localhost/leaseservice-ci/debian:$SUITE-$key
rootfs=$CACHE/debian-$SUITE-minbase-$key.tar
if ! podman image exists "$debian"; then
  if [[ ! -s $rootfs ]]; then
    start=$SECONDS
    mirror=$(apt-cache policy 2>/dev/null | awk -v s="$SUITE/main" '$3 == s && $2 ~ /^https?:/ { print $2; exit }')
    dir=$(mktemp -d "$CACHE/rootfs.XXXXXX")
    log "debootstrap --variant=minbase $SUITE ${mirror:-(the default mirror)}"
    debootstrap --variant=minbase --include="$INCLUDE" "$SUITE" "$dir" ${mirror:+"$mirror"} >"$dir.log" 2>&1 \
      || { tail -n 20 "$dir.log" >&2; rm -rf "$dir" "$dir.log"; log "debootstrap failed"; exit 1; }
    # What an image needs no copy of: package caches and lists (apt-get update brings them back),
    # documentation, translations.
    rm -rf "$dir"/var/cache/apt/*.bin "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/* \
      "$dir"/usr/share/doc/* "$dir"/usr/share/man/* "$dir"/usr/share/info/* "$dir"/usr/share/locale/* "$dir"/var/log/*
    tar --numeric-owner -C "$dir" -cf "$rootfs.tmp" .
    mv "$rootfs.tmp" "$rootfs"
    rm -rf "$dir" "$dir.log"
    log "root file system $rootfs in $(elapsed "$start")"
  fi
  podman import --change 'CMD ["bash"]' "$rootfs" "$debian" >/dev/null
  log "imported $debian"
fi

# Can podman run a container here at all? Outside CI a "no" is not a failure of the project.
if ! out=$(podman run --rm --network none "$debian" true 2>&1); then
  cannot_run "$(printf '%s' "$out" | tail -n 1)"
fi

# ---- stand-ins for the official .NET images, from this machine's .NET ----
dotnet_root=$(dirname "$(readlink -f "$(command -v dotnet)")")
sdk_version=$(dotnet --version)
band=${sdk_version%.*}                   # 10.0.401 -> 10.0
latest() { find "$dotnet_root/shared/$1" -mindepth 1 -maxdepth 1 -type d -name "$band.*" -printf '%f\n' | sort -V | tail -n 1; }
runtime_version=$(latest Microsoft.NETCore.App)
aspnet_version=$(latest Microsoft.AspNetCore.App)
[[ -n $runtime_version && -n $aspnet_version ]] || { log "no $band runtimes under $dotnet_root/shared"; exit 1; }
nuget_config=
for f in "$HOME/.nuget/NuGet/NuGet.Config" "$HOME/.nuget/NuGet/nuget.config"; do
  [[ -f $f ]] && { nuget_config=$(cat "$f"); break; }
done
revocation=${NUGET_CERT_REVOCATION_MODE:-}
local_cas=$(cat /usr/local/share/ca-certificates/*.crt /usr/local/share/ca-certificates/*/*.crt 2>/dev/null || true)
base_key=$( { cat docker/ci-base.Containerfile; echo "$debian $dotnet_root $nuget_config $revocation $local_cas"; } | hash12)
sdk_image=localhost/leaseservice-ci/sdk:$sdk_version-$base_key
runtime_image=localhost/leaseservice-ci/aspnet:$aspnet_version-$base_key

build_base() { # target tag
  podman image exists "$2" && return 0
  local start=$SECONDS
  log "building $2 from $dotnet_root"
  podman build --format docker --pull=never --layers -f docker/ci-base.Containerfile --target "$1" \
    --build-arg DEBIAN_IMAGE="$debian" --build-arg DOTNET_VERSION="$runtime_version" \
    --build-arg ASPNET_VERSION="$aspnet_version" --build-arg SDK_VERSION="$sdk_version" \
    --build-arg NUGET_CONFIG="$nuget_config" --build-arg NUGET_CERT_REVOCATION_MODE="$revocation" \
    --build-arg LOCAL_CA_CERTIFICATES="$local_cas" \
    -t "$2" "$dotnet_root" >&2
  log "built $2 in $(elapsed "$start")"
}
build_base aspnet "$runtime_image"
build_base sdk "$sdk_image"
# Stand-ins made from an earlier .NET or Containerfile are dead weight in podman's storage.
for repo in localhost/leaseservice-ci/aspnet localhost/leaseservice-ci/sdk; do
  podman images --format '{{.Repository}}:{{.Tag}}' "$repo" | grep -vxF -e "$runtime_image" -e "$sdk_image" \
    | xargs -r podman rmi >/dev/null 2>&1 || true
done

printf 'export CONTAINERS_CONF=%q\nexport SDK_IMAGE=%q\nexport RUNTIME_IMAGE=%q\n' "$CONTAINERS_CONF" "$sdk_image" "$runtime_image"
$bases_only && exit 0

# ---- the service image, as users build it, on the stand-ins ----
# --format docker: the OCI format has no HEALTHCHECK. Layers are cached in podman's storage, so the
# restore reruns only when a project file changed.
start=$SECONDS
log "building $IMAGE from docker/Dockerfile"
podman build --format docker --pull=never --layers -f docker/Dockerfile --target runtime \
  --build-arg SDK_IMAGE="$sdk_image" --build-arg RUNTIME_IMAGE="$runtime_image" -t "$IMAGE" . >&2
log "built $IMAGE in $(elapsed "$start"): $(podman images --format '{{.Size}}' "$IMAGE" | head -n 1)"
printf 'export LEASE_SERVICE_IMAGE=%q\n' "$IMAGE"
