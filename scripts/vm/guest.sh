#!/bin/sh
# Guest mode script: /init runs it as `sh guest.sh MODE` once /dev/iommu is
# served.  Its exit status is the run's result.  build-initramfs.sh
# --init-script replaces it with another script of the same shape.

# run_bounded SECONDS PROG - run PROG, killed if it overruns, so a hung client
# ends the VM with a clear line instead of waiting for the host's timeout.
run_bounded() {
	limit=$1
	shift
	if [ ! -x "$1" ]; then
		echo "vm: $1 is not in this initramfs"
		echo "vm: 0 passed, 1 failed"
		return 1
	fi
	timeout "$limit" "$@"
	rc=$?
	# 0 and 1 are the programs' own verdicts (they print their summary);
	# anything else means the summary may be missing, so add a failing one.
	case $rc in
	0|1)	return $rc ;;
	124|143) echo "vm: $1 did not finish within $limit s" ;;
	*)	if [ $rc -gt 128 ]; then
			echo "vm: $1 was killed by signal $((rc - 128))"
		else
			echo "vm: $1 exited with status $rc"
		fi ;;
	esac
	echo "vm: 0 passed, 1 failed"
	return $rc
}

case "$1" in
test)	run_bounded 150 /bin/vm_tests ;;
demo)	run_bounded 60 /bin/vm_demo ;;
bench)	run_bounded 120 /bin/ioctl_bench ;;
shell)
	echo "vm: /dev/iommu is served by cuse-iommu (pid $IOMMU_DAEMON_PID; its output: /tmp/daemon.log)."
	echo "vm: exit the shell to power off (or press Ctrl-A X to kill qemu)."
	# cttyhack gives the shell a real controlling tty, so Ctrl-C works.
	setsid cttyhack sh
	;;
*)
	echo "vm: unknown mode '$1' (expected test, demo, bench or shell)"
	exit 2
	;;
esac
