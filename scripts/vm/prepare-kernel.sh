#!/usr/bin/env bash
# prepare-kernel.sh - fetch a Debian kernel that has CUSE as a module.
#
# The host kernels we develop and run CI on are built without CUSE, so the
# end-to-end tier boots Debian's own kernel under QEMU.  The package is only
# downloaded and unpacked into a cache (never installed); a second run does no
# network access at all.
#
# Which kernel: $CUSE_IOMMU_KERNEL, "6.1" (default: Debian 12's own, package
# linux-image-amd64) or "6.12" (Debian 12's backported 6.12,
# linux-image-6.12-amd64: FUSE is built in there and modules are
# xz-compressed; the initramfs gets them decompressed).
#
# Prints shell assignments, ready for eval:
#   VMLINUZ=/path/vmlinuz-...
#   CUSE_MODULES='...'   module files to insmod, in order, for /dev/cuse
#                        (fuse.ko first where FUSE is a module)
#   SHARE_MODULES='...'  module files to insmod, in order, to mount the host's
#                        files over virtio 9p (scripts/run.sh -- PROGRAM)
# Usage: eval "$(scripts/vm/prepare-kernel.sh)"
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

case "${CUSE_IOMMU_KERNEL:-6.1}" in
6.1)	meta=linux-image-amd64 ;;
6.12)	meta=linux-image-6.12-amd64 ;;
*)	vm_die "unknown kernel '${CUSE_IOMMU_KERNEL}' (expected 6.1 or 6.12)" ;;
esac
need_pkgs binutils xz-utils	# objcopy reads a module's dependencies; xz unpacks .ko.xz

# v2: the layout with the 9p and virtio modules, beside older caches.
cache=$(vm_cache_dir)/v2
mkdir -p "$cache"

# The image package the meta-package points to, e.g. linux-image-6.1.0-56-amd64.
current_pkg() {
	apt-cache depends "$meta" 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -n 1
}

# The directories of the package kept in the cache (the rest of its ~400 MB
# is never needed): the modules CUSE and the 9p share need, with theirs.
kept_dirs=(kernel/fs/fuse kernel/fs/9p kernel/net/9p kernel/fs/netfs kernel/fs/fscache kernel/drivers/virtio)

# module_deps FILE - the names of the modules FILE depends on (its .modinfo).
module_deps() {
	local file=$1 raw
	raw=$(mktemp)
	case "$file" in
	*.xz)	xz -dc "$file" >"$raw" ;;
	*)	cp "$file" "$raw" ;;
	esac
	objcopy -O binary --only-section=.modinfo "$raw" /dev/stdout 2>/dev/null |
		tr '\0' '\n' | sed -n 's/^depends=//p' | tr ',' ' '
	rm -f "$raw"
}

# load_order MODDIR NAME... - the module files for NAMEs and their
# dependencies, dependencies first; built-in modules (no file) are skipped.
load_order() {
	local moddir=$1 name file dep
	shift
	for name in "$@"; do
		file=$(find "$moddir" -name "$name.ko" -o -name "$name.ko.xz" | head -n 1)
		[ -n "$file" ] || {
			grep -q "/$name.ko" "$moddir/modules.builtin" 2>/dev/null ||
				vm_die "module $name: not in the cache and not built in"
			continue
		}
		for dep in $(module_deps "$file"); do
			load_order "$moddir" "${dep//-/_}"
		done
		echo "$file"
	done
}

# Print the assignments for an unpacked package directory; fail if incomplete.
emit() {
	local root=$1 vmlinuz moddir cuse share
	vmlinuz=$(ls "$root"/boot/vmlinuz-* 2>/dev/null | head -n 1)
	moddir=$(ls -d "$root"/lib/modules/* 2>/dev/null | head -n 1)
	[ -n "$vmlinuz" ] && [ -n "$moddir" ] || return 1
	cuse=$(load_order "$moddir" cuse | awk '!seen[$0]++' | tr '\n' ' ')
	share=$(load_order "$moddir" virtio_pci 9pnet_virtio 9p | awk '!seen[$0]++' | tr '\n' ' ')
	[ -n "$cuse" ] || return 1
	printf 'VMLINUZ=%q\nCUSE_MODULES=%q\nSHARE_MODULES=%q\n' "$vmlinuz" "$cuse" "$share"
}

pkg=$(current_pkg || true)
if [ -z "$pkg" ]; then
	# No package lists yet (fresh machine or container): refresh them once.
	# If that fails too (offline), fall back to whatever is already cached.
	if [ "$(id -u)" -eq 0 ] && apt-get update >&2; then
		pkg=$(current_pkg || true)
	fi
fi
if [ -z "$pkg" ]; then
	for d in "$cache"/linux-image-*/; do
		[ -f "$d/.done-v2" ] && emit "${d%/}" && exit 0
	done
	vm_die "cannot resolve $meta (apt-cache depends) and nothing is cached in $cache"
fi

dir="$cache/$pkg"
# A complete unpack is marked by .done-v2, so an interrupted run is redone,
# not trusted.
if [ -f "$dir/.done-v2" ] && emit "$dir"; then
	exit 0
fi

vm_log "downloading $pkg into $cache"
rm -rf "$dir" "$cache"/download
mkdir -p "$cache"/download
# apt-get download writes into the current directory.  As root it warns that the
# download is unsandboxed (the _apt user cannot write here); that is harmless.
(cd "$cache"/download && apt-get download "$pkg" >&2) ||
	{ [ "$(id -u)" -eq 0 ] && apt-get update >&2 && (cd "$cache"/download && apt-get download "$pkg" >&2); } ||
	vm_die "apt-get download $pkg failed"
deb=$(ls "$cache"/download/"$pkg"_*.deb | head -n 1)
dpkg-deb -x "$deb" "$cache"/download/root
mkdir -p "$dir"
(
	cd "$cache"/download/root
	cp -a --parents boot/vmlinuz-* "$dir"/
	for m in lib/modules/*; do
		cp -a --parents "$m/modules.builtin" "$dir"/
		for k in "${kept_dirs[@]}"; do
			[ -d "$m/$k" ] && cp -a --parents "$m/$k" "$dir"/
		done
	done
)
rm -rf "$cache"/download
emit "$dir" >/dev/null || vm_die "$pkg has no vmlinuz or no cuse module"
touch "$dir/.done-v2"
emit "$dir"
