#!/bin/sh
# examples.sh - run the teaching programs (examples/, docs/guide.md) against
# the live /dev/iommu and check them: an example passes only if it exits 0
# and printed the lines that show it did its job.  Prints one line per
# example, "PASS example_NAME" followed by those lines, or "FAIL
# example_NAME: why" followed by its whole output; then "N passed, M failed".
# Exit status 0 only if every example passed.
#
# guest.sh runs it in test mode (build-initramfs.sh installs it as
# /bin/examples.sh); in the shell VM it can be run by hand.

passed=0
failed=0

# run_example NAME LINE... - run /bin/NAME; every LINE is a fixed string
# that must appear in its output.
run_example() {
	name=$1
	shift
	out=/tmp/$name.out
	if [ ! -x "/bin/$name" ]; then
		echo "FAIL $name: /bin/$name is not in this initramfs"
		failed=$((failed + 1))
		return
	fi
	timeout 15 "/bin/$name" >"$out" 2>&1
	rc=$?
	why=
	case $rc in
	0)	;;
	124|143) why="did not finish within 15 s" ;;
	*)	why="exit status $rc" ;;
	esac
	for want in "$@"; do
		grep -qF -- "$want" "$out" || why="${why:+$why; }no line with '$want'"
	done
	if [ -z "$why" ]; then
		echo "PASS $name"
		for want in "$@"; do
			grep -F -- "$want" "$out" | head -n 1 | sed 's/^ */    | /'
		done
		passed=$((passed + 1))
	else
		echo "FAIL $name: $why"
		sed 's/^/    | /' "$out"
		failed=$((failed + 1))
	fi
}

run_example example_quickstart \
	'[ok] the device wrote "hello from nic0" into our buffer at offset 0x40' \
	'[ok] the IOMMU stopped it: a translation fault, reason NOT_MAPPED' \
	'quickstart: OK'

run_example example_fault_consumer \
	'[ok] the DMA completed: status 0, 12288 of 12288 bytes' \
	'[ok] 4 page requests served, one per page touched' \
	'[ok] every byte the device wrote is in our window' \
	'fault_consumer: OK'

run_example example_mdev \
	'[ok] buffer A holds "written by mdev0"' \
	'[ok] buffer B holds "written by mdev1"' \
	'[ok] mapped into IOASID 2 as well: still 3 -- the same page is charged once' \
	'mdev: OK'

run_example example_nested_sva \
	'[ok] the record: a STAGE1 page request of PASID 7' \
	'[ok] the DMA resumed and completed: data page 1 holds "after the fault"' \
	'[ok] the device still reads "OLD: data page 0"' \
	'[ok] after the invalidation the device reads "NEW: data page 2"' \
	'nested_sva: OK'

run_example example_virtio_iommu \
	'RESV_MEM MSI      [0xfee00000, 0xfeefffff]' \
	'[ok] UNMAP [0x100000, 0x100fff]: splits the map' \
	'[ok] unmap(0, 4)  fails, unmaps nothing' \
	'[ok] unmap(0, 14)  unmaps a and b' \
	'virtio_iommu: OK'

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
