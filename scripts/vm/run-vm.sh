#!/usr/bin/env bash
# run-vm.sh - boot the test VM under QEMU (TCG) and judge its console.
#
# Usage: run-vm.sh --initrd FILE [--mode test|demo|bench|shell|run] [--log FILE]
#                  [--timeout SECONDS] [--smp N] [--memory MB] [--debug] [--append "KERNEL ARGS"]
#                  [--ctl DIR [--work DIR] [--interactive]]
#   --initrd   an initramfs from build-initramfs.sh
#   --mode     the guest mode, passed as cuse_iommu.mode= (default: test)
#   --log      where the console is copied (default: next to the initrd)
#   --timeout  wall-clock bound; defaults: test 770, demo 120, bench 300,
#              shell none (it is for a human at the keyboard)
#   --smp      virtual CPUs; default 2, bench 1 (it measures more steadily)
#   --memory   guest memory in MiB (default 512)
#   --debug    run the daemon with --debug (its output shows on failure)
#   --append   more kernel command line, e.g. cuse_iommu.mode=shell
#   --ctl      run mode: the request directory (run-program.sh), shared
#              read-write as "ctl"; the host's / is shared read-only too
#   --work     run mode: DIR shared read-write as "work"
#   --interactive  run mode: the console is the user's terminal (a shell)
#
# Exit status: test mode - 0 only if the last "N passed, M failed" line of the
# console has M = 0 and N > 0; run mode - the program's exit status (125 if
# it never ran); other modes - 0 only if /init reported "vm: mode MODE exit
# 0".  124 if the VM had to be killed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

usage() { sed -n '3,17s/^# \{0,1\}//p' "$0" >&2; exit 2; }

initrd='' mode=test log='' limit='' smp='' memory=512 extra='' ctl='' work='' interactive=''
while [ $# -gt 0 ]; do
	case "$1" in
	--initrd)	initrd=${2:?}; shift 2 ;;
	--mode)		mode=${2:?}; shift 2 ;;
	--log)		log=${2:?}; shift 2 ;;
	--timeout)	limit=${2:?}; shift 2 ;;
	--smp)		smp=${2:?}; shift 2 ;;
	--memory)	memory=${2:?}; shift 2 ;;
	--debug)	extra="$extra cuse_iommu.debug=1"; shift ;;
	--append)	extra="$extra ${2:?}"; shift 2 ;;
	--ctl)		ctl=${2:?}; shift 2 ;;
	--work)		work=${2:?}; shift 2 ;;
	--interactive)	interactive=1; shift ;;
	*)		usage ;;
	esac
done
[ -f "$initrd" ] || usage
case "$mode" in
test)	: "${limit:=770}" ;;	# guest.sh bounds its programs to 120 + 120 + 90 + 60 + 60 + 200 + 90 s
demo)	: "${limit:=120}" ;;
bench)	: "${limit:=300}" ;;
shell)	: "${limit:=0}" ;;
run)	[ -d "$ctl" ] || vm_die "run mode needs --ctl DIR"
	if [ -n "$interactive" ]; then : "${limit:=0}"; else : "${limit:=3600}"; fi ;;
*)	vm_die "unknown mode '$mode'" ;;
esac
: "${log:=$(dirname "$initrd")/vm-$mode.log}"
# Two vCPUs let the client and the daemon's threads really run at once (the
# tests want that).  The benchmark uses one: with two, every ioctl hands work
# from one vCPU thread to the other, and on a busy host that hand-off costs
# milliseconds and swamps what is measured (null ioctl ~0.4 ms with 1 vCPU,
# 4-8 ms with 2, measured on a 2-CPU host under load).
if [ -z "$smp" ]; then
	smp=2
	[ "$mode" = bench ] && smp=1
fi

need_pkgs qemu-system-x86
eval "$("$here/prepare-kernel.sh")"

# KVM is not usable on our machines (no vmx/svm exposed): always TCG.
# -no-reboot + panic=-1: a kernel panic or an /init that exits ends qemu
# instead of rebooting forever.  -nic none: no network is needed; it skips the
# iPXE option ROM (a second of boot time, and ipxe-qemu is only a Recommends).
# loglevel=1 in run mode: the kernel's warnings would mix into the program's output.
[ "$mode" = run ] && extra="$extra loglevel=1"
qemu=(qemu-system-x86_64 -accel tcg -m "$memory" -smp "$smp" -nographic -no-reboot -nic none
	-kernel "$VMLINUZ" -initrd "$initrd"
	-append "console=ttyS0 quiet panic=-1 cuse_iommu.mode=$mode$extra")
