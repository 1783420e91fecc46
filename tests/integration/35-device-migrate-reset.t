#!/bin/bash
# A guest cannot abort QEMU through the balloon's queues after a migration.
# virtio_load() takes each queue's count of requests in flight from the
# used index in guest memory, which the guest may rewrite; the reset that
# follows on the destination writes the features (the transfer mode, and
# with it the SG queues' addresses-only flag) before that count is zeroed.
# Here the inflate queue's used->idx is moved back by one while the source
# is stopped, written from the host into the shared file that backs guest
# RAM: exactly what a guest doing it would leave in memory.  The VM
# migrates through a file (exec:cat), the destination finds one request in
# flight, then the guest resets the device (unloading the driver writes
# status 0) or QMP resets the machine.  QEMU must live on, and the device
# must serve again.
. "$(dirname "$0")/lib/device.bash"
dev_require
dev_require_patched
dev_require_vballoon

MEM=512       # guest RAM, MiB
TARGET=448    # inflate to this and back, so that used->idx has moved
VIRTIO=/machine/peripheral/balloon0/virtio-backend

# name | device properties | kernel arguments | how the destination resets
RUNS=(
	"sg, guest writes status 0|,sg=on|bb.driver=vballoon bb.modparams=mode=sg|rmmod"
	"sg, system_reset|,sg=on|bb.driver=vballoon bb.modparams=mode=sg|system_reset"
	"stock, system_reset||bb.driver=stock|system_reset"
)
PER_RUN=10
plan $((${#RUNS[@]} * PER_RUN))

# Guest RAM in a file the host can write, shared with QEMU's mapping.
ram_args() {
	echo "-object memory-backend-file,id=ram0,size=${MEM}M,mem-path=$1,share=on" \
		"-machine memory-backend=ram0"
}

# inflate_queue FILTER: one field of the inflate queue's state.
inflate_queue() {
	dev_qmp x-query-virtio-queue-status "{\"path\":\"$VIRTIO\",\"queue\":0}" |
		jq -r "$1"
}

# poke_le16 FILE OFFSET VALUE: what the guest would store in its memory.
poke_le16() {
	# shellcheck disable=SC2059
	printf "$(printf '\\x%02x\\x%02x' $(($3 & 0xff)) $(($3 >> 8)))" |
		dd of="$1" bs=1 seek="$2" count=2 conv=notrunc status=none
}

peek_le16() { od -An -tu2 -j "$2" -N2 "$1" | tr -d ' '; }

# wait_status STATE SECS: until query-status says STATE; 1 if QEMU dies.
wait_status() {
	local i
	for ((i = 0; i < $2 * 4; i++)); do
		dev_alive || return 1
		[[ $(dev_qmp query-status 2>/dev/null | jq -r .status) == "$1" ]] &&
			return 0
		sleep 0.25
	done
	return 1
}

# migrate_to FILE: the stopped source's state into FILE.
migrate_to() {
	local i st
	dev_qmp_ok migrate "{\"uri\":\"exec:cat > $1\"}" || return 1
	for ((i = 0; i < 240; i++)); do
		st=$(dev_qmp query-migrate | jq -r .status)
		[[ $st == completed ]] && return 0
		[[ $st == failed || $st == cancelled ]] && return 1
		sleep 0.25
	done
	return 1
}

# dest_start PROPS KERNEL_ARGS RAM_FILE STATE_FILE: the same VM as
# dev_boot's, taking its state from STATE_FILE and left paused (-S).  No
# -no-reboot: system_reset must reset, not quit.
dest_start() {
	local props=$1 extra=$2 ram=$3 state=$4
	DEV_N=$((DEV_N + 1))
	DEV_DIR=$T_TMP/vm$DEV_N
	mkdir -p "$DEV_DIR"
	# shellcheck disable=SC2046,SC2086
	"$DEV_QEMU" $DEV_QEMU_ARGS $(ram_args "$ram") \
		-machine pc -accel tcg -m "$MEM" -smp 1 \
		-nodefaults -no-user-config -display none \
		-kernel "$DEV_KERNEL" -initrd "$DEV_INITRD" \
		-append "console=ttyS0 panic=-1 $extra" \
		-serial "file:$DEV_DIR/console.log" \
		-qmp "unix:$DEV_DIR/qmp.sock,server=on,wait=off" \
		-qmp "unix:$DEV_DIR/events.sock,server=on,wait=off" \
		-chardev "socket,id=qga0,path=$DEV_DIR/qga.sock,server=on,wait=off" \
		-device virtio-serial-pci \
		-device virtserialport,chardev=qga0,name=org.qemu.guest_agent.0 \
		-device "virtio-balloon-pci,id=balloon0$props" \
		-incoming "exec:cat $state" -S \
		>"$DEV_DIR/qemu.log" 2>&1 &
	DEV_PID=$!
	wait_status paused 60
}

# Move used->idx on: inflate and deflate back, both exact.
inflate_deflate() {
	dev_balloon_to "$TARGET" >/dev/null && dev_balloon_to "$MEM" >/dev/null
}

# The destination resets the device one way or the other.
reset_device() {
	case $1 in
	rmmod) dev_guest 'rmmod vballoon' >/dev/null ;;
	system_reset)
		dev_qmp_ok system_reset || return 1
		# The guest boots again; its agent answers once /init is done.
		wait_for_text "$DEV_DIR/console.log" 300 "bb-init: ready" &&
			dev_guest true >/dev/null
		;;
	esac
}

# After the reset the driver is there again: a fresh probe after rmmod.
reload_driver() {
	[[ $1 == rmmod ]] || return 0
	dev_guest "modprobe vballoon ${2#*bb.modparams=}" >/dev/null
}

run() {
	local name=$1 props=$2 extra=$3 how=$4 n=$DEV_N src_ram dst_ram state
	local used idx
	src_ram=$T_TMP/ram-src$n.img
	dst_ram=$T_TMP/ram-dst$n.img
	state=$T_TMP/state$n.bin
	if ! DEV_QEMU_ARGS="$DEV_QEMU_ARGS $(ram_args "$src_ram")" \
		dev_boot "$MEM" "$props" "$extra"; then
		not_ok "$name: source boots with RAM in a shared file"
		for ((i = 1; i < PER_RUN; i++)); do not_ok "$name: (not booted)"; done
		dev_stop
		return
	fi
	ok "$name: source boots with RAM in a shared file"
	check "$name: source inflates and deflates" inflate_deflate

	# The guest's write, made while nothing runs that could undo it.
	dev_qmp_ok stop
	used=$(inflate_queue '."vring-used"')
	idx=$(inflate_queue '."used-idx"')
	poke_le16 "$src_ram" $((used + 2)) $(((idx - 1) & 0xffff))
	is "$(peek_le16 "$src_ram" $((used + 2)))" $(((idx - 1) & 0xffff)) \
		"$name: inflate queue's used->idx moved back by one ($idx -> $(((idx - 1) & 0xffff)))"
	check "$name: migrate to a file" migrate_to "$state"
	dev_stop

	if ! dest_start "$props" "$extra" "$dst_ram" "$state"; then
		not_ok "$name: destination loads the state"
		diag "$(tail -5 "$DEV_DIR/qemu.log")"
		for ((i = 5; i < PER_RUN; i++)); do not_ok "$name: (not loaded)"; done
		dev_stop
		return
	fi
	ok "$name: destination loads the state"
	is "$(inflate_queue .inuse)" 1 \
		"$name: destination counts one inflate request in flight"
	dev_qmp_ok cont || true
	reset_device "$how" || true
	check "$name: QEMU lives through the reset ($how)" dev_alive
	if grep -q 'Assertion' "$DEV_DIR/qemu.log"; then
		not_ok "$name: no assertion failed"
		diag "$(grep 'Assertion' "$DEV_DIR/qemu.log")"
	else
		ok "$name: no assertion failed"
	fi
	if dev_alive && reload_driver "$how" "$extra"; then
		is "$(dev_balloon_to "$TARGET")" $((TARGET << 20)) \
			"$name: the device serves after the reset: inflate exact"
	else
		not_ok "$name: the device serves after the reset: inflate exact"
	fi
	is "$(inflate_queue .inuse 2>/dev/null)" 0 \
		"$name: nothing in flight any more"
	dev_stop
	rm -f "$src_ram" "$dst_ram" "$state"
}

for r in "${RUNS[@]}"; do
	IFS='|' read -r name props extra how <<<"$r"
	run "$name" "$props" "$extra" "$how"
done
done_testing
