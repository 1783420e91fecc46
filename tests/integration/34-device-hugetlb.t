#!/bin/bash
# Guest RAM backed by hugetlbfs (2 MiB host pages), as large hosts run it.
# The device discards every host huge page that an inflated range covers
# whole, so the host's free huge page pool grows by most of the inflated
# size; nothing is rejected, targets stay exact, deflate gives the memory
# back and the guest can use it again.  Single pages (chunk, order 0) and
# 2 MiB blocks (sg, order 9) are both run.  The test reserves the pages it
# needs and leaves nr_hugepages and the mounts as it found them.
. "$(dirname "$0")/lib/driver.bash"
drv_require patched

MEM=1024      # guest RAM, MiB
TARGET=324    # balloon target, MiB
TOUCH=700000000
PER_VM=7
RUNS=("chunk|,chunk-transfer=on|0" "sg|,sg=on|9")

[[ $(awk '/^Hugepagesize:/ { print $2 }' /proc/meminfo) == 2048 ]] ||
	skip_all "the host's default huge page size is not 2 MiB"
[[ -w /proc/sys/vm/nr_hugepages ]] || skip_all "cannot reserve huge pages (not root)"

huge_free() { awk '/^HugePages_Free:/ { print $2 }' /proc/meminfo; }

trap 'dev_huge_release; t_cleanup' EXIT
# The guest's RAM plus a margin, on top of what others hold.
dev_huge_reserve 2048 $((MEM / 2 + 16)) ||
	skip_all "cannot reserve $((MEM / 2 + 16)) free 2 MiB pages and mount hugetlbfs"

plan $((${#RUNS[@]} * PER_VM))

run() {
	local mode=$1 props=$2 order=$3 free0 free1 freed
	if ! DEV_QEMU_ARGS="$DEV_QEMU_ARGS -mem-path $HUGE_DIR" \
		dev_boot "$MEM" "$props" "bb.driver=none"; then
		not_ok "$mode: boot on hugetlbfs"
		drv_fail_rest $((PER_VM - 1)) "$mode"
		dev_stop
		return
	fi
	ok "$mode: boot on hugetlbfs"
	# Back most of the guest with host huge pages first.
	dev_guest "bbload touch $TOUCH >/dev/null &&
		modprobe vballoon mode=$mode max_order=$order" >/dev/null
	free0=$(huge_free)
	is "$(dev_balloon_to "$TARGET")" $((TARGET << 20)) "$mode: inflate exact"
	free1=$(huge_free)
	dev_snap
	is "$(dev_rejected inflate)" 0 "$mode: device rejected nothing"
	freed=$(((free1 - free0) * 2))
	diag "$mode order $order: host huge pages free $free0 -> $free1 ($freed MiB of $((MEM - TARGET)) MiB inflated)"
	cmp_ok "$freed" -ge $(((MEM - TARGET) / 2)) \
		"$mode: the host got at least half the inflated size back as whole huge pages"
	is "$(dev_balloon_to "$MEM")" $((MEM << 20)) "$mode: deflate exact"
	check "$mode: the guest uses the memory again" \
		dev_guest "bbload touch $TOUCH >/dev/null"
	drv_check_clean "$mode"
	dev_stop
}

for r in "${RUNS[@]}"; do
	IFS='|' read -r m p o <<<"$r"
	run "$m" "$p" "$o"
done
done_testing
