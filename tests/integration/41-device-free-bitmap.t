#!/bin/bash
# free-page-bitmap (bit 20, host-device patch 0009): the property needs an
# iothread and offers bit 20; bitmaps on the free page queue are checked
# like PAGE_BITMAP inflate requests, each malformed one dropped and counted
# by reason in stage-stats "free-page", and one that does not follow the
# command id the device asked for is dropped as "unrequested"; upstream's
# hints (device-writable buffers) are dropped as "unnegotiated" without
# bit 3 and, with it, checked as SG descriptors and as guest RAM (patch
# 0022), those after STOP dropped without a count; last, two real
# migrations of a guest that touched and freed most of its memory send
# well below what it touched, because vballoon's bitmap, then Debian's
# driver's hints (which the checks must all accept), left the free pages
# out.
#
# The malformed cases need the device to wait for an id that only the test
# answers: x-free-page-request writes a new id without a configuration
# interrupt, so vballoon does not see it, and the test sends "freeid N"
# and its own bitmaps through the inject file (allow_inject=1).  The
# device checks and counts the bitmaps of such a test request (test_pages)
# but hands nothing to the migration code (pages_described stays 0).
. "$(dirname "$0")/lib/device.bash"
dev_require
dev_require_patched
dev_require_vballoon

MEM=1024          # RAM ends at PFN 0x40000
FP='."free-page"'
R="$FP.rejected"
BIT20=$((1 << 20))

# Each case: inject line (on the free page queue), then the counters that
# rise, "reason=n,..." ("-" for none), then the pages accepted (test_pages).
CASES=(
	"bitmap vq=free reserved=1 0x100 64 0x1|reserved-nonzero=1|0"
	"bitmap vq=free 0x100 0|zero-length=1|0"
	"bitmap vq=free 0x101 64 0x1|misaligned=1|0"
	"bitmap vq=free 0x100 262145 0x1|too-large=1|0"
	"bitmap vq=free 0x100 128 0x1|truncated=1|0"
	"bitmap vq=free 0x100 1 0x3|bad-bitmap=1|0"
	"bitmap vq=free 0xffffffffffffffc0 64 0x1|overflow=1|0"
	"bitmap vq=free 0x40000 64 0x1|not-ram=1|0"
	"bitmap vq=free 0x3ffc0 128 0 0xffffffff00000000|not-ram=1|0"
	"bitmap vq=free 0xfee00 64 0xffffffffffffffff|not-ram=1|0"
	"bitmap vq=free 0xc0 64 0x1000000000000|not-ram=1|0"
	"bitmap vq=free repeat=4097 0x100 64 0x1|too-large=1|0"
	"bitmap vq=free 0x100 64 0xff|-|8"
	"bitmap vq=free repeat=3 0x40000 64 0x5|not-ram=2,overlap=2|0"
)

# Upstream hints, with bit 3 and bit 20 negotiated: one device-writable
# descriptor per (address, length) pair.  The last one runs 4 KiB past the
# end of RAM: QEMU maps it in two pieces (RAM, then a bounce buffer), which
# the device must join and drop whole.  No zero-length hint and none over
# 4 KiB outside RAM: QEMU's virtqueue code marks the device broken on
# those before the balloon sees them, as on every queue.
HCASES=(
	"hint 0x100000 0x1000|-|1"
	"hint 0x100800 0x1000|misaligned=1|0"
	"hint 0x100000 0x1800|misaligned=1|0"
	"hint 0xf0000 0x1000|not-ram=1|0"
	"hint 0xfee00000 0x1000|not-ram=1|0"
	"hint 0x200000 0x2000 0x201000 0x1000|overlap=1|2"
	"hint 0x300000 0x1000 0x100800 0x1000 0x400000 0x4000|misaligned=1|5"
	"hint 0x3ffff000 0x2000|not-ram=1|0"
)

