#!/bin/bash
# The libvirt backend boots a small fleet through the test's own libvirtd:
# every guest answers its agent through libvirt, host RSS is measured, and
# no domain, QEMU or file is left.  A URI list spreads the fleet
# round-robin, and the report says which URI each VM ran on.
. "$(dirname "$0")/lib/libvirt.bash"
lv_require
plan $((15 + LV_FINISH_CHECKS))

out=$T_TMP/boot.out
rc=0
"$BB" boot --backend libvirt --connect "$LV_URI" \
	--vms 2 --memory 256M --accel tcg \
	--output_dir "$T_TMP/res" >"$out" 2>"$out.err" || rc=$?
check "boot 2 VMs through libvirt exits 0" test "$rc" -eq 0
[[ $rc -eq 0 ]] || diag "$(tail -20 "$out.err")"
check "table has 2 VM rows with MemTotal" \
	test "$(grep -cE '^vm0[01] +[0-9.]+ +[0-9.]+M ' "$out")" -eq 2
# HOST_RSS comes from the QEMU pid: the daemon's pid file is in its own
# mount namespace, out of the harness's sight, so from the process list.
check "host RSS measured for both" \
	test "$(grep -cE '^vm0[01] .* [1-9][0-9.]*M$' "$out")" -eq 2
check "no domain left" lv_no_domains
check "no QEMU left" lv_no_qemus
check "no run directory or socket left" nothing_left

# Two URIs naming the same daemon: two connections, one VM on each.
uris=("$LV_URI" "qemu+unix://${LV_URI#qemu://}")
out=$T_TMP/rr.out
rc=0
"$BB" -v boot --backend libvirt --vms 2 --memory 256M \
	--accel tcg --connect "${uris[0]}, ${uris[1]}" \
	--output_dir "$T_TMP/rr" >"$out" 2>"$out.err" || rc=$?
check "boot over two URIs exits 0" test "$rc" -eq 0
[[ $rc -eq 0 ]] || diag "$(grep -v '^ ' "$out.err" | tail -20)"
placed() {
	grep "vm0$1: domain bb-[0-9]*-[A-Za-z0-9]*-vm0$1 on " "$out.err" |
		grep -qF " on ${uris[$1]}:"
}
check "vm00 on the first URI" placed 0
check "vm01 on the second URI" placed 1
report=$(find "$T_TMP/rr" -name report.json | head -1)
j() {
	jq -e --arg a "${uris[0]}" --arg b "${uris[1]}" "$1" \
		"${report:-/dev/null}" >/dev/null 2>&1
}
# $a and $b are jq's variables, not the shell's.
# shellcheck disable=SC2016
check "the report names each VM's URI" \
	j '[.rows[0].runs[].uri] == [$a, $b]'
check "and marks neither as remote" \
	j '[.rows[0].runs[].remote] == [false, false]'
check "no domain left after the round-robin run" lv_no_domains
all_clean() { lv_no_qemus && nothing_left; }
check "nothing else left after the round-robin run" all_clean

# ^C while libvirt is still starting the domains.
err=$T_TMP/int.err
"$BB" boot --backend libvirt --connect "$LV_URI" \
	--vms 2 --memory 256M --accel tcg \
	--output_dir "$T_TMP/res" >"$T_TMP/int.out" 2>"$err" &
bb=$!
if wait_for_text "$err" 30 'booting 2 VMs'; then
	sleep 1
	kill -INT "$bb"
fi
rc=0
wait "$bb" || rc=$?
check "SIGINT during boot: exit status 130" test "$rc" -eq 130
[[ $rc -eq 130 ]] || diag "$(tail -5 "$err")"
nothing_at_all() { lv_no_domains && all_clean; }
check "SIGINT during boot: no domain, QEMU or file left" nothing_at_all
lv_finish
done_testing
