#!/usr/bin/env bash
# shell.sh BUILD_DIR [run-vm.sh options, e.g. --debug]
# For a human: an interactive busybox shell in the VM, the daemon serving
# /dev/iommu and every VM client in /bin.  Ctrl-A X quits qemu.
# Builds what it needs in BUILD_DIR first; see lib.sh (vm_mode_run).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
[ $# -ge 1 ] || vm_die "usage: $0 BUILD_DIR [run-vm.sh options]"
build=$1
shift
vm_mode_run "$build" shell "$@"
