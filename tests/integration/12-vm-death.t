#!/bin/bash
# kill -9 of one QEMU mid-run: the harness reports it with the serial log
# tail, fails, and leaves no QEMU, socket or run directory behind.
. "$(dirname "$0")/lib.sh"
plan 5

err=$T_TMP/bb.err
"$BB" vm --memory 256M --accel tcg -- sleep:120 >"$T_TMP/bb.out" 2>"$err" &
bb=$!
if wait_for_text "$err" 120 'ready after'; then
	victim=$(our_qemus | head -1)
	kill -9 "$victim"
	ok "VM booted, killed QEMU $victim"
else
	not_ok "VM did not boot"
fi
rc=0
wait "$bb" || rc=$?
check "harness fails (exit 1)" test "$rc" -eq 1
check "death is reported" grep -q 'died (signal 9)' "$err"
check "serial log tail is shown" grep -q 'serial.log|' "$err"
check "nothing left" nothing_left
done_testing
