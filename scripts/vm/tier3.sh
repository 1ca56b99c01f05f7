#!/usr/bin/env bash
# tier3.sh BUILD_DIR [run-vm.sh options, e.g. --debug] - the end-to-end tier: real kernel CUSE, real /dev/iommu, C clients.
# Exits 0 only if the VM printed "N passed, 0 failed".
# Boots Debian's kernel under QEMU (TCG); see scripts/vm/run-vm.sh.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
[ $# -ge 1 ] || vm_die "usage: $0 BUILD_DIR [run-vm.sh options]"
build=$1
shift
vm_mode_run "$build" test "$@"
