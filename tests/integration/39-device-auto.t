#!/bin/bash
# auto-balloon (bit 19), host half: the device inflates its guest under
# host memory pressure (host-device patch 0008, host-device/README.md).
#
# Bad properties are refused at realize with a message; with no source
# the device takes PSI triggers on /proc/pressure/memory where the
# kernel takes them (this machine's does), else the cgroup v1 memory
# cgroup QEMU is in ("auto-source"): a trigger every kernel refuses
# checks that fallback.  With PSI triggers, a QEMU that watches
# /proc/pressure/memory (no guest) counts PSI events while a host
# process (bbload churn) swaps in a small memory cgroup.  Then one guest
# runs in a fresh cgroup v1 memory cgroup, with a limit a little above
# what it uses, and a host process (bbload churn, not a VM) in the same
# cgroup allocates and touches memory until the cgroup reclaims: the
# device counts the pressure events by level.  If the guest acknowledged
# bit 19 it also writes targets: with the guest's queues stalled (actual
# cannot move) the first decision keeps a QMP target the guest had not
# reached, and every later target is actual plus one step, never an
# older target plus a step; then, served, the guest inflates step by
# step (a larger target it is still converging to is kept) up to the
# floor (auto-balloon-min) and no further, and once the host process is
# gone the balloon stays where it is; a guest that then gives back by
# itself is held off (auto-balloon-holdoff), a lower QMP target is not
# cancelled by a step, and neither that deflate nor a reboot counts as a
# give-back (phase 2b).  If it did not, every event is
# counted as ignored and the inflation checks SKIP.  Last, a second guest
# that holds nearly all its memory, with statistics every second, is
# under the same host pressure: the device takes no step from it and
# counts skipped_guest_free.
#
# Needs root (a memory cgroup and a swap file, so that the cgroup reclaims
# instead of killing); both are removed on every exit path.
. "$(dirname "$0")/lib/device.bash"
dev_require
dev_require_patched

"$DEV_QEMU" -device virtio-balloon-pci,help 2>/dev/null |
	grep -q "auto-balloon-memcg=" ||
	skip_all "$DEV_QEMU has no auto-balloon-memcg (host-device patch 0008)"
[[ $(id -u) == 0 ]] || skip_all "needs root for a memory cgroup and swap"
MEMCG_ROOT=/sys/fs/cgroup/memory
[[ -w $MEMCG_ROOT/cgroup.event_control ]] ||
	skip_all "no cgroup v1 memory hierarchy at $MEMCG_ROOT"
BBLOAD=$TOP/build/workloads/bbload
[[ -x $BBLOAD ]] || skip_all "missing $BBLOAD (make image)"
command -v mkswap >/dev/null || skip_all "mkswap not installed"

MEM=512             # guest RAM, MiB
FLOOR=448           # auto-balloon-min, MiB: at most 64 MiB in the balloon
STEP_KIB=(2048 4096 8192)   # steps low, medium, critical, KiB
HEADROOM=32         # cgroup limit above the guest's usage, MiB
CHURN=256M          # what the host process allocates, again and again
HOLDOFF=15          # auto-balloon-holdoff, s: no step after a give-back
GIVE=40             # MiB the guest must give back (phase 2b)
MAX_PAGES=$(((MEM - FLOOR) * 256))
AUTO=",auto-balloon=on,auto-balloon-min=${FLOOR}M,auto-balloon-interval=100"
AUTO+=",auto-balloon-holdoff=$((HOLDOFF * 1000))"
AUTO+=",auto-balloon-step-low=${STEP_KIB[0]}K"
AUTO+=",auto-balloon-step-medium=${STEP_KIB[1]}K"
AUTO+=",auto-balloon-step-critical=${STEP_KIB[2]}K"

# DEV_AUTO_GUEST=off loads vballoon with auto=off: the guest does not
# acknowledge bit 19 (checks the ignored path; the inflation checks SKIP).
GUEST_PARAMS=""
if [[ -n ${DEV_AUTO_GUEST:-} ]]; then
	GUEST_PARAMS=" bb.modparams=auto=$DEV_AUTO_GUEST"
fi
CG=$MEMCG_ROOT/bb-auto-$$
SWAP=$T_TMP/swap
SWAP_ON=0
HOG_PID=""
PSI_PID=""
# The memory cgroup this shell starts in, to come back to.
HOME_CG=$MEMCG_ROOT$(sed -n 's/^[0-9]*:memory://p' /proc/self/cgroup)

