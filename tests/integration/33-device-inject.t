#!/bin/bash
# Malformed balloon messages, crafted by vballoon.ko's debugfs inject file
# (allow_inject=1), are dropped and counted by reason in stage-stats; the
# device never acts on them, QMP keeps answering and the queues keep
# serving: a real inflate afterwards is exact.  Every address injected lies
# outside guest RAM, so a device that wrongly accepted one would show in
# the page counter instead of corrupting the guest.  "runs" lines go through
# the driver's own encoder instead: among them runs across a bitmap record's
# frame limit, where records must not overlap.  Last, a chunk across two
# pc-dimms mapped back to back (left offline in the guest) is split and
# both parts are discarded.  On a packed ring, a zero-length indirect
# descriptor marks the device broken instead of aborting QEMU.
. "$(dirname "$0")/lib/device.bash"
dev_require
dev_require_patched
dev_require_vballoon

MEM=1024          # small guest: RAM ends at 0x40000000
BIG=3072          # pc machine: RAM 0-3 GiB, PCI hole from 0xc0000000
R=".inflate.rejected"

# Each case: inject line, then the expected counter rises "reason=n,...".
# One rule set for every mode (host-device/README.md, "Range modes"):
# a range is checked for zero length, alignment, overflow, size, then
# order (chunks, descriptors and records ascend: "overlap"), then the
# memory map; a device-writable descriptor drops the request ("bad-desc"),
# except on a device that offers none of the balloonbench bits (legacy
# here), which ignores it as upstream does.
LEGACY_CASES=(
	"legacy 0x40000|not-ram=1"
	"legacy 0xfee00|not-ram=1"
	"legacy 0xffffffff|not-ram=1"
	"legacy repeat=256 0x40000|not-ram=256"
	"legacy in=1 0x40000|not-ram=1"
	"runs 0x40000 3|not-ram=3"
)
# Legacy on a device that offers a balloonbench bit: the protocol's limits
# hold (patch 0016) and a device-writable descriptor is refused.
LEGACY_STRICT_CASES=(
	"legacy repeat=256 0x40000|not-ram=256"
	"legacy repeat=257 0x40000|too-large=1"
	"legacy in=1 0x40000|bad-desc=1"
)
BITMAP_CASES=(
	"bitmap reserved=1 0x40000 64 0x1|reserved-nonzero=1"
	"bitmap 0x40000 0|zero-length=1"
	"bitmap 0x40000 64 0x0|zero-length=1"
	"bitmap repeat=2 0x40000 128 0 0|zero-length=2"
	"bitmap in=1 0x40000 64 0x1|bad-desc=1"
	"bitmap 0x40001 64 0x1|misaligned=1"
	"bitmap 0x40000 262145 0x1|too-large=1"
	"bitmap 0x40000 128 0x1|truncated=1"
	"bitmap 0x40000 1 0x3|bad-bitmap=1"
	"bitmap 0xffffffffffffffc0 64 0x1|overflow=1"
	"bitmap 0x40000 64 0x1|not-ram=1"
	"bitmap 0x3ffc0 128 0 0xffffffff00000000|not-ram=1"
	"bitmap 0xfee00 64 0xffffffffffffffff|not-ram=1"
	"bitmap repeat=4097 0x40000 64 0x1|too-large=1"
	"bitmap repeat=3 0x40000 64 0x5|not-ram=2,overlap=2"
	"runs 0x40000 3 0x40010 2|not-ram=2"
	"@runs-across-limit|not-ram=2624"
	# 129 words of alternating bits: 4128 runs, one host call each.
	"bitmap 0x40000 8256 $(printf '0x5555555555555555 %.0s' {1..129})|not-ram=4096,too-large=1"
	"@runs-over-limit|not-ram=5000"
)
CHUNK_CASES=(
	"chunk 0x40000000 0x1000|not-ram=1"
	"chunk 0x1001 0x1000|misaligned=1"
	"chunk 0x40000000 0x1001|misaligned=1"
	"chunk 0x40000000 0|zero-length=1"
	"chunk 0xfffffffffffff000 0x2000|overflow=1"
	"chunk 0xfee00000 0x1000|not-ram=1"
	"chunk 0xfffc0000 0x40000|not-ram=1"
	"chunk 0x3ff00000 0x200000|not-ram=1"
	"chunk repeat=4097 0x40000000 0x1000|too-large=1"
	"chunk repeat=4096 0x40000000 0x1000|not-ram=1,overlap=4095"
	"chunk 0x40000000 0x1000 0x40001000 0x1000|not-ram=2"
	"chunk 0x40001000 0x1000 0x40000000 0x1000 0x40002000 0x1000|not-ram=2,overlap=1"
	"chunk 0x40000000 0x2000 0x40001000 0x1000|not-ram=1,overlap=1"
	"chunk 0x40000000 0x1000 0x3ffff000 0x1001 0x40000000 0x1000|not-ram=1,misaligned=1,overlap=1"
	"chunk 0xfffffffffffff000 0x1000 0xfffffffffffff000 0x1000|not-ram=1,overlap=1"
	"chunk in=1 0x40000000 0x1000|bad-desc=1"
	"runs 0x40000 3 0x40010 2|not-ram=2"
	"chunk 0x40000000 0x1000 0x40000000 0 0x40000001 0x1000|not-ram=1,zero-length=1,misaligned=1"
)
SG_CASES=(
	"sg 0x40000000 0x1000|not-ram=1"
	"sg 0x40000800 0x1000|misaligned=1"
	"sg 0x40000000 0|zero-length=1"
	"sg 0xfffffffffffff000 0x2000|overflow=1"
	"sg 0xfee00000 0x1000|not-ram=1"
	"sg 0xfffc0000 0x40000|not-ram=1"
	"sg 0x40000000 0x80001000|too-large=1"
	"sg 0x3ff00000 0x200000|not-ram=1"
	"sg repeat=128 0x40000000 0x1000|not-ram=1,overlap=127"
	"sg 0x40001000 0x1000 0x40000000 0x1000 0x40002000 0x1000|not-ram=2,overlap=1"
	"sg 0x40000800 0x80001000|misaligned=1"
	"sg 0x40000000 0x80001000 0x40000000 0x1000|too-large=1,not-ram=1"
	"sg in=1 0x40000000 0x1000|bad-desc=1"
	"sg repeat=129 0x40000000 0x1000|too-large=1"
	"sg repeat=2048 0x40000000 0x1000|too-large=1"
	"sg 0x40000000 0x1000 0x40000000 0 0x40000001 0x1000|not-ram=1,zero-length=1,misaligned=1"
)
# A guest big enough to have the PCI hole right after RAM.
HOLE_SG_CASES=(
	"sg 0xbffff000 0x2000|not-ram=1"
	"sg 0xc0000000 0x1000|not-ram=1"
	"sg 0xd0000000 0x10000000|not-ram=1"
	"sg 0x100000000 0x1000|not-ram=1"
)
HOLE_CHUNK_CASES=(
	"chunk 0xbffff000 0x2000|not-ram=1"
	"chunk 0xc0000000 0x40000000|not-ram=1"
	"chunk 0x100000000 0x1000|not-ram=1"
)

