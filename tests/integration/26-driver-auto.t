#!/bin/bash
# vballoon.ko with AUTO_BALLOON (bit 19) against the patched QEMU
# (auto-balloon=on), docs/protocol.md "AUTO_BALLOON" and guest-driver/README.md
# "Deflate under pressure":
#  - guest pressure: a program larger than what the balloon left runs
#    without an OOM kill because the shrinker deflates; QEMU's actual
#    follows; the goal is lowered, so the balloon stays down until a new
#    `balloon` command, which it then follows;
#  - no fight: while the guest streams a disk larger than its RAM (steady
#    page-cache reclaim) the host inflates to 80 % of the guest; the
#    balloon reaches the target and the shrinker gives back at most
#    NOFIGHT_BOUND pages meanwhile.  With BB_TEST_MEASURE=1 the same run
#    with auto_policy=naive and auto=off is measured, not asserted (diag
#    lines "nofight ..."; about 3 minutes, naive fighting until the
#    timeout);
#  - thrash: a guest reading a hot set that fits its RAM over and over
#    (its working set) is asked to shrink below it; reclaim always
#    succeeds, so the shrinker is never asked, but the workingset
#    refaults trip the thrash check: the balloon stops and deflates until
#    the hot set is cached again, the goal is lowered, QEMU's actual
#    follows, and the refaults stop.  (The reader keeps the disk open: a
#    block device's cache is dropped at its last close, as the no-fight
#    stream's is after every pass.)  Without the check
#    (auto_thrash_permille=0) the same guest must thrash, or the case
#    shows nothing ("thrash off");
#  - bit off (auto=off, and a device that does not offer the bit): nothing
#    new negotiated, no shrinker, an inflated balloon stays inflated under
#    guest pressure; only the OOM notifier (DEFLATE_ON_OOM) gives pages back.
# The device gets a pressure source (it needs one to realize) and a floor
# of all of the guest's RAM (auto-balloon-min), so that the host never
# takes a step itself here: only the guest and QMP `balloon` move the
# balloon.  Host-pressure inflation has its own tests (host-device).
. "$(dirname "$0")/lib/driver.bash"
drv_require patched
"$DEV_QEMU" -device virtio-balloon-pci,help 2>/dev/null |
	grep -q "auto-balloon-min=" ||
	skip_all "$DEV_QEMU has no auto-balloon-min property (host-device patch 0008)"

MEM=1024          # guest RAM, MiB
SMALL=256         # guest size while inflated for the pressure tests, MiB
LOAD=600M         # the program that needs more than SMALL
TINY=64          # guest size the host asks for that the guest cannot give, MiB
LOAD2=64M         # the program that runs meanwhile
NOFIGHT_SIZE=205  # guest size the host asks for in the no-fight run, MiB (80 % ballooned)
NOFIGHT_TMO=120   # s the no-fight inflate may take (guarded needs a fraction of it)
NOFIGHT_BOUND=512 # pages the guarded shrinker may give back meanwhile (one call's worth)
DISK_MIB=2048     # the streamed disk, MiB (sparse)
HOT_MIB=400       # the hot set the thrash guest reads over and over, MiB
HOT_SIZE=256      # guest size the host asks for in the thrash run, MiB
BIT19=$((1 << 19))
SOURCE=$(dev_auto_source) ||
	skip_all "no pressure source for auto-balloon=on on this host"
AUTO=",auto-balloon=on$SOURCE,auto-balloon-min=${MEM}M"
N_PRESSURE=16
N_OFF=7
N_NOFIGHT=6
N_THRASH=11
plan $((N_PRESSURE + 2 * N_OFF + N_NOFIGHT + N_THRASH + 1))

# booted NAME N PROPS MODPARAMS: boot, or fail the N tests of that VM.
booted() {
	if dev_boot "$MEM" "$3" "bb.driver=vballoon${4:+ bb.modparams=$4}"; then
		ok "$1: boot"
		return 0
	fi
	not_ok "$1: boot"
	drv_fail_rest $(($2 - 1)) "$1"
	dev_stop
	return 1
}