auto_cleanup() {
	local p
	echo "$$" >"$HOME_CG/cgroup.procs" 2>/dev/null || true
	if [[ -n $HOG_PID ]]; then
		kill -9 "$HOG_PID" 2>/dev/null || true
		wait "$HOG_PID" 2>/dev/null || true
	fi
	if [[ -n $PSI_PID ]]; then
		kill "$PSI_PID" 2>/dev/null || true
		wait "$PSI_PID" 2>/dev/null || true
	fi
	dev_stop
	if [[ -d $CG ]]; then
		while read -r p; do
			kill -9 "$p" 2>/dev/null || true
		done <"$CG/cgroup.procs"
		for ((p = 0; p < 50; p++)); do
			rmdir "$CG" 2>/dev/null && break
			sleep 0.1
		done
	fi
	if ((SWAP_ON)); then
		swapoff "$SWAP" 2>/dev/null || true
	fi
	rm -f "$SWAP"
}
trap 'auto_cleanup; t_cleanup' EXIT
trap 'exit 1' INT TERM

# start DEVICE_PROPS [QMP_COMMAND...]: start QEMU paused with the balloon,
# send the QMP commands and quit; prints QEMU's messages (the replies stay
# in $T_TMP/start.log), returns its exit status.
start() {
	local log=$T_TMP/start.log rc=0 props=$1
	shift
	# shellcheck disable=SC2086
	printf '%s\n' '{"execute":"qmp_capabilities"}' "$@" '{"execute":"quit"}' |
		timeout 60 "$DEV_QEMU" $DEV_QEMU_ARGS -machine pc -accel tcg \
			-nodefaults -no-user-config -display none -S -qmp stdio \
			-device "virtio-balloon-pci,id=balloon0$props" \
			>"$log" 2>&1 || rc=$?
	grep -v '^{' "$log" || true
	return "$rc"
}

# source_of DEVICE_PROPS: the "auto-source" in stage-stats of a device
# started with DEVICE_PROPS; empty if it did not start.
source_of() {
	start "$1" '{"execute":"qom-get","arguments":{"path":"/machine/peripheral/balloon0","property":"stage-stats"}}' \
		>/dev/null || return 0
	grep '^{' "$T_TMP/start.log" |
		jq -r '.return | objects | ."auto-source" // empty'
}

# refused DEVICE_PROPS TEXT...: QEMU fails and its message has every TEXT.
refused() {
	local props=$1 out rc=0 t
	shift
	out=$(start "$props") || rc=$?
	if [[ $rc == 0 || $rc == 124 ]]; then
		diag "exit status $rc: $out"
		return 1
	fi
	for t in "$@"; do
		if [[ $out != *"$t"* ]]; then
			diag "no '$t' in: $out"
			return 1
		fi
	done
}

starts() { start "$1" >/dev/null; }

# The device's default PSI triggers (low, medium, critical).
PSI_DEFAULTS=("some 100000 2000000" "some 300000 2000000" "full 200000 2000000")
# A trigger every kernel refuses: a window above the 10 s maximum.
PSI_BAD="some 100000 20000000"

# Does this kernel take the default PSI triggers on /proc/pressure/memory,
# written as the device writes them (with the NUL), from this process?
psi_triggers() {
	local fd t rc=0
	for t in "${PSI_DEFAULTS[@]}"; do
		exec {fd}<>/proc/pressure/memory 2>/dev/null || return 1
		printf '%s\0' "$t" 2>/dev/null 1>&"$fd" || rc=1
		exec {fd}>&-
		((rc == 0)) || return 1
	done
}
PSI=0
if psi_triggers; then
	PSI=1
fi
diag "this kernel takes the default PSI triggers: $PSI" \
	"(CapEff $(sed -n 's/^CapEff:[[:space:]]*//p' /proc/self/status))"

mkdir "$CG"

