#!/usr/bin/env bash
# bench.sh BUILD_DIR [run-vm.sh options, e.g. --debug] - ioctl costs through the real kernel CUSE path (bench/vm/ioctl_bench.c);
# compare the ratios, not the absolute TCG times.
# Boots Debian's kernel under QEMU (TCG); see scripts/vm/run-vm.sh.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
[ $# -ge 1 ] || vm_die "usage: $0 BUILD_DIR [run-vm.sh options]"
build=$1
shift
vm_mode_run "$build" bench "$@"