pressure() {
	local n=pressure full=$(((MEM - SMALL) * 256)) left settled
	booted $n $N_PRESSURE "$AUTO" "" || return 0
	drv_snap
	is "$(drv_stat '[.auto_balloon, .auto_policy, .shrinker] | join(" ")')" \
		"true guarded true" "$n: AUTO_BALLOON negotiated, shrinker registered"
	is "$(drv_acked_bb_bits)" "$BIT19" "$n: bit 19 acknowledged"
	is "$(dev_balloon_to "$SMALL")" $((SMALL << 20)) "$n: inflate exact"

	check "$n: $LOAD program runs in a $SMALL MiB-sized guest" \
		dev_guest "bbload touch $LOAD >/dev/null"
	check "$n: no OOM kill" dev_guest "! dmesg | grep -q 'Out of memory'"
	drv_snap
	left=$(drv_stat .balloon_pages)
	diag "$n: $(drv_stat '{shrink_calls, shrink_pages, shrink_ns, shrink_max_ns,
		shrink_urgent, shrink_refused_kswapd, shrink_refused_self,
		shrink_refused_cache, shrink_refused_holdoff, shrink_refused_busy,
		shrink_refused_host, goal_lowered} | tostring')"
	cmp_ok "$(drv_stat .shrink_pages)" -gt 0 "$n: the shrinker deflated"
	is "$(drv_stat '.balloon_pages + .shrink_pages + .oom_pages')" "$full" \
		"$n: the balloon shrank by exactly what the shrinker freed"
	is "$(drv_stat '[.goal_pages, .target_pages] | join(" ")')" \
		"$left $((full))" "$n: goal lowered to what is left, target unchanged"
	is "$(drv_actual)" $(((MEM << 20) - left * 4096)) \
		"$n: QEMU's actual follows"

	# Nothing but a new target may inflate again: wait, then ask again.
	sleep 5
	drv_snap
	is "$(drv_stat .balloon_pages)" "$left" "$n: the balloon stays down by itself"
	is "$(dev_balloon_to "$SMALL")" $((SMALL << 20)) \
		"$n: the same target asked again is followed"

	# The host asks for more than the guest can give while a program
	# needs memory: the worker keeps trying, the shrinker deflates under
	# the program's pressure and lowers the goal, and then the worker
	# stops instead of taking back what the program frees.
	dev_qmp balloon "{\"value\":$((TINY << 20))}" >/dev/null
	check "$n: a $LOAD2 program runs while the host asks for $TINY MiB" \
		dev_guest "bbload touch $LOAD2 >/dev/null"
	settled=$(drv_settled 60) || true
	cmp_ok "$settled" -lt $(((MEM - TINY) * 256)) \
		"$n: the guest settles below what the host asks (goal $settled pages)"
	drv_snap
	left=$(drv_stat .balloon_pages)
	sleep 5
	drv_snap
	is "$(drv_stat '[.balloon_pages, .goal_pages] | join(" ")')" \
		"$left $settled" "$n: and stays there: the worker does not fight"
	drv_check_clean $n
	dev_stop
}

# bit_off NAME PROPS MODPARAMS 'PROGRAM' WANT: the driver behaves as
# without the bit.  PROGRAM runs in the guest once inflated; WANT is
# "balloon_pages+oom_pages shrink_calls oom_pages>0" afterwards.
bit_off() {
	local n=$1
	booted "$n" $N_OFF "$2" "$3" || return 0
	drv_snap
	is "$(drv_stat '[.auto_balloon, .auto_policy, .shrinker] | join(" ")')" \
		"false off false" "$n: no AUTO_BALLOON, no shrinker"
	is "$(drv_acked_bb_bits)" "$((1 << 17))" "$n: only the mode bit acknowledged"
	is "$(dev_balloon_to "$SMALL")" $((SMALL << 20)) "$n: inflate exact"
	check "$n: '$4' runs" dev_guest "$4 >/dev/null"
	drv_snap
	is "$(drv_stat '[.balloon_pages + .oom_pages, .shrink_calls, .oom_pages > 0] | join(" ")')" \
		"$5" "$n: the balloon gave only what the OOM notifier gave, no shrinker call"
	drv_check_clean "$n"
	dev_stop
}

# disk_boot FILE MODPARAMS: boot with FILE as a read-only virtio disk,
# /dev/vda in the guest.
disk_boot() {
	DEV_QEMU_ARGS="-drive file=$1,if=virtio,format=raw,readonly=on" \
		dev_boot "$MEM" "$AUTO" \
		"bb.driver=vballoon${2:+ bb.modparams=$2}" || return 1
	dev_guest "modprobe virtio_blk; i=0; while [ ! -b /dev/vda ] && [ \$i -lt 50 ]; do sleep 0.1; i=\$((i+1)); done; [ -b /dev/vda ]" >/dev/null
}

