#!/bin/bash
# Build the guest initramfs: busybox-static, the virtio transport and console
# modules, the stock virtio_balloon.ko, vballoon.ko when it has been built,
# the virtio-blk and ext4 modules that bb-kbuild mounts its disks with,
# qemu-guest-agent with its libraries, the workloads, guest/init and
# guest/bb-kbuild.
#
# usage: build-image.sh OUTPUT.cpio.gz
# Inputs: build/guest/ (fetch-guest-kernel.sh), build/workloads/bbload,
# guest-driver/vballoon.ko (optional; VBALLOON_KO=path for another).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/.." && pwd)
BUILD=${BUILD_DIR:-$TOP/build}
GUEST=$BUILD/guest
# The driver built for that kernel (build-debug-kernel.sh points elsewhere;
# one named so must exist).
VBALLOON_KO_NAMED=${VBALLOON_KO:+1}
VBALLOON_KO=${VBALLOON_KO:-$TOP/guest-driver/vballoon.ko}
OUT=${1:?usage: build-image.sh OUTPUT.cpio.gz}

# Modules the guest needs, in load order; modprobe resolves the rest.
MODULES=(
	drivers/virtio/virtio.ko
	drivers/virtio/virtio_ring.ko
	drivers/virtio/virtio_pci_modern_dev.ko
	drivers/virtio/virtio_pci_legacy_dev.ko
	drivers/virtio/virtio_pci.ko
	drivers/char/virtio_console.ko
	drivers/virtio/virtio_balloon.ko
)

# What bb-kbuild loads to mount its disks (build-kbuild-image.sh).  Their
# dependencies, soft ones too (ext4 and jbd2 want a crypto-crc32c), are
# looked up with modinfo: the unpacked tree has no modules.dep.
DISK_MODULES=(virtio_blk ext4)

log() { printf 'build-image: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Copy a dynamically linked program and every library it loads.
copy_with_libs() {
	local prog=$1 dest=$2 lib
	install -D -m 0755 "$prog" "$dest$prog"
	for lib in $(ldd "$prog" | awk '/=>/ { print $3 } /^\t\// { print $1 }'); do
		[[ -e $dest$lib ]] || install -D -m 0755 "$lib" "$dest$lib"
	done
}

# Module name (dashes as underscores) -> path below kernel/, of every module.
declare -A KO_PATH=()
index_modules() {
	local kdir=$1 p n
	while IFS= read -r -d '' p; do
		n=${p##*/}
		n=${n%.ko}
		KO_PATH[${n//-/_}]=${p#"$kdir"/}
	done < <(find "$kdir" -name '*.ko' -print0)
}

# Modules that provide alias $2 (e.g. crypto-crc32c), as paths.
alias_providers() {
	local kdir=$1 alias=$2 f
	grep -rlaF --include='*.ko' "alias=$alias" "$kdir" | while read -r f; do
		if modinfo -F alias "$f" | grep -qxF "$alias"; then
			echo "$f"
		fi
	done
}

# Add module $2 and everything it depends on to NEED (paths below kernel/).
declare -A NEED=()
resolve_module() {
	local kdir=$1 n=${2//-/_} p d f
	p=${KO_PATH[$n]:-}
	[[ -n $p ]] || die "module $2 not found in $kdir"
	[[ -z ${NEED[$p]:-} ]] || return 0
	NEED[$p]=1
	for d in $(modinfo -F depends "$kdir/$p" | tr ',' ' '); do
		resolve_module "$kdir" "$d"
	done
	for d in $(modinfo -F softdep "$kdir/$p"); do
		case $d in
		pre: | post:) continue ;;
		esac
		if [[ -n ${KO_PATH[${d//-/_}]:-} ]]; then
			resolve_module "$kdir" "$d"
			continue
		fi
		for f in $(alias_providers "$kdir" "$d"); do
			f=${f##*/}
			resolve_module "$kdir" "${f%.ko}"
		done
	done
}

STAGE=""
cleanup() { if [[ -n $STAGE ]]; then rm -rf "$STAGE"; fi; }

main() {
	local rel modroot m
	[[ -r $GUEST/kernel-release ]] ||
		die "no guest kernel in $GUEST (run workloads/fetch-guest-kernel.sh)"
	rel=$(cat "$GUEST/kernel-release")
	[[ -x /bin/busybox ]] || die "busybox-static is not installed"
	[[ -x /usr/sbin/qemu-ga ]] || die "qemu-guest-agent is not installed"
	[[ -x $BUILD/workloads/bbload ]] || die "missing $BUILD/workloads/bbload"
	[[ -z $VBALLOON_KO_NAMED || -e $VBALLOON_KO ]] ||
		die "VBALLOON_KO=$VBALLOON_KO does not exist"

	STAGE=$(mktemp -d "$BUILD/image.XXXXXX")
	local stage=$STAGE
	trap cleanup EXIT
	mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,run,etc}
	install -m 0755 /bin/busybox "$stage/bin/busybox"
	install -m 0755 "$HERE/guest/init" "$stage/init"
	install -m 0755 "$BUILD/workloads/bbload" "$stage/usr/bin/bbload"
	install -m 0755 "$HERE/guest/bb-kbuild" "$stage/usr/bin/bb-kbuild"
	copy_with_libs /usr/sbin/qemu-ga "$stage"

	modroot=$stage/lib/modules/$rel
	index_modules "$GUEST/root/lib/modules/$rel/kernel"
	for m in "${DISK_MODULES[@]}"; do
		resolve_module "$GUEST/root/lib/modules/$rel/kernel" "$m"
	done
	log "disk modules: $(printf '%s\n' "${!NEED[@]}" | sed 's|.*/||' |
		sort | tr '\n' ' ')"
	for m in "${MODULES[@]}" "${!NEED[@]}"; do
		install -D -m 0644 "$GUEST/root/lib/modules/$rel/kernel/$m" \
			"$modroot/kernel/$m"
	done
	if [[ -e $VBALLOON_KO ]]; then
		install -D -m 0644 "$VBALLOON_KO" "$modroot/extra/vballoon.ko"
		log "including $VBALLOON_KO"
	else
		log "$VBALLOON_KO not built; image has the stock driver only"
	fi
	cp "$GUEST/root/lib/modules/$rel"/modules.{builtin,builtin.modinfo,order} "$modroot/"
	depmod -b "$stage" "$rel"

	(cd "$stage" && find . -print0 | LC_ALL=C sort -z |
		cpio --null -o -H newc --quiet) | gzip -1 >"$OUT.tmp"
	mv "$OUT.tmp" "$OUT"
	log "wrote $OUT ($(du -h "$OUT" | cut -f1))"
}

main "$@"
