#!/usr/bin/env bash
# build-initramfs.sh - pack the test VM's root filesystem.
#
# Usage: build-initramfs.sh OUT.cpio.gz --daemon PATH [--bin PATH]...
#                           [--mode test|demo|bench|shell] [--init-script FILE]
#   --daemon       the cuse-iommu daemon; installed as /bin/cuse-iommu
#   --bin          a client program; installed as /bin/<its name>
#   --mode         the guest mode /init runs unless the kernel command line
#                  says cuse_iommu.mode=... (default: test; run: a host
#                  program, scripts/vm/run-program.sh)
#   --init-script  the guest script /init hands over to (default: guest.sh here)
#
# Contents: busybox-static with its applet links, /init (init.sh here), the
# kernel modules prepare-kernel.sh lists (CUSE's, and the 9p share's for
# run mode; decompressed, busybox insmod takes plain .ko files, each set with
# a load-order file), and the programs.  Dynamically linked
# programs get the shared libraries ldd lists (the loader included) at the same
# paths; static ones are copied as they are.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

usage() { sed -n '3,10s/^# \{0,1\}//p' "$0" >&2; exit 2; }

[ $# -ge 1 ] || usage
out=$1
shift
daemon='' mode=test guest=$here/guest.sh
bins=()
while [ $# -gt 0 ]; do
	case "$1" in
	--daemon)	daemon=${2:?}; shift 2 ;;
	--bin)		bins+=("${2:?}"); shift 2 ;;
	--mode)		mode=${2:?}; shift 2 ;;
	--init-script)	guest=${2:?}; shift 2 ;;
	*)		usage ;;
	esac
done
[ -n "$daemon" ] || usage
case "$mode" in test|demo|bench|shell|run) ;; *) vm_die "unknown mode '$mode'" ;; esac
for f in "$daemon" ${bins[@]+"${bins[@]}"}; do
	[ -x "$f" ] || vm_die "$f is not an executable file"
done
[ -f "$guest" ] || vm_die "guest script $guest not found"

need_pkgs busybox-static cpio gzip xz-utils
eval "$("$here/prepare-kernel.sh")"

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
# /run: where the daemon makes its control socket (/run/cuse-iommu.sock).
mkdir -p "$root"/{bin,dev,proc,run,sys,tmp,etc/cuse-iommu,lib/modules}

# busybox-static ships /bin/busybox; the applet links make it a whole userland.
cp /bin/busybox "$root/bin/busybox"
for applet in $("$root/bin/busybox" --list); do
	[ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done

# install_prog SRC NAME - copy a program to /bin/NAME with its shared libraries.
install_prog() {
	local src=$1 name=$2 lib
	cp "$src" "$root/bin/$name"
	# ldd prints "not a dynamic executable" / "statically linked" for static
	# programs (and exits non-zero); otherwise "lib => /path (addr)" lines and
	# one bare "/path/ld-linux... (addr)" line for the loader.
	for lib in $(ldd "$src" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
		[ -e "$root$lib" ] && continue
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
}
install_prog "$daemon" cuse-iommu
for b in ${bins[@]+"${bins[@]}"}; do
	install_prog "$b" "$(basename "$b")"
done

# install_modules SET FILE... - the modules of one set, in load order.
install_modules() {
	local set=$1 m name
	shift
	mkdir -p "$root/lib/modules/$set"
	: >"$root/lib/modules/$set/order"
	for m in "$@"; do
		name=$(basename "${m%.xz}")
		case "$m" in
		*.xz)	xz -dc "$m" >"$root/lib/modules/$set/$name" ;;
		*)	cp "$m" "$root/lib/modules/$set/$name" ;;
		esac
		echo "$name" >>"$root/lib/modules/$set/order"
	done
}
# shellcheck disable=SC2086 # the lists are space-separated paths without spaces
install_modules cuse $CUSE_MODULES
# shellcheck disable=SC2086
install_modules share $SHARE_MODULES
install -m 755 "$here/init.sh" "$root/init"
install -m 755 "$guest" "$root/etc/cuse-iommu/guest.sh"
echo "$mode" >"$root/etc/cuse-iommu/mode"

# newc is the format the kernel unpacks; -R 0:0 makes every file root's even
# when this script is not run as root.  /dev/console comes from the kernel's
# built-in initramfs, so no device node (and no mknod privilege) is needed.
mkdir -p "$(dirname "$out")"
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -6 >"$out.tmp"
mv "$out.tmp" "$out"
vm_log "initramfs $out ($(du -h "$out" | cut -f1)): daemon $daemon, programs: ${bins[*]:-none}, mode $mode"
