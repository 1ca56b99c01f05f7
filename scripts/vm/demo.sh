#!/usr/bin/env bash
# demo.sh BUILD_DIR [run-vm.sh options, e.g. --debug] - walk through open/version/alloc/map/unmap/free on a real /dev/iommu,
# explained step by step (tests/vm/demo.c).
# Boots Debian's kernel under QEMU (TCG); see scripts/vm/run-vm.sh.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
[ $# -ge 1 ] || vm_die "usage: $0 BUILD_DIR [run-vm.sh options]"
build=$1
shift
vm_mode_run "$build" demo "$@"
