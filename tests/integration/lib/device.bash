# shellcheck shell=bash
# Helpers for the host-device integration tests (tests/integration/30-device-*.t):
# boot the patched QEMU with the balloonbench guest, talk QMP and the guest
# agent over unix sockets with socat and jq, read the device's stage-stats.
#
#   . "$(dirname "$0")/lib/device.bash"
#   dev_require; dev_boot 1024 ",page-bitmap=on" "bb.driver=vballoon"
#   dev_qmp query-balloon; dev_guest 'cat /proc/meminfo'; dev_stop
#
# Builds on lib.sh (plan, ok, not_ok, check, diag, skip_all, T_TMP).

# shellcheck source=tests/integration/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

DEV_QEMU=${DEV_QEMU:-$TOP/build/qemu/bin/qemu-system-x86_64}
DEV_KERNEL=${DEV_KERNEL:-$TOP/build/guest/vmlinuz}
DEV_INITRD=${DEV_INITRD:-$TOP/build/guest/initramfs.cpio.gz}
# Extra QEMU arguments, e.g. -L firmware paths for a development build.
DEV_QEMU_ARGS=${DEV_QEMU_ARGS:-}
DEV_DIR=""
DEV_PID=""
DEV_N=0
DEV_LAST_STATS="{}"

# is GOT WANT NAME
is() {
	if [[ $1 == "$2" ]]; then
		ok "$3"
	else
		not_ok "$3"
		diag "  got: '$1'" " want: '$2'"
	fi
}

# cmp_ok A OP B NAME, with OP one of test's -eq -ne -gt -ge -lt -le
cmp_ok() {
	if [[ $1 =~ ^[0-9]+$ && $3 =~ ^[0-9]+$ ]] && test "$1" "$2" "$3"; then
		ok "$4"
	else
		not_ok "$4"
		diag "  expected: $1 $2 $3"
	fi
}

# Skip the whole file unless the pieces it needs exist.
dev_require() {
	local f
	for f in "$DEV_QEMU" "$DEV_KERNEL" "$DEV_INITRD"; do
		[[ -e $f ]] || skip_all "missing $f (make qemu image)"
	done
	command -v socat >/dev/null || skip_all "socat not installed"
	command -v jq >/dev/null || skip_all "jq not installed"
}

# Skip the whole file unless the patched QEMU has balloonbench's device.
dev_require_patched() {
	"$DEV_QEMU" -device virtio-balloon-pci,help 2>/dev/null |
		grep -q "page-bitmap=" ||
		skip_all "$DEV_QEMU has no balloonbench virtio-balloon"
}

# Skip the whole file unless the guest image carries vballoon.ko.
dev_require_vballoon() {
	zcat "$DEV_INITRD" | cpio -t 2>/dev/null | grep -q '/vballoon\.ko' ||
		skip_all "guest image has no vballoon.ko"
}

# dev_boot MEM_MIB DEVICE_PROPS KERNEL_EXTRA: boot a guest with a
# virtio-balloon-pci id=balloon0 carrying DEVICE_PROPS (",k=v,..." or "").
# Waits until the guest agent answers; returns 1 on failure.
dev_boot() {
	local mem=$1 props=$2 extra=$3 i
	DEV_N=$((DEV_N + 1))
	DEV_DIR=$T_TMP/vm$DEV_N
	mkdir -p "$DEV_DIR"
	# shellcheck disable=SC2086
	"$DEV_QEMU" $DEV_QEMU_ARGS -machine pc -accel tcg -m "$mem" -smp 1 \
		-nodefaults -no-user-config -display none \
		-kernel "$DEV_KERNEL" -initrd "$DEV_INITRD" \
		-append "console=ttyS0 panic=-1 $extra" -no-reboot \
		-serial "file:$DEV_DIR/console.log" \
		-qmp "unix:$DEV_DIR/qmp.sock,server=on,wait=off" \
		-qmp "unix:$DEV_DIR/events.sock,server=on,wait=off" \
		-chardev "socket,id=qga0,path=$DEV_DIR/qga.sock,server=on,wait=off" \
		-device virtio-serial-pci \
		-device virtserialport,chardev=qga0,name=org.qemu.guest_agent.0 \
		-device "virtio-balloon-pci,id=balloon0$props" \
		>"$DEV_DIR/qemu.log" 2>&1 &
	DEV_PID=$!
	for ((i = 0; i < 1200; i++)); do
		grep -q "bb-init: ready" "$DEV_DIR/console.log" 2>/dev/null && break
		if ! kill -0 "$DEV_PID" 2>/dev/null; then
			diag "QEMU exited during boot:" "$(cat "$DEV_DIR/qemu.log")"
			return 1
		fi
		sleep 0.25
	done
	if ! grep -q "bb-init: ready" "$DEV_DIR/console.log" 2>/dev/null; then
		diag "guest not ready:" "$(tail -5 "$DEV_DIR/console.log")"
		return 1
	fi
	dev_guest true >/dev/null 2>&1
}

