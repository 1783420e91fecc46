#!/bin/bash
# vballoon.ko against a device that offers MUST_TELL_HOST (the patched
# device's test-only x-must-tell-host): the driver negotiates it, inflate
# and deflate are exact on both sides, and while the host does not answer
# (x-stall-queues) a deflate gives no page back to the guest, because the
# host has not been told; once the host answers, the deflate completes and
# nothing was leaked.  Unloading the module while inflated tells the host
# first: the host sees the balloon empty and MemTotal is back.
. "$(dirname "$0")/lib/driver.bash"
drv_require patched
"$DEV_QEMU" -device virtio-balloon-pci,help 2>/dev/null |
	grep -q "x-must-tell-host" ||
	skip_all "$DEV_QEMU has no x-must-tell-host (host-device patch 0011)"

MEM=1024
TARGET=512
PAGES=$(((MEM - TARGET) * 256))
N=13
plan $N

stall() {
	dev_qmp_ok qom-set "{\"path\":\"/machine/peripheral/balloon0\",\"property\":\"x-stall-queues\",\"value\":$1}"
}

if ! dev_boot "$MEM" ",x-must-tell-host=on,sg=on" "bb.driver=vballoon"; then
	not_ok "boot with x-must-tell-host=on"
	drv_fail_rest $((N - 1)) must-tell-host
	dev_stop
	done_testing
fi
ok "boot with x-must-tell-host=on"
drv_snap
is "$(drv_stat '[.must_tell_host, .mode] | map(tostring) | join(" ")')" "true sg" \
	"MUST_TELL_HOST negotiated (sg mode)"
total0=$(drv_memtotal)

is "$(dev_balloon_to "$TARGET")" $((TARGET << 20)) "inflate exact"
is "$(dev_balloon_bytes $(((TARGET << 20) + 12288)))" $(((TARGET << 20) + 12288)) \
	"3-page deflate exact"
is "$(dev_balloon_to "$TARGET")" $((TARGET << 20)) "inflate again exact"

# Silent host: the deflate request goes out and is never answered; the
# pages stay out of the guest's use.
check "host silenced (x-stall-queues=on)" stall true
dev_qmp_ok balloon "{\"value\":$((MEM << 20))}"
sleep 10
drv_snap
is "$(drv_stat '[.balloon_pages, .leaked_pages] | map(tostring) | join(" ")')" \
	"$PAGES 0" "silent host: no page given back untold, none leaked"

check "host answers again" stall false
is "$(dev_balloon_to "$MEM")" $((MEM << 20)) "deflate completes exact"
dev_snap
drv_snap
# The request that timed out is acted on late, and its pages, back in the
# balloon by then, are told again: the host may count them twice.
is "$(dev_stat '[(.deflate.pages >= .inflate.pages), ([.inflate.rejected[], .deflate.rejected[]] | add)] | map(tostring) | join(" ")')" \
	"true 0" "host: every inflated page deflated, nothing rejected"

is "$(dev_balloon_to "$TARGET")" $((TARGET << 20)) "inflate before unload exact"
dev_guest "rmmod vballoon" >/dev/null
is "$(dev_qmp query-balloon | jq .actual) $(drv_memtotal)" "$((MEM << 20)) $total0" \
	"unload while inflated: the host sees the balloon empty, MemTotal back"
drv_check_clean must-tell-host
dev_stop
done_testing
