#!/bin/bash
# vballoon.ko in each transfer mode against the patched QEMU, with single
# pages (max_order=0) and small blocks (max_order=4); 32-device-modes.t
# covers max_order=9.  The device offers every mode bit and the driver
# acknowledges exactly the one asked for; inflate, a 3-page deflate and the
# full deflate are exact on both sides and the device rejects nothing; the
# balloon holds order-4 blocks or single pages as asked, and the 3-page
# deflate splits a block only when no single page is held.  Single pages
# come from free pageblocks cut up while there are any (split_blocks), then
# from the bulk allocator, on a fragmented guest too, and split_blocks=0
# takes them all from the bulk allocator.
. "$(dirname "$0")/lib/driver.bash"
drv_require patched

MEM=1024
TARGET=640
PAGES=$(((MEM - TARGET) * 256))
ALL=",page-bitmap=on,chunk-transfer=on,sg=on"
PER_VM=14
SPLIT_N=8
# mode  acknowledged balloonbench bits (16-20)
MODES=("bitmap $((1 << 16))" "chunk $((1 << 17))" "sg $((1 << 18))")
ORDERS=(0 4)
plan $((${#MODES[@]} * ${#ORDERS[@]} * PER_VM + SPLIT_N))

# The balloonbench bits the guest acknowledged, as a decimal mask.
acked_bb_bits() {
	dev_qmp x-query-virtio-status \
		'{"path":"/machine/peripheral/balloon0/virtio-backend"}' |
		jq '(."guest-features"."unknown-dev-features" // 0) as $u |
			(($u / 65536) | floor) % 32 * 65536'
}

run() {
	local mode=$1 bits=$2 order=$3 name="$1 max_order=$3" rest
	if ! dev_boot "$MEM" "$ALL" \
		"bb.driver=vballoon bb.modparams=mode=$mode,max_order=$order"; then
		not_ok "$name: boot"
		drv_fail_rest $((PER_VM - 1)) "$name"
		dev_stop
		return
	fi
	ok "$name: boot"
	is "$(acked_bb_bits)" "$bits" "$name: only its mode bit acknowledged"

	is "$(dev_balloon_to "$TARGET")" $((TARGET << 20)) "$name: inflate exact"
	dev_snap
	drv_snap
	is "$(dev_stat .inflate.pages) $(drv_stat .inflate_pages)" "$PAGES $PAGES" \
		"$name: host and guest count every page once"
	# The balloon is made of what max_order asks for: order-4 blocks on
	# a free guest, or single pages only.
	if ((order == 4)); then
		is "$(drv_stat '.balloon_blocks_by_order[4]')" $((PAGES / 16)) \
			"$name: the balloon is order-4 blocks"
	else
		is "$(drv_stat '[.balloon_blocks_by_order[0], ([.balloon_blocks_by_order[1:][]] | add)] | map(tostring) | join(" ")')" \
			"$PAGES 0" "$name: the balloon is single pages"
	fi
	# Single pages are cut from free pageblocks, every one of them on a
	# free guest; order-4 blocks leave no single page to cut.
	is "$(drv_stat '[.split_blocks, .inflate_split_blocks, .inflate_split_fail] | map(tostring) | join(" ")')" \
		"true $((order ? 0 : PAGES / 512)) 0" \
		"$name: pageblocks cut into single pages"
	is "$(dev_guest "awk '/^balloon_inflate /{print \$2}' /proc/vmstat")" \
		"$PAGES" "$name: vmstat balloon_inflate counts every page once"

	rest=$(((TARGET << 20) + 12288))
	is "$(dev_balloon_bytes $rest)" $rest "$name: 3-page deflate exact"
	dev_snap
	is "$(dev_stat .deflate.pages)" 3 "$name: host saw 3 pages deflated"
	drv_snap
	if ((order == 4)); then
		# No single page was held: one block is split, 13 pages stay.
		is "$(drv_stat '[.deflate_splits, .balloon_blocks_by_order[0]] | map(tostring) | join(" ")')" \
			"1 13" "$name: the 3-page deflate split one block"
	else
		is "$(drv_stat '[.deflate_splits, .balloon_blocks_by_order[0]] | map(tostring) | join(" ")')" \
			"0 $((PAGES - 3))" "$name: the 3-page deflate gave back single pages"
	fi

	is "$(dev_balloon_to "$MEM")" $((MEM << 20)) "$name: full deflate exact"
	dev_snap
	is "$(dev_stat .deflate.pages)" "$PAGES" "$name: host saw every page deflated"
	is "$(dev_rejected inflate) $(dev_rejected deflate)" "0 0" \
		"$name: device rejected nothing"
	drv_check_clean "$name"
	dev_stop
}

for m in "${MODES[@]}"; do
	for o in "${ORDERS[@]}"; do
		# shellcheck disable=SC2086
		run $m "$o"
	done
done

# A fragmented guest (every other page of 600 MiB given back, as in
# 20-driver-legacy.t): free pageblocks first, then the bulk allocator.
split_fragmented() {
	local name="sg max_order=0 fragmented" what
	if ! dev_boot "$MEM" "$ALL" \
		"bb.driver=vballoon bb.modparams=mode=sg,max_order=0"; then
		not_ok "$name: boot"
		drv_fail_rest $((SPLIT_N - 1)) "$name"
		dev_stop
		return
	fi
	ok "$name: boot"
	dev_guest "bbload sieve 600M >/tmp/sieve.out 2>&1 </dev/null & echo \$! >/tmp/sieve.pid" >/dev/null
	wait_until 120 dev_guest "test -s /tmp/sieve.out" >/dev/null || true
	diag "sieve: $(dev_guest "cat /tmp/sieve.out")"
	# 448 MiB: well past the free pageblocks the sieve leaves (a little
	# over 300 MiB), well within the free memory.
	is "$(dev_balloon_to 576)" $((576 << 20)) "$name: inflate exact"
	drv_snap
	diag "$name: $(drv_stat '{inflate_split_blocks, inflate_split_fail, inflate_pages} | tostring')"
	what="$name: pageblocks while there were any, then the bulk allocator"
	if [[ $(drv_stat '(.inflate_split_blocks > 0) and (.inflate_split_fail > 0) and (.inflate_split_blocks * 512 < .inflate_pages)') == true ]]; then
		ok "$what"
	else
		not_ok "$what"
	fi
	is "$(dev_balloon_to "$MEM")" $((MEM << 20)) "$name: deflate exact"
	dev_guest 'kill $(cat /tmp/sieve.pid)' >/dev/null
	# split_blocks=0: every single page from the bulk allocator.
	dev_guest "rmmod vballoon && modprobe vballoon mode=sg max_order=0 split_blocks=0" >/dev/null
	is "$(dev_balloon_to "$TARGET" 60)" $((TARGET << 20)) \
		"split_blocks=0: inflate exact"
	drv_snap
	is "$(drv_stat '[.split_blocks, .inflate_split_blocks, .inflate_split_fail, .balloon_blocks_by_order[0]] | map(tostring) | join(" ")')" \
		"false 0 0 $PAGES" "split_blocks=0: single pages, none cut from a pageblock"
	is "$(dev_balloon_to "$MEM")" $((MEM << 20)) "split_blocks=0: deflate exact"
	drv_check_clean "$name"
	dev_stop
}
split_fragmented
done_testing