PER_VM=6
ncases=$((${#LEGACY_CASES[@]} + ${#LEGACY_STRICT_CASES[@]} +
	${#BITMAP_CASES[@]} + ${#CHUNK_CASES[@]} +
	${#SG_CASES[@]} + ${#HOLE_SG_CASES[@]} + ${#HOLE_CHUNK_CASES[@]}))
# Lines the guest must refuse (EINVAL) without sending anything: a runs
# line whose frames would wrap around 2^64, options the encoder or the
# free page queue does not take, a zero-indirect line on a split ring.
REFUSED_LINES=(
	"runs 18446744073709551610 20"
	"runs in=1 0x40000 3"
	"bitmap vq=free in=1 0x40000 64 0x1"
	"zero-indirect"
	"zero-indirect 5"
)
plan $((ncases + 7 * PER_VM + 5 + 4 + 1))

# send_line LINE: inject LINE, or, for @runs-across-limit, the encoder's
# own output (a "runs" line built in the guest, 42 KB, written at once):
# pairs of frames every 100 frames from 4 GiB (not RAM here), then a pair
# across the first record's 262144-frame limit, inside one 64-frame word.
# The first record takes the pair's first frame and ends at the limit, the
# second starts there: 2624 ranges.  It used to close early and start the
# second record 64 frames below the limit, below the first one's end
# ("overlap", and 2622 ranges).  @runs-over-limit: 5000 separate frames,
# which the encoder must spread over two requests of at most 4096 runs.
send_line() {
	case $1 in
	@runs-across-limit)
		dev_inject_awk "b = 1048576
			printf \"runs\"
			for (k = 0; k < 2622; k++) printf \" %d 2\", b + 100 * k
			printf \" %d 2\\n\", b + 262143"
		;;
	@runs-over-limit)
		# 5000 single frames: the encoder ends a request at 4096 runs.
		dev_inject_awk "printf \"runs\"
			for (k = 0; k < 5000; k++) printf \" %d 1\", 1048576 + 2 * k
			print \"\""
		;;
	*) dev_inject "$1" ;;
	esac
}

# inject_case "LINE|reason=n,...": one test, ok when the line was accepted
# by the guest, each named counter rose by n, no other reason moved, and
# no page was acted on.
inject_case() {
	local line=${1%%|*} want=${1#*|} before after spec reason n d sum=0 bad=""
	dev_snap
	before=$DEV_LAST_STATS
	if ! send_line "$line" >/dev/null 2>&1; then
		not_ok "$line: guest could not inject"
		return
	fi
	dev_snap
	after=$DEV_LAST_STATS
	for spec in ${want//,/ }; do
		reason=${spec%=*}
		n=${spec#*=}
		sum=$((sum + n))
		d=$(($(jq "${R}[\"$reason\"]" <<<"$after") - $(jq "${R}[\"$reason\"]" <<<"$before")))
		[[ $d == "$n" ]] || bad+=" $reason+$d"
	done
	d=$(($(jq "[${R}[]] | add" <<<"$after") - $(jq "[${R}[]] | add" <<<"$before")))
	[[ $d == "$sum" ]] || bad+=" total+$d"
	d=$(($(jq ".inflate.pages" <<<"$after") - $(jq ".inflate.pages" <<<"$before")))
	[[ $d == 0 ]] || bad+=" pages+$d"
	if [[ -z $bad ]]; then
		ok "$line: dropped as $want"
	else
		not_ok "$line: dropped as $want"
		diag "counters moved:$bad"
	fi
}

# refused_lines: every REFUSED_LINES entry fails to write, and the device
# saw no request from them.
refused_lines() {
	local l before went=""
	dev_snap
	before=$(dev_stat .inflate.requests)
	for l in "${REFUSED_LINES[@]}"; do
		dev_inject "$l" >/dev/null 2>&1 && went+=" [$l]"
	done
	dev_snap
	[[ $(dev_stat .inflate.requests) == "$before" ]] || went+=" (requests $before -> $(dev_stat .inflate.requests))"
	if [[ -z $went ]]; then
		ok "malformed lines are refused in the guest, nothing sent"
	else
		not_ok "malformed lines are refused in the guest, nothing sent"
		diag "went through:$went"
	fi
}

# vm_cases MEM PROPS MODE[:LABEL] CASE...: boot, run the cases, then check
# that the device still serves and never touched memory.  LABEL (default
# MODE) names the VM in the TAP lines.
vm_cases() {
	local mem=$1 props=$2 mode=${3%%:*} label=${3#*:} c target
	shift 3
	if ! dev_boot "$mem" "$props" \
		"bb.driver=vballoon bb.modparams=mode=$mode,allow_inject=1" ||
		! dev_guest 'test -e /sys/kernel/debug/vballoon/inject' >/dev/null; then
		not_ok "$label ($mem MiB): boot with allow_inject=1"
		for c in "$@"; do not_ok "${c%%|*}: (not booted)"; done
		for ((i = 1; i < PER_VM; i++)); do not_ok "$label: (not booted)"; done
		[[ $mode == bitmap ]] && not_ok "malformed lines: (not booted)"
		dev_stop
		return
	fi
	ok "$label ($mem MiB): boot with allow_inject=1"
	for c in "$@"; do
		inject_case "$c"
	done
	[[ $mode == bitmap ]] && refused_lines
	dev_snap
	is "$(dev_stat '.inflate.pages + .inflate.ranges')" 0 \
		"$label: no page accepted, no discard issued"
	# @runs-over-limit is two requests.
	is "$(dev_stat .inflate.requests)" $(($# + $(printf '%s\n' "$@" | grep -c '^@runs-over-limit'))) \
		"$label: every injected request completed"
	check "$label: QMP still answers" dev_qmp_ok query-balloon
	target=$((mem - 128))
	is "$(dev_balloon_to "$target")" $((target << 20)) \
		"$label: the queue still serves: real inflate is exact"
	dev_stop
	check "$label: QEMU wrote no warning or error" test ! -s "$DEV_DIR/qemu.log"
}

vm_cases "$MEM" "" legacy "${LEGACY_CASES[@]}"
vm_cases "$MEM" ",page-bitmap=on" legacy:legacy+bits "${LEGACY_STRICT_CASES[@]}"
vm_cases "$MEM" ",page-bitmap=on" bitmap "${BITMAP_CASES[@]}"
vm_cases "$MEM" ",chunk-transfer=on" chunk "${CHUNK_CASES[@]}"
vm_cases "$MEM" ",sg=on" sg "${SG_CASES[@]}"
vm_cases "$BIG" ",sg=on" sg "${HOLE_SG_CASES[@]}"
vm_cases "$BIG" ",chunk-transfer=on" chunk "${HOLE_CHUNK_CASES[@]}"

# Two pc-dimms mapped back to back at 4 GiB, kept offline in the guest: a
# chunk across their boundary is split, each part discarded on its own;
# one running past the second is rejected whole.
dimms() {
	local saved=$DEV_QEMU_ARGS base=$((1 << 32)) span
	DEV_QEMU_ARGS+=" -m $MEM,slots=2,maxmem=$((MEM + 256))M"
	for d in 0 1; do
		DEV_QEMU_ARGS+=" -object memory-backend-ram,id=dimm$d,size=128M"
		DEV_QEMU_ARGS+=" -device pc-dimm,memdev=dimm$d,id=dimm$d"
	done
	# The guest must leave the dimms offline: their pages get discarded.
	if ! dev_boot "$MEM" ",chunk-transfer=on" \
		"bb.driver=vballoon bb.modparams=mode=chunk,allow_inject=1 memhp_default_state=offline" ||
		[[ $(dev_guest 'cat /sys/devices/system/memory/auto_online_blocks') != offline ]]; then
		DEV_QEMU_ARGS=$saved
		not_ok "dimms: boot with two pc-dimms left offline"
		for ((i = 1; i < 5; i++)); do not_ok "dimms: (not booted)"; done
		dev_stop
		return
	fi
	DEV_QEMU_ARGS=$saved
	ok "dimms: boot with two pc-dimms left offline"
	is "$(dev_qmp query-memory-devices | jq -c '[.[].data.addr]')" \
		"[$base,$((base + (128 << 20)))]" "dimms: two pc-dimms back to back at 4 GiB"
	span=$(printf '0x%x' $((base + (127 << 20))))
	dev_inject "chunk $span 0x200000" >/dev/null
	dev_snap
	is "$(dev_stat '.inflate | [.pages, .ranges, ([.rejected[]] | add)] | join(" ")')" \
		"512 2 0" "dimms: a chunk across the boundary is split, both parts discarded"
	dev_inject "chunk $base 0x10001000" >/dev/null
	dev_snap
	is "$(dev_stat '.inflate | [.pages, .ranges, .rejected["not-ram"]] | join(" ")')" \
		"512 2 1" "dimms: a chunk running past the second dimm is rejected whole"
	dev_stop
	check "dimms: QEMU wrote no warning or error" test ! -s "$DEV_DIR/qemu.log"
}
dimms

# Packed ring: a ring descriptor heading an indirect table, with length 0.
# Upstream's packed path lacked the split ring's check and aborted on
# address_space_cache_init()'s assert(len > 0) (patch 0013).  The device
# must be marked broken instead, and QEMU go on.
packed_negotiated() {
	dev_qmp x-query-virtio-status \
		'{"path":"/machine/peripheral/balloon0/virtio-backend"}' |
		jq -e '."guest-features".transports | any(test("RING_PACKED")) and any(test("INDIRECT_DESC"))' >/dev/null
}
packed() {
	local bg
	if ! dev_boot "$MEM" ",chunk-transfer=on,packed=on" \
		"bb.driver=vballoon bb.modparams=mode=chunk,allow_inject=1"; then
		not_ok "packed: boot with packed=on"
		for ((i = 1; i < 4; i++)); do not_ok "packed: (not booted)"; done
		dev_stop
		return
	fi
	ok "packed: boot with packed=on"
	check "packed: the packed ring and indirect descriptors negotiated" packed_negotiated
	# The request never comes back: the guest waits 30 s for it.
	dev_inject zero-indirect >/dev/null 2>&1 &
	bg=$!
	check "packed: the zero-length indirect descriptor is refused" \
		wait_for_text "$DEV_DIR/qemu.log" 30 "Invalid size for indirect buffer table"
	check "packed: QEMU still runs and answers QMP" dev_qmp_ok query-status
	kill "$bg" 2>/dev/null || true
	wait "$bg" 2>/dev/null || true
	dev_stop
}
packed
done_testing
