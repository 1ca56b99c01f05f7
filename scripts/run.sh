#!/usr/bin/env bash
# Builds the daemon and starts /dev/iommu.
#
#   scripts/run.sh [OPTIONS]                  the demo (in the VM), or the
#                                             daemon in the foreground (natively)
#   scripts/run.sh [OPTIONS] -- PROGRAM [ARGS...]
#                                             runs PROGRAM against /dev/iommu;
#                                             its exit status is run.sh's
#   scripts/run.sh [OPTIONS] --shell          a shell with /dev/iommu live
#
# Natively where /dev/cuse exists (or `modprobe cuse` makes it): the daemon
# runs here (around PROGRAM, stopped after it).  Otherwise in a QEMU VM with
# a Debian kernel and cuse.ko, where this machine's files are visible
# read-only (this directory writable with --rw), so programs built here run
# as they are (scripts/vm/run-program.sh).
#
# Options (the daemon's, passed through):
#   --topology FILE   the simulated IOMMUs and devices (docs/topology.md)
#   --trace FILE      one JSON line per uAPI call (docs/trace.md), written here
#   --abi rfc|iommufd the uAPI served: the RFC's (default) or upstream
#                     iommufd's (docs/iommufd.md)
# Options of the VM:
#   --rw              share the working directory writable
#   --kernel 6.1|6.12 the guest kernel (default 6.1, Debian 12's own)
#   --timeout SECONDS kill the VM after that long (default 3600)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
source scripts/lib.sh
die() { printf 'run.sh: %s\n' "$*" >&2; exit 2; }

daemon_opts=() vm_opts=() shell='' program=()
while [ $# -gt 0 ]; do
    case "$1" in
    --topology | --trace)
        [ $# -ge 2 ] || die "$1 needs a file"
        # Relative to where run.sh was called from.
        daemon_opts+=("$1" "$(cd "$OLDPWD" && realpath -m "$2")")
        shift 2 ;;
    --abi) daemon_opts+=(--abi "${2:?--abi needs rfc or iommufd}"); shift 2 ;;
    --rw) vm_opts+=(--rw); shift ;;
    --timeout) vm_opts+=(--timeout "${2:?--timeout needs seconds}"); shift 2 ;;
    --kernel) export CUSE_IOMMU_KERNEL=${2:?--kernel needs 6.1 or 6.12}; shift 2 ;;
    --shell) shell=1; shift ;;
    --) shift; program=("$@"); break ;;
    *) die "unknown option '$1' (see the top of scripts/run.sh)" ;;
    esac
done
[ -z "$shell" ] || [ ${#program[@]} -eq 0 ] || die "--shell or a program, not both"

# Building talks on stderr: stdout is the program's.
{ ensure_packages "${BUILD_PACKAGES[@]}" && build_release; } >&2

if [ ! -e /dev/cuse ]; then
    modprobe cuse 2>/dev/null || true
fi
if [ -e /dev/cuse ]; then
    if [ ${#program[@]} -eq 0 ] && [ -z "$shell" ]; then
        log "starting cuse-iommu natively (Ctrl-C stops it)"
        exec build/release/cuse/cuse-iommu --foreground ${daemon_opts[@]+"${daemon_opts[@]}"}
    fi
    [ -n "$shell" ] && program=("${SHELL:-/bin/bash}")
    cd "$OLDPWD"
    exec "$repo/scripts/native-run.sh" "$repo/build/release/cuse/cuse-iommu" \
        ${daemon_opts[@]+"${daemon_opts[@]}"} -- "${program[@]}"
fi

# The VM: the trace and topology are the host's files, named absolutely.
if [ ${#program[@]} -eq 0 ] && [ -z "$shell" ]; then
    log "no /dev/cuse on this kernel: running the demo in a QEMU VM"
    exec scripts/vm/demo.sh build/release
fi
[ -n "$shell" ] && vm_opts+=(--shell)
cd "$OLDPWD"
exec "$repo/scripts/vm/run-program.sh" "$repo/build/release" ${daemon_opts[@]+"${daemon_opts[@]}"} \
    ${vm_opts[@]+"${vm_opts[@]}"} -- ${program[@]+"${program[@]}"}