# Host huge pages for guest memory on hugetlbfs.  dev_huge_reserve KIB N:
# N more free pages of KIB KiB on top of what others hold, and a hugetlbfs
# mount of that page size at HUGE_DIR; 1 (nothing changed) if the host
# cannot.  dev_huge_release stops the VM, unmounts and gives the pages back:
# call it before the next reservation and from the test's EXIT trap
# (trap 'dev_huge_release; t_cleanup' EXIT), so that nr_hugepages and the
# mounts are left as found.
HUGE_SYS=
HUGE_OLD=
HUGE_DIR=
HUGE_MOUNTED=0
dev_huge_reserve() {
	local sys=/sys/kernel/mm/hugepages/hugepages-${1}kB
	[[ -w $sys/nr_hugepages ]] || return 1
	HUGE_SYS=$sys
	HUGE_OLD=$(cat "$sys/nr_hugepages")
	echo $((HUGE_OLD + $2)) >"$sys/nr_hugepages" 2>/dev/null || true
	if (($(cat "$sys/free_hugepages") < $2)); then
		echo "$HUGE_OLD" >"$sys/nr_hugepages"
		HUGE_SYS=
		return 1
	fi
	HUGE_DIR=$T_TMP/huge-$1
	mkdir -p "$HUGE_DIR"
	if ! mount -t hugetlbfs -o "pagesize=${1}K" none "$HUGE_DIR"; then
		dev_huge_release
		return 1
	fi
	HUGE_MOUNTED=1
}

dev_huge_release() {
	dev_stop >/dev/null 2>&1 || true
	if ((HUGE_MOUNTED)); then
		umount "$HUGE_DIR" 2>/dev/null || true
		HUGE_MOUNTED=0
	fi
	if [[ -n $HUGE_SYS ]]; then
		echo "$HUGE_OLD" >"$HUGE_SYS/nr_hugepages"
		HUGE_SYS=
	fi
}

dev_alive() { [[ -n $DEV_PID ]] && kill -0 "$DEV_PID" 2>/dev/null; }

# Stop the VM: quit over QMP, kill it if it does not go.
dev_stop() {
	local i
	dev_events_stop
	if dev_alive; then
		dev_qmp quit >/dev/null 2>&1 || true
		for ((i = 0; i < 50; i++)); do
			dev_alive || break
			sleep 0.1
		done
		if dev_alive; then
			kill "$DEV_PID" 2>/dev/null || true
		fi
	fi
	if [[ -n $DEV_PID ]]; then
		wait "$DEV_PID" 2>/dev/null || true
	fi
	DEV_PID=""
}

