#!/usr/bin/env bash
# bench.sh BUILD_DIR [run-vm.sh options, e.g. --debug]
# ioctl costs through the real kernel CUSE path, in the VM
# (bench/vm/ioctl_bench.c).  Compare the ratios, not the TCG times.
# Builds what it needs in BUILD_DIR first; see lib.sh (vm_mode_run).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
[ $# -ge 1 ] || vm_die "usage: $0 BUILD_DIR [run-vm.sh options]"
build=$1
shift
vm_mode_run "$build" bench "$@"
