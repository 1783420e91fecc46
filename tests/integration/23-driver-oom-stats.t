#!/bin/bash
# vballoon.ko's upstream features against stock QEMU: with DEFLATE_ON_OOM
# ballooned memory stays in MemTotal and the OOM notifier gives pages back
# so that a program larger than what is left runs without an OOM kill; the
# stats queue answers the host's polling with the guest's figures.
. "$(dirname "$0")/lib/driver.bash"
drv_require stock

MEM=1024
TARGET=256
N=10
plan $N

if ! DEV_QEMU=$DRV_STOCK_QEMU dev_boot "$MEM" ",deflate-on-oom=on" \
	"bb.driver=vballoon"; then
	not_ok "boot with deflate-on-oom=on"
	drv_fail_rest $((N - 1)) oom
	dev_stop
	done_testing
fi
ok "boot with deflate-on-oom=on"
drv_snap
is "$(drv_stat .deflate_on_oom)" true "DEFLATE_ON_OOM negotiated"

total0=$(drv_memtotal)
is "$(dev_balloon_to "$TARGET")" $((TARGET << 20)) "inflate exact"
is "$(drv_memtotal)" "$total0" "MemTotal keeps ballooned memory"

check "600 MiB program runs in a 256 MiB-sized guest" \
	dev_guest "bbload touch 600M >/dev/null"
drv_snap
cmp_ok "$(drv_stat .oom_pages)" -gt 0 "OOM notifier gave pages back"
is "$(drv_stat '.balloon_pages + .oom_pages')" $(((MEM - TARGET) * 256)) \
	"balloon shrank by exactly what the notifier freed"
check "no OOM kill" dev_guest "! dmesg | grep -q 'Out of memory'"

dev_qmp qom-set '{"path":"/machine/peripheral/balloon0","property":"guest-stats-polling-interval","value":1}' >/dev/null
sleep 4
stats=$(dev_qmp qom-get '{"path":"/machine/peripheral/balloon0","property":"guest-stats"}')
is "$(jq '.stats."stat-total-memory"' <<<"$stats")" $((total0 * 1024)) \
	"stats queue: host sees the guest's MemTotal"
drv_check_clean oom
dev_stop
done_testing
