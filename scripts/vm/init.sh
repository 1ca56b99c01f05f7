#!/bin/sh
# /init of the cuse-iommu test VM (busybox sh; build-initramfs.sh installs it).
#
# Loads CUSE, starts the daemon, waits for /dev/iommu, then hands over to the
# guest script (/etc/cuse-iommu/guest.sh MODE) and powers off.  The serial
# console is the only channel back to the host, so every outcome ends in a
# line the host can match:
#   test mode:  "... N passed, M failed"   (the last such line counts)
#   all modes:  "vm: mode MODE exit RC"
# Kernel command line knobs (read from /proc/cmdline):
#   cuse_iommu.mode=test|demo|bench|shell|run   overrides the mode built in
#   cuse_iommu.debug=1                      runs the daemon with --debug
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs dev /dev

daemon_log=/tmp/daemon.log
daemon_pid=

# cmdline_arg NAME - value of cuse_iommu.NAME=VALUE on the kernel command line.
cmdline_arg() {
	for w in $(cat /proc/cmdline); do
		case "$w" in cuse_iommu."$1"=*) echo "${w#*=}" ;; esac
	done
}

mode=$(cmdline_arg mode)
[ -n "$mode" ] || mode=$(cat /etc/cuse-iommu/mode 2>/dev/null)
[ -n "$mode" ] || mode="test"

power_off() {
	sync
	poweroff -f
	sleep 5   # poweroff -f does not return; if it ever does, let the kernel panic (panic=-1 reboots, -no-reboot exits qemu)
	exit 1
}

show_daemon_log() {
	[ -s "$daemon_log" ] || { echo "vm: (the daemon wrote nothing)"; return; }
	echo "vm: last lines of the daemon's output:"
	tail -n 60 "$daemon_log" | sed 's/^/daemon| /'
}

# Setup failed: say why, show the daemon's side, count it as one failed test.
fail_setup() {
	echo "vm: setup failed: $*"
	show_daemon_log
	echo "vm: 0 passed, 1 failed"
	echo "vm: mode $mode exit 1"
	# A human asked for a shell: give it anyway, to look around.
	[ "$mode" = shell ] && setsid cttyhack sh
	power_off
}

echo "vm: kernel $(uname -r), mode $mode"
# load_modules SET - insmod the set's modules in their order (build-initramfs.sh).
load_modules() {
	while read -r m; do
		insmod "/lib/modules/$1/$m" || fail_setup "insmod $m"
	done <"/lib/modules/$1/order"
}
load_modules cuse
[ -c /dev/cuse ] || fail_setup "/dev/cuse did not appear after loading CUSE"

# Run mode: the host's files over virtio 9p (scripts/vm/run-program.sh):
# "hostroot" (read-only) at /host, "ctl" (read-write: the request and the
# results) at /run/ctl, and "work" (the working directory) if it is shared
# writable.  The request may add daemon options, one per line.
extra_daemon_args=
if [ "$mode" = run ]; then
	load_modules share
	p9="trans=virtio,version=9p2000.L,msize=262144"
	mkdir -p /host /run/ctl
	mount -t 9p -o "$p9,ro,cache=loose" hostroot /host || fail_setup "mounting the host's files (9p)"
	mount -t 9p -o "$p9,cache=none" ctl /run/ctl || fail_setup "mounting the run's control share (9p)"
	[ -f /run/ctl/daemon-args ] && extra_daemon_args=/run/ctl/daemon-args
fi

daemon_args=--foreground
[ "$(cmdline_arg debug)" = 1 ] && daemon_args="$daemon_args --debug"
# The daemon's output goes to a file, not the console, so it cannot split the
# test lines the host matches; it is shown when something fails.
# start_daemon - cuse-iommu with daemon_args and, in run mode, the request's
# options (one per line, so any of them may hold spaces).
start_daemon() {
	# shellcheck disable=SC2086 # daemon_args is a list of options
	set -- $daemon_args
	if [ -n "$extra_daemon_args" ]; then
		while IFS= read -r a; do set -- "$@" "$a"; done <"$extra_daemon_args"
	fi
	/bin/cuse-iommu "$@" >"$daemon_log" 2>&1 &
	daemon_pid=$!
}
# A run that brings its own daemon (run-program.sh --no-daemon: the test of
# scripts/native-run.sh, the path scripts/run.sh takes where /dev/cuse
# exists) gets /dev/cuse and nothing else.
if [ "$mode" = run ] && [ -f /run/ctl/no-daemon ]; then
	echo "vm: /dev/cuse is ready; no daemon started (the program brings its own)"
	sh /etc/cuse-iommu/guest.sh "$mode"
	echo "vm: mode $mode exit $?"
	power_off
fi
start_daemon

# The kernel creates /dev/iommu (devtmpfs) as soon as the daemon answers
# CUSE_INIT.  Bounded wait: 200 x 0.1 s.
i=0
while [ ! -c /dev/iommu ]; do
	if ! kill -0 "$daemon_pid" 2>/dev/null; then
		wait "$daemon_pid"
		fail_setup "the daemon exited (status $?) before /dev/iommu appeared"
	fi
	i=$((i + 1))
	[ $i -le 200 ] || fail_setup "/dev/iommu did not appear within 20 s"
	usleep 100000
done
echo "vm: /dev/iommu is up (daemon pid $daemon_pid)"

export IOMMU_DAEMON_PID=$daemon_pid
sh /etc/cuse-iommu/guest.sh "$mode"
rc=$?

if ! kill -0 "$daemon_pid" 2>/dev/null; then
	# A client must never be able to kill the daemon: that is a failure even if
	# every test passed, and this line comes last so it is the one that counts.
	wait "$daemon_pid"
	echo "vm: the daemon died during the run (status $?)"
	show_daemon_log
	echo "vm: 0 passed, 1 failed"
	rc=1
else
	# A run's program may fail on its own; its status is not the daemon's.
	[ $rc -eq 0 ] || [ "$mode" = run ] || show_daemon_log
	kill -TERM "$daemon_pid"
	# Bounded: a daemon that ignores SIGTERM must not keep the VM up.
	i=0
	while kill -0 "$daemon_pid" 2>/dev/null && [ $i -lt 30 ]; do
		usleep 100000
		i=$((i + 1))
	done
	kill -0 "$daemon_pid" 2>/dev/null && echo "vm: note: the daemon did not exit within 3 s of SIGTERM"
fi
echo "vm: mode $mode exit $rc"
power_off