# dev_chat SOCK SYNC_JSON SYNC_RE CMD_JSON: connect to SOCK, send SYNC_JSON
# and skip lines until one matches SYNC_RE (so that stale output from an
# earlier connection is dropped), then send CMD_JSON and print the first
# line after that carrying "return" or "error".  The connection is kept
# open until the reply is read: QEMU's socket chardev drops a client as
# soon as it half-closes.
dev_chat() {
	local sock=$1 sync=$2 sync_re=$3 cmd=$4 line rc=1 synced=0
	local LC_ALL=C deadline=$((SECONDS + ${DEV_CHAT_TIMEOUT:-30}))
	local in out st
	coproc DEV_CO { exec socat - "UNIX-CONNECT:$sock" 2>/dev/null; }
	# bash unsets DEV_CO once socat is gone (no socket: at once).
	in=${DEV_CO[0]:-} out=${DEV_CO[1]:-}
	if [[ -z $in || -z $out ]]; then
		wait "$DEV_CO_PID" 2>/dev/null
		return 1
	fi
	printf '%s\n' "$sync" >&"$out" 2>/dev/null || deadline=0
	while ((SECONDS < deadline)); do
		IFS= read -r -t 2 line <&"$in" 2>/dev/null
		st=$?
		if ((st > 128)); then
			# A reply may be lost while the guest side opens its port:
			# sync again, as a client of qemu-ga is expected to.
			((synced)) || printf '%s\n' "$sync" >&"$out" 2>/dev/null || break
			continue
		fi
		# End of file (socat gone) with nothing read: no reply comes.
		((st)) && [[ -z $line ]] && break
		line=${line//$'\xff'/}
		if ((!synced)); then
			if [[ $line =~ $sync_re ]]; then
				synced=1
				printf '%s\n' "$cmd" >&"$out" 2>/dev/null || break
			fi
			continue
		fi
		if jq -e 'has("return") or has("error")' <<<"$line" >/dev/null 2>&1; then
			printf '%s\n' "$line"
			rc=0
			break
		fi
	done
	kill "$DEV_CO_PID" 2>/dev/null
	wait "$DEV_CO_PID" 2>/dev/null
	return $rc
}

# dev_reply JSON_LINE: print .return compactly, or the error on stderr.
dev_reply() {
	if jq -e 'has("return")' <<<"$1" >/dev/null 2>&1; then
		jq -c '.return' <<<"$1"
	else
		echo "${1:-no reply}" >&2
		return 1
	fi
}

# dev_qmp CMD [ARGS_JSON]: print the "return" value (compact JSON) of one
# QMP command; the error object goes to stderr and the status is 1.
dev_qmp() {
	local out
	out=$(dev_chat "$DEV_DIR/qmp.sock" '{"execute":"qmp_capabilities"}' \
		'"return"' "{\"execute\":\"$1\",\"arguments\":${2:-"{}"}}") ||
		return 1
	dev_reply "$out"
}

dev_stats() {
	dev_qmp qom-get '{"path":"/machine/peripheral/balloon0","property":"stage-stats"}'
}

dev_stats_reset() {
	dev_qmp qom-set '{"path":"/machine/peripheral/balloon0","property":"stage-stats-reset","value":true}'
}

# dev_qga JSON: one guest-agent command, prints its "return" value.
dev_qga() {
	local id=$((RANDOM * 32768 + RANDOM)) out
	out=$(dev_chat "$DEV_DIR/qga.sock" \
		"$(printf '\xff{"execute":"guest-sync-delimited","arguments":{"id":%d}}' "$id")" \
		"\"return\": *$id}" "$1") || return 1
	dev_reply "$out"
}

# dev_guest 'CMD': run CMD with /bin/sh in the guest, print its stdout and
# stderr, return its exit status.
dev_guest() {
	local args pid st i
	args=$(jq -cn --arg c "$1" \
		'{path: "/bin/sh", arg: ["-c", $c], "capture-output": true}')
	pid=$(dev_qga "{\"execute\":\"guest-exec\",\"arguments\":$args}" | jq -r .pid) ||
		return 1
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	for ((i = 0; i < 600; i++)); do
		st=$(dev_qga "{\"execute\":\"guest-exec-status\",\"arguments\":{\"pid\":$pid}}") ||
			return 1
		if [[ $(jq -r .exited <<<"$st") == true ]]; then
			jq -r '."out-data" // empty' <<<"$st" | base64 -d
			jq -r '."err-data" // empty' <<<"$st" | base64 -d
			return "$(jq -r '.exitcode // 1' <<<"$st")"
		fi
		sleep 0.2
	done
	return 1
}

# dev_balloon_to MIB [TIMEOUT_S]: ask for a guest size and wait (up to
# TIMEOUT s, default 120) until query-balloon reports it.  Prints the final
# actual.
dev_balloon_to() {
	dev_balloon_bytes $(($1 * 1024 * 1024)) "${2:-120}"
}

# dev_balloon_bytes BYTES [TIMEOUT_S]: the same, in bytes.
dev_balloon_bytes() {
	local want=$1 tmo=${2:-120} actual i
	dev_qmp balloon "{\"value\":$want}" >/dev/null || return 1
	for ((i = 0; i < tmo * 2; i++)); do
		actual=$(dev_qmp query-balloon | jq -r .actual) || return 1
		if [[ $actual == "$want" ]]; then
			echo "$actual"
			return 0
		fi
		sleep 0.5
	done
	echo "$actual"
	return 1
}

# dev_stat PATH: one number out of the last stage-stats, e.g. .inflate.pages
dev_stat() { jq -r "$1" <<<"$DEV_LAST_STATS"; }
dev_snap() { DEV_LAST_STATS=$(dev_stats); }

# Sum of every rejected counter of one direction in the last snapshot.
dev_rejected() { dev_stat "[.$1.rejected[]] | add"; }

# QMP events go to every monitor: a second one, events.sock, leaves
# qmp.sock free for commands (a socket chardev serves one client).
# dev_events_start: keep a QMP connection open that records every event
# in $DEV_DIR/events.log (one JSON object a line) until dev_events_stop.
dev_events_start() {
	mkfifo "$DEV_DIR/events.in"
	socat - "UNIX-CONNECT:$DEV_DIR/events.sock" <"$DEV_DIR/events.in" \
		>"$DEV_DIR/events.log" 2>/dev/null &
	DEV_EVENTS_PID=$!
	exec {DEV_EVENTS_FD}>"$DEV_DIR/events.in"
	echo '{"execute":"qmp_capabilities"}' >&"$DEV_EVENTS_FD"
	wait_for_text "$DEV_DIR/events.log" 10 '"return"'
}

# Closing our end makes socat and then QEMU close the connection.
dev_events_stop() {
	if [[ -n ${DEV_EVENTS_PID:-} ]]; then
		exec {DEV_EVENTS_FD}>&-
		wait "$DEV_EVENTS_PID" 2>/dev/null || true
		DEV_EVENTS_PID=""
	fi
}

# The "actual" of the last BALLOON_CHANGE event seen, or "none".
dev_last_balloon_change() {
	local v
	v=$(jq -r 'select(.event == "BALLOON_CHANGE") | .data.actual' \
		"$DEV_DIR/events.log" 2>/dev/null | tail -1)
	echo "${v:-none}"
}

# dev_inject 'LINE': write one line to the guest driver's debugfs inject
# file (vballoon.ko loaded with allow_inject=1).
dev_inject() {
	dev_guest "echo '$1' > /sys/kernel/debug/vballoon/inject"
}

# dev_inject_awk PROGRAM: the body of an awk BEGIN block, run in the guest,
# prints one inject line (tens of KB, too long for a command line), which
# is written to the inject file at once.
dev_inject_awk() {
	dev_guest "awk 'BEGIN { $1 }' >/tmp/inject.line &&
		dd if=/tmp/inject.line of=/sys/kernel/debug/vballoon/inject bs=1M 2>/dev/null"
}

# QMP command whose reply only matters as success.
dev_qmp_ok() { dev_qmp "$@" >/dev/null; }

# The balloonbench bits (16-20) the device offers, as a decimal mask,
# from x-query-virtio-status (QEMU lists them as unknown device features).
dev_offered_bb_bits() {
	dev_qmp x-query-virtio-status \
		'{"path":"/machine/peripheral/balloon0/virtio-backend"}' |
		jq '(."host-features"."unknown-dev-features" // 0) as $u |
			[range(16; 21) | select(($u / pow(2; .) | floor) % 2 == 1) |
			pow(2; .)] | add // 0'
}

# A pressure source property for auto-balloon=on that realizes on this
# host: PSI on /proc/pressure/memory where the kernel takes triggers,
# else the root cgroup v1 memory cgroup; empty (and status 1) if neither.
dev_auto_source() {
	local fd
	if exec {fd}<>/proc/pressure/memory 2>/dev/null; then
		if echo "some 100000 2000000" 2>/dev/null 1>&"$fd"; then
			exec {fd}>&-
			echo ",auto-balloon-psi=/proc/pressure/memory"
			return 0
		fi
		exec {fd}>&-
	fi
	if [[ -w /sys/fs/cgroup/memory/cgroup.event_control ]]; then
		echo ",auto-balloon-memcg=/sys/fs/cgroup/memory"
		return 0
	fi
	return 1
}
