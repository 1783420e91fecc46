#!/bin/bash
# SIGINT and SIGTERM to the harness, in each kind of wait: boot, a guest
# command (the touch before an inflate), a balloon wait (the inflate).  Every
# QEMU stops, no socket or temporary directory is left, exit status 130.
#
# In the touch and the inflate, QEMU is frozen (SIGSTOP) before the signal:
# the harness then waits on a reply that never comes, up to minutes, and
# must give that wait up by itself within seconds.
. "$(dirname "$0")/lib.sh"
plan 16

for sig in INT TERM; do
	err=$T_TMP/bb-$sig.err
	"$BB" boot --vms 2 --memory 256M --accel tcg --max_parallel_boots 1 --output_dir "$T_TMP/res" \
		>"$T_TMP/bb.out" 2>"$err" &
	bb=$!
	# Interrupt while the second VM is still booting.
	if wait_for_text "$err" 120 'ready after'; then
		kill -"$sig" "$bb"
		ok "SIG$sig sent during boot"
	else
		not_ok "first VM did not boot"
	fi
	rc=0
	wait "$bb" || rc=$?
	check "exit status 130 after SIG$sig" test "$rc" -eq 130
	check "nothing left after SIG$sig" nothing_left
done

# One inflate row: stock QEMU and driver, one repetition.
cfg=$T_TMP/inflate.json
echo '{"scenario": "inflate", "output_dir": "'"$T_TMP"'/res", "memory": "1G", "accel": "tcg",
       "touch": "1/2", "inflate": "5/8", "repetitions": 1, "matrix": {"mode": ["stock"]}}' >"$cfg"

# interrupt_inflate WHAT TEXT PATTERN: run the row, freeze its QEMU once
# stderr shows TEXT, SIGINT the harness; it must report PATTERN.
interrupt_inflate() {
	local what=$1 text=$2 pattern=$3 err=$T_TMP/bb-$1.err rc=0 bb
	# -v: the debug log shows BALLOON_CHANGE events, the inflate under way
	"$BB" -v run "$cfg" >"$T_TMP/bb.out" 2>"$err" &
	bb=$!
	if wait_for_text "$err" 120 "$text"; then
		kill -STOP "$(our_qemus | head -1)" || true
		sleep 0.5
		kill -INT "$bb"
		ok "SIGINT sent during the $what, QEMU frozen"
	else
		not_ok "the $what did not start"
	fi
	wait_exit "$bb" 15 || rc=$?
	check "exit status 130 within seconds of SIGINT during the $what" test "$rc" -eq 130
	if grep -Eq -- "$pattern" "$err"; then
		ok "the $what is reported interrupted"
	else
		not_ok "the $what is reported interrupted"
		diag "stderr:" "$(tail -5 "$err")"
	fi
	check "no VM reported dead after SIGINT during the $what" \
		test -z "$(find "$T_TMP" -maxdepth 1 -name 'balloonbench-*-died.*')"
	check "nothing left after SIGINT during the $what" nothing_left
}

interrupt_inflate touch 'ready after' "row stock: guest command 'bbload touch [0-9]+': interrupted"
interrupt_inflate inflate 'event BALLOON_CHANGE' \
	'row stock: (QMP query-balloon: interrupted|vm00: interrupted while ballooning)'
done_testing
