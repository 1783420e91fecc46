#!/bin/bash
# The CI inflate benchmark: configs/inflate-ci.json runs every gated mode on
# real guests, writes a report that matches docs/report-schema.md, plots it,
# compares it, and passes the gate against results/baselines/.
. "$(dirname "$0")/lib.sh"
plan 20

res=$T_TMP/results
rc=0
"$BB" run "$TOP/configs/inflate-ci.json" --output_dir "$res" \
	>"$T_TMP/out" 2>"$T_TMP/err" || rc=$?
check "inflate-ci runs (exit 0)" test "$rc" -eq 0
[[ $rc -eq 0 ]] || diag "$(tail -20 "$T_TMP/err")"
report=$(find "$res" -name report.json | head -1)
check "report.json written" test -s "$report"
[[ -s $report ]] || report=/dev/null

j() { jq -e "$@" "$report" >/dev/null 2>&1; }
check "schema_version 1, tool, timestamp" \
	j '.schema_version == 1 and .tool.name == "balloonbench" and (.timestamp | test("^[0-9]{4}-"))'
check "host names the accelerator" j '.host.accelerator | test("^(kvm|tcg)$")'
check "host records both QEMU versions" j '.host.qemu_versions | has("stock") and has("patched")'
check "scenario is echoed, resolved" j '.scenario.memory == 1073741824 and .scenario.inflate == 805306368'
check "rows follow the matrix" \
	j '[.rows[].name] == ["stock", "legacy", "chunk", "sg", "chunk-order9", "sg-order9", "limit"]'
check "every row has 10 runs and no errors" j '(.rows | all(.runs | length == 10)) and (.errors == [])'
check "rows interleaved, in an order recorded with its seed" \
	j '.row_order.order == "interleaved" and (.row_order.seed | type == "number") and ([.rows[].runs[].position] | max == 6)'
check "every VM run reached its target with a wall time" \
	j '[.rows[] | select(.name != "limit") | .runs[] | (.inflate_ms > 0 and .deflate_ms > 0 and .inflate_bytes == 805306368)] | all'
check "summaries have min/median/max/mean/stddev" \
	j '.rows | all(.summary.inflate_ms | has("min") and has("median") and has("max") and has("mean") and has("stddev"))'
check "vballoon rows carry guest and host counters" \
	j '[.rows[] | select(.settings.driver == "vballoon") | .runs[] | (.guest_counters.inflate_pages > 0 and .host_counters.inflate.pages > 0)] | all'
check "counters cover both directions: every inflated page was deflated" \
	j '[.rows[] | select(.settings.driver == "vballoon") | .runs[] | (.guest_counters.inflate_pages == .inflate_bytes / 4096 and .guest_counters.deflate_pages == .guest_counters.inflate_pages and .host_counters.inflate.pages == .guest_counters.inflate_pages and .host_counters.deflate.pages == .guest_counters.deflate_pages)] | all'
# Nothing hidden: the stages add up to the wall time.
check "stages add up to the wall time" \
	j '[.rows[] | select(.settings.driver == "vballoon") | .runs[] | (([.stage_guest_alloc_ms, .stage_guest_build_ms, .stage_guest_commit_ms, .stage_transport_ms, .stage_host_queue_ms, .stage_host_translate_ms, .stage_host_discard_ms, .stage_rest_ms] | add) - .inflate_ms | fabs < 0.01)] | all'
check "the host gave back most of the inflated memory" \
	j '[.rows[] | select(.settings.qemu == "patched") | .runs[] | .rss_freed_bytes > 0.5 * .inflate_bytes] | all'
diag "rss freed per run (MiB): $(jq -c '[.rows[] | select(.settings.qemu != "none") | {(.name): [.runs[] | (.rss_freed_bytes / 1048576 | floor)]}] | add' "$report")"
check "stdout table shows every row" test "$(grep -cE '^(stock|legacy|chunk|sg|chunk-order9|sg-order9|limit) ' "$T_TMP/out")" -eq 7

"$BB" plot "$report" >/dev/null 2>&1 || true
check "plot writes PNG and SVG" test -s "$(dirname "$report")/stages.png" -a -s "$(dirname "$report")/stages.svg"
check "show prints the same rows" test "$("$BB" show "$report" 2>/dev/null | grep -cE '^(stock|legacy|chunk|sg|chunk-order9|sg-order9|limit) ')" -eq 7
check "compare of a report with itself: no change called real" \
	bash -c "'$BB' compare '$report' '$report' | awk 'NR > 1 && / real$/ { bad = 1 } END { exit bad }'"
# The gate (README, "Comparing and gating") against every baseline run of
# this accelerator and CPU model: their spread is the noise of one run.
# Speed-ups are not comparable across hosts (on an Intel Xeon host Debian's
# stock row deflated in 215 ms against 400-640 ms on an AMD EPYC one, so
# the order-9 deflate speed-up was 44x instead of 86x with no change made).
# The threshold is measured per CPU model (results/baselines/inflate-ci-ACCEL/
# max-regress), 25 % for a model not listed:
#   Intel Xeon, 11 clean runs over two days (run7-14 on 2026-12-02,
#   run15-17 on 2026-12-03): the host itself moved chunk's and sg's
#   single-page inflate speed-ups from 5.5-5.8x to 2.7-3.9x (the guest's
#   work ran 2.2x slower under TCG, the stock row 6 % slower), so at 8 %
#   every run of the second day failed against the first.  At 30 % each
#   of the 11 passes against the other 10; doubling chunk's and
#   chunk-order9's inflate time fails (a loss of about half or more).
#   AMD EPYC, 6 runs under load: ratios moved 10-20 % between runs; at 10 %
#   one clean run in six failed and the planted loss was inconclusive, so
#   25 % (a loss of about 40-60 % fails).
# The note of issue 9 has the figures.
accel=$(jq -r .host.accelerator "$report" 2>/dev/null || echo none)
cpu=$(jq -r '.host.cpu_model // "unknown"' "$report" 2>/dev/null || echo unknown)
bases=()
for b in "$TOP/results/baselines/inflate-ci-$accel"/*.json; do
	[[ -f $b && $(jq -r '.host.cpu_model // ""' "$b") == "$cpu" ]] && bases+=("$b")
done
if ((${#bases[@]})); then
	args=()
	for b in "${bases[@]}"; do args+=(--baseline "$b"); done
	# The threshold measured for this CPU model, else 25 %.
	max=$(awk -F'\t' -v m="$cpu" '!/^#/ && $2 == m { print $1 }' \
		"$TOP/results/baselines/inflate-ci-$accel/max-regress" 2>/dev/null)
	max=${BB_GATE_MAX_REGRESS:-${max:-25%}}
	rc=0
	"$BB" gate "${args[@]}" "$report" --max-regress "$max" >"$T_TMP/gate" 2>&1 || rc=$?
	diag "$(cat "$T_TMP/gate")"
	check "gate at $max against ${#bases[@]} baseline runs in results/baselines/inflate-ci-$accel ($cpu) passes" \
		test "$rc" -eq 0
else
	skip "no baseline for accelerator $accel on a '$cpu' host (results/baselines/inflate-ci-$accel/)"
fi
done_testing
