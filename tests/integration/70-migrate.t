#!/bin/bash
# The migrate scenario (configs/migrate-ci.json): a small guest that wrote
# most of its memory and freed it migrates once per free-page strategy to a
# destination QEMU; every strategy that skips free memory sends far less
# than none, the guest's guard pattern is intact on the destination, and a
# writer taking fresh memory during a bitmap migration over TCP loses
# nothing.  ^C during a migration cancels it and leaves no QEMU; bad input
# is exit 2 before boot.
. "$(dirname "$0")/lib.sh"
plan 44

command -v jq >/dev/null || skip_all "needs jq"
[[ -x /usr/bin/qemu-system-x86_64 ]] || skip_all "needs Debian's QEMU (hint-stock)"
check "bbload's checks catch a zeroed page, a stale round, one changed word" \
	"$TOP/build/workloads/bbload" selftest

CFG=$TOP/configs/migrate-ci.json
RUN=("$BB" run "$CFG" --accel tcg --output_dir "$T_TMP/res")

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
bad "libvirt backend" "key 'backend': the migrate scenario" --backend libvirt
bad "a strategy property in device" "free-page-hint, free-page-bitmap" \
	--device free-page-hint=on
ONE_CFG=$T_TMP/one.json
jq 'del(.matrix) | .strategy = "none"' "$CFG" >"$ONE_CFG"
RUN=("$BB" run "$ONE_CFG" --accel tcg --output_dir "$T_TMP/res")
bad "an overcommit strategy" "key 'strategy': 'mom' is not a strategy of the migrate" \
	--strategy mom
RUN=("$BB" run "$CFG" --accel tcg --output_dir "$T_TMP/res")
bad "guard too large" "key 'guard'" --guard 3/4

# The CI run: every strategy once.
rc=0
"${RUN[@]}" >"$T_TMP/ci.out" 2>"$T_TMP/ci.err" || rc=$?
check "migrate-ci runs to the end" test "$rc" -eq 0
[[ $rc -eq 0 ]] || diag "$(tail -20 "$T_TMP/ci.err")"
report=$(sed -n 's/^report: //p' "$T_TMP/ci.out")
check "a report is written" test -s "$report"
check "no QEMU or socket is left" nothing_left
q() { jq -r "$1" "$report" 2>/dev/null; }
row() { q ".rows[] | select(.name == \"$1\") | .runs[0].$2"; }
check "six rows, one per strategy" test "$(q '[.rows[].name] | join(",")')" = \
	"none,hint-stock,hint,bitmap,inflate-first,reporting"
check "the guard's every page (1/64 of 512 MiB) was checked on every row" \
	test "$(q '[.rows[].runs[0] | select(.guard_checked_pages == 2048 and .guard_bad_pages == 0)] | length')" -eq 6
check "none: the guest's written memory travelled (> 300 MiB)" \
	test "$(row none transferred_bytes)" -gt $((300 << 20))
none_sent=$(row none transferred_bytes)
half=$((${none_sent:-0} / 2))
for s in hint-stock hint bitmap inflate-first reporting; do
	sent=$(row "$s" transferred_bytes)
	check "$s: under half of none's bytes" test "$sent" -lt "$half"
	[[ $sent -lt $half ]] 2>/dev/null ||
		diag "$s sent $sent bytes, none $none_sent: $(q ".rows[] | select(.name == \"$s\") | .runs[0] | {total_ms, dirty_sync_count, guest_free_pages, guest_build_ms, hint: (.guest_counters // {} | with_entries(select(.key | startswith(\"hint\")))), device_free_page} | tostring")"
done
check "hint-stock ran Debian's QEMU and driver" \
	test "$(q '.rows[] | select(.name == "hint-stock") | "\(.settings.qemu) \(.settings.driver)"')" = "stock stock"
check "hint: vballoon hinted free pages (guest counter)" \
	test "$(row hint guest_free_pages)" -gt $((100 << 8))
check "hint: the held blocks were given back after DONE" \
	test "$(row hint guest_counters.hint_freed_pages)" -eq "$(row hint guest_counters.hint_pages)"
check "hint: the device accepted the hints (patch 0022's checks)" \
	test "$(row hint device_free_page.hint_pages)" -gt $((100 << 8))
check "hint: no hint was rejected" \
	test "$(q '.rows[] | select(.name == "hint") | .runs[0].device_free_page.rejected | if type == "object" then ([.[]] | add // 0) else "missing" end')" = 0
check "bitmap: the guest described free pages" \
	test "$(row bitmap guest_free_pages)" -gt $((100 << 8))
diag "bitmap: $(q '.rows[] | select(.name == "bitmap") | .runs[0] | {guest_free_pages, c: (.guest_counters | with_entries(select(.key | startswith("bitmap")))), d: .device_free_page} | tostring')"
check "bitmap: the device cleared them from the dirty bitmap" \
	test "$(row bitmap device_free_page.pages_described)" -gt $((100 << 8))
