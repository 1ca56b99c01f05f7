#!/usr/bin/env bash
# tier3.sh BUILD_DIR [run-vm.sh options, e.g. --debug]
# The end-to-end tier: Debian's kernel with cuse.ko under QEMU (TCG), the
# daemon serving the real /dev/iommu, and tests/vm/vm_tests,
# tests/vm/vm_device_tests, tests/vm/vm_fault_tests (then the examples and
# iommuctl), tests/vm/vm_load and tests/vm/vm_hostile_tests calling it.  Exits 0
# only if the VM's final total (guest.sh) is "N passed, 0 failed".
# Builds what it needs in BUILD_DIR first; see lib.sh (vm_mode_run).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
[ $# -ge 1 ] || vm_die "usage: $0 BUILD_DIR [run-vm.sh options]"
build=$1
shift
vm_mode_run "$build" test "$@"
