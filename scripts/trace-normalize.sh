#!/bin/sh
# trace-normalize.sh [TRACE...]: prints a cuse-iommu --trace file (or stdin)
# without the fields that vary between two runs of the same program, so two
# runs diff clean (docs/trace.md, "Comparing two runs"):
#
#   scripts/trace-normalize.sh run1.jsonl > a; scripts/trace-normalize.sh run2.jsonl > b; diff a b
#
# Dropped: time, latency_us, pid, tid (every line that has them) and the
# client's own addresses: args.vaddr (MAP_DMA), args.data (SIM_DMA),
# args.arg (unknown commands).  One compact JSON object per line, keys in
# the trace's order.  Uses python3 if present, else jq (jq 1.6 prints
# integers above 2^53 rounded); TRACE_NORMALIZE_TOOL=python3|jq picks one.
set -eu

tool=${TRACE_NORMALIZE_TOOL:-}
if [ -z "$tool" ]; then
    if command -v python3 >/dev/null 2>&1; then
        tool=python3
    elif command -v jq >/dev/null 2>&1; then
        tool=jq
    else
        echo "trace-normalize.sh: needs python3 or jq" >&2
        exit 2
    fi
fi
case $tool in
python3 | jq)
    if ! command -v "$tool" >/dev/null 2>&1; then
        # Named but absent: say so, rather than exec's bare "not found".
        echo "trace-normalize.sh: TRACE_NORMALIZE_TOOL=$tool, but $tool is not installed" >&2
        exit 2
    fi
    ;;
esac

case $tool in
python3)
    exec python3 -c '
import fileinput, json, sys
for line in fileinput.input():
    o = json.loads(line)
    for k in ("time", "latency_us", "pid", "tid"):
        o.pop(k, None)
    if isinstance(o.get("args"), dict):
        for k in ("vaddr", "data", "arg"):
            o["args"].pop(k, None)
    sys.stdout.write(json.dumps(o, separators=(",", ":"), ensure_ascii=False) + "\n")
' "$@"
    ;;
jq)
    exec jq -c 'del(.time, .latency_us, .pid, .tid, .args.vaddr, .args.data, .args.arg)' "$@"
    ;;
*)
    echo "trace-normalize.sh: TRACE_NORMALIZE_TOOL must be python3 or jq" >&2
    exit 2
    ;;
esac
