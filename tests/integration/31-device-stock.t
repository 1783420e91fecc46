#!/bin/bash
# The patched virtio-balloon with every new property off behaves like
# upstream for Debian's stock virtio_balloon driver: no balloonbench bit is
# offered, inflate and deflate work page by page, query-balloon and
# BALLOON_CHANGE are exact; stage-stats counts it all and resets.
. "$(dirname "$0")/lib/device.bash"
dev_require
dev_require_patched

MEM=1024    # guest RAM, MiB
TARGET=768  # balloon target, MiB
PAGES=$(((MEM - TARGET) * 256))
plan 27

# No balloonbench bit (16-20) offered or acknowledged.
features_ok() {
	(($(dev_stat .features) & 0x1f0000)) && return 1
	return 0
}

if ! dev_boot "$MEM" "" "bb.driver=stock"; then
	not_ok "boot with the stock driver"
	done_testing
fi
ok "boot with the stock driver, all new properties off"
check "driver is virtio_balloon" dev_guest 'grep -q "^virtio_balloon " /proc/modules'

dev_snap
is "$(dev_stat .mode)" legacy "mode is legacy"
check "no balloonbench feature bit negotiated" features_ok
is "$(dev_offered_bb_bits)" 0 "no balloonbench feature bit offered"
is "$(dev_stat .inflate.requests)" 0 "no request before any target"

dev_events_start
actual=$(dev_balloon_to "$TARGET") || true
is "$actual" $((TARGET << 20)) "query-balloon actual is exactly the target"
sleep 1
is "$(dev_last_balloon_change)" $((TARGET << 20)) "last BALLOON_CHANGE is exactly the target"
total_kb=$(dev_guest "awk '/MemTotal/ { print \$2 }' /proc/meminfo")
cmp_ok "$total_kb" -le $(((TARGET + 64) * 1024)) "guest MemTotal went down"

dev_snap
is "$(dev_stat .inflate.pages)" "$PAGES" "inflate pages = target difference"
is "$(dev_stat .inflate.records)" "$PAGES" "one PFN record per page"
is "$(dev_stat .inflate.ranges)" "$PAGES" "one discard per 4 KiB page (upstream)"
cmp_ok "$(dev_stat .inflate.requests)" -ge $((PAGES / 256)) "requests of at most 256 PFNs"
is "$(dev_rejected inflate)" 0 "nothing rejected"
cmp_ok "$(dev_stat '.inflate["translate-ns"]')" -gt 0 "translate time counted"
cmp_ok "$(dev_stat '.inflate["discard-ns"]')" -gt 0 "discard time counted"
cmp_ok "$(dev_stat '.inflate["handle-ns"]')" -ge \
	"$(dev_stat '.inflate["translate-ns"] + .inflate["discard-ns"]')" \
	"handler time covers both stages"
is "$(dev_stat .deflate.pages)" 0 "no deflate yet"

actual=$(dev_balloon_to "$MEM") || true
is "$actual" $((MEM << 20)) "deflate back: query-balloon actual exact"
sleep 1
is "$(dev_last_balloon_change)" $((MEM << 20)) "last BALLOON_CHANGE exact after deflate"
dev_snap
is "$(dev_stat .deflate.pages)" "$PAGES" "deflate pages = target difference"
is "$(dev_rejected deflate)" 0 "nothing rejected on deflate"

is "$(dev_stats_reset)" "{}" "qom-set stage-stats-reset true"
dev_snap
is "$(dev_stat '[.inflate, .deflate] | map(del(.rejected)[]) | add')" 0 \
	"every counter is zero after reset"
is "$(dev_stat .mode)" legacy "mode survives the reset"
check "QMP still answers" dev_qmp_ok query-status
dev_stop
check "QEMU wrote no warning or error" test ! -s "$DEV_DIR/qemu.log"
done_testing