# --- realize: sources and properties ---
check "auto-balloon=off starts" starts ""
# With no source the device takes PSI triggers on /proc/pressure/memory
# where the kernel takes them, else the cgroup v1 memory cgroup QEMU is
# in: QEMU is started from this shell while the shell is in $CG.
echo "$$" >"$CG/cgroup.procs"
got=$(source_of ",auto-balloon=on")
got_bad=$(source_of ",auto-balloon=on,auto-balloon-psi-low=$PSI_BAD")
echo "$$" >"$HOME_CG/cgroup.procs"
if ((PSI)); then
	is "$got" "psi:/proc/pressure/memory" \
		"auto-balloon=on alone starts with PSI triggers on /proc/pressure/memory (this kernel takes them)"
	is "$(source_of ",auto-balloon=on,auto-balloon-psi=/proc/pressure/memory")" \
		"psi:/proc/pressure/memory" \
		"auto-balloon-psi=/proc/pressure/memory starts"
	check "a PSI trigger the kernel refuses, on a given PSI file, is an error naming the file and the trigger" \
		refused ",auto-balloon=on,auto-balloon-psi=/proc/pressure/memory,auto-balloon-psi-medium=$PSI_BAD" \
		"/proc/pressure/memory" "medium trigger '$PSI_BAD'"
else
	check "PSI triggers are refused here: given explicitly, that is an error naming the file" \
		refused ",auto-balloon=on,auto-balloon-psi=/proc/pressure/memory" \
		"/proc/pressure/memory" "auto-balloon-memcg"
	is "$got" "memcg1:$CG" \
		"auto-balloon=on alone starts on QEMU's own cgroup v1 memory cgroup"
fi
is "$got_bad" "memcg1:$CG" \
	"a PSI trigger the kernel refuses: the default falls back to QEMU's own cgroup v1 memory cgroup"
check "a PSI trigger longer than the kernel reads (31 characters) is refused" \
	refused ",auto-balloon=on,auto-balloon-memcg=$CG,auto-balloon-psi-low=some 0000000100000 0000002000000" \
	"auto-balloon-psi-low" "31 characters"
check "auto-balloon-memcg and auto-balloon-psi together are refused" \
	refused ",auto-balloon=on,auto-balloon-memcg=$CG,auto-balloon-psi=/proc/pressure/memory" \
	"cannot be used together"
check "a missing memcg directory is refused, naming the file" \
	refused ",auto-balloon=on,auto-balloon-memcg=$T_TMP/none" \
	"$T_TMP/none/memory.pressure_level"
check "auto-balloon-memcg without auto-balloon=on is refused" \
	refused ",auto-balloon-memcg=$CG" "needs 'auto-balloon=on'"
check "a step that is not a multiple of 4 KiB is refused" \
	refused ",auto-balloon=on,auto-balloon-memcg=$CG,auto-balloon-step-low=5000" \
	"auto-balloon-step-low"
check "a hold-off above an hour is refused" \
	refused ",auto-balloon=on,auto-balloon-memcg=$CG,auto-balloon-holdoff=3600001" \
	"auto-balloon-holdoff"
check "auto-balloon=on with auto-balloon-memcg starts" \
	starts ",auto-balloon=on,auto-balloon-memcg=$CG"

# --- swap, so that the cgroup reclaims rather than kills ---
if ! fallocate -l 1G "$SWAP" 2>/dev/null; then
	dd if=/dev/zero of="$SWAP" bs=1M count=1024 status=none
fi
chmod 600 "$SWAP"
mkswap -q "$SWAP" >/dev/null
swapon "$SWAP"
SWAP_ON=1

# churn SECS: the host process, in the cgroup, allocates and touches
# CHURN again and again for SECS seconds; waits for it.
churn() {
	(
		echo "$BASHPID" >"$CG/cgroup.procs"
		echo 1000 >/proc/self/oom_score_adj
		exec "$BBLOAD" churn "$CHURN" "$1"
	) >/dev/null 2>&1 &
	HOG_PID=$!
	wait_exit "$HOG_PID" $(($1 + 60)) || true
	HOG_PID=""
}

