#!/usr/bin/env bash
# demo.sh BUILD_DIR [run-vm.sh options, e.g. --debug]
# Walks through open, version, alloc, map, unmap and free on a real
# /dev/iommu in the VM, explained step by step (tests/vm/demo.c).
# Builds what it needs in BUILD_DIR first; see lib.sh (vm_mode_run).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
[ $# -ge 1 ] || vm_die "usage: $0 BUILD_DIR [run-vm.sh options]"
build=$1
shift
vm_mode_run "$build" demo "$@"
