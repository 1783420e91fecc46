#!/bin/bash
# kill -9 of a QEMU mid-run, while the harness watches an idle VM, waits on
# a guest command, and waits on an inflate: each time the harness reports
# the dead VM with its exit and the tail of its serial log, keeps its logs
# where it says, fails (exit 1) within seconds, and leaves no QEMU, socket
# or run directory behind.
. "$(dirname "$0")/lib.sh"
plan 19

# kill_during WHAT TEXT DELAY PATTERN COMMAND...: run COMMAND, kill -9 its
# QEMU DELAY seconds after stderr shows TEXT; the error must match PATTERN.
kill_during() {
	local what=$1 text=$2 delay=$3 pattern=$4 err=$T_TMP/bb-$1.err rc=0 bb kept n
	shift 4
	rm -rf "$T_TMP"/balloonbench-vm00-died.*
	"$@" >"$T_TMP/bb.out" 2>"$err" &
	bb=$!
	if wait_for_text "$err" 120 "$text"; then
		sleep "$delay"
		kill -9 "$(our_qemus | head -1)" || true
		ok "QEMU killed during $what"
	else
		not_ok "$what did not start"
	fi
	wait_exit "$bb" 15 || rc=$?
	check "harness fails (exit 1) within seconds, $what" test "$rc" -eq 1
	if grep -q 'vm00 died (signal 9); its logs are kept in' "$err" &&
		grep -Eq -- "$pattern" "$err"; then
		ok "death is reported, $what"
	else
		not_ok "death is reported, $what"
		diag "stderr:" "$(tail -5 "$err")"
	fi
	n=$(grep -c '^  serial.log| ' "$err" || true)
	if ((n >= 1 && n <= 20)); then
		ok "the tail of the serial log is shown ($n lines), $what"
	else
		not_ok "the tail of the serial log is shown ($n lines), $what"
	fi
	kept=$(kept_logs "$err")
	if [[ -n $kept && -s $kept/serial.log && -f $kept/qemu.log ]]; then
		ok "serial.log and qemu.log are kept in $kept, $what"
	else
		not_ok "serial.log and qemu.log are kept, $what"
	fi
	check "the kept logs are all that is left, $what" nothing_left
	rm -rf "$kept"
}

kill_during "an idle VM" 'ready after' 0.5 "step 'sleep:120': vm00 died \(signal 9\); its logs are in " \
	"$BB" vm --memory 256M --accel tcg -- sleep:120

# The guest command first writes 40 lines to the serial console: the report
# shows the last 20 of them.
guest_cmd="seq 1 40 | sed 's/^/bb-test line /' >/dev/ttyS0; sleep 60"
kill_during "a guest command" 'ready after' 0.5 \
	"step 'exec:.*': guest command '.*': vm00 died \(signal 9\); its logs are in " \
	"$BB" vm --memory 256M --accel tcg -- "exec:$guest_cmd"
shown=$(grep '^  serial.log| ' "$T_TMP/bb-a guest command.err" || true)
if [[ $(wc -l <<<"$shown") -eq 20 && $(head -1 <<<"$shown") == *'| bb-test line 21' &&
	$(tail -1 <<<"$shown") == *'| bb-test line 40' ]]; then
	ok "the serial log's last 20 lines are shown"
else
	not_ok "the serial log's last 20 lines are shown"
	diag "shown:" "$shown"
fi

# One inflate row: stock QEMU and driver; -v logs BALLOON_CHANGE events.
cfg=$T_TMP/inflate.json
echo '{"scenario": "inflate", "output_dir": "'"$T_TMP"'/res", "memory": "1G", "accel": "tcg",
       "touch": "1/2", "inflate": "5/8", "repetitions": 1, "matrix": {"mode": ["stock"]}}' >"$cfg"
kill_during "an inflate" 'event BALLOON_CHANGE' 0 'row stock: vm00 died \(signal 9\); its logs are in ' \
	"$BB" -v run "$cfg"
done_testing
