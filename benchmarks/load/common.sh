# Sourced by the load scripts here: a work directory and the processes started in it, both gone on
# exit, and a quiet Release build of the projects a script runs.
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

# The runtime setting the container image gives the server (docker/Dockerfile), so the scripts
# measure it as deployed. Every .NET process started here inherits it; the load generator runs
# without tiered compilation, so it changes nothing there.
export DOTNET_TC_CallCountingDelayMs=0

# build_release PROJECT...: dotnet build -c Release, printing the log only when it fails.
build_release() {
  for project in "$@"; do
    dotnet build -c Release -v q -nologo "$project" >"$WORK/build.log" 2>&1 || { cat "$WORK/build.log" >&2; exit 1; }
  done
}
