#!/bin/bash
# A debug guest kernel for the driver tests (`make debug-kernel`; not part
# of `make check`): Debian's own kernel source (the linux-source-6.1
# package of the guest kernel's version), Debian's config of the guest
# kernel trimmed to the modules the image loads, with lock and mm
# checking on: lockdep (PROVE_LOCKING, which also turns on the spinlock,
# mutex and rwsem debugging), DEBUG_ATOMIC_SLEEP (a sleeping call under a
# spinlock or with interrupts off), DEBUG_VM and DEBUG_VM_PGFLAGS (page
# state), DEBUG_LIST, and DEBUG_OBJECTS for work items and timers.  No
# debug info (it would double the build).  Module signing stays, since
# lockdown selects it; the modules are not signed (the kernel only notes
# the taint).
#
# Results under build/debug/, laid out as fetch-guest-kernel.sh and
# build-image.sh lay out build/:
#   build/debug/guest/vmlinuz            the kernel
#   build/debug/guest/root/lib/modules/  its modules
#   build/debug/guest/kdir               the build tree (KDIR for modules)
#   build/debug/guest/kernel-release     e.g. 6.1.192-bbdebug
#   build/debug/driver/guest-driver/vballoon.ko  built against it
#   build/debug/guest/initramfs.cpio.gz  the image, booted by
#       DEV_KERNEL=... DEV_INITRD=... (make check-debug)
# A stamp (this script, the config fragment, the source version) skips the
# kernel build when nothing changed; the driver and image are remade always.
#
#   JOBS=N  parallel jobs (default: nproc)
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/.." && pwd)
# Absolute: used after cd into the source and by make -C.
BUILD=$(realpath -m "${BUILD_DIR:-$TOP/build}")
DBG=$BUILD/debug
GUEST=$DBG/guest
SRC=$DBG/src
JOBS=${JOBS:-$(nproc)}

log() { printf 'debug-kernel: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# The modules the image loads (build-image.sh): everything else that
# Debian builds as a module is left out.
IMAGE_MODULES=(virtio virtio_ring virtio_pci virtio_pci_modern_dev
	virtio_pci_legacy_dev virtio_console virtio_balloon virtio_blk ext4
	jbd2 mbcache crc16 crc32c_generic crc32c_intel)

# What is switched on or off on top of Debian's config (scripts/config).
CONFIG_ARGS=(
	--enable PROVE_LOCKING
	--enable DEBUG_ATOMIC_SLEEP
	--enable DEBUG_VM
	--enable DEBUG_VM_PGFLAGS
	--enable DEBUG_LIST
	--enable DEBUG_OBJECTS
	--enable DEBUG_OBJECTS_WORK
	--enable DEBUG_OBJECTS_TIMERS
	--enable DEBUG_INFO_NONE
	--disable DEBUG_INFO_DWARF_TOOLCHAIN_DEFAULT
	--disable DEBUG_INFO_BTF
	--disable MODULE_SIG_ALL
	--set-str SYSTEM_TRUSTED_KEYS ""
	--set-str LOCALVERSION -bbdebug
	--disable LOCALVERSION_AUTO
)

# What must be on afterwards (olddefconfig drops what it cannot keep).
CONFIG_WANT=(PROVE_LOCKING DEBUG_ATOMIC_SLEEP DEBUG_VM DEBUG_VM_PGFLAGS
	DEBUG_LIST DEBUG_OBJECTS DEBUG_OBJECTS_WORK DEBUG_OBJECTS_TIMERS
	DEBUG_INFO_NONE VIRTIO_BALLOON)

# The kernel's make, without the caller's make flags: under make -jN the
# jobserver's descriptors are not passed down, and make would warn.
kmake() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make "$@"; }

stamp() {
	{
		sha256sum <"$HERE/build-debug-kernel.sh"
		echo "$1"
		cat "$BUILD/guest/kernel-release"
	} | sha256sum | cut -d' ' -f1
}

# The download directory, removed on every exit.
FETCH_TMP=""
cleanup() { if [[ -n $FETCH_TMP ]]; then rm -rf "$FETCH_TMP"; fi; }
trap cleanup EXIT

# Debian's source of the candidate linux-source-6.1, unpacked into $SRC;
# source-version names it only once it is whole.
fetch_source() {
	local ver=$1
	rm -f "$DBG/source-version"
	FETCH_TMP=$(mktemp -d "$DBG/fetch.XXXXXX")
	log "fetching linux-source-6.1 $ver"
	(cd "$FETCH_TMP" && apt-get download -qq "linux-source-6.1=$ver") ||
		die "apt-get download linux-source-6.1=$ver failed (apt-get update?)"
	dpkg-deb -x "$FETCH_TMP"/linux-source-6.1_*.deb "$FETCH_TMP/pkg"
	rm -rf "$SRC"
	mkdir -p "$SRC"
	log "unpacking into $SRC"
	tar xJf "$FETCH_TMP/pkg/usr/src/linux-source-6.1.tar.xz" -C "$SRC" \
		--strip-components=1
	rm -rf "$FETCH_TMP"
	FETCH_TMP=""
	echo "$ver" >"$DBG/source-version"
}