# --- PSI: the device hears host memory stalls on /proc/pressure/memory ---
# A QEMU with no guest (-S) watches /proc/pressure/memory with the default
# triggers while the host process swaps in the cgroup, limited to
# PSI_LIMIT: its stalls are host memory stalls, which PSI counts
# system-wide.  No guest acknowledged bit 19, so every event is ignored.
PSI_SECS=8
PSI_LIMIT=64M
if ((PSI)); then
	echo "$PSI_LIMIT" >"$CG/memory.limit_in_bytes"
	# shellcheck disable=SC2086
	{
		echo '{"execute":"qmp_capabilities"}'
		sleep $((PSI_SECS + 5))
		echo '{"execute":"qom-get","arguments":{"path":"/machine/peripheral/balloon0","property":"stage-stats"}}'
		echo '{"execute":"quit"}'
	} | timeout $((PSI_SECS + 60)) "$DEV_QEMU" $DEV_QEMU_ARGS -machine pc \
		-accel tcg -nodefaults -no-user-config -display none -S \
		-qmp stdio -device "virtio-balloon-pci,id=balloon0,auto-balloon=on,auto-balloon-psi=/proc/pressure/memory" \
		>"$T_TMP/psi.log" 2>&1 &
	PSI_PID=$!
	sleep 2
	churn "$PSI_SECS"
	wait "$PSI_PID" || true
	PSI_PID=""
	echo -1 >"$CG/memory.limit_in_bytes"
	psi_stats=$(grep '^{' "$T_TMP/psi.log" | jq -c '.return | objects | select(.auto)')
	diag "PSI: $(jq -c '.auto' <<<"$psi_stats")," \
		"host: $(tr '\n' ' ' </proc/pressure/memory)"
	is "$(jq -r '."auto-source"' <<<"$psi_stats")" "psi:/proc/pressure/memory" \
		"PSI: the source is /proc/pressure/memory"
	cmp_ok "$(jq .auto.events_low <<<"$psi_stats")" -gt 0 \
		"PSI: host memory stalls are heard (low trigger)"
	is "$(jq '.auto | .events_ignored == .events_low + .events_medium + .events_critical' <<<"$psi_stats")" \
		true "PSI: every event ignored (no guest acknowledged bit 19)"
else
	for w in "source" "events heard" "events ignored"; do
		skip "PSI: $w: this kernel takes no PSI trigger on /proc/pressure/memory"
	done
fi

# --- one guest in the cgroup ---
# QEMU is started from this shell while the shell is in the cgroup, so
# that every page it ever touches is charged there.
echo "$$" >"$CG/cgroup.procs"
DEV_QEMU_ARGS="$DEV_QEMU_ARGS -trace virtio_balloon_auto_step"
# (trace lines with the host's time: pid@seconds.micros:name ...)
DEV_QEMU_ARGS+=" -trace virtio_balloon_auto_gave_back -msg timestamp=on"
booted=0
dev_boot "$MEM" ",auto-balloon-memcg=$CG$AUTO,chunk-transfer=on" \
	"bb.driver=vballoon$GUEST_PARAMS" && booted=1
echo "$$" >"$HOME_CG/cgroup.procs"
if ((!booted)); then
	not_ok "boot a guest in the memory cgroup"
	plan "$T_N"
	exit 1
fi
ok "boot a guest in the memory cgroup, QEMU charged there"
TRACE=$DEV_DIR/qemu.log

dev_snap
is "$(dev_stat '."auto-source"')" "memcg1:$CG" "stage-stats names the source"
acked=0
if (($(dev_offered_bb_bits) & (1 << 19) && $(dev_stat .features) & (1 << 19))); then
	acked=1
fi
diag "guest acknowledged bit 19: $acked"

usage=$(cat "$CG/memory.usage_in_bytes")
echo $((usage + HEADROOM * 1024 * 1024)) >"$CG/memory.limit_in_bytes"
dev_stats_reset >/dev/null

# Targets written so far, from the trace: "actual target" per line.
steps_seen() {
	sed -n 's/.*auto-balloon: [a-z]* step, actual \([0-9]*\) pages, new target \([0-9]*\) pages.*/\1 \2/p' "$TRACE"
}

# steps_ok STALLED [KEPT]: every step's target is its actual plus one
# configured step, or cut at the floor, or a larger target already
# written that the guest may still be converging to: KEPT (written before
# the steps seen) for the first step, and unless STALLED the previous
# step's target.  STALLED: the actual never moved, and after the first
# step every target is actual plus one step.
steps_ok() {
	local stalled=$1 kept=${2:-} a t first="" d ok=0 k
	while read -r a t; do
		d=$(((t - a) * 4))
		ok=0
		for k in "${STEP_KIB[@]}"; do ((d == k)) && ok=1; done
		((t == MAX_PAGES && d > 0 && d <= STEP_KIB[2])) && ok=1
		[[ -n $kept ]] && ((t == kept && t > a)) && ok=1
		if ((!ok)); then
			diag "step from $a to $t pages is no configured step"
			return 1
		fi
		first=${first:-$a}
		if ((stalled && a != first)); then
			diag "actual moved from $first to $a while stalled"
			return 1
		fi
		kept=$t
		if ((stalled)); then
			kept=""
		fi
	done < <(steps_seen)
	return 0
}

