#!/bin/bash
# Build the read-only disk image that overcommit guests compile a kernel from:
# a Debian userland made with mmdebstrap from this host's apt sources, with
# the toolchain and Debian's linux-source-6.1 unpacked at /usr/src/linux.
#
# usage: build-kbuild-image.sh OUTPUT.img [CONFIG]
#   CONFIG (or $KBUILD_CONFIG) is a make target that writes .config, e.g.
#   x86_64_defconfig (default) or tinyconfig.
#
# The tree is configured and prepared here, once, in a chroot of the image so
# that the guests' own toolchain does it: the prepared output directory is
# /usr/src/kbuild-obj.  It is made at /out/obj, the path the guests build in
# (workloads/guest/bb-kbuild copies it there), so that nothing kbuild records
# (.cmd files, auto.conf.cmd) names another directory.  /out is left empty as
# the mount point of the guest's scratch disk.  /etc/bb-kbuild.conf records
# the configuration; OUTPUT without .img plus .conf is a copy for the host.
#
# A stamp (hash of this script, the config, the apt sources and the candidate
# versions of the packages) makes an unchanged image a no-op.
#
# Environment: KBUILD_CONFIG, KBUILD_SUITE (default bookworm),
# KBUILD_SOURCES (apt sources file, default the host's Debian sources),
# JOBS (make -j for the preparation, default nproc).
set -euo pipefail

# What the guests need to build a kernel; mmdebstrap adds their dependencies
# and minbase (which has e2fsprogs for bb-kbuild to format a blank scratch).
PACKAGES=(
	gcc make binutils libc6-dev
	flex bison bc perl cpio kmod xz-utils
	libelf-dev libssl-dev
	linux-source-6.1
)
SRC_TARBALL=/usr/src/linux-source-6.1.tar.xz
KSRC=/usr/src/linux
KOBJ=/usr/src/kbuild-obj
# Where the guests build; the tree is prepared here, then moved to $KOBJ.
GUEST_OBJ=/out/obj
CHROOT_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:?usage: build-kbuild-image.sh OUTPUT.img [CONFIG]}
CONFIG=${2:-${KBUILD_CONFIG:-x86_64_defconfig}}
SUITE=${KBUILD_SUITE:-bookworm}
JOBS=${JOBS:-$(nproc)}
LOGFILE=${OUT%.img}-image.log
START=$SECONDS

log() { printf 'kbuild-image: [%4ds] %s\n' $((SECONDS - START)) "$*" >&2; }
die() { log "error: $*"; exit 1; }

default_sources() {
	local f
	for f in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list; do
		if [[ -s $f ]]; then
			echo "$f"
			return
		fi
	done
}
SOURCES=${KBUILD_SOURCES:-$(default_sources)}

# Everything that decides what the image holds, as one hash.
image_hash() {
	{
		# contents only: the stamp must not depend on where the tree is
		sha256sum <"$HERE/build-kbuild-image.sh"
		printf 'config=%s suite=%s\n' "$CONFIG" "$SUITE"
		grep -v '^#' "$SOURCES"
		apt-cache policy "${PACKAGES[@]}" |
			awk '/^[^ ]/ { p = $1 } /Candidate:/ { print p, $2 }'
	} | sha256sum | cut -d' ' -f1
}

# Mount points below DIR, deepest first.
mounts_below() {
	awk -v d="$1/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts |
		sort -r
}

WORK=""
cleanup() {
	local m busy=0
	[[ -n $WORK && -d $WORK ]] || return 0
	for m in $(mounts_below "$WORK"); do
		umount "$m" 2>/dev/null || umount -l "$m" || busy=1
	done
	if ((busy)); then
		log "error: cannot unmount below $WORK; not removing it"
		return
	fi
	# --one-file-system: never follow a mount we failed to see into /dev
	rm -rf --one-file-system "$WORK"
}

bootstrap() {
	local root=$1 inc
	inc=$(
		IFS=,
		echo "${PACKAGES[*]}"
	)
	log "mmdebstrap $SUITE (minbase + ${#PACKAGES[@]} packages) from $SOURCES"
	# No documentation, manual pages or translations: nobody reads them in
	# the guest, and they would only make the image bigger.
	mmdebstrap --variant=minbase --include="$inc" \
		--dpkgopt='path-exclude=/usr/share/man/*' \
		--dpkgopt='path-exclude=/usr/share/locale/*' \
		--dpkgopt='path-include=/usr/share/locale/locale.alias' \
		--dpkgopt='path-exclude=/usr/share/doc/*' \
		--dpkgopt='path-include=/usr/share/doc/*/copyright' \
		--aptopt='Acquire::Languages "none"' \
		"$SUITE" "$root" "$SOURCES" 2>&1 | tee -a "$LOGFILE" |
		grep --line-buffered -E '^(I|W|E):' >&2 ||
		die "mmdebstrap failed; see $LOGFILE"
	[[ -e $root$SRC_TARBALL ]] || die "no $SRC_TARBALL in the image root"
}

unpack_source() {
	local root=$1 dir
	log "unpacking $SRC_TARBALL to $KSRC"
	tar -C "$root/usr/src" --no-same-owner -xJf "$root$SRC_TARBALL" ||
		die "cannot unpack $SRC_TARBALL"
	dir=$root/usr/src/$(basename "$SRC_TARBALL" .tar.xz)
	[[ -e $dir/Makefile ]] || die "unexpected layout in $SRC_TARBALL"
	mv "$dir" "$root$KSRC"
	# The tarball is 140 MB the guests never read.
	rm -f "$root$SRC_TARBALL"
}

