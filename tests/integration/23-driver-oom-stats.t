#!/bin/bash
# vballoon.ko's upstream features against stock QEMU: with DEFLATE_ON_OOM
# ballooned memory stays in MemTotal and the OOM notifier gives pages back
# so that a program larger than what is left runs without an OOM kill, and
# the host's actual follows; the stats queue answers every poll of the
# host with the guest's current figures.
. "$(dirname "$0")/lib/driver.bash"
drv_require stock

MEM=1024
TARGET=256
N=13
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
# The worker tells the host the new size soon after the notifier ran.
actual_follows() {
	actual=$(dev_qmp query-balloon | jq .actual)
	drv_snap
	[[ $actual == $(((MEM << 20) - $(drv_stat .balloon_pages) * 4096)) ]]
}
wait_until 10 actual_follows || true
is "$actual" $(((MEM << 20) - $(drv_stat .balloon_pages) * 4096)) \
	"the host's actual follows what the notifier freed"

# Room for the program below: the balloon empty.
dev_balloon_to "$MEM" >/dev/null
dev_qmp qom-set '{"path":"/machine/peripheral/balloon0","property":"guest-stats-polling-interval","value":1}' >/dev/null
sleep 4
stats=$(dev_qmp qom-get '{"path":"/machine/peripheral/balloon0","property":"guest-stats"}')
is "$(jq '.stats."stat-total-memory"' <<<"$stats")" $((total0 * 1024)) \
	"stats queue: host sees the guest's MemTotal"
# The figures are refreshed on every poll, not the ones sent at probe: a
# program holding 200 MiB shows in the host's free memory.
free1=$(jq '.stats."stat-free-memory"' <<<"$stats")
t1=$(jq '."last-update"' <<<"$stats")
dev_guest "bbload hold 200M >/dev/null 2>&1 </dev/null & echo \$! >/tmp/hold.pid" >/dev/null
holds_200m() {
	[[ $(dev_guest "cat /proc/\$(cat /tmp/hold.pid)/status" | awk '/^VmRSS:/ { print $2 }') -ge 204800 ]]
}
wait_until 60 holds_200m || true
sleep 3
stats=$(dev_qmp qom-get '{"path":"/machine/peripheral/balloon0","property":"guest-stats"}')
cmp_ok "$(jq '."last-update"' <<<"$stats")" -gt "$t1" "stats queue: refreshed on later polls"
cmp_ok "$(jq '.stats."stat-free-memory"' <<<"$stats")" -le $((free1 - (150 << 20))) \
	"stats queue: a 200 MiB program shows in the host's free memory"
dev_guest 'kill $(cat /tmp/hold.pid)' >/dev/null
drv_check_clean oom
dev_stop
done_testing
