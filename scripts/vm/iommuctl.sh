#!/bin/sh
# iommuctl.sh - run the iommuctl commands docs/guide.md shows ("iommuctl
# alongside") against the live daemon's control socket, and check them: exit
# status and the lines that show each did its job.  A context is kept alive
# by `example_quickstart --hold` (nic0 bound with cookie 0x11 and attached to
# an IOASID that maps "hello from nic0" at IOVA 0x100040), as the guide does.
# `example_mdev --hold` shows the defPASIDs only the control socket sees.
# A DMA from outside that stalls on a page request is served by
# `example_fault_consumer --serve` and followed with dma-status.  Then the
# guide's experiment: remove nic0 under a holding quickstart (its bind is
# revoked; its teardown fails), put nic0 back, run quickstart again.
#
# Prints one line per check, "PASS what" or "FAIL what: why" followed by the
# output it judged; then "N passed, M failed".  Exit status 0 only if every
# check passed.  guest.sh runs it in test mode after examples.sh (it changes
# nothing the others rely on: nic0 is back and every context is closed at the
# end); in the shell VM it can be run by hand.

passed=0
failed=0
out=/tmp/iommuctl.out
seen=/tmp/iommuctl.seen

# A check is: begin WHAT; one or more `run` and `has`/`lacks`; verdict.
begin() {
	what=$1
	why=
	: >"$seen"
}
# run RC COMMAND... - run COMMAND (bounded), its output in $out; it must
# exit with RC.
run() {
	want_rc=$1
	shift
	timeout 15 "$@" >"$out" 2>&1 </dev/null
	rc=$?
	{ echo "\$ $*"; cat "$out"; } >>"$seen"
	[ "$rc" -eq "$want_rc" ] || why="${why:+$why; }'$*' exited $rc, not $want_rc"
}
# has TEXT... - every TEXT is a fixed string in the last run's output.
has() {
	for want in "$@"; do
		grep -qF -- "$want" "$out" || why="${why:+$why; }no line with '$want'"
	done
}
lacks() {
	for unwanted in "$@"; do
		! grep -qF -- "$unwanted" "$out" || why="${why:+$why; }a line with '$unwanted'"
	done
}
verdict() {
	if [ -z "$why" ]; then
		echo "PASS $what"
		passed=$((passed + 1))
	else
		echo "FAIL $what: $why"
		sed 's/^/    | /' "$seen"
		failed=$((failed + 1))
	fi
}

# hold LOG READY PROG ARGS... - start PROG in the background with its output
# in LOG and wait (bounded) until LOG has the line READY; sets held (its
# pid).  Returns 1, counting a failure, if that never happens.
hold() {
	log=$1 ready=$2
	shift 2
	"$@" >"$log" 2>&1 &
	held=$!
	i=0
	until grep -qF -- "$ready" "$log"; do
		if ! kill -0 "$held" 2>/dev/null || [ $i -ge 150 ]; then
			echo "FAIL $* never said '$ready'"
			sed 's/^/    | /' "$log"
			kill "$held" 2>/dev/null
			failed=$((failed + 1))
			return 1
		fi
		i=$((i + 1))
		usleep 100000
	done
}
# release WHAT LOG RC TEXT... - end the held program's hold early (SIGUSR1),
# wait for it, and check it as WHAT: exit status RC and every TEXT in LOG.
# A program that no longer ran had its hold run out before the checks were
# done: that fails too.
release() {
	begin "$1"
	log=$2 want_rc=$3
	shift 3
	kill -USR1 "$held" 2>/dev/null ||
		why="it was no longer holding when the checks were done"
	wait "$held"
	rc=$?
	cp "$log" "$out"
	{ echo "\$ (the held program, exit $rc)"; cat "$log"; } >"$seen"
	[ "$rc" -eq "$want_rc" ] || why="${why:+$why; }exit status $rc, not $want_rc"
	has "$@"
}

for prog in iommuctl example_quickstart example_mdev example_fault_consumer; do
	if ! command -v "$prog" >/dev/null; then
		echo "FAIL $prog is not in this initramfs"
		echo "$passed passed, $((failed + 1)) failed"
		exit 1
	fi
done

begin "iommuctl --help and dump --help explain themselves"
run 0 iommuctl --help
has 'dump' 'dma' 'fault' 'device' 'set' 'exit status'
run 0 iommuctl dump --help
has 'usage: iommuctl dump [--json | --dot]'
verdict

