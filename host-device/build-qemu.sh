#!/bin/bash
# Build Debian's QEMU with balloonbench's virtio-balloon patch series.
#
# Fetches the pinned Debian source with apt-get source, applies
# host-device/patches/*.patch in order, configures only x86_64-softmmu and
# installs under build/qemu/.  A stamp (hash of this script and the series)
# makes an unchanged tree a no-op; a changed series is reverse-applied and
# re-applied so that only the touched files recompile.
set -euo pipefail

QEMU_DEB_VERSION="1:7.2+dfsg-7+deb12u18"

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/.." && pwd)
BUILD=${BUILD_DIR:-$TOP/build}
SRC=$BUILD/qemu-src
PREFIX=$BUILD/qemu
JOBS=${JOBS:-$(nproc)}

# shellcheck source=qemu-options.bash
. "$HERE/qemu-options.bash"

log() { printf 'build-qemu: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

series_hash() {
	{
		# contents only: the stamp must not depend on where the tree is
		sha256sum <"$HERE/build-qemu.sh"
		sha256sum <"$HERE/qemu-options.bash"
		for p in "$HERE"/patches/*.patch; do
			if [[ -e $p ]]; then sha256sum <"$p"; fi
		done
	} | sha256sum | cut -d' ' -f1
}

fetch_source() {
	local dl=$SRC/dl
	rm -rf "$SRC/tree"
	mkdir -p "$dl"
	if ! ls "$dl"/qemu_*.dsc >/dev/null 2>&1; then
		log "fetching Debian QEMU source $QEMU_DEB_VERSION"
		(cd "$dl" && apt-get source -qq --download-only \
			"qemu=$QEMU_DEB_VERSION" >/dev/null 2>&1) ||
			die "apt-get source qemu=$QEMU_DEB_VERSION failed: is this version in the deb-src entries? (run scripts/install-deps.sh)"
	fi
	log "unpacking source"
	dpkg-source -x "$dl"/qemu_*.dsc "$SRC/tree" >/dev/null ||
		die "dpkg-source -x failed for $QEMU_DEB_VERSION"
	rm -rf "$SRC/applied" "$SRC/obj"
	mkdir -p "$SRC/applied"
}

# Undo the previously applied series (newest first); on failure start over.
unapply_series() {
	local p
	for p in $(ls -r "$SRC"/applied/*.patch 2>/dev/null); do
		if ! patch -d "$SRC/tree" -p1 -R -s --batch <"$p" >/dev/null; then
			log "cannot reverse $(basename "$p"); starting from fresh source"
			fetch_source
			return
		fi
		rm -f "$p"
	done
}

apply_series() {
	local p
	for p in "$HERE"/patches/*.patch; do
		[[ -e $p ]] || continue
		log "applying $(basename "$p")"
		patch -d "$SRC/tree" -p1 -s --batch --forward <"$p" ||
			die "patch $(basename "$p") does not apply to $QEMU_DEB_VERSION"
		cp "$p" "$SRC/applied/"
	done
}

configure_qemu() {
	[[ -e $SRC/obj/build.ninja ]] && return
	mkdir -p "$SRC/obj"
	log "configuring (x86_64-softmmu only, no firmware blobs)"
	(cd "$SRC/obj" && ../tree/configure \
		--prefix="$PREFIX" \
		--target-list=x86_64-softmmu \
		--firmwarepath="$FIRMWARE_PATH" \
		--enable-trace-backends=log \
		"${QEMU_COMMON_OPTS[@]}" \
		>"$SRC/configure.log" 2>&1) ||
		die "configure failed; see $SRC/configure.log"
}

main() {
	local want have=""
	want=$(series_hash)
	[[ -r $PREFIX/.stamp ]] && have=$(cat "$PREFIX/.stamp")
	if [[ $want == "$have" && -x $PREFIX/bin/qemu-system-x86_64 ]]; then
		log "up to date ($PREFIX)"
		return 0
	fi
	[[ -d $SRC/tree ]] || fetch_source
	unapply_series
	apply_series
	configure_qemu
	log "building with $JOBS jobs (log: $SRC/build.log)"
	ninja -C "$SRC/obj" -j "$JOBS" qemu-system-x86_64 >"$SRC/build.log" 2>&1 ||
		{ tail -30 "$SRC/build.log" >&2; die "build failed; see $SRC/build.log"; }
	mkdir -p "$PREFIX/bin" "$PREFIX/share"
	install -m 0755 "$SRC/obj/qemu-system-x86_64" "$PREFIX/bin/"
	echo "$want" >"$PREFIX/.stamp"
	log "installed $PREFIX/bin/qemu-system-x86_64"
}

main "$@"
