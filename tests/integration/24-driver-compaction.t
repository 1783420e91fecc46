#!/bin/bash
# Single balloon pages are movable: compaction migrates them through the
# driver (inflate the new page, deflate the old one, in the negotiated
# mode), the balloon keeps its size on both sides, the device rejects
# nothing and the kernel stays quiet.  Where the allocator puts the balloon
# decides how much compaction can move, so the test spreads it over the
# whole zone: 1 MiB tmpfs files fill free memory, every other one is
# removed, the balloon fills those holes, and half of the rest go before
# compacting.  Tens of thousands of pages then move, instead of a handful by
# luck.  The host's counters show each migration (one page deflated, one
# inflated), and the files that stay keep their data.
. "$(dirname "$0")/lib/driver.bash"
drv_require stock

MEM=1024
TARGET=724
PAGES=$(((MEM - TARGET) * 256))
PER_VM=9
# qemu  device properties  mode
RUNS=("stock||legacy" "patched|,page-bitmap=on|bitmap" "patched|,sg=on|sg")
plan $((${#RUNS[@]} * PER_VM))

patched=1
"$DEV_QEMU" -device virtio-balloon-pci,help 2>/dev/null |
	grep -q "page-bitmap=" || patched=0

run() {
	local qemu=$1 props=$2 mode=$3 moved i
	if [[ $qemu == patched && $patched == 0 ]]; then
		for ((i = 0; i < PER_VM; i++)); do
			ok "$mode # SKIP $DEV_QEMU has no balloonbench device"
		done
		return
	fi
	[[ $qemu == stock ]] && qemu=$DRV_STOCK_QEMU || qemu=$DEV_QEMU
	if ! DEV_QEMU=$qemu dev_boot "$MEM" "$props" "bb.driver=none"; then
		not_ok "$mode: boot"
		drv_fail_rest $((PER_VM - 1)) "$mode"
		dev_stop
		return
	fi
	ok "$mode: boot"
	dev_guest "mkdir -p /mnt/fill && mount -t tmpfs -o size=2g fill /mnt/fill &&
		head -c 1048576 /dev/urandom >/tmp/pattern &&
		n=\$((\$(awk '/^MemFree:/ { print \$2 }' /proc/meminfo) / 1024 - 64)) &&
		i=0 && while [ \$i -lt \$n ]; do
			cat /tmp/pattern >/mnt/fill/\$i; i=\$((i + 1)); done &&
		i=0 && while [ \$i -lt \$n ]; do rm /mnt/fill/\$i; i=\$((i + 2)); done &&
		modprobe vballoon mode=$mode max_order=0" >/dev/null
	is "$(dev_balloon_to "$TARGET")" $((TARGET << 20)) "$mode: inflate single pages exact"
	# Half of the files stay, with data that compaction moves around the
	# balloon: a page the host discarded at the wrong moment reads zeros.
	dev_guest "for f in /mnt/fill/*; do [ \$((\${f##*/} % 4)) = 1 ] && rm \$f; done; echo 1 > /proc/sys/vm/compact_memory" >/dev/null
	sleep 2
	drv_snap
	moved=$(dev_guest "awk '/^balloon_migrate / { print \$2 }' /proc/vmstat")
	cmp_ok "$(drv_stat .migrated_pages)" -gt 1000 "$mode: compaction migrated over 1000 balloon pages"
	is "$(drv_stat .migrated_pages)" "$moved" "$mode: driver and vmstat agree on migrations"
	is "$(drv_stat .balloon_pages) $(dev_qmp query-balloon | jq .actual)" \
		"$PAGES $((TARGET << 20))" "$mode: balloon size unchanged on both sides"
	check "$mode: the files compaction moved kept their data" \
		dev_guest "for f in /mnt/fill/*; do cmp -s /tmp/pattern \$f || exit 1; done"
	if [[ $mode == legacy ]]; then
		ok "$mode: device rejected nothing # SKIP stock QEMU keeps no counters"
		ok "$mode: host saw each migration # SKIP stock QEMU keeps no counters"
	else
		dev_snap
		is "$(dev_rejected inflate) $(dev_rejected deflate)" "0 0" \
			"$mode: device rejected nothing"
		# Each migration since boot: the old page deflated, the new one
		# inflated.
		is "$(dev_stat '[.inflate.pages - .deflate.pages, .deflate.pages] | join(" ")')" \
			"$PAGES $moved" "$mode: host saw each migration"
	fi
	drv_check_clean "$mode"
	dev_stop
}

for r in "${RUNS[@]}"; do
	IFS='|' read -r q p m <<<"$r"
	run "$q" "$p" "$m"
done
done_testing