qlog=/tmp/quickstart-hold.log
if ! hold "$qlog" 'holding everything' example_quickstart --hold 120; then
	echo "$passed passed, $failed failed"
	exit 1
fi
qpid=$held

begin "dump: the held context, its IOASID, mapping, device and locked pages"
run 0 iommuctl dump
has 'IOMMUs' 'Devices' 'Contexts' 'Accounting' \
	"pid $qpid  IOTLB" '0x100000-0x101fff  8 KiB' 'attached: nic0 (RID)' \
	'nic0  cookie 0x11    -> IOASID' "pid $qpid  2 locked pages (8 KiB)"
ctx=$(sed -n "s/^ *context \([0-9][0-9]*\)  pid $qpid .*/\1/p" "$out")
[ -n "$ctx" ] || why="${why:+$why; }no context line for pid $qpid"
verdict

begin "dump --json: the daemon's state as JSON"
run 0 iommuctl dump --json
has '"contexts": [' "\"pid\": $qpid" '"cookie": 17' '"name": "nic0"' '"mapping_count": 1' '"mapped_bytes": 8192'
[ "$(head -c 1 "$out")" = "{" ] && [ "$(tail -n 1 "$out")" = "}" ] ||
	why="${why:+$why; }not one JSON object"
verdict

begin "dump --dot: a Graphviz digraph of contexts, IOASIDs and devices"
run 0 iommuctl dump --dot
has 'digraph "cuse-iommu" {' 'nic0' '"RID"'
[ "$(tail -n 1 "$out")" = "}" ] || why="${why:+$why; }the digraph is not closed"
# Every node the edges name is declared (ids like c0, c0a1, d3).
for node in $(sed -n 's/^ *\([a-z0-9_]*\) -> \([a-z0-9_]*\)[ ;].*/\1 \2/p' "$out" | tr ' ' '\n' | sort -u); do
	grep -q "^ *$node \[" "$out" || why="${why:+$why; }edge to undeclared node $node"
done
verdict

begin "dma: nic0 reads \"hello from nic0\" at IOVA 0x100040"
run 0 iommuctl dma nic0 0x100040 16
has 'status: ok' 'bytes done: 16 of 16' '|hello from nic0.|'
verdict

begin "dma --write-text: nic0 writes ABCD at 0x100000, and reads it back"
run 0 iommuctl dma nic0 0x100000 4 --write-text ABCD
has 'status: ok' 'bytes done: 4 of 4'
run 0 iommuctl dma nic0 0x100000 4
has '|ABCD|'
verdict

begin "dma to an unmapped IOVA: a stage-2 translation fault, not an error"
run 0 iommuctl dma nic0 0x900000 4
has 'status: fault' 'bytes done: 0 of 4' 'reason not-mapped, flags stage2'
verdict

begin "fault: a raw fault lands in the context that binds nic0"
run 0 iommuctl fault nic0 0xdead000 --perm w
has "injected a fault for nic0 at 0xdead000 (write) -> context $ctx, device nic0 (cookie 0x11)"
verdict

begin "set: context $ctx's fault region gets depth 64 and timeout 500 ms"
run 0 iommuctl set "$ctx" --fault-depth 64 --fault-timeout-ms 500
has "context $ctx fault region: depth 64, timeout 500 ms"
run 0 iommuctl dump
has 'fault region: depth 64, timeout 500 ms'
verdict

nic9='{"name": "nic9", "type": "pci", "bdf": "00:09.0", "iommu": "iommu0", "group": 9}'
begin "device add -: nic9 from stdin appears in the topology"
echo "$nic9" >/tmp/nic9.json
run 0 sh -c 'iommuctl device add - </tmp/nic9.json'
has 'added nic9 (pci, 00:09.0, rid 0x0048, iommu0, group 9)'
run 0 iommuctl dump
has 'nic9'
verdict

begin "device add of a name already taken is refused (exit 1)"
run 1 iommuctl device add /tmp/nic9.json
has 'nic9'
verdict

begin "device remove: nic9 is gone again"
run 0 iommuctl device remove nic9
has 'removed nic9'
lacks 'revoked'
run 0 iommuctl dump
lacks 'nic9'
verdict

begin "refusals exit 1 with the daemon's message"
run 1 iommuctl device remove nic9
run 1 iommuctl dma nosuchdev 0x100000 4
run 1 iommuctl dma-status nic0 424242
run 1 iommuctl set 999999 --fault-depth 8
verdict