configure() {
	local deb_config=$1 lsmod m
	cp "$deb_config" "$SRC/.config"
	(cd "$SRC" && ./scripts/config "${CONFIG_ARGS[@]}" &&
		kmake -s olddefconfig) >"$DBG/config.log" 2>&1 ||
		die "config failed; see $DBG/config.log"
	# localmodconfig keeps the modules an lsmod listing names, and asks
	# about nothing new after olddefconfig; yes stops on a broken pipe.
	lsmod=$DBG/lsmod
	{
		echo "Module Size Used by"
		for m in "${IMAGE_MODULES[@]}"; do echo "$m 0 0"; done
	} >"$lsmod"
	(cd "$SRC" && { yes "" || true; } | kmake -s LSMOD="$lsmod" localmodconfig &&
		kmake -s olddefconfig) >>"$DBG/config.log" 2>&1 ||
		die "localmodconfig failed; see $DBG/config.log"
	for m in "${CONFIG_WANT[@]}"; do
		grep -Eq "^CONFIG_$m=(y|m)" "$SRC/.config" ||
			die "CONFIG_$m is not on (see $SRC/.config)"
	done
}

build_kernel() {
	local ver want have="" rel deb_config
	[[ -r $BUILD/guest/kernel-release ]] ||
		die "no guest kernel in $BUILD/guest (make guest-kernel)"
	deb_config=$BUILD/guest/root/boot/config-$(cat "$BUILD/guest/kernel-release")
	[[ -r $deb_config ]] || die "no Debian config at $deb_config"
	# The source of the guest kernel's own package version.
	ver=$(apt-cache policy "linux-image-$(cat "$BUILD/guest/kernel-release")" |
		awk '/Candidate:/ { print $2 }')
	[[ -n $ver && $ver != "(none)" ]] ||
		die "apt knows no version of the guest kernel's package (apt-get update?)"
	want=$(stamp "$ver")
	[[ -r $GUEST/.stamp ]] && have=$(cat "$GUEST/.stamp")
	if [[ $want == "$have" && -e $GUEST/vmlinuz && -e $SRC/Module.symvers ]]; then
		log "kernel up to date ($(cat "$GUEST/kernel-release"))"
		return
	fi
	# From here on the tree changes: no stamp until it is whole again.
	rm -f "$GUEST/.stamp"
	mkdir -p "$DBG"
	[[ -e $SRC/Makefile && -r $DBG/source-version &&
		$(cat "$DBG/source-version") == "$ver" ]] || fetch_source "$ver"
	configure "$deb_config"
	log "building bzImage and modules with $JOBS jobs (log: $DBG/build.log)"
	(cd "$SRC" && kmake -j"$JOBS" bzImage modules) >"$DBG/build.log" 2>&1 ||
		{ tail -30 "$DBG/build.log" >&2; die "build failed; see $DBG/build.log"; }
	rel=$(cd "$SRC" && kmake -s kernelrelease)
	rm -rf "$GUEST"
	mkdir -p "$GUEST/root"
	(cd "$SRC" && kmake -s INSTALL_MOD_PATH="$GUEST/root" INSTALL_MOD_STRIP=1 \
		modules_install) >>"$DBG/build.log" 2>&1 ||
		die "modules_install failed; see $DBG/build.log"
	cp "$SRC/arch/x86/boot/bzImage" "$GUEST/vmlinuz"
	ln -s ../src "$GUEST/kdir"
	echo "$rel" >"$GUEST/kernel-release"
	echo "$want" >"$GUEST/.stamp"
	log "built $rel"
}

# vballoon.ko against the debug tree, out of the source directory so that
# the ordinary build's objects stay as they are (the protocol header in
# ../include, as in the tree).
build_driver() {
	local d=$DBG/driver
	rm -rf "$d"
	mkdir -p "$d/guest-driver" "$d/include"
	cp "$TOP"/guest-driver/{Kbuild,*.c,*.h} "$d/guest-driver/"
	cp "$TOP"/include/vballoon_proto.h "$d/include/"
	kmake -s -C "$SRC" M="$d/guest-driver" modules >"$DBG/driver.log" 2>&1 ||
		{ cat "$DBG/driver.log" >&2; die "vballoon.ko does not build against $SRC"; }
	if grep -q ": warning:" "$DBG/driver.log"; then
		cat "$DBG/driver.log" >&2
		die "vballoon.ko builds with warnings against the debug kernel"
	fi
	log "built $d/guest-driver/vballoon.ko"
}

build_image() {
	[[ -x $BUILD/workloads/bbload ]] || die "no $BUILD/workloads/bbload (make image)"
	mkdir -p "$DBG/workloads"
	install -m 0755 "$BUILD/workloads/bbload" "$DBG/workloads/bbload"
	BUILD_DIR=$DBG VBALLOON_KO=$DBG/driver/guest-driver/vballoon.ko \
		bash "$HERE/build-image.sh" "$GUEST/initramfs.cpio.gz"
}

build_kernel
build_driver
build_image