plan $((5 + 16 + ${#CASES[@]} + 7 + ${#HCASES[@]} + 2 * 9))

# A QEMU with an iothread for the balloon, and the device offering bit 20.
IOT="-object iothread,id=bbio0"
PROPS=",free-page-bitmap=on,iothread=bbio0"

# fp_case "LINE|reasons|pages": one test: the guest sent the line, each
# named counter of "free-page" rejected rose by n and no other, test_pages
# rose by pages, and pages_described (hinted to a migration) did not.
fp_case() {
	local line=${1%%|*} rest=${1#*|} want pages before after spec d sum=0 bad=""
	want=${rest%%|*}
	pages=${rest#*|}
	dev_snap
	before=$DEV_LAST_STATS
	if ! dev_inject "$line" >/dev/null 2>&1; then
		not_ok "$line: guest could not inject"
		return
	fi
	dev_snap
	after=$DEV_LAST_STATS
	if [[ $want != - ]]; then
		for spec in ${want//,/ }; do
			d=$(($(jq "${R}[\"${spec%=*}\"]" <<<"$after") - $(jq "${R}[\"${spec%=*}\"]" <<<"$before")))
			sum=$((sum + ${spec#*=}))
			[[ $d == "${spec#*=}" ]] || bad+=" ${spec%=*}+$d"
		done
	fi
	d=$(($(jq "[${R}[]] | add" <<<"$after") - $(jq "[${R}[]] | add" <<<"$before")))
	[[ $d == "$sum" ]] || bad+=" total+$d"
	d=$(($(jq "$FP.test_pages" <<<"$after") - $(jq "$FP.test_pages" <<<"$before")))
	[[ $d == "$pages" ]] || bad+=" test_pages+$d"
	d=$(($(jq "$FP.pages_described" <<<"$after") - $(jq "$FP.pages_described" <<<"$before")))
	[[ $d == 0 ]] || bad+=" pages_described+$d"
	if [[ -z $bad ]]; then
		ok "$line: $want, $pages pages checked, none described"
	else
		not_ok "$line: $want, $pages pages checked, none described"
		diag "counters moved:$bad"
	fi
}

# Rise of one "free-page" counter (jq path under it) over one injection.
fp_delta() {
	local path=$1 line=$2 before
	before=$(dev_stats | jq "$FP$path")
	dev_inject "$line" >/dev/null 2>&1 || { echo "inject-failed"; return; }
	echo $(($(dev_stats | jq "$FP$path") - before))
}

# --- (a) the property ---------------------------------------------------
# shellcheck disable=SC2086
err=$(timeout 20 "$DEV_QEMU" $DEV_QEMU_ARGS -machine pc -accel tcg \
	-nodefaults -no-user-config -display none \
	-device virtio-balloon-pci,free-page-bitmap=on 2>&1 </dev/null) || true
if ! grep -q "free-page-bitmap.*iothread" <<<"$err"; then
	skip_all "$DEV_QEMU: free-page-bitmap does not need an iothread (a series before patch 0009)"
fi
ok "free-page-bitmap=on without iothread is refused: $err"

saved=$DEV_QEMU_ARGS
DEV_QEMU_ARGS+=" $IOT"
# shellcheck disable=SC2310
if ! dev_boot "$MEM" "$PROPS" "bb.driver=vballoon bb.modparams=allow_inject=1"; then
	DEV_QEMU_ARGS=$saved
	not_ok "boot with free-page-bitmap=on,iothread=bbio0"
	done_testing
fi
DEV_QEMU_ARGS=$saved
ok "boot with free-page-bitmap=on,iothread=bbio0"
is "$(dev_offered_bb_bits)" "$BIT20" "the device offers bit 20 and no other balloonbench bit"
dev_snap
is "$(dev_stat "(.features / $BIT20 | floor) % 2")" 1 "vballoon acknowledged bit 20"
is "$(dev_stat "$FP | [.cmd_ids, .bitmaps, .records, .pages_described, .test_pages, .bytes, .hints, .hint_pages, ([.rejected[]] | add)] | add")" 0 \
	"free-page counters all zero after boot"

# --- (b) malformed and unrequested bitmaps --------------------------------
BITMAP="bitmap vq=free 0x100 64 0x1"
FPREQ='{"path":"/machine/peripheral/balloon0","property":"x-free-page-request","value":true}'
is "$(fp_delta '.rejected.unrequested' "$BITMAP")" 1 \
	"a bitmap with no id requested: dropped as unrequested"
dev_qmp_ok qom-set "$FPREQ"
dev_snap
id=$(dev_stat "$FP.cmd_id")
is "$(dev_stat "$FP.cmd_ids")" 1 "x-free-page-request wrote one command id ($id)"
is "$(fp_delta '.rejected.unrequested' "$BITMAP")" 1 \
	"a bitmap before the guest sent the id: unrequested"
is "$(fp_delta '.rejected.unrequested' "freeid $((id + 1))")" 0 \
	"a wrong id is taken quietly"
is "$(fp_delta '.rejected.unrequested' "$BITMAP")" 1 \
	"a bitmap after a wrong id: unrequested"
check "the guest sends the id the device asked for" dev_inject "freeid $id"
for c in "${CASES[@]}"; do
	fp_case "$c"
done
is "$(fp_delta '.rejected.unnegotiated' "hint 0x100000 0x1000")" 1 \
	"a hint without bit 3 negotiated: dropped as unnegotiated"
dev_snap
# Every case but the oversized request is parsed, good records or bad.
is "$(dev_stat "$FP.bitmaps")" $((${#CASES[@]} - 1)) \
	"every bitmap request but the oversized one was parsed"
check "the guest sends STOP" dev_inject "freeid 0"
is "$(fp_delta '.rejected.unrequested' "$BITMAP")" 1 "a bitmap after STOP: unrequested"
is "$(fp_delta '.test_pages' "$BITMAP")" 0 "... and nothing checked"
dev_snap
is "$(dev_stat "$FP | [.pages_described, .hint_pages, .rejected.stopped] | add")" 0 \
	"the test request handed nothing to the migration code, nothing stopped"
check "QMP still answers" dev_qmp_ok query-balloon
is "$(dev_balloon_to $((MEM - 128)))" $(((MEM - 128) << 20)) \
	"the inflate queue still serves: a real inflate is exact"
dev_stats_reset >/dev/null
dev_snap
is "$(dev_stat "$FP | [.cmd_ids, .bitmaps, .records, .pages_described, .bytes, .time_ns, ([.rejected[]] | add)] | add")" 0 \
	"stage-stats-reset zeroes the free-page counters"
dev_stop
check "QEMU wrote no warning or error" test ! -s "$DEV_DIR/qemu.log"

# --- (b2) upstream's hints: every descriptor checked ----------------------
hints_run() {
	local id n before d
	DEV_QEMU_ARGS+=" $IOT"
	# shellcheck disable=SC2310
	if ! dev_boot "$MEM" ",free-page-hint=on$PROPS" \
		"bb.driver=vballoon bb.modparams=allow_inject=1"; then
		DEV_QEMU_ARGS=$saved
		n=$((7 + ${#HCASES[@]}))
		for ((; n > 0; n--)); do not_ok "hints: (not booted)"; done
		return
	fi
	DEV_QEMU_ARGS=$saved
	ok "hints: boot with free-page-hint=on and free-page-bitmap=on"
	dev_snap
	is "$(dev_stat "(.features / 8 | floor) % 2")" 1 "hints: vballoon acknowledged bit 3"
	dev_qmp_ok qom-set "$FPREQ"
	dev_snap
	id=$(dev_stat "$FP.cmd_id")
	check "hints: the guest sends the id the device asked for ($id)" \
		dev_inject "freeid $id"
	for c in "${HCASES[@]}"; do
		fp_case "$c"
	done
	check "hints: the guest sends STOP" dev_inject "freeid 0"
	dev_snap
	before=$DEV_LAST_STATS
	dev_inject "hint 0x100000 0x1000" >/dev/null 2>&1 || true
	dev_snap
	d=$(jq -rn --argjson a "$before" --argjson b "$DEV_LAST_STATS" \
		"[(\$b$FP.hints - \$a$FP.hints), (\$b$FP.test_pages - \$a$FP.test_pages),
		  (([\$b${R}[]] | add) - ([\$a${R}[]] | add))] | map(tostring) | join(\",\")")
	is "$d" "1,0,0" \
		"hints: one after STOP is received (hints, test_pages, rejected: $d)"
	is "$(dev_stat "$FP | [.pages_described, .hint_pages] | add")" 0 \
		"hints: the test request handed nothing to the migration code"
	dev_stop
	check "hints: QEMU wrote no warning or error" test ! -s "$DEV_DIR/qemu.log"
}
hints_run

# --- (c) real migrations ----------------------------------------------------
# The guest touches 7/8 of its memory and frees it; the destination gets
# what the free page information did not leave out.  First vballoon's
# bitmap, then Debian's driver hinting to the patched device (patch 0022
# checks each hint: none may be refused).
MIG_MEM=1024
TOUCH_MIB=$((MIG_MEM * 7 / 8 - 128))
# migrate_run NAME DRIVER PROPS COUNT PAGES: COUNT and PAGES are the
# free-page counters of the messages and of the pages handed to migration.
migrate_run() {
	local name=$1 driver=$2 props=$3 count=$4 ppath=$5
	local dst_dir=$T_TMP/dst-$name dst_pid st i mig xfer fp pages msgs
	mkdir -p "$dst_dir"
	DEV_QEMU_ARGS+=" $IOT"
	# shellcheck disable=SC2310
	if ! dev_boot "$MIG_MEM" "$props" "bb.driver=$driver"; then
		DEV_QEMU_ARGS=$saved
		for ((i = 0; i < 9; i++)); do not_ok "$name: (source not booted)"; done
		return
	fi
	ok "$name: source booted with $props"
	if dev_guest "bbload touch ${TOUCH_MIB}M" >/dev/null 2>&1; then
		ok "$name: guest touched and freed $TOUCH_MIB MiB"
	else
		not_ok "$name: guest touched and freed $TOUCH_MIB MiB"
	fi
	# The destination: the same machine, waiting on a unix socket.
	# shellcheck disable=SC2086
	"$DEV_QEMU" $DEV_QEMU_ARGS -machine pc -accel tcg -m "$MIG_MEM" -smp 1 \
		-nodefaults -no-user-config -display none \
		-kernel "$DEV_KERNEL" -initrd "$DEV_INITRD" \
		-append "console=ttyS0 panic=-1 bb.driver=$driver" -no-reboot \
		-serial "file:$dst_dir/console.log" \
		-qmp "unix:$dst_dir/qmp.sock,server=on,wait=off" \
		-qmp "unix:$dst_dir/events.sock,server=on,wait=off" \
		-chardev "socket,id=qga0,path=$dst_dir/qga.sock,server=on,wait=off" \
		-device virtio-serial-pci \
		-device virtserialport,chardev=qga0,name=org.qemu.guest_agent.0 \
		-device "virtio-balloon-pci,id=balloon0$props" \
		-incoming "unix:$dst_dir/mig.sock" >"$dst_dir/qemu.log" 2>&1 &
	dst_pid=$!
	DEV_QEMU_ARGS=$saved
	for ((i = 0; i < 100; i++)); do
		[[ -S $dst_dir/mig.sock ]] && break
		sleep 0.1
	done
	dev_stats_reset >/dev/null
	# 256 MiB/s: a round takes seconds, the guest's walk well under one.
	dev_qmp_ok migrate-set-parameters '{"max-bandwidth":268435456}'
	dev_qmp_ok migrate "{\"uri\":\"unix:$dst_dir/mig.sock\"}"
	if [[ $driver == vballoon ]]; then
		# Migrating: a test request would mix with the migration's own.
		if dev_qmp qom-set "$FPREQ" >/dev/null 2>&1; then
			not_ok "$name: x-free-page-request is refused while migrating"
		else
			ok "$name: x-free-page-request is refused while migrating"
		fi
	else
		dev_snap
		is "$(dev_stat "(.features / 8 | floor) % 2"),$(dev_stat "(.features / 65536 | floor) % 32")" 1,0 \
			"$name: Debian's driver acknowledged bit 3 and no balloonbench bit"
	fi
	st=""
	for ((i = 0; i < 600; i++)); do
		mig=$(dev_qmp query-migrate) || break
		st=$(jq -r .status <<<"$mig")
		[[ $st == completed || $st == failed || $st == cancelled ]] && break
		sleep 0.5
	done
	is "$st" completed "$name: completed"
	xfer=$(jq -r '.ram.transferred // 0' <<<"$mig")
	dev_snap
	fp=$(dev_stat "$FP")
	msgs=$(jq "$count" <<<"$fp")
	pages=$(jq "$ppath" <<<"$fp")
	diag "$name: ram.transferred $((xfer >> 20)) MiB after touching $TOUCH_MIB MiB;" \
		"free-page $(jq -c 'del(.rejected)' <<<"$fp")"
	cmp_ok "$xfer" -lt $(((TOUCH_MIB << 20) / 2)) \
		"$name: ram.transferred ($((xfer >> 20)) MiB) below half of the $TOUCH_MIB MiB touched"
	cmp_ok "$msgs" -ge 1 "$name: at least one message accepted ($count)"
	cmp_ok "$pages" -gt 0 "$name: free pages handed to the migration ($ppath $pages)"
	if [[ $(dev_stat "[${R}[]] | add") == 0 ]]; then
		ok "$name: nothing rejected"
	else
		not_ok "$name: nothing rejected"
		diag "rejected: $(dev_stat "$R | with_entries(select(.value > 0))" | jq -c .)"
	fi
	dev_stop
	# The destination guest answers its agent.
	DEV_DIR=$dst_dir DEV_PID=$dst_pid
	if dev_guest 'echo alive' 2>/dev/null | grep -q alive; then
		ok "$name: the destination guest answers"
	else
		not_ok "$name: the destination guest answers"
	fi
	dev_stop
}
migrate_run bitmap vballoon "$PROPS" .bitmaps .pages_described
migrate_run hint-stock stock ",free-page-hint=on,iothread=bbio0" .hints .hint_pages
done_testing