actual_pages() {
	echo $(((MEM * 1024 * 1024 - $(dev_qmp query-balloon | jq .actual)) / 4096))
}

# --- phase 1: guest queues stalled, so actual cannot follow ---
# A QMP target QT, more than any step above actual, that the stalled
# guest cannot reach: the first decision keeps it (no decision has seen
# it, the guest may be converging), later ones see actual stalled and
# write actual + one step.
dev_qmp_ok qom-set '{"path":"/machine/peripheral/balloon0","property":"x-stall-queues","value":true}'
before=$(actual_pages)
QT=$((before + 3 * STEP_KIB[2] / 4))
: >"$TRACE"
dev_qmp_ok balloon "{\"value\":$((MEM * 1024 * 1024 - QT * 4096))}"
churn 4
dev_snap
diag "stalled: $(jq -c .auto <<<"$DEV_LAST_STATS")"
P1_TARGET=$(dev_stat .auto.target_pages)
cmp_ok "$(dev_stat .auto.events_low)" -gt 0 "pressure events counted (low)"
cmp_ok "$(dev_stat .auto.events_low)" -ge "$(dev_stat .auto.events_critical)" \
	"a low listener hears every level"
if ((acked)); then
	is "$(dev_stat .auto.events_ignored)" 0 "no event ignored (bit 19 acked)"
	cmp_ok "$(dev_stat .auto.steps)" -ge 2 "several steps while stalled"
	is "$(steps_seen | head -n 1 | cut -d' ' -f2)" "$QT" \
		"stalled: the first decision keeps the QMP target the guest had not reached"
	check "stalled: after it every target is actual + one step" \
		steps_ok 1 "$QT"
	cmp_ok "$(dev_stat .auto.target_pages)" -le \
		$((before + STEP_KIB[2] / 4)) "stalled: target never above actual + the largest step"
else
	is "$(dev_stat .auto.events_ignored)" \
		"$(dev_stat '.auto.events_low + .auto.events_medium + .auto.events_critical')" \
		"every event ignored: the guest did not acknowledge bit 19"
	is "$(dev_stat .auto.steps)" 0 "no step without bit 19"
	for w in "several steps" "QMP target kept" "actual + one step" \
		"target bound"; do
		skip "stalled: $w: the guest driver does not acknowledge bit 19"
	done
fi
dev_qmp_ok qom-set '{"path":"/machine/peripheral/balloon0","property":"x-stall-queues","value":false}'
sleep 2

# --- phase 2: served; the balloon grows step by step up to the floor ---
: >"$TRACE"
dev_stats_reset >/dev/null
churn 12
dev_snap
diag "served: $(jq -c .auto <<<"$DEV_LAST_STATS")"
cmp_ok "$(dev_stat '.auto.events_low + .auto.events_medium + .auto.events_critical')" \
	-gt 0 "served: pressure events counted"
if ((acked)); then
	sleep 2
	after=$(actual_pages)
	dev_snap
	cmp_ok "$(dev_stat .auto.steps)" -ge 2 "served: several steps"
	check "served: every target is actual + one step, cut at the floor, or the target the guest converges to" \
		steps_ok 0 "$P1_TARGET"
	is "$(dev_stat .auto.target_pages)" "$MAX_PAGES" \
		"served: the last target is the floor exactly"
	cmp_ok "$(dev_stat .auto.skipped_floor)" -gt 0 "served: the floor stopped steps"
	cmp_ok "$after" -le "$MAX_PAGES" "served: the guest keeps the floor"
	cmp_ok "$after" -gt "$before" "served: the guest inflated"
	sleep 5
	is "$(actual_pages)" "$after" "the balloon does not shrink by itself after the host process"
else
	for w in "several steps" "actual + one step" "floor target" \
		"floor stops steps" "guest keeps the floor" "guest inflated" \
		"no shrink after"; do
		skip "served: $w: the guest driver does not acknowledge bit 19"
	done
