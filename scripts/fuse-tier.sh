#!/usr/bin/env bash
# fuse-tier.sh BUILD_DIR tests|load|bench [DAEMON]
# The device natively, on this machine's own kernel, where it has no CUSE:
# the daemon serves the RFC profile as the one file of a FUSE mount
# (cuse-iommu --mount).  The kernel's ioctl path for a FUSE file is CUSE's
# (fs/fuse/ioctl.c, fuse_do_ioctl, restricted), so a client's ioctl() costs
# the same round trip as on /dev/iommu, at native speed instead of TCG's.
#   tests  the RFC end-to-end clients (tests/vm/vm_tests, vm_device_tests,
#          vm_fault_tests, vm_load at full size -- 64 processes of 10,000
#          calls, then the daemon checked clean through iommuctl on the
#          daemon's control socket -- and last vm_hostile_tests, whose
#          private daemons, DAEMON too, each mount a directory of their own
#          beside the mount) on the mounted file, then stops the daemon, which
#          must exit 0 with no sanitizer report (test.sh gives the ASan+UBSan
#          build's daemon as DAEMON); ends "fuse: N passed, N failed"
#   load   the same but vm_hostile_tests, whose bounds on time and memory
#          (exit within 1 s of SIGTERM, RSS growth) a ThreadSanitizer
#          daemon cannot meet: its shadow memory, its deferred signals
#          (scripts/tsan.sh gives the TSan build's daemon)
#   bench  bench/vm/ioctl_bench on it: every ratio to the null ioctl natively,
#          twice: client and daemon on one CPU (each call a pair of context
#          switches: steady to 0.01, the cost of the work itself), then free
#          to use every CPU (what an application sees: the cross-CPU wake-up
#          weighs most, and moves the ratios by up to 0.3 from run to run)
# Where /dev/fuse is missing or the mount is refused (a container without
# CAP_SYS_ADMIN), it says so in a SKIPPED line and exits 0: the VM tier
# remains the proof of the CUSE device.
set -euo pipefail
cd "$(dirname "$0")/.."
usage() { echo "usage: $0 BUILD_DIR tests|load|bench [DAEMON]" >&2; exit 2; }
[ $# -ge 2 ] && [ $# -le 3 ] || usage
build=$1 mode=$2
case "$mode" in tests|load|bench) ;; *) usage ;; esac
daemon=${3:-$build/cuse/cuse-iommu}
[ -x "$daemon" ] || { echo "fuse: no daemon at $daemon" >&2; exit 1; }

skip() { echo "fuse: SKIPPED ($mode): $*"; exit 0; }
[ -c /dev/fuse ] || skip "no /dev/fuse on this machine"
command -v fusermount3 >/dev/null || skip "no fusermount3 (package fuse3)"

dir=$(mktemp -d /tmp/cuse-iommu-fuse.XXXXXX)
log=$dir.log
private=$dir.private
pid=''
cleanup() {
	if [ -n "$pid" ]; then
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	fusermount3 -u -q "$dir" 2>/dev/null || true
	rmdir "$dir" 2>/dev/null || true
	rm -f "$log" "$dir.sock"
	# The hostile tests unmount their private daemons' mounts; in case not:
	for m in "$private"/*; do
		[ -d "$m" ] || continue
		umount -l "$m" 2>/dev/null || true
		rmdir "$m" 2>/dev/null || true
	done
	rmdir "$private" 2>/dev/null || true
}
trap cleanup EXIT

# bench: the daemon starts on one CPU, the last, and is let go later.
cpu=$(($(nproc) - 1))
pin=() control=none
[ "$mode" = bench ] && pin=(taskset -c "$cpu")
[ "$mode" != bench ] && control=$dir.sock  # vm_load's iommuctl dump
"${pin[@]}" "$daemon" --mount "$dir" --control "$control" --foreground >"$log" 2>&1 &
pid=$!
for _ in $(seq 100); do
	grep -q '^cuse-iommu: ready' "$log" && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
if ! grep -q '^cuse-iommu: ready' "$log"; then
	sed 's/^/fuse: daemon: /' "$log"
	kill -0 "$pid" 2>/dev/null || { pid=''; skip "the FUSE mount was refused (see the daemon's words above)"; }
	echo "fuse: the daemon never became ready"
	exit 1
fi
device=$dir/iommu

case "$mode" in
tests|load)
	programs=(vm_tests vm_device_tests vm_fault_tests "vm_load -t 200")
	[ "$mode" = tests ] && programs+=(vm_hostile_tests)
	passed=0 failed=0
	mkdir -p "$private"
	export CUSE_IOMMU_DAEMON=$daemon CUSE_IOMMU_FUSE_ROOT=$private CUSE_IOMMU_SOCKET=$control
	PATH=$(cd "$build/iommuctl" && pwd):$PATH
	for t in "${programs[@]}"; do
		# shellcheck disable=SC2086 # $t: a program and its options
		out=$(timeout 300 "$build/tests/vm/"$t "$device" 2>&1) || true
		printf '%s\n' "$out" | grep -v '^PASS '
		line=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -n 1 || true)
		if [ -z "$line" ]; then
			echo "fuse: $t printed no summary"
			failed=$((failed + 1))
			continue
		fi
		passed=$((passed + $(grep -oE '^[0-9]+' <<<"$line")))
		failed=$((failed + $(grep -oE '[0-9]+ failed' <<<"$line" | grep -oE '[0-9]+')))
	done
	# SIGTERM: the daemon unmounts and exits 0, its sanitizers silent.
	rc=0
	kill -TERM "$pid" 2>/dev/null || true
	wait "$pid" || rc=$?
	pid=''
	if [ "$rc" -ne 0 ]; then
		echo "fuse: the daemon exited with status $rc"
		failed=$((failed + 1))
	fi
	if grep -qE 'Sanitizer|runtime error' "$log"; then
		sed 's/^/fuse: daemon: /' "$log"
		echo "fuse: the daemon's sanitizers reported the above"
		failed=$((failed + 1))
	fi
	echo "fuse: $passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	;;
bench)
	echo "fuse bench: client and daemon on CPU $cpu"
	timeout 300 taskset -c "$cpu" "$build/bench/vm/ioctl_bench" "$device"
	echo "fuse bench: client and daemon on any of $(nproc) CPUs"
	taskset -a -p -c "0-$cpu" "$pid" >/dev/null
	timeout 300 "$build/bench/vm/ioctl_bench" "$device"
	;;
esac
