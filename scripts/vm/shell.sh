#!/usr/bin/env bash
# shell.sh BUILD_DIR [run-vm.sh options, e.g. --debug] - an interactive busybox shell in the VM with the daemon serving
# /dev/iommu and every VM client in /bin (for a human; Ctrl-A X quits).
# Boots Debian's kernel under QEMU (TCG); see scripts/vm/run-vm.sh.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
[ $# -ge 1 ] || vm_die "usage: $0 BUILD_DIR [run-vm.sh options]"
build=$1
shift
vm_mode_run "$build" shell "$@"