fi

# --- phase 2b: the guest gives back, the device holds off ---
# A guest program takes GIVE MiB more than the guest has available: the
# guest deflates by itself (shrinker or OOM notifier), below the target.
# The device counts the give-back and, under the same host pressure as
# before, takes no step for HOLDOFF s after the last page given back
# (skipped_gave_back); with no step in between, every hold-off the trace
# shows is HOLDOFF.  Once the program is gone and the last hold-off is
# over, the device steps again; a give-back soon after that step doubles
# the hold-off.  Then a QMP target below actual, with the guest's queues
# stalled: under host pressure the device takes no step that would
# cancel it (skipped_deflating, counted before the hold-off); served, the
# guest deflates to it, and that is no give-back.  After the reset check,
# a reboot (system_reset): the rebooted guest's first write of actual (an
# empty balloon, far below the old target) is no give-back either.
# wait_actual_below PAGES: until the guest's actual is below (60 s at most).
wait_actual_below() {
	local i a
	for ((i = 0; i < 120; i++)); do
		a=$(actual_pages)
		((a < $1)) && break
		sleep 0.5
	done
	echo "$a"
}
if ((acked)); then
	dev_stats_reset >/dev/null
	dev_guest "bbload hold \$((\$(awk '/^MemAvailable:/ { print \$2 }' /proc/meminfo) / 1024 + $GIVE))M >/dev/null 2>&1 </dev/null &"
	gave=$(wait_actual_below "$after")
	churn 5
	dev_snap
	diag "gave back: actual $after -> $gave pages; $(jq -c .auto <<<"$DEV_LAST_STATS")"
	cmp_ok "$gave" -lt "$after" "gave back: the guest deflated by itself"
	cmp_ok "$(dev_stat .auto.gave_back)" -gt 0 "gave back: the device counted it"
	cmp_ok "$(dev_stat .auto.gave_back_pages)" -ge $((after - gave)) \
		"gave back: every page given back is counted"
	cmp_ok "$(dev_stat .auto.skipped_gave_back)" -gt 0 \
		"gave back: decisions under host pressure held off"
	is "$(dev_stat .auto.steps)" 0 "gave back: no step within the hold-off"
	dev_guest "killall bbload; true" >/dev/null || true
	holdoffs=$(sed -n 's/.*auto-balloon: the guest gave back .* no step for \([0-9]*\) ms.*/\1/p' "$TRACE")
	diag "hold-offs (ms): $(tr '\n' ' ' <<<"$holdoffs")"
	is "$(head -n 1 <<<"$holdoffs")" $((HOLDOFF * 1000)) \
		"gave back: the first hold-off is auto-balloon-holdoff"
	is "$(grep -vx "$((HOLDOFF * 1000))" <<<"$holdoffs" || true)" "" \
		"gave back: no step in between, so no hold-off doubled"
	# Wait for the end of the last hold-off (its line's time plus its
	# length: the virtual clock runs with the host's here), then host
	# pressure, a second at a time, until the device steps.
	# (sed, not grep: the trace was truncated while QEMU wrote it, so it
	# has a hole of NULs and grep calls it binary)
	gave_backs() {
		sed -n 's/.*[0-9]@\([0-9.]*\):virtio_balloon_auto_gave_back .* no step for \([0-9]*\) ms.*/\1 \2/p' "$TRACE"
	}
	held_end=$(gave_backs | tail -n 1 | awk '{ printf "%.6f", $1 + $2 / 1000 }')
	[[ -n $held_end ]] || held_end=$(date +%s.%N)
	sleep "$(awk -v e="$held_end" -v now="$(date +%s.%N)" \
		'BEGIN { d = e + 0.5 - now; print (d > 0 ? d : 0) }')"
	dev_stats_reset >/dev/null
	for ((i = 0; i < 5; i++)); do
		churn 1
		dev_snap
		(($(dev_stat .auto.steps) > 0)) && break
	done
	diag "after the hold-off: $(jq -c .auto <<<"$DEV_LAST_STATS")"
	cmp_ok "$(dev_stat .auto.steps)" -gt 0 "after the hold-off the device steps again"
	# A give-back within a hold-off's length of its end, after a step:
	# the hold-off doubles.  (A guest too slow to give back within that
	# window here is a skip, with the gap.)
	n=$(gave_backs | wc -l)
	now=$(actual_pages)
	dev_guest "bbload hold \$((\$(awk '/^MemAvailable:/ { print \$2 }' /proc/meminfo) / 1024 + $GIVE))M >/dev/null 2>&1 </dev/null &"
	a=$(wait_actual_below "$now")
	dev_guest "killall bbload; true" >/dev/null || true
	again=$(gave_backs | sed -n "$((n + 1))p")
	gap=$(awk -v e="$held_end" '{ printf "%d", $1 - e }' <<<"$again")
	diag "gave back again: actual $now -> $a, ${gap:-?} s after the hold-off ended; hold-offs (ms): $(gave_backs | tail -n +$((n + 1)) | cut -d' ' -f2 | tr '\n' ' ')"
	if [[ -n $gap ]] && ((gap >= HOLDOFF)); then
		skip "gave back again after a step: $gap s after the hold-off, too late here for the doubling window ($HOLDOFF s)"
	else
		is "${again#* }" $((HOLDOFF * 2000)) \
			"gave back again after a step: the hold-off doubled"
	fi

	# A lower QMP target while the guest cannot move: no step cancels it
	# (and the deflate comes first: the device is held off too).
	sleep 1
	now=$(actual_pages)
	if ((now < 512)); then
		for w in "waits" "no step" "reached" "no give-back"; do
			skip "lower target $w: the balloon holds $now pages, too few to lower"
		done
	else
		LOWER=$((now - 256))
		dev_qmp_ok qom-set '{"path":"/machine/peripheral/balloon0","property":"x-stall-queues","value":true}'
		dev_stats_reset >/dev/null
		dev_qmp_ok balloon "{\"value\":$((MEM * 1024 * 1024 - LOWER * 4096))}"
		churn 3
		dev_snap
		diag "lower target $LOWER (actual $now): $(jq -c .auto <<<"$DEV_LAST_STATS")"
		cmp_ok "$(dev_stat .auto.skipped_deflating)" -gt 0 \
			"lower target: decisions under host pressure wait for the guest to deflate"
		is "$(dev_stat .auto.steps)" 0 "lower target: no step cancels it"
		dev_qmp_ok qom-set '{"path":"/machine/peripheral/balloon0","property":"x-stall-queues","value":false}'
		is "$(wait_actual_below $((LOWER + 1)))" "$LOWER" \
			"lower target: served, the guest deflates to it"
		dev_snap
		is "$(dev_stat .auto.gave_back)" 0 \
			"lower target: a deflate the host asked for is no give-back"
	fi