# Run a command in the image root with /proc, /sys and /dev, as the guests do.
in_root() {
	local root=$1 rc=0 m
	shift
	mount -t proc proc "$root/proc"
	mount -t sysfs sysfs "$root/sys"
	mount --bind /dev "$root/dev"
	chroot "$root" /usr/bin/env -i PATH="$CHROOT_PATH" HOME=/root \
		LC_ALL=C TMPDIR=/tmp "$@" || rc=$?
	for m in dev sys proc; do
		umount "$root/$m"
	done
	return "$rc"
}

prepare_tree() {
	local root=$1 mk
	mk=(make -C "$KSRC" O="$GUEST_OBJ" -j "$JOBS")
	mkdir -p "$root$GUEST_OBJ"
	log "make $CONFIG (log: $LOGFILE)"
	in_root "$root" "${mk[@]}" "$CONFIG" >>"$LOGFILE" 2>&1 ||
		{ tail -20 "$LOGFILE" >&2; die "make $CONFIG failed"; }
	log "make prepare scripts, $JOBS jobs"
	in_root "$root" "${mk[@]}" prepare scripts >>"$LOGFILE" 2>&1 ||
		{ tail -20 "$LOGFILE" >&2; die "make prepare failed"; }
	mv "$root$GUEST_OBJ" "$root$KOBJ"
}

# VERSION.PATCHLEVEL.SUBLEVEL from the top Makefile, without running make.
kernel_version() {
	awk -F' *= *' '$1 == "VERSION" { v = $2 } $1 == "PATCHLEVEL" { p = $2 }
		$1 == "SUBLEVEL" { print v "." p "." $2; exit }' "$1/Makefile"
}

write_conf() {
	local root=$1 ver gcc
	ver=$(chroot "$root" dpkg-query -W -f="\${Version}" linux-source-6.1)
	gcc=$(chroot "$root" gcc -dumpfullversion)
	{
		echo "# written by workloads/build-kbuild-image.sh"
		echo "KBUILD_CONFIG=$CONFIG"
		echo "KBUILD_SRC=$KSRC"
		echo "KBUILD_OBJ=$KOBJ"
		echo "KBUILD_GUEST_OBJ=$GUEST_OBJ"
		echo "LINUX_SOURCE_VERSION=$ver"
		echo "KERNELVERSION=$(kernel_version "$root$KSRC")"
		echo "GCC_VERSION=$gcc"
	} >"$root/etc/bb-kbuild.conf"
}

# An ext4 image of ROOT: content plus 10 % and 128 MiB, sparse.  No journal:
# the guests mount it read-only from a read-only disk.
make_fs() {
	local root=$1 img=$2 kib inodes
	kib=$(du -sx --block-size=1K "$root" | cut -f1)
	inodes=$(find "$root" -xdev | wc -l)
	inodes=$((inodes + inodes / 10 + 4096))
	kib=$((kib + inodes / 4 + kib / 10 + 131072))
	log "mkfs.ext4 -d: $((kib >> 10)) MiB, $inodes inodes"
	rm -f "$img"
	truncate -s "${kib}K" "$img"
	mkfs.ext4 -q -F -L bb-kbuild -O ^has_journal -m 0 -N "$inodes" \
		-d "$root" "$img" >>"$LOGFILE" 2>&1 ||
		{ tail -5 "$LOGFILE" >&2; die "mkfs.ext4 -d failed"; }
	e2fsck -fn "$img" >>"$LOGFILE" 2>&1 || die "e2fsck finds $img broken"
}

main() {
	local want have="" stamp=$OUT.stamp root
	[[ $(id -u) -eq 0 ]] || die "must run as root (mmdebstrap, chroot, mount)"
	command -v mmdebstrap >/dev/null ||
		die "mmdebstrap is not installed (run scripts/install-deps.sh)"
	[[ -n $SOURCES && -r $SOURCES ]] ||
		die "no apt sources file (set KBUILD_SOURCES)"
	[[ $CONFIG =~ ^[A-Za-z0-9_.-]+config$ ]] ||
		die "'$CONFIG' does not look like a config target (*config)"
	want=$(image_hash)
	[[ -r $stamp ]] && have=$(cat "$stamp")
	if [[ $want == "$have" && -e $OUT ]]; then
		log "up to date ($OUT, $CONFIG)"
		return 0
	fi

	mkdir -p "$(dirname "$OUT")"
	: >"$LOGFILE"
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	WORK=$(mktemp -d "$(dirname "$OUT")/kbuild.XXXXXX")
	# apt downloads as _apt, which must be able to reach the root
	chmod 0755 "$WORK"
	root=$WORK/root
	mkdir "$root"

	bootstrap "$root"
	unpack_source "$root"
	prepare_tree "$root"
	mkdir -p "$root/out"
	write_conf "$root"
	make_fs "$root" "$WORK/image"

	mv "$WORK/image" "$OUT"
	cp "$root/etc/bb-kbuild.conf" "${OUT%.img}.conf"
	echo "$want" >"$WORK/stamp"
	mv "$WORK/stamp" "$stamp"
	log "wrote $OUT ($CONFIG): $(du -h --apparent-size "$OUT" | cut -f1)" \
		"apparent, $(du -h "$OUT" | cut -f1) on disk"
}

main "$@"
