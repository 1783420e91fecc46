#!/bin/bash
# Every transfer mode end to end with vballoon.ko: the device offers the
# bit its property turns on, the guest acknowledges it, inflate and deflate
# are exact in query-balloon and BALLOON_CHANGE, stage-stats counts every
# page once, nothing is rejected, and range modes discard whole runs.
. "$(dirname "$0")/lib/device.bash"
dev_require
dev_require_patched
dev_require_vballoon

MEM=1024    # guest RAM, MiB
TARGET=640  # balloon target, MiB
PAGES=$(((MEM - TARGET) * 256))
# auto-balloon-min: all of RAM, so that host pressure never moves this balloon
# free-page-bitmap needs an iothread (host-device patch 0009).
ALL=",page-bitmap=on,chunk-transfer=on,sg=on,auto-balloon=on,auto-balloon-min=${MEM}M,free-page-bitmap=on,iothread=bbio0"
DEV_QEMU_ARGS+=" -object iothread,id=bbio0"

# name  device properties  vballoon mode=  stage-stats mode  offered bits
MODES=(
	"legacy|||legacy|0"
	"bitmap|,page-bitmap=on|bitmap|page-bitmap|$((1 << 16))"
	"chunk|,chunk-transfer=on|chunk|chunk-transfer|$((1 << 17))"
	"sg|,sg=on|sg|sg|$((1 << 18))"
	"auto, all offered|$ALL|auto|sg|$((0x1f << 16))"
)
PER_MODE=13
plan $((${#MODES[@]} * PER_MODE))

run_mode() {
	local name=$1 props=$2 param=$3 want=$4 bits=$5 extra="" actual
	[[ -n $param ]] && extra=",mode=$param"
	if ! dev_boot "$MEM" "$props" "bb.driver=vballoon bb.modparams=max_order=9$extra"; then
		not_ok "$name: boot"
		for ((i = 1; i < PER_MODE; i++)); do not_ok "$name: (not booted)"; done
		dev_stop
		return
	fi
	ok "$name: boot"
	dev_snap
	is "$(dev_stat .mode)" "$want" "$name: stage-stats mode is $want"
	is "$(dev_offered_bb_bits)" "$bits" "$name: offered balloonbench bits"

	dev_events_start
	actual=$(dev_balloon_to "$TARGET") || true
	is "$actual" $((TARGET << 20)) "$name: inflate, query-balloon exact"
	sleep 1
	is "$(dev_last_balloon_change)" $((TARGET << 20)) "$name: BALLOON_CHANGE exact"
	dev_snap
	is "$(dev_stat .inflate.pages)" "$PAGES" "$name: every inflated page counted once"
	is "$(dev_rejected inflate)" 0 "$name: nothing rejected on inflate"
	if [[ $want == legacy ]]; then
		is "$(dev_stat .inflate.ranges)" "$PAGES" "$name: one discard per page"
	else
		cmp_ok "$(dev_stat '.inflate.ranges * 64')" -le "$PAGES" \
			"$name: discards of whole runs (>= 64 pages each on average)"
	fi
	cmp_ok "$(dev_stat '.inflate["handle-ns"]')" -ge \
		"$(dev_stat '.inflate["translate-ns"] + .inflate["discard-ns"]')" \
		"$name: handler time covers translate and discard"
	is "$(dev_guest "grep -o '\"inflate_pages\":[0-9]*' /sys/kernel/debug/vballoon/stats")" \
		"\"inflate_pages\":$PAGES" "$name: guest driver agrees on pages"

	actual=$(dev_balloon_to "$MEM") || true
	is "$actual" $((MEM << 20)) "$name: deflate, query-balloon exact"
	dev_snap
	is "$(dev_stat .deflate.pages)" "$PAGES" "$name: every deflated page counted once"
	is "$(dev_rejected deflate)" 0 "$name: nothing rejected on deflate"
	dev_stop
}

for m in "${MODES[@]}"; do
	IFS='|' read -r name props param want bits <<<"$m"
	run_mode "$name" "$props" "$param" "$want" "$bits"
done
done_testing
