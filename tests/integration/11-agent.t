#!/bin/bash
# The guest agent runs commands and returns their output and status; the
# balloon moves and the guest sees it.
. "$(dirname "$0")/lib.sh"
plan 6

out=$T_TMP/vm.out
rc=0
"$BB" vm --memory 512M --accel tcg -- \
	'exec:echo hello-from-guest; cat /proc/sys/kernel/osrelease' \
	'exec:bbload meminfo' target:256M 'exec:bbload meminfo' \
	'exec:exit 7' >"$out" 2>"$T_TMP/vm.err" || rc=$?
check "exec returns guest stdout" grep -q '"out":"hello-from-guest\\n6.1' "$out"
memtotal() { jq -r "select(.step==\"exec\" and .cmd==\"bbload meminfo\") | .out" "$out" |
	grep . | sed -n "${1}p" | jq -r .meminfo_MemTotal; }
check "balloon reached 256M" test "$(jq -r 'select(.step=="target") | .actual_bytes' "$out")" = 268435456
m1=$(memtotal 1)
m2=$(memtotal 2)
diag "MemTotal before $m1 after $m2"
# The stock driver takes ballooned pages out of MemTotal.
check "guest MemTotal fell by about 256M" \
	test "${m1:-0}" -gt 0 -a "${m2:-0}" -gt 0 -a $((m1 - m2)) -gt $((250 << 20))
check "exit status is returned" grep -q '"cmd":"exit 7","status":7' "$out"
check "a failing step fails the run" test "$rc" -eq 1
check "nothing left" nothing_left
done_testing
