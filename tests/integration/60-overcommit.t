#!/bin/bash
# The overcommit scenario (configs/overcommit-ci.json): two small guests
# in a memory cgroup below their size, with a swap file; every strategy
# moves the balloons as specified, the host's swap traffic is counted, and
# the cgroup, the swap file and every QEMU are gone afterwards: at a
# normal end, after SIGINT, after a VM died, and after kill -9 of the
# harness (the next run sweeps them).  Bad input is exit 2 before boot.
. "$(dirname "$0")/lib.sh"
plan 63

[[ $(id -u) -eq 0 ]] || skip_all "needs root (memory cgroup, swapon)"
command -v jq >/dev/null || skip_all "needs jq"

WORK=$T_TMP/work
mkdir -p "$WORK"
CFG=$TOP/configs/overcommit-ci.json
RUN=("$BB" run "$CFG" --accel tcg --output_dir "$T_TMP/res" --work_dir "$WORK")

# No cgroup, swap file or scratch directory of a harness is left anywhere.
host_clean() {
	local left
	left=$(find /sys/fs/cgroup -maxdepth 2 -name 'balloonbench-*' 2>/dev/null
		grep -o '[^ ]*balloonbench-swap-[0-9]*' /proc/swaps || true
		find "$WORK" -mindepth 1 2>/dev/null)
	if [[ -n $left ]]; then
		diag "left on the host: $left"
		return 1
	fi
}

# Bad input: one line naming the key, exit 2, nothing booted.
bad() {
	local what=$1 pattern=$2 rc=0
	shift 2
	"${RUN[@]}" "$@" >"$T_TMP/bad.out" 2>"$T_TMP/bad.err" || rc=$?
	if [[ $rc -eq 2 ]] && grep -Eq -- "$pattern" "$T_TMP/bad.err" &&
		[[ -z $(our_qemus) ]]; then
		ok "$what: exit 2, '$pattern'"
	else
		not_ok "$what: exit $rc"
		diag "$(cat "$T_TMP/bad.err")"
	fi
}
mem_kib=$(awk '/MemTotal/ { print $2 }' /proc/meminfo)
bad "host limit above the machine" "key 'host_memory': .* more than this machine has" \
	--host_memory "$((mem_kib * 2))K"
bad "swap larger than the disk" "key 'swap': .* does not fit" --swap 4000G
bad "libvirt backend" "key 'backend': the overcommit scenario" --backend libvirt
bad "auto with the stock driver" "row 'auto': strategy 'auto' needs the vballoon driver" \
	--driver stock
bad "auto-balloon in device" "row 'none': strategy 'none': 'device' sets auto-balloon" \
	--device auto-balloon-min=64M,auto-balloon=on
bad "no host limit" "key 'host_memory': the overcommit scenario needs" --host_memory 0
if [[ -e $TOP/build/guest/kbuild.img ]]; then
	bad "kernel build with another configuration than the image's" \
		"key 'kbuild_config': the build image was prepared with" \
		--workload kbuild --kbuild_config no-such-config
else
	bad "kernel build without its image" "'kbuild' needs the build image" \
		--workload kbuild
fi

# The CI run: every strategy once.
rc=0
"${RUN[@]}" >"$T_TMP/ci.out" 2>"$T_TMP/ci.err" || rc=$?
check "overcommit-ci runs to the end" test "$rc" -eq 0
[[ $rc -eq 0 ]] || diag "$(tail -20 "$T_TMP/ci.err")"
report=$(sed -n 's/^report: //p' "$T_TMP/ci.out")
check "a report is written" test -s "$report"
check "the run left nothing on the host" host_clean
check "no QEMU or socket is left" nothing_left
q() { jq -r "$1" "$report" 2>/dev/null; }
row() { q ".rows[] | select(.name == \"$1\") | .runs[0].$2"; }
check "six rows, one per strategy" test "$(q '[.rows[].name] | join(",")')" = \
	"none,static,mom,reporting,auto,auto+reporting"
check "the report says cgroup version and swap" \
	test "$(q '.host.cgroup_version > 0 and .host.run_swap_bytes == 536870912')" = true
check "none: the host swapped out (pages counted)" test "$(row none swap_out_pages)" -gt 0
# Swap over the builds: the series' counter at the first sample at or
# after the last build's end (run_s: this workload has no set-up time);
# what came after is reported apart.
nseries=$(dirname "$report")/$(row none series)
check "none: swap out is counted over the builds (to run_s)" \
	test "$(row none swap_out_pages)" = "$(jq -s --argjson e "$(row none run_s // 0)" \
		'(map(select(.t_s >= $e)) | first) // last | .host_pswpout_pages' "$nseries")"
check "none: swap over the builds and after them add up to the series' last" \
	test "$(q '.rows[] | select(.name == "none") | .runs[0] | .swap_out_pages + .swap_out_after_pages')" = \
	"$(tail -1 "$nseries" | jq .host_pswpout_pages)"
