#!/bin/bash
# The libvirt backend boots a small fleet through a local libvirtd: every
# guest answers its agent through libvirt, host RSS is measured, and no
# domain, QEMU or file is left.  A URI list spreads the fleet round-robin.
. "$(dirname "$0")/lib/libvirt.bash"
lv_require
plan 13

out=$T_TMP/boot.out
rc=0
"$BB" boot --backend libvirt --vms 2 --memory 256M --accel tcg \
	--output_dir "$T_TMP/res" >"$out" 2>"$out.err" || rc=$?
check "boot 2 VMs through libvirt exits 0" test "$rc" -eq 0
[[ $rc -eq 0 ]] || diag "$(tail -20 "$out.err")"
check "table has 2 VM rows with MemTotal" \
	test "$(grep -cE '^vm0[01] +[0-9.]+ +[0-9.]+M ' "$out")" -eq 2
# HOST_RSS comes from the QEMU pid that libvirt's pid file names.
check "host RSS measured for both" \
	test "$(grep -cE '^vm0[01] .* [1-9][0-9.]*M$' "$out")" -eq 2
check "no domain left" lv_no_domains
check "no QEMU left" lv_no_qemus
check "no run directory or socket left" nothing_left

# Two URIs naming the same daemon: two connections, one VM on each.
out=$T_TMP/rr.out
rc=0
"$BB" -v boot --backend libvirt --vms 2 --memory 256M --accel tcg \
	--connect 'qemu:///system, qemu+unix:///system' \
	--output_dir "$T_TMP/res" >"$out" 2>"$out.err" || rc=$?
check "boot over two URIs exits 0" test "$rc" -eq 0
[[ $rc -eq 0 ]] || diag "$(grep -v '^ ' "$out.err" | tail -20)"
placed() { grep -q "vm0$1: domain bb-[0-9]*-vm0$1 on $2:" "$out.err"; }
check "vm00 on the first URI" placed 0 'qemu:///system'
check "vm01 on the second URI" placed 1 'qemu+unix:///system'
check "no domain left after the round-robin run" lv_no_domains
all_clean() { lv_no_qemus && nothing_left; }
check "nothing else left after the round-robin run" all_clean

# ^C while libvirt is still starting the domains.
err=$T_TMP/int.err
"$BB" boot --backend libvirt --vms 2 --memory 256M --accel tcg \
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
done_testing
