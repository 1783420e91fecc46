#!/bin/bash
# Download Debian's guest kernel (linux-image-amd64) and the matching headers
# (linux-headers-amd64, same ABI) and unpack them into build/guest/.  No
# kernel is compiled.  Results:
#   build/guest/vmlinuz          the kernel to boot
#   build/guest/root/            unpacked packages (modules, headers, kbuild)
#   build/guest/kdir             symlink to the headers tree (KDIR for modules)
#   build/guest/kernel-release   e.g. 6.1.0-56-amd64
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/.." && pwd)
OUT=${BUILD_DIR:-$TOP/build}/guest

log() { printf 'guest-kernel: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# The ABI the metapackages point at, e.g. linux-image-6.1.0-56-amd64.
depends_of() {
	apt-cache depends "$1" 2>/dev/null |
		awk -v pfx="$2" '$1 == "Depends:" && index($2, pfx) == 1 { print $2; exit }'
}

main() {
	local img hdr rel common kbuild ver
	img=$(depends_of linux-image-amd64 linux-image-)
	hdr=$(depends_of linux-headers-amd64 linux-headers-)
	[[ -n $img && -n $hdr ]] ||
		die "cannot resolve linux-image-amd64/linux-headers-amd64 (apt-get update?)"
	rel=${img#linux-image-}
	[[ ${hdr#linux-headers-} == "$rel" ]] ||
		die "image $img and headers $hdr differ in version"
	if [[ -r $OUT/kernel-release && $(cat "$OUT/kernel-release") == "$rel" &&
		-e $OUT/vmlinuz && -e $OUT/kdir/Makefile ]]; then
		log "up to date ($rel)"
		return 0
	fi
	common=$(depends_of "$hdr" "linux-headers-")
	kbuild=$(depends_of "$hdr" "linux-kbuild-")
	[[ -n $common && -n $kbuild ]] || die "cannot resolve dependencies of $hdr"
	ver=$(apt-cache policy "$img" | awk '/Candidate:/ { print $2 }')
	log "fetching $img $hdr $common $kbuild ($ver)"
	rm -rf "$OUT"
	mkdir -p "$OUT/deb" "$OUT/root"
	(cd "$OUT/deb" && apt-get download -qq "$img" "$hdr" "$common" "$kbuild") ||
		die "apt-get download failed"
	local d
	for d in "$OUT"/deb/*.deb; do
		dpkg-deb -x "$d" "$OUT/root"
	done
	ln -s "root/boot/vmlinuz-$rel" "$OUT/vmlinuz"
	ln -s "root/usr/src/linux-headers-$rel" "$OUT/kdir"
	# The headers Makefile includes the common tree by absolute path.
	sed -i "s|/usr/src/|$OUT/root/usr/src/|" "$OUT/kdir/Makefile"
	[[ -e $OUT/kdir/Makefile ]] || die "headers tree incomplete in $OUT/kdir"
	echo "$rel" >"$OUT/kernel-release"
	rm -rf "$OUT/deb"
	log "unpacked $rel into $OUT"
}

main "$@"
