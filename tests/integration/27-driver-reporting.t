#!/bin/bash
# vballoon.ko's free page reporting (upstream bit 5) against Debian's
# unpatched QEMU: with free-page-reporting=on the driver negotiates it,
# memory the guest touched and freed is reported, QEMU discards it (its
# RSS falls), the guest reuses that memory intact, and the kernel log is
# clean.  Without the device property, or with reporting=off, nothing is
# negotiated and nothing is reported.
. "$(dirname "$0")/lib/driver.bash"
drv_require stock

MEM=1024	# guest RAM, MiB
TOUCH=600	# what the guest touches and frees, MiB
N=13
plan $N

# QEMU's resident memory, MiB.
qemu_rss() { awk '/^VmRSS:/ { print int($2 / 1024) }' "/proc/$DEV_PID/status"; }

# The driver has reported at least $1 MiB.
reported_at_least() {
	drv_snap && [[ $(drv_stat '.report_pages // 0') -ge $(($1 * 256)) ]]
}

# QEMU's RSS has fallen at least $2 MiB below $1.  Reported pages are
# counted when the guest sends them; QEMU's discard follows, and pages
# the guest never touched are reported without lowering the RSS, so the
# drop is waited for, not assumed after a fixed delay.
rss_fell() {
	rss_after=$(qemu_rss)
	((rss_after <= $1 - $2))
}

if ! DEV_QEMU=$DRV_STOCK_QEMU dev_boot "$MEM" ",free-page-reporting=on" \
	"bb.driver=vballoon"; then
	not_ok "boot with free-page-reporting=on"
	drv_fail_rest $((N - 1)) reporting
	dev_stop
	done_testing
fi
ok "boot with free-page-reporting=on"
drv_snap
is "$(drv_stat .reporting)" true "REPORTING negotiated and registered"
check "the guest touches and frees $TOUCH MiB" \
	dev_guest "bbload touch ${TOUCH}M >/dev/null"
rss_full=$(qemu_rss)
cmp_ok "$rss_full" -ge "$TOUCH" "QEMU holds the touched memory ($rss_full MiB)"
check "the freed memory is reported (at least half of it)" \
	wait_until 60 reported_at_least $((TOUCH / 2))
rss_after=$rss_full
if wait_until 60 rss_fell "$rss_full" $((TOUCH / 2)); then
	ok "QEMU discarded it: RSS $rss_full -> $rss_after MiB"
else
	not_ok "QEMU discarded it: RSS $rss_full -> $rss_after MiB after 60 s"
	diag "reported: $(drv_stat '.report_pages') pages"
fi
is "$(drv_stat '.report_errors')" 0 "no report failed"
check "the guest reuses the reported memory: a pattern in every page intact" \
	dev_guest "bbload verify ${TOUCH}M 5 >/dev/null"
drv_check_clean reporting
dev_stop

# reporting=off, and a device that does not offer the bit: nothing.
if DEV_QEMU=$DRV_STOCK_QEMU dev_boot "$MEM" ",free-page-reporting=on" \
	"bb.driver=vballoon bb.modparams=reporting=0"; then
	drv_snap
	is "$(drv_stat .reporting)" false "reporting=0: not negotiated"
	dev_guest "bbload touch ${TOUCH}M >/dev/null"
	sleep 5
	drv_snap
	is "$(drv_stat '.report_pages')" 0 "reporting=0: nothing reported"
else
	drv_fail_rest 2 "reporting=0"
fi
dev_stop
if DEV_QEMU=$DRV_STOCK_QEMU dev_boot "$MEM" "" "bb.driver=vballoon"; then
	drv_snap
	is "$(drv_stat .reporting)" false "not offered: not negotiated"
else
	drv_fail_rest 1 "not offered"
fi
drv_check_clean "not offered"
dev_stop
done_testing