check "none: the balloon never moved" test "$(row none balloon_peak_bytes)" -eq 0
check "static: both guests ballooned to 3/4 (2 x 128 MiB)" \
	test "$(row static balloon_peak_bytes)" -eq $((2 * 128 << 20))
check "mom: the policy made balloon requests" test "$(row mom mom_steps)" -gt 0
check "mom: the balloons moved" test "$(row mom balloon_peak_bytes)" -gt 0
check "reporting: the device had free page reporting on" \
	test "$(q '.rows[] | select(.name == "reporting") | .settings.device')" = \
	"free-page-reporting=on"
check "reporting: the balloon never moved" test "$(row reporting balloon_peak_bytes)" -eq 0
check "reporting: vballoon reported freed memory" \
	test "$(row reporting guest_report_bytes)" -gt 0
check "auto: the row's device has auto-balloon=on" \
	test "$(q '.rows[] | select(.name == "auto") | .settings.device')" = "auto-balloon=on"
check "auto: pressure events came and the devices took steps" \
	test "$(q '[.rows[] | select(.name == "auto") | .runs[0].vms[].auto | select(.events_low > 0 and .steps > 0)] | length')" -eq 2
check "auto: the steps add up (auto_steps)" \
	test "$(row auto auto_steps)" -eq "$(q '[.rows[] | select(.name == "auto") | .runs[0].vms[].auto.steps] | add')"
check "auto: the give-backs add up (auto_gave_back_bytes)" \
	test "$(row auto auto_gave_back_bytes)" -eq "$(q '[.rows[] | select(.name == "auto") | .runs[0].vms[].auto.gave_back_pages * 4096] | add')"
check "auto: the held-off decisions add up (auto_held_off)" \
	test "$(row auto auto_held_off)" -eq "$(q '[.rows[] | select(.name == "auto") | .runs[0].vms[].auto.skipped_gave_back] | add')"
check "auto: the balloons moved" test "$(row auto balloon_peak_bytes)" -gt 0
check "auto: no guest went below the floor (a quarter of 512 MiB)" \
	test "$(q '[.rows[] | select(.name == "auto") | .runs[0].vms[].auto.target_pages] | max')" -le $((384 * 256))
check "auto: every guest had its shrinker registered" \
	test "$(q '[.rows[] | select(.name == "auto") | .runs[0].vms[].guest_counters.shrinker] | all')" = true
check "auto: guest_thrash_bytes is what the guests' thrash checks gave back" \
	test "$(row auto guest_thrash_bytes)" = "$(q '[.rows[] | select(.name == "auto") | .runs[0].vms[].guest_counters.thrash_pages] | add * 4096')"
check "auto+reporting: both on, and the guests reported" \
	test "$(q '.rows[] | select(.name == "auto+reporting") | .settings.device')" = \
	"auto-balloon=on,free-page-reporting=on" -a "$(row auto+reporting guest_report_bytes)" -gt 0
check "every guest's build time and status is reported" \
	test "$(q '[.rows[].runs[].vms[] | select(.status == 0 and .build_s > 10)] | length')" -eq 12
series=$(dirname "$report")/$(row mom series)
check "the time series has a line per sample" \
	test "$(wc -l <"$series")" -eq "$(row mom samples)"
check "a series line has host, cgroup and per-VM figures" \
	test "$(head -1 "$series" | jq '(.host_pswpout_pages != null) and (.cgroup_usage_bytes > 0) and (.vms | length == 2) and (.vms[0].guest_stats.stats | length > 0)')" = true
aseries=$(dirname "$report")/$(row auto series)
check "an auto series line has each device's auto counters" \
	test "$(tail -1 "$aseries" | jq '.vms | map(.auto.steps != null) | all')" = true
check "cgroup peak is at the limit (the host was under pressure)" \
	test "$(row none cgroup_peak_bytes)" -ge $((600 << 20))
check "show prints the seed's table" grep -q "^none .*[0-9]" <("$BB" show "$report")
if command -v gnuplot >/dev/null; then
	check "plot draws the timeline and the build times" \
		"$BB" plot "$report" "$T_TMP/plots"
	check "timeline and builds images exist" \
		test -s "$T_TMP/plots/timeline.png" -a -s "$T_TMP/plots/builds.svg"
else
	skip "gnuplot is not installed"
	skip "gnuplot is not installed"
fi
check "gate of the report against itself compares run_s and passes" \
	grep -q "gate: passed: [1-9]" <("$BB" gate --baseline "$report" "$report")

# One row for the unhappy paths.
ONE_CFG=$T_TMP/one.json
jq 'del(.matrix)' "$CFG" >"$ONE_CFG"
ONE=("$BB" run "$ONE_CFG" --accel tcg --output_dir "$T_TMP/res" --work_dir "$WORK")

