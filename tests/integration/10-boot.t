#!/bin/bash
# Boot 1 and 4 VMs under TCG; every guest answers its agent; a report is
# written; nothing is left behind.
. "$(dirname "$0")/lib.sh"
plan 9

out=$T_TMP/boot1.out
rc=0
"$BB" boot --vms 1 --memory 256M --accel tcg --output_dir "$T_TMP/res" \
	>"$out" 2>"$out.err" || rc=$?
check "boot 1 VM exits 0" test "$rc" -eq 0
check "table has one VM row with MemTotal" grep -qE '^vm00 +[0-9.]+ +[0-9.]+M' "$out"
check "the table names the accelerator" grep -q 'accelerator: tcg' "$out"
check "nothing left after 1 VM" nothing_left

out=$T_TMP/boot4.out
rc=0
"$BB" boot --vms 4 --memory 256M --accel tcg --output_dir "$T_TMP/res" \
	>"$out" 2>"$out.err" || rc=$?
check "boot 4 VMs exits 0" test "$rc" -eq 0
check "table has 4 VM rows" test "$(grep -cE '^vm0[0-3] ' "$out")" -eq 4
check "all 4 report ready" test "$(grep -c 'ready after' "$out.err")" -eq 4
check "nothing left after 4 VMs" nothing_left
report=$(sed -n 's/^report: //p' "$out")
report_ok() {
	jq -e '(.rows[0].runs | length == 4) and .host.accelerator == "tcg"' \
		"${report:-/dev/null}" >/dev/null
}
check "a report with 4 samples and the accelerator was written" report_ok
done_testing
