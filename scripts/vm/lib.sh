# shellcheck shell=bash
# Shared helpers for the VM tier scripts.  Source it; it defines functions only.

vm_log() { printf 'vm: %s\n' "$*" >&2; }
vm_die() { printf 'vm: error: %s\n' "$*" >&2; exit 1; }

# need_pkgs PKG... - install the Debian packages that are missing.
# Idempotent: dpkg -s first, and `apt-get update` only when something is missing,
# so a prepared machine never touches the network.
need_pkgs() {
	local missing=() p
	for p in "$@"; do
		dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	[ "$(id -u)" -eq 0 ] || vm_die "missing packages (${missing[*]}); run as root to install them"
	vm_log "installing ${missing[*]}"
	apt-get update >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2
}

# The kernel cache lives outside the repository so it never lands in git and is
# shared by every build directory.
vm_cache_dir() { printf '%s/cuse-iommu/kernel' "${XDG_CACHE_HOME:-$HOME/.cache}"; }

# vm_mode_run BUILD_DIR MODE [run-vm.sh options...]
# The body of tier3.sh, demo.sh, bench.sh and shell.sh: bring BUILD_DIR's
# daemon and VM clients up to date, pack them into an initramfs under
# BUILD_DIR/vm/ and boot it in MODE.  Returns run-vm.sh's verdict.
# $CUSE_IOMMU_VM_DAEMON: another daemon to pack (an installed one).
vm_mode_run() {
	local build=$1 mode=$2 here target p
	local progs=()
	shift 2
	here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
	[ -d "$build" ] || vm_die "build directory '$build' does not exist (cmake -S . -B $build first)"
	build=$(cd "$build" && pwd)

	# The programs the mode cannot do without; the others go in if they exist,
	# so a shell VM has every client at hand.  The examples (examples/,
	# docs/guide.md) and iommuctl are checked in test mode (examples.sh,
	# iommuctl.sh) and on PATH in the shell.
	local examples=(examples/example_quickstart examples/example_fault_consumer
		examples/example_mdev examples/example_nested_sva examples/example_virtio_iommu)
	case "$mode" in
	test)	progs=(tests/vm/vm_tests tests/vm/vm_device_tests tests/vm/vm_fault_tests
			tests/vm/vm_load tests/vm/vm_hostile_tests "${examples[@]}" iommuctl/iommuctl) ;;
	demo)	progs=(tests/vm/vm_demo) ;;
	bench)	progs=(bench/vm/ioctl_bench) ;;
	shell)	progs=("${examples[@]}") ;;
	run)	progs=() ;;	# the program and its tools are the host's (run-program.sh)
	*)	vm_die "unknown mode '$mode'" ;;
	esac
	if [ -f "$build/CMakeCache.txt" ]; then
		# Rebuild what this run uses, so a stale binary is never tested.
		target=(--target cuse-iommu)
		for p in ${progs[@]+"${progs[@]}"}; do
			target+=("$(basename "$p")")
		done
		cmake --build "$build" "${target[@]}" >&2 || vm_die "building ${target[*]:1} in $build failed"
		# The shell's companion, iommuctl (the control socket's client), if
		# the tree has it; the shell works without it.
		if [ "$mode" = shell ] && [ -d "$build/iommuctl" ]; then
			cmake --build "$build" --target iommuctl >&2 ||
				vm_log "warning: building iommuctl failed; the shell VM goes without it"
		fi
	fi
	local daemon=${CUSE_IOMMU_VM_DAEMON:-$build/cuse/cuse-iommu}
	[ -x "$daemon" ] || vm_die "$daemon is missing"
	for p in ${progs[@]+"${progs[@]}"}; do
		[ -x "$build/$p" ] || vm_die "$build/$p is missing"
	done

	local bins=(--bin "$here/examples.sh" --bin "$here/iommuctl.sh")
	for p in tests/vm/vm_tests tests/vm/vm_device_tests tests/vm/vm_fault_tests \
		tests/vm/vm_load tests/vm/vm_hostile_tests tests/vm/vm_demo \
		bench/vm/ioctl_bench "${examples[@]}" iommuctl/iommuctl; do
		[ -x "$build/$p" ] && bins+=(--bin "$build/$p")
	done
	# A run's program and tools are the host's; the demo needs only itself.
	[ "$mode" = run ] && bins=()
	[ "$mode" = demo ] && bins=(--bin "$build/tests/vm/vm_demo")
	mkdir -p "$build/vm"
	"$here/build-initramfs.sh" "$build/vm/initrd-$mode.cpio.gz" \
		--daemon "$daemon" ${bins[@]+"${bins[@]}"} --mode "$mode"
	"$here/run-vm.sh" --initrd "$build/vm/initrd-$mode.cpio.gz" --mode "$mode" \
		--log "$build/vm/console-$mode.log" "$@"
}
