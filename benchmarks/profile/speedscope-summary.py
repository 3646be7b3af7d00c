"""Sums a dotnet-trace speedscope file (sampled thread time) over the stacks that pass through a
frame: how the time splits between the pseudo-frames dotnet-trace puts at the leaf (CPU_TIME,
UNMANAGED_CODE_TIME, ...), then the frames the time is spent in (exclusive: the last real frame)
and below (inclusive). Usage: speedscope-summary.py FILE ROOT_FRAME [TOP_EXCLUSIVE] [TOP_INCLUSIVE]"""
import collections
import json
import re
import sys

from profile_report import print_report

PSEUDO = re.compile(r"^[A-Z_]+_TIME$|^CPU_TIME$")


def short(name, width=100):
    return re.sub(r"\(.*", "", name)[-width:]


def main():
    path, root = sys.argv[1], sys.argv[2]
    top_exclusive = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    top_inclusive = int(sys.argv[4]) if len(sys.argv) > 4 else 30
    trace = json.load(open(path))
    frames = [f["name"] for f in trace["shared"]["frames"]]
    kinds, exclusive, inclusive = collections.Counter(), collections.Counter(), collections.Counter()
    for profile in trace["profiles"]:
        stack, last = [], None
        for event in profile["events"]:  # evented profile: open/close per frame, times in ms
            if last is not None and stack:
                names = [frames[i] for i in stack]
                if any(root in n for n in names):
                    elapsed = event["at"] - last
                    kind = names[-1] if PSEUDO.match(names[-1]) else "(no leaf marker)"
                    real = [n for n in names if not PSEUDO.match(n)]
                    kinds[kind] += elapsed
                    exclusive[short(real[-1])] += elapsed
                    for name in {short(n) for n in real}:
                        inclusive[name] += elapsed
            last = event["at"]
            if event["type"] == "O":
                stack.append(event["frame"])
            elif stack:
                stack.pop()
    total = sum(kinds.values())
    if total == 0:
        sys.exit(f"no sample passes through {root}")
    print_report(f"{total:.0f} ms of thread time below {root}", total, kinds, exclusive, inclusive, top_exclusive, top_inclusive)


main()