else
	for w in "deflated" "counted" "pages counted" "held off" "no step" \
		"first hold-off" "no doubling" "steps again" "doubled" \
		"lower target waits" "lower target no step" \
		"lower target reached" "lower target no give-back"; do
		skip "gave back: $w: the guest driver does not acknowledge bit 19"
	done
fi

is "$(dev_stats_reset)" "{}" "stage-stats-reset"
# The cgroup is still at its limit, so an event may land between the
# reset and the snapshot: up to 10 tries for a quiet moment.  Counters
# that a reset does not clear are never 0.
for ((i = 0; i < 10; i++)); do
	dev_snap
	(($(dev_stat '[.auto[]] | add') == 0)) && break
	diag "after reset: $(jq -c .auto <<<"$DEV_LAST_STATS")"
	sleep 1
	dev_stats_reset >/dev/null
done
is "$(dev_stat '[.auto[]] | add')" 0 "every auto counter is zero after reset"
check "QMP still answers" dev_qmp_ok query-status

# Last, after the reset check (the guest boots again under host
# pressure, and the device may step it), a reboot: the first write of
# actual is where the guest starts.
if ((acked)); then
	# (-no-reboot would make system_reset a shutdown)
	dev_stats_reset >/dev/null
	dev_qmp_ok set-action '{"reboot": "reset"}'
	dev_qmp_ok system_reset
	for ((i = 0; i < 1200; i++)); do
		(($(grep -c "bb-init: ready" "$DEV_DIR/console.log") >= 2)) && break
		kill -0 "$DEV_PID" 2>/dev/null || break
		sleep 0.25
	done
	cmp_ok "$(grep -c "bb-init: ready" "$DEV_DIR/console.log")" -ge 2 \
		"reboot: the guest is up again"
	dev_snap
	diag "after the reboot: $(jq -c .auto <<<"$DEV_LAST_STATS")"
	is "$(dev_stat .auto.gave_back)" 0 \
		"reboot: the rebooted guest's empty balloon is no give-back"
