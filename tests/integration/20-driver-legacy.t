#!/bin/bash
# vballoon.ko against stock QEMU (legacy mode, the upstream protocol):
# inflate and deflate are exact, MemTotal follows the balloon, the debugfs
# stats are one JSON line with the documented keys, counters reset, a
# partial deflate splits a block, a fragmented guest gives order-9 blocks
# and then single pages (never smaller blocks), and unloading the module
# while inflated gives every page back; reloading it inflates again;
# suspend to RAM gives the balloon back and resume fills it again; PCI
# unplug while inflated gives it back.
. "$(dirname "$0")/lib/driver.bash"
drv_require stock

MEM=1024        # guest RAM, MiB
TARGET=512      # guest size while inflated, MiB
PAGES=$(((MEM - TARGET) * 256))
KEYS='version mode max_order min_block_order whole_blocks_movable split_blocks page_size_bytes stats_vq deflate_on_oom
must_tell_host balloon_pages target_pages balloon_blocks_by_order
inflate_pages inflate_blocks_by_order inflate_alloc_failures_by_order
inflate_split_blocks inflate_split_fail
inflate_batches inflate_requests inflate_kicks inflate_alloc_ns
inflate_build_ns inflate_commit_ns inflate_wait_ns inflate_total_ns deflate_pages
deflate_blocks_by_order deflate_splits deflate_batches deflate_requests
deflate_kicks deflate_build_ns deflate_wait_ns deflate_free_ns
deflate_total_ns xfer_errors xfer_timeouts leaked_pages oom_events
oom_pages oom_busy oom_max_ns lock_max_ns irqoff_max_ns migrated_pages
stats_updates inject_messages inject_timeouts'
N=35
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

# A fragmented guest: a program gives every other page of 600 MiB back,
# so that little more than 300 MiB of the free memory is in order-9 blocks.
# The balloon takes those, then single pages: never a block below pageblock
# order, which would pin an unmovable island in a pageblock others use.
is "$(dev_balloon_to "$MEM")" $((MEM << 20)) "fragmented: balloon empty first"
dev_guest "echo 0 > $DRV_DEBUGFS/stats; bbload sieve 600M >/tmp/sieve.out 2>&1 </dev/null & echo \$! >/tmp/sieve.pid" >/dev/null
wait_until 120 dev_guest "test -s /tmp/sieve.out" >/dev/null || true
diag "sieve: $(dev_guest "cat /tmp/sieve.out")"
is "$(dev_balloon_to "$TARGET")" $((TARGET << 20)) "fragmented: inflate exact"
drv_snap
diag "fragmented: $(drv_stat '{balloon_blocks_by_order, inflate_alloc_failures_by_order} | tostring')"
cmp_ok "$(drv_stat '.inflate_alloc_failures_by_order[9]')" -gt 0 \
	"fragmented: order-9 allocations ran out"
cmp_ok "$(drv_stat '.balloon_blocks_by_order[9]')" -gt 0 \
	"fragmented: order-9 blocks while there were any"
cmp_ok "$(drv_stat '.balloon_blocks_by_order[0]')" -gt 0 \
	"fragmented: then single pages"
is "$(drv_stat '[.balloon_blocks_by_order[1:9][]] | add')" 0 \
	"fragmented: no block of order 1-8"
dev_guest 'kill $(cat /tmp/sieve.pid)' >/dev/null
is "$(dev_balloon_to "$MEM")" $((MEM << 20)) "fragmented: deflate exact"

is "$(dev_balloon_to "$TARGET")" $((TARGET << 20)) "unload while inflated: inflated first"
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

# Suspend to RAM while inflated: freeze gives the balloon back (telling the
# host), restore fills it to the target again (as upstream), and it moves
# again afterwards.
dev_guest "echo deep > /sys/power/mem_sleep; echo mem > /sys/power/state" >/dev/null 2>&1 &
spid=$!
guest_suspended() { [[ $(dev_qmp query-status | jq -r .status) == suspended ]]; }
wait_until 120 guest_suspended || true
is "$(dev_qmp query-status | jq -r .status)" suspended "suspend: the guest sleeps (S3)"
dev_qmp_ok system_wakeup
wait_exit $spid 120 || true
# Both sides at the target again; got: what they say.
both_at_target() {
	drv_snap
	got="$(drv_stat .balloon_pages) $(dev_qmp query-balloon | jq .actual)"
	[[ $got == "$PAGES $((TARGET << 20))" ]]
}
wait_until 60 both_at_target || true
is "$got" "$PAGES $((TARGET << 20))" "resume: the balloon is at its target again on both sides"
is "$(dev_balloon_to $((TARGET + 64)))" $(((TARGET + 64) << 20)) "resume: the balloon moves again"

# PCI unplug while inflated: remove gives every page back.
dev_qmp_ok device_del '{"id":"balloon0"}'
device_gone() { ! dev_guest "test -e /sys/bus/virtio/drivers/vballoon/virtio*" >/dev/null 2>&1; }
wait_until 60 device_gone || true
check "unplug: the device left the guest" \
	dev_guest "! test -e /sys/bus/virtio/drivers/vballoon/virtio*"
is "$(drv_memtotal)" "$total0" "unplug: MemTotal back"
check "unplug: the guest uses the memory again" dev_guest "bbload touch 700M >/dev/null"
drv_check_clean legacy
dev_stop
done_testing
