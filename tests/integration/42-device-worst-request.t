#!/bin/bash
# The most work one request can make the device do, in every mode, on
# memory the guest does not use: a 2 GiB pc-dimm, preallocated on the host
# and left offline in the guest.  Since chunks, descriptors and records of
# a request ascend (patch 0012), the worst is many small ranges or one
# range over all of it, each page once:
#   legacy  256 PFNs, every other page          256 discards (the limit
#           once a balloonbench bit is offered: page-bitmap=on here)
#   bitmap  one record of 262144 frames, bits 0101...: 4096 runs served,
#           the rest dropped once as too-large (4096 runs a request)
#   chunk   4096 chunks of 4 KiB, every other page, then one of 2 GiB
#   sg      128 descriptors of 4 KiB, every other page, then one of 2 GiB
# Each request must be accepted exactly (pages counted, nothing rejected)
# while QMP keeps answering.  In chunk mode a burst follows: eight worst
# requests in one notification (a `runs` line through the driver's
# encoder fills its eight buffers), which one handler run would take
# eight times as long to serve: the handler must stop at its budget and
# let the main loop run (stage-stats `yields`) before the rest.
# Throughout, the handler time (stage-stats handle-ns) and
# the slowest QMP reply seen meanwhile are printed, not judged: they are
# the figures docs/protocol.md's bound is measured by.  All of it runs with
# the dimm in ordinary host memory (transparent huge pages), then on
# hugetlbfs with 2 MiB and with 1 GiB pages where the host can reserve them
# (a 4 KiB range there covers no whole host page: accepted, nothing freed).
# The reservations and mounts are given back as found.
. "$(dirname "$0")/lib/device.bash"
dev_require
dev_require_patched
dev_require_vballoon