check "bitmap: no bitmap was rejected" \
	test "$(q '.rows[] | select(.name == "bitmap") | .runs[0].device_free_page.rejected | if type == "object" then ([.[]] | add // 0) else "missing" end')" = 0
check "bitmap: build time and longest zone-lock hold reported" \
	test "$(q '.rows[] | select(.name == "bitmap") | .runs[0] | (.guest_counters.bitmap_lock_max_ns > 0 and .guest_build_ms > 0)')" = true
check "inflate-first: the balloon took the free memory, then gave it back" \
	test "$(row inflate-first ballooned_bytes)" -gt $((200 << 20)) -a \
	"$(q '.rows[] | select(.name == "inflate-first") | .runs[0].deflate_ms | type')" = number
check "inflate-first: the user waits for inflate + migration + deflate" \
	test "$(q '.rows[] | select(.name == "inflate-first") | .runs[0] | ([.inflate_ms, .deflate_ms, .total_ms] | map(type == "number") | all) and .user_ms >= .total_ms + .inflate_ms + .deflate_ms')" = true
check "every run reports time, downtime and pages" \
	test "$(q '[.rows[].runs[0] | select(.total_ms > 0 and .downtime_ms > 0 and .normal_pages > 0 and .dirty_sync_count > 0)] | length')" -eq 6
check "show prints the table" grep -q "^bitmap .*[0-9]" <("$BB" show "$report")
if command -v gnuplot >/dev/null; then
	check "plot draws time and bytes per strategy" "$BB" plot "$report" "$T_TMP/plots"
	check "the plot exists" test -s "$T_TMP/plots/migrate.png" -a -s "$T_TMP/plots/migrate.svg"
else
	skip "gnuplot is not installed"
	skip "gnuplot is not installed"
fi
check "gate of the report against itself compares and passes" \
	grep -q "gate: passed: [1-9]" <("$BB" gate --baseline "$report" "$report")

# A writer takes fresh memory while hints or the bitmap are in flight,
# over TCP.
BUSY_CFG=$T_TMP/busy.json
jq '.matrix.strategy = ["hint", "bitmap"] | .pre_workload = "busy"' "$CFG" >"$BUSY_CFG"
rc=0
"$BB" run "$BUSY_CFG" --accel tcg --output_dir "$T_TMP/res" --transport tcp \
	--bandwidth 1000 >"$T_TMP/busy.out" 2>"$T_TMP/busy.err" || rc=$?
check "busy hint and bitmap migrations over TCP run to the end" test "$rc" -eq 0
[[ $rc -eq 0 ]] || diag "$(tail -60 "$T_TMP/busy.err")"
report=$(sed -n 's/^report: //p' "$T_TMP/busy.out")
check "the writer checked at least its working set (8 x 4 MiB) on both rows, none lost" \
	test "$(q '[.rows[].runs[0] | select(.writer_checked_pages >= 8192 and .writer_bad_pages == 0)] | length')" -eq 2
check "the writer's memory cost more than one round (syncs > 2)" \
	test "$(q '[.rows[].runs[0].dirty_sync_count] | min')" -gt 2
check "no QEMU or socket is left after the busy run" nothing_left

# A destination that dies mid-way fails the run; nothing is left.
"$BB" run "$ONE_CFG" --accel tcg --output_dir "$T_TMP/res" --bandwidth 20 \
	>"$T_TMP/die.out" 2>"$T_TMP/die.err" &
bb=$!
if wait_for_text "$T_TMP/die.err" 240 "none: migrating" &&
	pkill -9 -f -- "qemu-system-x86_64.*-incoming.*$T_TMP"; then
	ok "destination QEMU killed during the migration"
else
	not_ok "the migration never started"
fi
rc=0
wait_exit "$bb" 120 || rc=$?
check "a destination that dies fails the run (exit 1)" test "$rc" -eq 1
check "the error says the destination died and where its logs are" \
	grep -q "the destination QEMU died during the migration; its logs are kept in" "$T_TMP/die.err"
check "no QEMU or socket is left after the failure" nothing_left

# SIGINT during a slow migration cancels it.
"$BB" run "$ONE_CFG" --accel tcg --output_dir "$T_TMP/res" --bandwidth 20 \
	>"$T_TMP/int.out" 2>"$T_TMP/int.err" &
bb=$!
if wait_for_text "$T_TMP/int.err" 240 "none: migrating"; then
	kill -INT "$bb"
	ok "SIGINT sent during the migration"
else
	not_ok "the migration never started"
fi
rc=0
wait_exit "$bb" 120 || rc=$?
check "interrupted run exits 130" test "$rc" -eq 130
check "the report records the interruption" \
	grep -q interrupted "$(sed -n 's/^report: //p' "$T_TMP/int.out")"
check "no QEMU or socket is left after SIGINT" nothing_left
done_testing
