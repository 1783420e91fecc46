#!/bin/bash
# No libvirtd behind the URI: the harness fails at once (no hang) with an
# error that names the URI, and leaves nothing.  A `connect` list with no
# URI in it is a scenario error.  Needs no daemon at all.
. "$(dirname "$0")/lib.sh"
plan 7

uri='qemu+unix:///system?socket=/nonexistent.sock'
rc=0
# A hang would be cut off here: a timeout is a failure, not a pass.
timeout 60 "$BB" boot --backend libvirt --connect "$uri" --vms 2 \
	--memory 256M --accel tcg --output_dir "$T_TMP/res" \
	>"$T_TMP/out" 2>"$T_TMP/err" || rc=$?
check "exits 1 (no hang)" test "$rc" -eq 1
[[ $rc -eq 1 ]] || diag "exit status $rc"
check "the error names the URI" grep -qF "cannot connect to $uri" "$T_TMP/err"
check "the error says why and what to do" \
	grep -q 'No such file or directory.*libvirtd-up.sh' "$T_TMP/err"
check "nothing left" nothing_left

rc=0
timeout 60 "$BB" vm --backend libvirt --connect "$uri" --memory 256M \
	--accel tcg -- 'exec:true' >"$T_TMP/out" 2>"$T_TMP/err" || rc=$?
vm_failed() { [[ $rc -eq 1 ]] && grep -qF "$uri" "$T_TMP/err"; }
check "vm: exits 1, naming the URI" vm_failed

rc=0
"$BB" boot --backend libvirt --connect ' , ' --accel tcg \
	--output_dir "$T_TMP/res" >"$T_TMP/out" 2>"$T_TMP/err" || rc=$?
check "an empty URI list is a scenario error (exit 2)" test "$rc" -eq 2
check "naming the key" grep -q "key 'connect'" "$T_TMP/err"
done_testing
