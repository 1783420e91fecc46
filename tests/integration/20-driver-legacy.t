#!/bin/bash
# vballoon.ko against stock QEMU (legacy mode, the upstream protocol):
# inflate and deflate are exact, MemTotal follows the balloon, the debugfs
# stats are one JSON line with the documented keys, counters reset, a
# partial deflate splits a block, and unloading the module while inflated
# gives every page back; reloading it inflates again.
. "$(dirname "$0")/lib/driver.bash"
drv_require stock

MEM=1024        # guest RAM, MiB
TARGET=512      # guest size while inflated, MiB
PAGES=$(((MEM - TARGET) * 256))
KEYS='version mode max_order whole_blocks_movable page_size_bytes stats_vq deflate_on_oom
must_tell_host balloon_pages target_pages balloon_blocks_by_order
inflate_pages inflate_blocks_by_order inflate_alloc_failures_by_order
inflate_batches inflate_requests inflate_kicks inflate_alloc_ns
inflate_build_ns inflate_wait_ns inflate_total_ns deflate_pages
deflate_blocks_by_order deflate_splits deflate_batches deflate_requests
deflate_kicks deflate_build_ns deflate_wait_ns deflate_free_ns
deflate_total_ns xfer_errors xfer_timeouts leaked_pages oom_events
oom_pages oom_busy oom_max_ns lock_max_ns irqoff_max_ns migrated_pages
stats_updates inject_messages inject_timeouts'
N=21
plan $N

if ! DEV_QEMU=$DRV_STOCK_QEMU dev_boot "$MEM" "" "bb.driver=vballoon"; then
	not_ok "boot with vballoon on stock QEMU"
	drv_fail_rest $((N - 1)) legacy
	dev_stop
	done_testing
fi
ok "boot with vballoon on stock QEMU"

total0=$(drv_memtotal)
check "stats is one line of JSON" drv_snap
is "$(dev_guest "wc -l < $DRV_DEBUGFS/stats" | tr -d ' ')" 1 "stats is one line"
missing=""
for k in $KEYS; do
	[[ $(drv_stat "has(\"$k\")") == true ]] || missing+=" $k"
done
is "$missing" "" "stats has every documented key"
is "$(drv_stat '.mode + " " + (.max_order | tostring)')" "legacy 9" \
	"auto picks legacy on stock QEMU, max_order 9"

is "$(dev_balloon_to "$TARGET")" $((TARGET << 20)) "inflate: query-balloon exact"
drv_snap
is "$(drv_stat .balloon_pages)" "$PAGES" "inflate: balloon_pages exact"
is "$(drv_stat '.balloon_blocks_by_order[9]')" $((PAGES / 512)) \
	"inflate: a free guest gives order-9 blocks"
is "$(($(drv_memtotal) + PAGES * 4))" "$total0" "inflate: MemTotal drops by the balloon"

# 12 KiB less: no single page is held, so one block is split.
is "$(dev_balloon_bytes $(((TARGET << 20) + 12288)))" $(((TARGET << 20) + 12288)) \
	"partial deflate of 3 pages: query-balloon exact"
drv_snap
is "$(drv_stat '[.deflate_splits, .deflate_pages, .balloon_blocks_by_order[0]] | map(tostring) | join(" ")')" \
	"1 3 509" "partial deflate splits one block, keeps 509 single pages"

is "$(dev_balloon_to "$MEM")" $((MEM << 20)) "deflate: query-balloon exact"
drv_snap
is "$(drv_stat '.balloon_pages')" 0 "deflate: balloon empty"
is "$(drv_memtotal)" "$total0" "deflate: MemTotal back"

dev_guest "echo 1 > $DRV_DEBUGFS/reset" >/dev/null
drv_snap
is "$(drv_stat '.inflate_pages + .deflate_pages + .inflate_total_ns')" 0 \
	"writing reset zeroes the counters"
dev_balloon_to $((MEM - 64)) >/dev/null
dev_guest "echo 0 > $DRV_DEBUGFS/stats" >/dev/null
drv_snap
is "$(drv_stat '[.inflate_pages, .balloon_pages] | map(tostring) | join(" ")')" \
	"0 16384" "writing 0 to stats zeroes counters, keeps the state"

dev_balloon_to "$TARGET" >/dev/null
dev_guest "rmmod vballoon" >/dev/null
is "$(dev_qmp query-balloon | jq .actual)" $((MEM << 20)) \
	"unload while inflated: the host sees an empty balloon"
is "$(drv_memtotal)" "$total0" "unload while inflated: MemTotal back"
dev_guest "modprobe vballoon max_order=4" >/dev/null
is "$(dev_balloon_to "$TARGET" 60)" $((TARGET << 20)) \
	"reload: inflates to the target again"
drv_snap
is "$(drv_stat '.balloon_blocks_by_order[4]')" $((PAGES / 16)) \
	"reload with max_order=4: order-4 blocks"
drv_check_clean legacy
dev_stop
done_testing
