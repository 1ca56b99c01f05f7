#!/usr/bin/env bash
# native-run.sh DAEMON [DAEMON OPTIONS...] -- PROGRAM [ARGS...]
# Where /dev/cuse exists (scripts/run.sh): starts DAEMON, waits for
# /dev/iommu, runs PROGRAM in the current directory, then stops the daemon.
# PROGRAM's exit status is this script's (125: the daemon never served).
set -euo pipefail
daemon=$1
shift
opts=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do opts+=("$1"); shift; done
[ $# -gt 1 ] || { echo "usage: $0 DAEMON [OPTIONS] -- PROGRAM [ARGS]" >&2; exit 2; }
shift
[ ! -e /dev/iommu ] || { echo "native-run: /dev/iommu exists already (another daemon?)" >&2; exit 125; }

log=$(mktemp)
"$daemon" --foreground ${opts[@]+"${opts[@]}"} >"$log" 2>&1 &
pid=$!
stop() {
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    rm -f "$log"
}
trap stop EXIT
for _ in $(seq 200); do
    [ -c /dev/iommu ] && break
    if ! kill -0 "$pid" 2>/dev/null; then
        echo "native-run: the daemon exited before /dev/iommu appeared:" >&2
        cat "$log" >&2
        exit 125
    fi
    sleep 0.1
done
[ -c /dev/iommu ] || { echo "native-run: /dev/iommu did not appear within 20 s" >&2; exit 125; }
set +e
"$@"
rc=$?
set -e
exit "$rc"
