#!/usr/bin/env bash
# run-program.sh BUILD_DIR [OPTIONS] [-- PROGRAM [ARGS...]]
# Runs a program of this machine against a live /dev/iommu in the QEMU VM:
# the host's files are the program's (read-only, over virtio 9p), so
# dynamically linked programs, scripts and test suites built here run as
# they are, in this directory.  The program's output streams back; its exit
# status is this script's (124: the VM was killed at the timeout; 125: the
# program never ran).  Without a PROGRAM, --shell is implied.
#   --topology FILE  the daemon's topology (a file of this machine)
#   --trace FILE     the daemon's trace, written to FILE here afterwards
#   --rw             this directory is shared writable (default: read-only)
#   --shell          an interactive shell (the host's /bin/bash) instead
#   --timeout S      kill the VM after S seconds (default 3600; shell: none)
#   --abi rfc|iommufd  the uAPI the daemon serves (its --abi; default rfc)
#   --memory MB      guest memory (default 512)
#   --append ARGS    more guest kernel command line (e.g. hugepages=80)
#   --debug          the daemon runs with --debug (its log: the console file)
#   --no-daemon      start no daemon: the program brings its own (a test of
#                    scripts/native-run.sh, run.sh's path where /dev/cuse exists)
# The guest kernel: $CUSE_IOMMU_KERNEL (6.1, default, or 6.12).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

usage() { sed -n '2,20s/^# \{0,1\}//p' "$0" >&2; exit 2; }
[ $# -ge 1 ] || usage
build=$1
shift
topology='' trace='' abi='' rw='' shell='' no_daemon='' vm_opts=()
while [ $# -gt 0 ]; do
	case "$1" in
	--topology)	topology=$(realpath -e "${2:?}") || vm_die "no topology file '$2'"; shift 2 ;;
	--trace)	trace=${2:?}; shift 2 ;;
	--abi)		abi=${2:?}; shift 2 ;;
	--memory)	vm_opts+=(--memory "${2:?}"); shift 2 ;;
	--append)	vm_opts+=(--append "${2:?}"); shift 2 ;;
	--rw)		rw=1; shift ;;
	--shell)	shell=1; shift ;;
	--timeout)	vm_opts+=(--timeout "${2:?}"); shift 2 ;;
	--debug)	vm_opts+=(--debug); shift ;;
	--no-daemon)	no_daemon=1; shift ;;
	--)		shift; break ;;
	*)		usage ;;
	esac
done
[ $# -gt 0 ] || shell=1
if [ -n "$shell" ]; then
	[ $# -eq 0 ] || vm_die "--shell takes no program"
	set -- /bin/bash -i
fi

mkdir -p "$build/vm"
ctl=$(mktemp -d "$(cd "$build/vm" && pwd)/run.XXXXXX")
trap 'rm -rf "$ctl"' EXIT
# The request, one item per line: a newline inside an argument cannot be said.
for a in "$@"; do
	case "$a" in *$'\n'*) vm_die "an argument holds a newline: '$a'" ;; esac
done
printf '%s\n' "$PWD" >"$ctl/cwd"
printf '%s\n' "$@" >"$ctl/argv"
# The daemon runs outside the program's root: the host's files are at /host.
: >"$ctl/daemon-args"
[ -n "$topology" ] && printf '%s\n' --topology "/host$topology" >>"$ctl/daemon-args"
[ -n "$trace" ] && printf '%s\n' --trace /run/ctl/trace.jsonl >>"$ctl/daemon-args"
[ -n "$abi" ] && printf '%s\n' --abi "$abi" >>"$ctl/daemon-args"
# The working directory is shared on its own too (read-only unless --rw),
# so it is there even where the program's root has a fresh /tmp or /run.
[ -n "$rw" ] && touch "$ctl/work-rw"
[ -n "$no_daemon" ] && touch "$ctl/no-daemon"
[ -n "$shell" ] && { touch "$ctl/interactive"; vm_opts+=(--interactive); }

set +e
vm_mode_run "$build" run --ctl "$ctl" --work "$PWD" ${vm_opts[@]+"${vm_opts[@]}"}
rc=$?
set -e
if [ -n "$trace" ]; then
	if [ -f "$ctl/trace.jsonl" ]; then
		cp "$ctl/trace.jsonl" "$trace"
	else
		vm_log "no trace was written"
	fi
fi
exit "$rc"
