#!/bin/bash
# vballoon.ko module parameters: every one is described, bad values fail the
# load with a clear message, a mode the device does not offer fails the
# probe, max_order=0 balloons single pages only, and the inject file exists
# only with allow_inject=1.
. "$(dirname "$0")/lib/driver.bash"
drv_require stock

KO=${DRV_KO:-$TOP/guest-driver/vballoon.ko}
N=11
plan $N

# Parameters whose description is not empty: modinfo prints "name:desc
# (type)", and "name: (type)" for one without MODULE_PARM_DESC.
described() {
	modinfo -F parm "$1" |
		sed -n 's/^\([a-z_]*\):\(.*[^ ].*\) ([^()]*)$/\1/p' |
		sort | tr '\n' ' '
}

if [[ -e $KO ]]; then
	is "$(described "$KO")" "allow_inject auto auto_cache_pct auto_holdoff_ms auto_max_pages auto_policy auto_thrash_permille free_bitmap hint max_order mode oom_pages reporting split_blocks " \
		"every parameter has a description"
else
	not_ok "every parameter has a description"
	diag "$KO not built"
fi

if ! DEV_QEMU=$DRV_STOCK_QEMU dev_boot 1024 "" "bb.driver=none"; then
	not_ok "boot without a balloon driver"
	drv_fail_rest $((N - 2)) params
	dev_stop
	done_testing
fi
ok "boot without a balloon driver"

# load PARAMS: modprobe in the guest, print "loaded" or "refused".
load() {
	dev_guest "modprobe vballoon $1 >/dev/null 2>&1 && echo loaded || echo refused"
}

is "$(load mode=bogus)" refused "mode=bogus: load refused"
check "mode=bogus: dmesg names the mode" \
	dev_guest "dmesg | grep -q 'vballoon: mode=bogus unknown'"
is "$(load max_order=11)" refused "max_order=11: load refused"

load mode=sg >/dev/null
check "mode=sg on stock QEMU: probe fails with a clear error" \
	dev_guest "dmesg | grep -q 'mode=sg needs feature bit 18, which the device does not offer'"
check "mode=sg on stock QEMU: no debugfs directory" \
	dev_guest "! test -e $DRV_DEBUGFS"
dev_guest "rmmod vballoon" >/dev/null

load "mode=legacy max_order=0" >/dev/null
is "$(dev_balloon_to 960)" $((960 << 20)) "max_order=0: inflate exact"
drv_snap
is "$(drv_stat '[.balloon_blocks_by_order[0], ([.balloon_blocks_by_order[1:][]] | add)] | map(tostring) | join(" ")')" \
	"16384 0" "max_order=0: single pages only"
check "allow_inject=0: no inject file" dev_guest "! test -e $DRV_DEBUGFS/inject"
dev_guest "rmmod vballoon" >/dev/null
drv_check_clean params
dev_stop
done_testing