else
	skip "reboot up: the guest driver does not acknowledge bit 19"
	skip "reboot no give-back: the guest driver does not acknowledge bit 19"
fi
dev_stop

# --- phase 3: a guest with less free memory than a step is left alone ---
# A second guest, with larger steps and statistics every second, holds
# all but GF_LEFT of its available memory: its AVAIL is below a step, so
# host pressure only counts skipped_guest_free and the balloon stays.
GF_STEP=64          # MiB, the step of every level
GF_LEFT=24          # MiB of MemAvailable the guest does not hold
GF=",auto-balloon=on,auto-balloon-interval=100"
GF+=",auto-balloon-step-low=${GF_STEP}M,auto-balloon-step-medium=${GF_STEP}M"
GF+=",auto-balloon-step-critical=${GF_STEP}M"

# The available memory in the guest's last statistics, bytes.
guest_avail() {
	dev_qmp qom-get '{"path":"/machine/peripheral/balloon0","property":"guest-stats"}' |
		jq -r '.stats["stat-available-memory"]'
}

# wait_guest_avail_below BYTES: until the statistics say so (60 s at most).
wait_guest_avail_below() {
	local i avail
	for ((i = 0; i < 60; i++)); do
		avail=$(guest_avail)
		[[ $avail =~ ^[0-9]+$ ]] && ((avail < $1)) && break
		sleep 1
	done
	echo "$avail"
}

# No limit while the guest boots and fills its memory; set again below.
echo -1 >"$CG/memory.limit_in_bytes"
echo "$$" >"$CG/cgroup.procs"
booted=0
dev_boot "$MEM" ",auto-balloon-memcg=$CG$GF" "bb.driver=vballoon$GUEST_PARAMS" &&
	booted=1
echo "$$" >"$HOME_CG/cgroup.procs"
if ((booted && acked)); then
	ok "guest-free: boot a second guest in the memory cgroup"
	dev_qmp_ok qom-set '{"path":"/machine/peripheral/balloon0","property":"guest-stats-polling-interval","value":1}'
	dev_guest "bbload hold \$((\$(awk '/^MemAvailable:/ { print \$2 }' /proc/meminfo) / 1024 - $GF_LEFT))M >/dev/null 2>&1 </dev/null &"
	cmp_ok "$(wait_guest_avail_below $((GF_STEP << 20)))" -lt $((GF_STEP << 20)) \
		"guest-free: the guest's statistics show less than a step available"
	before=$(actual_pages)
	usage=$(cat "$CG/memory.usage_in_bytes")
	echo $((usage + HEADROOM * 1024 * 1024)) >"$CG/memory.limit_in_bytes"
	dev_stats_reset >/dev/null
	churn 6
	dev_snap
	diag "guest-free: $(jq -c .auto <<<"$DEV_LAST_STATS")," \
		"guest AVAIL $(guest_avail) bytes"
	cmp_ok "$(dev_stat '.auto.events_low + .auto.events_medium + .auto.events_critical')" \
		-gt 0 "guest-free: pressure events counted"
	cmp_ok "$(dev_stat .auto.skipped_guest_free)" -gt 0 \
		"guest-free: decisions skipped for the guest's free memory"
	is "$(dev_stat .auto.steps)" 0 "guest-free: no step taken"
	is "$(actual_pages)" "$before" "guest-free: the balloon did not move"
elif ((booted)); then
	ok "guest-free: boot a second guest in the memory cgroup"
	for w in "little available" "events" "skipped_guest_free" "no step" \
		"balloon stays"; do
		skip "guest-free: $w: the guest driver does not acknowledge bit 19"
	done
else
	not_ok "guest-free: boot a second guest in the memory cgroup"
fi
check "guest-free: QMP still answers" dev_qmp_ok query-status
dev_stop
check "QEMU exited; nothing of the test left" nothing_left

auto_cleanup
trap t_cleanup EXIT
check "the memory cgroup is gone" test ! -e "$CG"
check "the swap file is off" bash -c "! grep -qF '$SWAP' /proc/swaps"
plan "$T_N"
done_testing
