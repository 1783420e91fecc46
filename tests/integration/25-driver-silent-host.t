#!/bin/bash
# vballoon.ko against a host that stops answering (the patched device's
# test-only x-stall-queues, set with qom-set): the guest stays responsive,
# an OOM in the guest completes without waiting for the host and without
# killing anything (DEFLATE_ON_OOM frees ballooned pages anyway, which the
# protocol allows without MUST_TELL_HOST), unbind and rmmod finish within
# a bound, and once the host answers again the balloon reaches its target.
# Before that, an OOM while an inflate runs (host answering) completes.
# khungtaskd is set to 10 s, so that a worker stuck in a wait for the host
# shows up in the kernel log, which must stay clean.
. "$(dirname "$0")/lib/driver.bash"
drv_require patched
"$DEV_QEMU" -device virtio-balloon-pci,help 2>/dev/null |
	grep -q "x-stall-queues" ||
	skip_all "$DEV_QEMU has no x-stall-queues (host-device patch 0007)"

MEM=1024        # guest RAM, MiB
TARGET=512      # guest size while inflated, MiB
SMALL=256       # target asked for while the host is silent, MiB
BOUND=90        # seconds any one guest command may take
N=20
plan $N

# bounded 'CMD': dev_guest CMD, failing with 124 after BOUND seconds; its
# output and the time it took go to diag.
bounded() {
	local out=$DEV_DIR/bounded.out rc=0 t0=$SECONDS
	dev_guest "$1" >"$out" 2>&1 &
	wait_exit $! "$BOUND" || rc=$?
	[[ -s $out ]] && diag "$(cat "$out")"
	diag "'$1': status $rc after $((SECONDS - t0)) s"
	return "$rc"
}

# bcheck NAME 'CMD': check NAME bounded CMD.  Should the guest then no
# longer answer at all, the remaining tests fail and the file ends.
bcheck() {
	local i
	if bounded "$2"; then
		ok "$1"
		return
	fi
	not_ok "$1"
	bounded true && return
	for ((i = T_N; i < N; i++)); do
		not_ok "(the guest no longer answers)"
	done
	dev_stop
	done_testing
}

# stall on|off: the host stops (or resumes) completing balloon requests.
stall() {
	dev_qmp_ok qom-set "{\"path\":\"/machine/peripheral/balloon0\",\"property\":\"x-stall-queues\",\"value\":$1}"
}

# The virtio device vballoon is bound to, e.g. virtio2.
drv_dev() {
	dev_guest "basename \$(readlink -f /sys/bus/virtio/drivers/vballoon/virtio*)"
}

no_oom_kill() { dev_guest "! dmesg | grep -q 'Out of memory: Killed'"; }
no_hung_task() { dev_guest "! dmesg | grep -q 'blocked for more than'"; }

if ! dev_boot "$MEM" ",deflate-on-oom=on" "bb.driver=vballoon"; then
	not_ok "boot with deflate-on-oom=on"
	drv_fail_rest $((N - 1)) silent
	dev_stop
	done_testing
fi
ok "boot with deflate-on-oom=on"
dev_guest "echo 10 > /proc/sys/kernel/hung_task_timeout_secs" >/dev/null

# OOM while an inflate runs: pressure from the first moment of the inflate.
dev_qmp_ok balloon "{\"value\":$((TARGET << 20))}"
bcheck "OOM while inflating: 20 s of 600 MiB churn completes" \
	"bbload churn 600M 20 >/dev/null"
drv_snap
cmp_ok "$(drv_stat .oom_pages)" -gt 0 "OOM while inflating: the notifier gave pages back"
cmp_ok "$(drv_stat .oom_max_ns)" -lt 2000000000 \
	"OOM while inflating: no OOM notifier call took 2 s"
check "OOM while inflating: no OOM kill" no_oom_kill
is "$(dev_balloon_to "$TARGET")" $((TARGET << 20)) "inflate to $TARGET MiB exact"

check "host silenced (x-stall-queues=on)" stall true
bcheck "silent host: 600 MiB program runs in a $TARGET MiB-sized guest" \
	"bbload touch 600M >/dev/null"
drv_snap
cmp_ok "$(drv_stat .xfer_timeouts)" -ge 1 "silent host: the driver gave up waiting"
cmp_ok "$(drv_stat .oom_max_ns)" -lt 2000000000 \
	"silent host: no OOM notifier call took 2 s"
check "silent host: no OOM kill" no_oom_kill

dev_qmp_ok balloon "{\"value\":$((SMALL << 20))}"
sleep 8
bcheck "silent host, inflate pending: the guest answers" true
dev=$(drv_dev)
bcheck "silent host: unbind completes" \
	"echo $dev > /sys/bus/virtio/drivers/vballoon/unbind"
bcheck "silent host: bind again" \
	"echo $dev > /sys/bus/virtio/drivers/vballoon/bind"
sleep 8
bcheck "silent host: rmmod completes" "rmmod vballoon"
is "$(dev_qmp query-balloon | jq .actual)" $((MEM << 20)) \
	"silent host: after rmmod the balloon is empty"

# A host that was only slow: what it answers late is settled.
bcheck "modprobe while the host is silent" "modprobe vballoon"
sleep 8
stall false
# The balloon takes its last pages only if the guest's min watermark lets
# it: were the balloon's pageblock-sized blocks unmovable, the OOMs above
# would have left the zone's watermark boost at its maximum (pages.c).
got=$(dev_balloon_to "$SMALL") || true
is "$got" $((SMALL << 20)) "host answers again: the balloon reaches $SMALL MiB"
[[ $got == $((SMALL << 20)) ]] ||
	diag "$(dev_guest "grep -E 'zone|pages free|boost|min |unreclaimable' /proc/zoneinfo")"
check "no hung task" no_hung_task
drv_check_clean silent
dev_stop
done_testing
