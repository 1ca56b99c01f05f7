#!/usr/bin/env bash
# run_program_test.sh - `scripts/run.sh -- PROGRAM` as a user runs it: a C
# file the build knows nothing about, written and compiled here against the
# uapi header, run from its own directory against /dev/iommu (in the VM where
# this machine has no /dev/cuse).  Checks what run.sh promises: the
# program's output alone on stdout, its exit status, the daemon's
# --topology and --trace, the working directory read-only unless --rw, and
# the 6.12 guest kernel; and with no program, the demo.  Ends "run: N
# passed, M failed".
set -uo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
passed=0 failed=0
pass() { echo "PASS $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1: $2"; failed=$((failed + 1)); }

work=$(mktemp -d /tmp/run-program-test.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"
cat >prog.c <<'EOF'
/* Binds the device named by argv[1]; prints what happened; exits 3. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <cuse-iommu.h>

int main(int argc, char **argv)
{
	struct iommu_device_bind bind;
	int fd = open("/dev/iommu", O_RDWR);

	if (fd < 0 || argc < 2) {
		perror("open /dev/iommu");
		return 10;
	}
	memset(&bind, 0, sizeof(bind));
	bind.argsz = sizeof(bind);
	strncpy(bind.name, argv[1], sizeof(bind.name) - 1);
	bind.cookie = 42;
	printf("api %d\n", ioctl(fd, IOMMU_GET_API_VERSION));
	printf("bind %s: %s\n", argv[1], ioctl(fd, IOMMU_DEVICE_BIND, &bind) == 0 ? "ok" : "refused");
	return 3;
}
EOF
cat >topo.json <<'EOF'
{"iommus": [{"name": "iommu9", "page_sizes": ["4K"], "address_width": 39}],
 "devices": [{"name": "only9", "type": "pci", "bdf": "00:09.0", "iommu": "iommu9", "group": 9}]}
EOF
cc -Wall -Werror -I"$repo/uapi" -o prog prog.c || { fail compile "cc failed"; exit 1; }

# run NAME RUN.SH-ARGS... : stdout to NAME.out, stderr to NAME.err, status in rc.
run() {
	local name=$1
	shift
	"$repo/scripts/run.sh" "$@" >"$name.out" 2>"$name.err"
	rc=$?
	echo "--- $name: run.sh $* -> $rc (stderr: $work/$name.err)"
}
show_err() { sed 's/^/  | /' "$1.err" | tail -n 15; }

# 1. A program of its own, its output, its status, the daemon's options.
# (The program's stderr shares the console with its stdout in the VM.)
run own --topology topo.json --trace trace.jsonl -- ./prog only9
want=$'api 0\nbind only9: ok'
if [ "$rc" -eq 3 ]; then pass "exit status is the program's"; else fail "exit status" "$rc, expected 3"; show_err own; fi
if [ "$(cat own.out)" = "$want" ]; then
	pass "stdout holds the program's output alone"
else
	fail "stdout" "$(head -c 300 own.out | od -c | head -n 5)"
fi
if grep -q '"command":"DEVICE_BIND"' trace.jsonl 2>/dev/null; then
	pass "--trace FILE is written back"
else
	fail "--trace" "no DEVICE_BIND line in trace.jsonl"
fi

# 2. The working directory: read-only by default, writable with --rw.
run ro -- sh -c 'echo x >written.txt'
if [ "$rc" -ne 0 ] && [ ! -e written.txt ] && grep -qi 'read-only' ro.out; then
	pass "the working directory is read-only by default"
else
	fail "read-only by default" "status $rc, written.txt $( [ -e written.txt ] && echo exists || echo absent)"
fi
run rw --rw -- sh -c 'echo x >written.txt'
if [ "$rc" -eq 0 ] && [ "$(cat written.txt 2>/dev/null)" = x ]; then
	pass "--rw: the program's writes land here"
else
	fail "--rw" "status $rc"; show_err rw
fi

# 3. The default topology has no only9; the 6.12 guest kernel serves too.
run k612 --kernel 6.12 -- sh -c 'uname -r; ./prog only9; ./prog nic0'
if [ "$rc" -eq 3 ] && grep -q '^6\.12\.' k612.out && grep -qx 'bind only9: refused' k612.out &&
	grep -qx 'bind nic0: ok' k612.out; then
	pass "--kernel 6.12 (the default topology)"
else
	fail "--kernel 6.12" "status $rc: $(tr '\n' ' ' <k612.out | head -c 200)"; show_err k612
fi

# 4. The native path (where /dev/cuse exists, run.sh runs the daemon around
# the program: scripts/native-run.sh), in the VM, which has /dev/cuse.
"$repo/scripts/vm/run-program.sh" "$repo/build/release" --no-daemon -- \
	"$repo/scripts/native-run.sh" "$repo/build/release/cuse/cuse-iommu" --topology topo.json -- \
	./prog only9 >native.out 2>native.err
rc=$?
echo "--- native: native-run.sh in the VM -> $rc"
if [ "$rc" -eq 3 ] && [ "$(cat native.out)" = "$want" ]; then
	pass "native-run.sh: the daemon around the program, where /dev/cuse exists"
else
	fail "native-run.sh" "status $rc: $(head -c 300 native.out)"; show_err native
fi

# 5. No program: the demo, as plain text.
run demo
if [ "$rc" -eq 0 ] && grep -q '^demo: 5\. .*answered SUCCESS' demo.out && ! grep -q $'\e' demo.out &&
	! grep -q '^vm: ' demo.out; then
	pass "no program: the demo's account, without escape codes"
else
	fail "the demo" "status $rc: $(head -c 300 demo.out | od -c | head -n 4)"; show_err demo
fi

echo "run: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