# nofight_run POLICY MODPARAMS: boot with the streamed disk, start the
# stream, inflate to NOFIGHT_SIZE; sets NF_S (seconds to reach it, or
# "none"), NF_MIB (the guest size at the end, MiB), NF_PAGES (pages the
# shrinker gave back) and NF_OK (booted, stream running).
nofight_run() {
	local t0 actual=none want=$((NOFIGHT_SIZE << 20))
	NF_OK=0 NF_S=none NF_PAGES=none NF_MIB=none
	disk_boot "$T_TMP/disk.raw" "$2" || return 0
	NF_OK=1
	dev_guest "(while :; do dd if=/dev/vda of=/dev/null bs=1M 2>/dev/null; done) </dev/null >/dev/null 2>&1 & echo \$! >/tmp/stream.pid" >/dev/null ||
		NF_OK=0
	# Let the page cache fill the guest first.
	sleep 10
	dev_guest "echo 0 > $DRV_DEBUGFS/stats" >/dev/null || true
	t0=$SECONDS
	dev_qmp balloon "{\"value\":$want}" >/dev/null || NF_OK=0
	while ((SECONDS - t0 <= NOFIGHT_TMO)); do
		actual=$(drv_actual) || break
		if [[ $actual == "$want" ]]; then
			NF_S=$((SECONDS - t0))
			break
		fi
		sleep 0.5
	done
	[[ $actual =~ ^[0-9]+$ ]] && NF_MIB=$((actual >> 20))
	drv_snap && NF_PAGES=$(drv_stat '.shrink_pages + .thrash_pages')
	diag "nofight $1: $(drv_stat '{balloon_pages, goal_pages, target_pages,
		thrash_events, thrash_pages,
		shrink_calls, shrink_pages, shrink_urgent, shrink_refused_kswapd,
		shrink_refused_self, shrink_refused_cache, shrink_refused_holdoff,
		shrink_refused_busy, shrink_refused_host, inflate_pages,
		deflate_pages} | tostring')"
	dev_guest "kill \$(cat /tmp/stream.pid)" >/dev/null || true
}

nofight() {
	local n=nofight p
	rm -f "$T_TMP/disk.raw"
	truncate -s "${DISK_MIB}M" "$T_TMP/disk.raw"
	nofight_run guarded ""
	if ((NF_OK)); then ok "$n: boot, stream started"; else not_ok "$n: boot, stream started"; fi
	cmp_ok "$NF_S" -le "$NOFIGHT_TMO" \
		"$n: guarded: the balloon reached the target (${NF_S} s)"
	cmp_ok "$NF_PAGES" -le "$NOFIGHT_BOUND" \
		"$n: guarded: the shrinker and the thrash check gave back at most $NOFIGHT_BOUND pages ($NF_PAGES)"
	drv_check_clean "$n: guarded"
	dev_stop
	diag "nofight guarded: reach_s=$NF_S size_mib=$NF_MIB shrink_pages=$NF_PAGES"

	for p in "naive auto_policy=naive" "off auto=off"; do
		# Measured, not asserted: minutes (naive fights until the
		# timeout), so only when asked for.
		if [[ ${BB_TEST_MEASURE:-0} != 1 ]]; then
			skip "$n: ${p%% *}: a measurement (BB_TEST_MEASURE=1 runs it)"
			continue
		fi
		nofight_run "${p%% *}" "${p#* }"
		if ((NF_OK)); then
			ok "$n: ${p%% *}: measured (reach_s=$NF_S size_mib=$NF_MIB shrink_pages=$NF_PAGES)"
		else
			not_ok "$n: ${p%% *}: measured"
		fi
		dev_stop
		diag "nofight ${p%% *}: reach_s=$NF_S size_mib=$NF_MIB shrink_pages=$NF_PAGES"
	done
	rm -f "$T_TMP/disk.raw"
}

# The guest's workingset refaults (vmstat), anon and file.
ws_refaults() {
	dev_guest "cat /proc/vmstat" |
		awk '/^workingset_refault_(anon|file) / { n += $2 } END { print n + 0 }'
}