MEM=1024
DIMM=$((1 << 32))	# where QEMU maps the first pc-dimm (above 4 GiB)
DIMM_MIB=2048
PFN=$((DIMM >> 12))
PER_VM=5
PER_BACKING=$((4 * PER_VM + 2 * 2 + 3))
BACKINGS=(ram 2048 1048576)
plan $((${#BACKINGS[@]} * PER_BACKING))
trap 'dev_huge_release; t_cleanup' EXIT
BACKING=ram
LABEL=ram

# serve REQUESTS PROGRAM: inject (dev_inject_awk PROGRAM) on zeroed
# counters and poll QMP until the device has handled REQUESTS requests.
# Sets SLOW (the slowest reply, ms) and QMP_OK (0 if a poll went
# unanswered for 5 s); the counters are snapped afterwards.
serve() {
	local bg i t0 ms
	SLOW=0 QMP_OK=1
	dev_stats_reset >/dev/null
	dev_inject_awk "$2" >/dev/null 2>&1 &
	bg=$!
	for ((i = 0; i < 1200; i++)); do
		t0=$(date +%s%N)
		if ! DEV_CHAT_TIMEOUT=5 dev_snap 2>/dev/null; then
			QMP_OK=0
			break
		fi
		ms=$((($(date +%s%N) - t0) / 1000000))
		((ms > SLOW)) && SLOW=$ms
		[[ $(dev_stat .inflate.requests) == "$1" ]] && break
		sleep 0.05
	done
	wait_exit "$bg" 120 || true
	dev_snap
}

# worst NAME PAGES PROGRAM [REJECTED]: ok when the request was served
# alone, exactly PAGES accepted, REJECTED (default 0) rejected, and every
# QMP poll answered within 5 s.
worst() {
	local name="$LABEL $1" pages=$2 rejected=${4:-0} discarded=$2
	serve 1 "$3"
	# Discarded: every accepted page in host memory; on hugetlbfs only
	# the whole host pages a request covers (the 2 GiB ranges).
	[[ $BACKING != ram && $pages -lt $((DIMM_MIB * 256)) ]] && discarded=0
	is "$(dev_stat '.inflate | [.requests, .pages, ([.rejected[]] | add), .discarded] | join(" ")')" \
		"1 $pages $rejected $discarded" "$name: one request, $pages pages accepted, $rejected rejected, $discarded discarded"
	check "$name: QMP answered every poll within 5 s" test "$QMP_OK" = 1
	diag "$name: handler $(($(dev_stat '.inflate["handle-ns"]') / 1000)) us, $(dev_stat .inflate.ranges) host calls, slowest QMP reply ${SLOW} ms (a poll costs a socat start)"
}

# burst: eight chunk requests of 4096 ranges of 4 KiB, every other page,
# posted together and notified once.  Each is served whole; the handler
# ends a run once it has used its budget (2 ms) and goes on from a bottom
# half, so the eight take several runs.  How long the longest run took is
# printed, not judged.
burst() {
	local name="$LABEL chunk: 8 requests in one notification" discarded=32768
	serve 8 "printf \"runs\"; for (k = 0; k < 32768; k++) printf \" %.0f 1\", $PFN + 2 * k; print \"\""
	[[ $BACKING != ram ]] && discarded=0
	is "$(dev_stat '.inflate | [.requests, .pages, ([.rejected[]] | add), .discarded] | join(" ")')" \
		"8 32768 0 $discarded" "$name: all served, 32768 pages accepted, none rejected, $discarded discarded"
	cmp_ok "$(dev_stat .inflate.yields)" -ge 1 \
		"$name: the handler stopped at its budget and let the main loop run"
	check "$name: QMP answered every poll within 5 s" test "$QMP_OK" = 1
	diag "$name: $(dev_stat .inflate.yields) yields, longest run $(($(dev_stat '.inflate["handle-max-ns"]') / 1000)) us of $(($(dev_stat '.inflate["handle-ns"]') / 1000)) us, slowest QMP reply ${SLOW} ms"
}

# vm MODE PROPS: boot with the dimm on BACKING (ram, or hugetlbfs at
# HUGE_DIR), check the guest left it offline.
vm() {
	local saved=$DEV_QEMU_ARGS
	DEV_QEMU_ARGS+=" -m $MEM,slots=1,maxmem=$((MEM + DIMM_MIB))M"
	if [[ $BACKING == ram ]]; then
		DEV_QEMU_ARGS+=" -object memory-backend-ram,id=dimm0,size=${DIMM_MIB}M,prealloc=on"
	else
		DEV_QEMU_ARGS+=" -object memory-backend-file,id=dimm0,size=${DIMM_MIB}M,mem-path=$HUGE_DIR,prealloc=on"
	fi
	DEV_QEMU_ARGS+=" -device pc-dimm,memdev=dimm0,id=dimm0"
	if dev_boot "$MEM" "$2" \
		"bb.driver=vballoon bb.modparams=mode=$1,allow_inject=1 memhp_default_state=offline" &&
		[[ $(dev_guest 'cat /sys/devices/system/memory/auto_online_blocks') == offline ]] &&
		[[ $(dev_qmp query-memory-devices | jq '.[0].data.addr') == "$DIMM" ]]; then
		DEV_QEMU_ARGS=$saved
		ok "$LABEL $1: boot with a ${DIMM_MIB} MiB pc-dimm at 4 GiB, offline"
		return 0
	fi
	DEV_QEMU_ARGS=$saved
	not_ok "$LABEL $1: boot with a ${DIMM_MIB} MiB pc-dimm at 4 GiB, offline"
	dev_stop
	return 1
}

qemu_log_clean() {
	local left
	if [[ $BACKING == ram ]]; then
		left=$(cat "$DEV_DIR/qemu.log" 2>/dev/null)
	else
		left=$(grep -v -e "host pages larger than 4 KiB are only discarded once one request covers them whole" \
			-e "Balloon used with backing page size > 4kiB, this may not be reliable" \
			"$DEV_DIR/qemu.log" 2>/dev/null)
	fi
	[[ -z $left ]] || diag "qemu.log: $left"
	[[ -z $left ]]
}

# after MODE: the queue still serves and the guest is intact.  The host
# counts the dimm in the guest's memory: 128 MiB less than both.
after() {
	local target=$((MEM + DIMM_MIB - 128))
	is "$(dev_balloon_to "$target" 60)" $((target << 20)) \
		"$LABEL $1: the queue still serves: real inflate exact"
	dev_stop
	# On hugetlbfs a 4 KiB range is part of a host page: the device says
	# once that such pages are discarded only when covered whole (legacy
	# mode, upstream's path, in upstream's words).
	check "$LABEL $1: QEMU wrote no warning or error (on hugetlbfs: but the partial-page notice)" \
		qemu_log_clean
}

# many_and_one MODE PROPS N WHAT: N ranges of 4 KiB, every other page, in
# one request, then one range over the whole dimm.
many_and_one() {
	local mode=$1 n=$3 what=$4
	if ! vm "$mode" "$2"; then
		local left=$((PER_VM + 2))
		[[ $mode == chunk ]] && left=$((left + 3))
		for ((i = 1; i < left; i++)); do not_ok "$LABEL $mode: (not booted)"; done
		return
	fi
	worst "$mode: $n $what of 4 KiB" "$n" \
		"printf \"$mode\"; for (k = 0; k < $n; k++) printf \" %.0f 4096\", $DIMM + 8192 * k; print \"\""
	worst "$mode: one of ${DIMM_MIB} MiB" $((DIMM_MIB * 256)) \
		"print \"$mode $DIMM $((DIMM_MIB << 20))\""
	[[ $mode == chunk ]] && burst
	after "$mode"
}
# every_mode: the worst request of each mode on the dimm as BACKING.
every_mode() {
	if vm legacy ",page-bitmap=on"; then
		worst "legacy: 256 PFNs" 256 \
			"printf \"legacy\"; for (k = 0; k < 256; k++) printf \" %.0f\", $PFN + 2 * k; print \"\""
		after legacy
	else
		for ((i = 1; i < PER_VM; i++)); do not_ok "$LABEL legacy: (not booted)"; done
	fi

	if vm bitmap ",page-bitmap=on"; then
		worst "bitmap: 262144 frames, every other one" 4096 \
			"printf \"bitmap %.0f 262144\", $PFN; for (k = 0; k < 4096; k++) printf \" 0x5555555555555555\"; print \"\"" 1
		after bitmap
	else
		for ((i = 1; i < PER_VM; i++)); do not_ok "$LABEL bitmap: (not booted)"; done
	fi

	many_and_one chunk ",chunk-transfer=on" 4096 chunks
	many_and_one sg ",sg=on" 128 descriptors
}

for BACKING in "${BACKINGS[@]}"; do
	if [[ $BACKING == ram ]]; then
		LABEL=ram
	elif dev_huge_reserve "$BACKING" $(((DIMM_MIB << 10) / BACKING)); then
		LABEL="hugetlb-$((BACKING >> 10))M"
		((BACKING >= 1048576)) && LABEL="hugetlb-$((BACKING >> 20))G"
	else
		for ((i = 0; i < PER_BACKING; i++)); do
			skip "cannot reserve $(((DIMM_MIB << 10) / BACKING)) huge pages of $BACKING KiB"
		done
		continue
	fi
	every_mode
	dev_huge_release
done
done_testing