if [ "$mode" = run ]; then
	# The host's files over virtio 9p.  security_model=none: the guest sees
	# the host's owners and modes as they are (we run as root on both
	# sides); multidevs=remap keeps inode numbers unique across the host's
	# mounts.
	qemu+=(-virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap"
		-virtfs "local,path=$ctl,mount_tag=ctl,security_model=none")
	[ -n "$work" ] && qemu+=(-virtfs "local,path=$work,mount_tag=work,security_model=none,multidevs=remap")
	:
fi

if [ "$mode" = shell ] || [ -n "$interactive" ]; then
	# Interactive: qemu owns the terminal; no timeout, no judging.
	vm_log "booting a shell VM (Ctrl-A X quits qemu); console copied to $log"
	bound=()
	[ "$limit" -gt 0 ] && bound=(timeout --foreground "$limit")
	${bound[@]+"${bound[@]}"} "${qemu[@]}" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	[ "$mode" = run ] && rc=$(cat "$ctl/status" 2>/dev/null || echo 125)
	exit "$rc"
fi

if [ "$mode" = run ] || [ "$mode" = demo ]; then
	start=$(date +%s)
	# The program's output streams to stdout as the console gets it: what
	# comes between "/dev/iommu is up" and init's last line.  The VM's own
	# lines ("vm: ...") go to stderr; the firmware's and the kernel's
	# (terminal escapes, the power-off) stay in the log.
	set +e
	timeout -k 10 "$limit" "${qemu[@]}" </dev/null 2>&1 | tee "$log" |
		awk '{ sub(/\r$/, "") }
			/^vm: / { print > "/dev/stderr"; fflush("/dev/stderr")
				if ($0 ~ /^vm: \/dev\/(iommu is up|cuse is ready)/) on = 1
				if ($0 ~ /^vm: mode [a-z]+ exit/) on = 0
				next }
			on { print; fflush() }'
	qemu_rc=${PIPESTATUS[0]}
	set -e
	vm_log "the VM ran $(($(date +%s) - start)) s (boot, daemon, program, power-off)"
	if [ "$qemu_rc" -eq 124 ] || [ "$qemu_rc" -eq 137 ]; then
		vm_log "FAILED: the program did not finish within ${limit}s (the VM was killed)"
		exit 124
	fi
	if [ "$mode" = demo ]; then
		grep -q "vm: mode demo exit 0" "$log" && exit 0
		vm_log "FAILED: the demo did not end well (console: $log)"
		exit 1
	fi
	[ -f "$ctl/status" ] || { vm_log "FAILED: the program never ran (console: $log)"; exit 125; }
	exit "$(cat "$ctl/status")"
fi

vm_log "booting ($mode mode, $smp vCPU, at most ${limit}s); console copied to $log"
start=$(date +%s)
# stdin from /dev/null: qemu must not put a terminal into raw mode for a
# non-interactive run (a killed qemu would leave it that way).
set +e
timeout -k 10 "$limit" "${qemu[@]}" </dev/null 2>&1 | tee "$log"
qemu_rc=${PIPESTATUS[0]}
set -e
vm_log "qemu exited with status $qemu_rc after $(($(date +%s) - start))s"
if [ "$qemu_rc" -eq 124 ] || [ "$qemu_rc" -eq 137 ]; then
	vm_log "FAILED: the VM did not power off within ${limit}s (killed)"
	exit 124
fi

# The serial console ends lines with CR LF.
console=$(tr -d '\r' <"$log")
if [ "$mode" = test ]; then
	summary=$(grep -E '^([A-Za-z0-9_-]+: )?[0-9]+ passed, [0-9]+ failed$' <<<"$console" | tail -n 1 || true)
	[ -n "$summary" ] || { vm_log "FAILED: no 'N passed, M failed' line on the console"; exit 1; }
	if grep -qE '(^|: )[1-9][0-9]* passed, 0 failed$' <<<"$summary"; then
		vm_log "OK: $summary"
		exit 0
	fi
	vm_log "FAILED: $summary"
	exit 1
fi
if grep -qx "vm: mode $mode exit 0" <<<"$console"; then
	exit 0
fi
vm_log "FAILED: no 'vm: mode $mode exit 0' line on the console"
exit 1
