#!/bin/bash
# The wire protocol as QEMU sees it agrees with include/vballoon_proto.h:
# the header that host-device/patches adds to QEMU's tree defines exactly
# the same VBALLOON_* macros with the same values, and its message layouts
# have the same sizes.  Needs a C compiler only; no VM.
. "$(dirname "$0")/lib.sh"

GUEST_H=$TOP/include/vballoon_proto.h
QEMU_PATH=include/hw/virtio/vballoon-proto.h
PATCHES=$TOP/host-device/patches
CC=${CC:-cc}

command -v "$CC" >/dev/null || skip_all "no C compiler ($CC)"
plan 5

# QEMU's header as the series leaves it: the '+' lines of the one patch
# that creates it.  Should a later patch edit it, use the patched build
# tree instead.
qemu_header() {
	local creators editors
	creators=$(grep -l "^+++ b/$QEMU_PATH\$" "$PATCHES"/*.patch || true)
	editors=$(grep -l "^--- a/$QEMU_PATH\$" "$PATCHES"/*.patch || true)
	if [[ $(wc -w <<<"$creators") -eq 1 && -z $editors ]]; then
		awk -v f="b/$QEMU_PATH" '
			/^diff --git / { on = 0 }
			$1 == "+++" && $2 == f { on = 1; next }
			on && /^@@/ { next }
			on && /^\+/ { print substr($0, 2) }
		' "$creators"
	elif [[ -r $TOP/build/qemu-src/tree/$QEMU_PATH ]]; then
		cat "$TOP/build/qemu-src/tree/$QEMU_PATH"
	else
		return 1
	fi
}

# Names of the VBALLOON_* macros with a value (not include guards) in
# header $1, sorted.
macro_names() {
	"$CC" -dM -E -include stdint.h -x c "$1" |
		awk '$1 == "#define" && $2 ~ /^VBALLOON_/ && NF > 2 { print $2 }' | sort
}

# Build and run a program printing every macro of header $1 (names from
# $2) and the size of each message layout (C expressions in $3).
dump_values() {
	local hdr=$1 names=$2 sizes=$3 src=$T_TMP/dump.c n
	{
		echo '#include <stdint.h>'
		echo '#include <stdio.h>'
		echo "#include \"$hdr\""
		echo 'int main(void) {'
		for n in $names; do
			printf 'printf("%s %%llu\\n", (unsigned long long)(%s));\n' "$n" "$n"
		done
		echo "$sizes"
		echo 'return 0; }'
	} >"$src"
	"$CC" -Wall -Werror -o "$T_TMP/dump" "$src" && "$T_TMP/dump"
}

qh=$T_TMP/vballoon-proto.h
if qemu_header >"$qh" && [[ -s $qh ]]; then
	ok "QEMU's $QEMU_PATH found in the patch series"
else
	not_ok "QEMU's $QEMU_PATH found in the patch series"
	done_testing
fi

gnames=$(macro_names "$GUEST_H")
qnames=$(macro_names "$qh")
is_same() {
	if [[ $1 == "$2" ]]; then
		ok "$3"
	else
		not_ok "$3"
		diag "$(diff <(echo "$1") <(echo "$2") || true)"
	fi
}
is_same "$gnames" "$qnames" "both headers define the same VBALLOON_* macros"
check "there are at least 20 of them" test "$(wc -l <<<"$gnames")" -ge 20

gvals=$(dump_values "$GUEST_H" "$gnames" \
	'printf("hdr %zu chunk %zu\n", sizeof(struct vballoon_bitmap_hdr), sizeof(struct vballoon_chunk));') ||
	gvals="guest header does not compile"
qvals=$(dump_values "$qh" "$qnames" \
	'printf("hdr %zu chunk %zu\n", sizeof(VBalloonBitmapHdr), sizeof(VBalloonChunk));') ||
	qvals="QEMU header does not compile"
is_same "$gvals" "$qvals" "every macro has the same value, layouts the same size"
check "layouts are 16 bytes each" grep -qx 'hdr 16 chunk 16' <<<"$qvals"
done_testing