begin "usage errors and an unreachable daemon exit 2"
run 2 iommuctl frobnicate
run 2 iommuctl dma nic0
run 2 iommuctl --socket /tmp/no-such.sock dump
verdict

release "the held quickstart tears down cleanly after all that" "$qlog" 0 'quickstart: OK'
lacks '[WRONG]'
verdict

# The mdevs' defPASIDs, which only the control socket shows.
mlog=/tmp/mdev-hold.log
if hold "$mlog" 'holding for' example_mdev --hold 120; then
	begin "dump shows the defPASIDs example_mdev's mdevs were given"
	run 0 iommuctl dump
	has 'attached: mdev0 (defPASID ' 'attached: mdev1 (defPASID ' \
		'mdev0  cookie 0x100  parent gpu0, defPASID ' 'mdev1  cookie 0x101  parent gpu0, defPASID '
	run 0 iommuctl dump --json
	has '"physical": "gpu0"'
	[ "$(grep -c '"def_pasid": [0-9]' "$out")" -eq 2 ] || why="${why:+$why; }not two numeric def_pasid"
	run 0 iommuctl dump --dot
	has 'label="defPASID ' 'label="parent"'
	verdict
	release "the held example_mdev closes cleanly" "$mlog" 0 'mdev: OK'
	lacks '[WRONG]'
	verdict
fi

# A DMA that stalls on a page request, served by example_fault_consumer
# --serve, followed with dma-status.
flog=/tmp/fault-consumer-serve.log
if hold "$flog" 'serving accel0' example_fault_consumer --serve 120; then
	begin "dma to an IOVA nobody mapped yet stalls on a page request (pending)"
	run 0 iommuctl dma accel0 0x40004100 13 --write-text 'hello, lazily'
	has 'status: pending' 'dma id: '
	dma_id=$(sed -n 's/^dma id: \([0-9][0-9]*\)$/\1/p' "$out")
	[ -n "$dma_id" ] || { why="${why:+$why; }no dma id"; dma_id=0; }
	verdict

	begin "dma-status: the consumer mapped the page, the DMA completed"
	i=0
	while run 0 iommuctl dma-status accel0 "$dma_id" && grep -qF 'status: pending' "$out" && [ $i -lt 50 ]; do
		i=$((i + 1))
		usleep 100000
	done
	has 'status: ok' 'bytes done: 13'
	run 0 iommuctl dma accel0 0x40004100 13
	has 'status: ok' '|hello, lazily|'
	verdict

	release "the serving fault_consumer mapped window page 4 and ends OK" "$flog" 0 \
		'mapped IOVA 0x40004000 -> window page 4' \
		'done serving: 1 page request(s) from outside mapped and answered' 'fault_consumer: OK'
	lacks '[WRONG]' 'INVALID'
	verdict
fi

# The guide's experiment: hot-remove a bound device under its owner.
qlog=/tmp/quickstart-revoked.log
if hold "$qlog" 'holding everything' example_quickstart --hold 120; then
	begin "device remove nic0 while quickstart holds it revokes the bind"
	run 0 iommuctl device remove nic0
	has 'removed nic0; revoked its bind by context'
	verdict
	release "quickstart, its bind revoked: DETACH and UNBIND fail, exit 1" "$qlog" 1 \
		'IOMMU_DEVICE_DETACH failed' 'IOMMU_DEVICE_UNBIND failed' 'quickstart: FAILED'
	[ "$(grep -cF '[WRONG]' "$out")" -eq 2 ] || why="${why:+$why; }not two [WRONG] lines"
	verdict
fi

# nic0 as docs/topology.md's default topology has it.
begin "device add puts nic0 back; quickstart works with it again"
echo '{ "name": "nic0", "type": "pci", "bdf": "00:01.0", "iommu": "iommu0", "group": 1 }' >/tmp/nic0.json
run 0 iommuctl device add /tmp/nic0.json
has 'added nic0 (pci, 00:01.0'
run 0 example_quickstart
has 'quickstart: OK'
verdict

# After all of the above (holders come and gone, a revoked bind, hot-plug),
# the live daemon's model is still consistent, and a PRI device's credits
# can be set.
begin "check: the live model is consistent; set --device changes credits"
run 0 iommuctl check
has 'model consistent'
run 0 iommuctl set --device accel0 --page-requests 8
has 'accel0 page requests: at most 8'
run 0 iommuctl set --device accel0 --page-requests 16
verdict

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
