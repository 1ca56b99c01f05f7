#!/usr/bin/env bash
# Builds the daemon and starts /dev/iommu.
#  - Where /dev/cuse exists (or `modprobe cuse` makes it): runs the daemon
#    natively in the foreground; extra arguments go to cuse-iommu.
#  - Otherwise: boots the QEMU VM with a real kernel and cuse.ko, starts the
#    daemon there, runs a short demo client and exits 0 when it succeeded.
#  - `scripts/run.sh --shell`: the VM with a shell prompt and /dev/iommu.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

ensure_packages "${BUILD_PACKAGES[@]}"
build_release

if [ "${1:-}" = "--shell" ]; then
    exec scripts/vm/shell.sh build/release
fi
if [ ! -e /dev/cuse ]; then
    modprobe cuse 2>/dev/null || true
fi
if [ -e /dev/cuse ]; then
    log "starting cuse-iommu natively (Ctrl-C stops it)"
    exec build/release/cuse/cuse-iommu --foreground "$@"
fi
log "no /dev/cuse on this kernel: running the demo in a QEMU VM"
exec scripts/vm/demo.sh build/release
