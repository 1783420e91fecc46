# shellcheck shell=bash
# Helpers for the guest-driver integration tests (tests/integration/20-driver-*.t):
# vballoon.ko in a real guest, against stock QEMU or the patched one.
# Builds on lib/device.bash (dev_boot, dev_guest, dev_qmp, dev_balloon_to,
# dev_snap, is, cmp_ok) and lib.sh (plan, ok, not_ok, check, diag).
#
#   . "$(dirname "$0")/lib/driver.bash"
#   drv_require stock; DEV_QEMU=$DRV_STOCK_QEMU dev_boot 1024 "" "bb.driver=vballoon"

# shellcheck source=tests/integration/lib/device.bash
. "$(dirname "${BASH_SOURCE[0]}")/device.bash"

DRV_STOCK_QEMU=${DRV_STOCK_QEMU:-/usr/bin/qemu-system-x86_64}
DRV_DEBUGFS=/sys/kernel/debug/vballoon
DRV_LAST="{}"

# drv_require stock|patched: skip the file unless that QEMU, the guest
# image with vballoon.ko, socat and jq are there.
drv_require() {
	dev_require
	dev_require_vballoon
	case $1 in
	stock)
		[[ -x $DRV_STOCK_QEMU ]] || skip_all "no stock QEMU at $DRV_STOCK_QEMU"
		;;
	patched) dev_require_patched ;;
	esac
}

# drv_snap: read the driver's debugfs stats into DRV_LAST; 1 if not JSON.
drv_snap() {
	local s
	s=$(dev_guest "cat $DRV_DEBUGFS/stats") || return 1
	jq -e . <<<"$s" >/dev/null 2>&1 || return 1
	DRV_LAST=$s
}

# drv_stat FILTER: a value out of the last snapshot, e.g. .balloon_pages
drv_stat() { jq -r "$1" <<<"$DRV_LAST"; }

# MemTotal of the guest, KiB.
drv_memtotal() {
	dev_guest "cat /proc/meminfo" | awk '/^MemTotal:/ { print $2 }'
}

# The guest kernel log lines that mean something went wrong, with the
# lines around them (the trace, what came before); none: empty.
drv_dmesg_bad() {
	dev_guest dmesg |
		grep -E -B8 -A30 'WARNING|BUG|Oops|Call Trace|Bad page|general protection' |
		head -80 || true
}

# check_clean WHAT: ok when the guest kernel log shows no warning or oops.
drv_check_clean() {
	local bad
	bad=$(drv_dmesg_bad)
	if [[ -z $bad ]]; then
		ok "$1: kernel log clean"
	else
		not_ok "$1: kernel log clean"
		diag "$bad"
	fi
}

# drv_fail_rest N WHAT: count the N remaining tests of a VM that did not boot.
drv_fail_rest() {
	local i
	for ((i = 0; i < $1; i++)); do not_ok "$2: (not booted)"; done
}


# drv_acked_bb_bits: the balloonbench bits (16-20) the guest driver
# acknowledged, as a decimal mask, from x-query-virtio-status.
drv_acked_bb_bits() {
	dev_qmp x-query-virtio-status \
		'{"path":"/machine/peripheral/balloon0/virtio-backend"}' |
		jq '(."guest-features"."unknown-dev-features" // 0) as $u |
			(($u / 65536) | floor) % 32 * 65536'
}

# drv_actual: QEMU's view of the guest size (query-balloon actual), bytes.
drv_actual() { dev_qmp query-balloon | jq -r .actual; }

# drv_settled [SECS]: wait (default 60 s) until the driver's goal is below
# the host's target (AUTO_BALLOON: a deflate under pressure lowered it);
# prints the goal, pages; 1 if it never was.
drv_settled() {
	local deadline=$((SECONDS + ${1:-60}))
	while ((SECONDS < deadline)); do
		if drv_snap && [[ $(drv_stat '.goal_pages < .target_pages') == true ]]; then
			drv_stat .goal_pages
			return 0
		fi
		sleep 1
	done
	drv_stat .goal_pages
	return 1
}
