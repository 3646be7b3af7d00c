"""Sums `perf script -F pid,tid,comm,ip,sym,dso` output (perf record -g, .NET with
DOTNET_PerfMapEnabled=1) for one process: where its CPU samples land (managed code, kernel, the
runtime's native code, RocksDB, libc), then frames by exclusive and inclusive share.
Usage: perf-summary.py SCRIPT_FILE PID [TOP_EXCLUSIVE] [TOP_INCLUSIVE]"""
import collections
import re
import sys

from profile_report import print_report

TIER = re.compile(r"\[(Optimized|OptimizedTier1|OptimizedTier1OSR|PreJIT|Tier0|Tier1|QuickJitted|Instrumented[A-Za-z0-9]*)\]")


def frame(line):
    """(symbol, library) of one call-chain line: '<ip> <symbol> (<dso>)'."""
    rest = line.strip().split(" ", 1)[1] if " " in line.strip() else ""
    dso = re.search(r"\(([^()]*)\)\s*$", rest)
    library = dso.group(1).rsplit("/", 1)[-1] if dso else "?"
    symbol = TIER.sub("", re.sub(r"\s*\([^()]*\)\s*$", "", rest))
    symbol = re.sub(r"^(instance |void |class |valuetype )+", "", symbol)
    return (f"[{library}]" if symbol == "[unknown]" else symbol)[:140], library


def kind(library):
    if "kernel" in library:
        return "kernel"
    if "rocksdb" in library:
        return "RocksDB (native)"
    if "coreclr" in library or "clrjit" in library:
        return "runtime (native: GC, allocation, JIT, stubs)"
    if library.startswith("libc") or library.startswith("libstdc++"):
        return "libc/libstdc++"
    return "managed"


def main():
    path, pid = sys.argv[1], sys.argv[2]
    top_exclusive = int(sys.argv[3]) if len(sys.argv) > 3 else 30
    top_inclusive = int(sys.argv[4]) if len(sys.argv) > 4 else 40
    samples, current = [], None
    for line in open(path, errors="replace"):
        if line.strip() and not line.startswith("\t"):
            process = re.search(r"(\d+)/\d+", line)
            current = [] if process and process.group(1) == pid else None
            if current is not None:
                samples.append(current)
        elif line.strip() and current is not None:
            current.append(frame(line))
    samples = [s for s in samples if s]
    if not samples:
        sys.exit(f"no samples of process {pid}")
    total = len(samples)
    kinds = collections.Counter(kind(s[0][1]) for s in samples)
    exclusive = collections.Counter(s[0][0] for s in samples)
    inclusive = collections.Counter(name for s in samples for name in {f[0] for f in s})
    print_report(f"{total} samples of process {pid}; leaf", total, kinds, exclusive, inclusive, top_exclusive, top_inclusive)


main()