# SIGINT during the workload.
"${ONE[@]}" >"$T_TMP/int.out" 2>"$T_TMP/int.err" &
bb=$!
if wait_for_text "$T_TMP/int.err" 180 "running,"; then
	kill -INT "$bb"
	ok "SIGINT sent during the workload"
else
	not_ok "the workload did not start"
fi
rc=0
wait_exit "$bb" 30 || rc=$?
check "exit 130 after SIGINT" test "$rc" -eq 130
check "nothing left on the host after SIGINT" host_clean
check "no QEMU left after SIGINT" nothing_left

# A workload fails: the run fails, naming the guest, the status and output;
# a failed row does not stop the next one (two rows, both fail).
rc=0
TWO_CFG=$T_TMP/two.json
jq '.matrix = {"strategy": ["none", "reporting"]}' "$CFG" >"$TWO_CFG"
"$BB" run "$TWO_CFG" --accel tcg --output_dir "$T_TMP/res-fail" --work_dir "$WORK" \
	--command 'echo first words; echo boom >&2; exit 7' >"$T_TMP/fail.out" \
	2>"$T_TMP/fail.err" || rc=$?
check "exit 1 when a workload fails" test "$rc" -eq 1
failure_told() {
	grep -q "vm0[01]: workload failed (exit 7)" "$T_TMP/fail.err" &&
		grep -q "first words" "$T_TMP/fail.err" && grep -q "boom" "$T_TMP/fail.err"
}
check "the failure names the guest, the exit status and the output" failure_told
both_rows_ran() {
	local r
	r=$(find "$T_TMP/res-fail" -name report.json | head -1)
	[[ -n $r ]] && jq -e '[.errors[].row] == ["none", "reporting"]' "$r" >/dev/null &&
		[[ $(grep -cE '^(none|reporting) +- failed: vm0[01]: workload failed' "$T_TMP/fail.out") == 2 ]]
}
check "after the first row failed the second still ran; the table says both failed" both_rows_ran
check "nothing left on the host after a failed workload" host_clean

# A workload outlives run_timeout: the row fails, and each guest's balloon
# counters are printed, since the row has no sample to carry them.
rc=0
"${ONE[@]}" --run_timeout 20s --command 'sleep 300' >"$T_TMP/tmo.out" \
	2>"$T_TMP/tmo.err" || rc=$?
check "exit 1 when a workload outlives run_timeout" test "$rc" -eq 1
timeout_told() {
	grep -q "still running after run_timeout (20 s)" "$T_TMP/tmo.err" &&
		[[ $(grep -c 'vm0[01]: guest balloon counters when it stopped: {.*"shrink_calls":' \
			"$T_TMP/tmo.err") == 2 ]]
}
check "the timeout is told, with both guests' balloon counters" timeout_told
[[ $rc -eq 1 ]] || diag "$(tail -5 "$T_TMP/tmo.err")"
check "nothing left on the host after run_timeout" host_clean

# A VM dies during the workload.
"${ONE[@]}" >"$T_TMP/die.out" 2>"$T_TMP/die.err" &
bb=$!
if wait_for_text "$T_TMP/die.err" 180 "running,"; then
	kill -9 "$(our_qemus | head -1)"
	ok "one QEMU killed during the workload"
else
	not_ok "the workload did not start"
fi
rc=0
wait_exit "$bb" 60 || rc=$?
check "exit 1 when a VM died" test "$rc" -eq 1
check "the dead VM is reported with its logs" grep -q "died (signal 9); its logs are kept in" \
	"$T_TMP/die.err"
rm -rf "$(kept_logs "$T_TMP/die.err")"
check "nothing left on the host after a VM died" host_clean
check "no QEMU left after a VM died" nothing_left

# kill -9 of the harness: its QEMUs die with it (PDEATHSIG); its cgroup
# and swap file stay until the next run sweeps them.
"${ONE[@]}" >"$T_TMP/k9.out" 2>"$T_TMP/k9.err" &
bb=$!
if wait_for_text "$T_TMP/k9.err" 180 "running,"; then
	kill -9 "$bb"
	ok "harness killed with SIGKILL during the workload"
else
	not_ok "the workload did not start"
fi
wait "$bb" 2>/dev/null || true
sleep 2
check "its cgroup and swap file are left behind" \
	test -d "/sys/fs/cgroup/memory/balloonbench-$bb" -o -d "/sys/fs/cgroup/balloonbench-$bb"
rc=0
"${ONE[@]}" --host_memory "$((mem_kib * 2))K" >"$T_TMP/sweep.out" 2>"$T_TMP/sweep.err" || rc=$?
check "the next run removes them and says so" \
	grep -q "removed the cgroup .*balloonbench-$bb of a run that was killed" "$T_TMP/sweep.err"
check "... and the swap file" grep -q "removed the swap file .*balloonbench-swap-$bb" \
	"$T_TMP/sweep.err"
check "nothing left on the host after the sweep" host_clean
done_testing
