#!/bin/bash
# SIGINT and SIGTERM to the harness: every QEMU stops, no socket or
# temporary directory is left, exit status 130.
. "$(dirname "$0")/lib.sh"
plan 6

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
done_testing