# thrash_run NAME MODPARAMS: boot with the hot disk, read its first
# HOT_MIB over and over, ask for HOT_SIZE, wait until the balloon stands
# still for 6 s (at most 150 s); sets TH_OK (booted, reading), TH_MIB
# (the guest's size then), TH_RATE (workingset refaults a second over the next
# 10 s) and snapshots the driver.
thrash_run() {
	local i last=x same=0 a0 a1
	TH_OK=0 TH_MIB=none TH_RATE=none
	disk_boot "$T_TMP/hot.raw" "$2" || return 0
	dev_guest "(exec 3</dev/vda; while :; do dd if=/dev/vda of=/dev/null bs=1M count=$HOT_MIB 2>/dev/null; done) </dev/null >/dev/null 2>&1 & echo \$! >/tmp/hot.pid" >/dev/null ||
		return 0
	# Three passes or more: the hot set is cached and active.
	sleep 15
	dev_guest "echo 0 > $DRV_DEBUGFS/stats" >/dev/null || return 0
	dev_qmp balloon "{\"value\":$((HOT_SIZE << 20))}" >/dev/null || return 0
	TH_OK=1
	for ((i = 0; i < 75 && same < 3; i++)); do
		sleep 2
		drv_snap || continue
		if [[ $(drv_stat .balloon_pages) == "$last" ]]; then
			same=$((same + 1))
		else
			same=0
			last=$(drv_stat .balloon_pages)
		fi
	done
	if [[ ! $last =~ ^[0-9]+$ ]] || ((same < 3)); then
		diag "$1: the balloon did not stand still within 150 s (last $last)"
		TH_OK=0
		return 0
	fi
	TH_MIB=$((MEM - last / 256))
	a0=$(ws_refaults) && sleep 10 && a1=$(ws_refaults) && TH_RATE=$(((a1 - a0) / 10))
	drv_snap
	diag "$1: size_mib=$TH_MIB refaults_per_s=$TH_RATE $(drv_stat '{balloon_pages,
		goal_pages, target_pages, thrash_events, thrash_pages,
		shrink_calls, shrink_pages, oom_pages, inflate_pages,
		deflate_pages} | tostring')"
}

thrash() {
	local n=thrash limit=$((MEM * 256 / 1000))
	rm -f "$T_TMP/hot.raw"
	truncate -s "${HOT_MIB}M" "$T_TMP/hot.raw"
	thrash_run "$n" ""
	if ((TH_OK)); then ok "$n: boot, hot set read"; else not_ok "$n: boot, hot set read"; fi
	cmp_ok "$(drv_stat .thrash_pages)" -gt 0 "$n: the thrash check deflated"
	# This guest runs legacy mode: a deflate batch is one request or one
	# order-9 block, 512 pages at most.  A period deflates batch after
	# batch, up to what refaulted (64 MiB at most), not one batch.
	cmp_ok "$(drv_stat '.thrash_pages / ([.thrash_events, 1] | max) | floor')" -gt 512 \
		"$n: a period gives back more than one batch (pages per period)"
	is "$(drv_stat '[.xfer_errors, .xfer_timeouts] | join(" ")')" "0 0" \
		"$n: the host answered every request in time (no transfer error or timeout)"
	is "$(drv_stat '.goal_pages == .balloon_pages and .goal_pages < .target_pages')" \
		true "$n: goal lowered to what is left, below the target"
	cmp_ok "$TH_MIB" -gt "$HOT_SIZE" "$n: the guest stays above what the host asked (${TH_MIB} MiB)"
	cmp_ok "$TH_MIB" -le $((MEM - 128)) \
		"$n: and gives back no more than the hot set needs (the balloon keeps at least 128 MiB)"
	cmp_ok "$TH_RATE" -le "$limit" \
		"$n: the working set stays cached (refaults/s $TH_RATE, limit $limit)"
	is "$(drv_actual)" $(((MEM << 20) - $(drv_stat .balloon_pages) * 4096)) \
		"$n: QEMU's actual follows"
	is "$(drv_stat .shrink_pages)" 0 "$n: the shrinker was never needed"
	drv_check_clean "$n"
	dev_stop

	# The premise: without the check this guest thrashes.
	thrash_run "thrash off" auto_thrash_permille=0
	if ((TH_OK)) && [[ $TH_RATE =~ ^[0-9]+$ ]] && ((TH_RATE > limit)); then
		ok "thrash off: the guest thrashes without the check (size_mib=$TH_MIB refaults_per_s=$TH_RATE)"
	else
		not_ok "thrash off: the guest thrashes without the check (size_mib=$TH_MIB refaults_per_s=$TH_RATE)"
	fi
	dev_stop
	rm -f "$T_TMP/hot.raw"
}

pressure
thrash
full=$(((MEM - SMALL) * 256))
bit_off "auto=off" "$AUTO,chunk-transfer=on,deflate-on-oom=on" "auto=off" \
	"bbload touch $LOAD" "$full 0 true"
# Most of what is left, so reclaim runs, but no OOM (nothing could give).
bit_off "not offered" ",chunk-transfer=on" "" \
	"bbload touch \$((\$(awk '/^MemAvailable:/ { print \$2 }' /proc/meminfo) / 1024 - 24))M" \
	"$full 0 false"
nofight
done_testing
