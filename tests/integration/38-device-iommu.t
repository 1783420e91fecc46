#!/bin/bash
# The range modes (page-bitmap, chunk-transfer, sg) and free page bitmaps
# (free-page-bitmap, with its iothread) take guest-physical addresses from
# the guest and act on them without going through the device's DMA
# address space, so an IOMMU in front of the device would not
# confine them: QEMU refuses each of them together with iommu_platform=on,
# naming the property.  Each one alone, and iommu_platform=on alone, still
# start.  No guest boots: QEMU is started paused and told to quit.
. "$(dirname "$0")/lib/device.bash"
dev_require
dev_require_patched

PROPS=(page-bitmap chunk-transfer sg free-page-bitmap)
# free-page-bitmap needs an iothread; every QEMU started here has one.
IOT="-object iothread,id=bbio0"
declare -A EXTRA=([free-page-bitmap]=",iothread=bbio0")
plan $((2 * ${#PROPS[@]} + 1))

# start DEVICE_PROPS: start QEMU paused with the balloon and quit over QMP;
# prints QEMU's messages, returns its exit status.
start() {
	local log=$T_TMP/start.log rc=0
	# shellcheck disable=SC2086
	printf '%s\n' '{"execute":"qmp_capabilities"}' '{"execute":"quit"}' |
		timeout 60 "$DEV_QEMU" $DEV_QEMU_ARGS $IOT -machine pc -accel tcg \
			-nodefaults -no-user-config -display none -S -qmp stdio \
			-device "virtio-balloon-pci,id=balloon0,disable-legacy=on$1" \
			>"$log" 2>&1 || rc=$?
	grep -v '^{' "$log" || true
	return "$rc"
}

# starts DEVICE_PROPS: QEMU starts and quits cleanly.
starts() { start "$1" >/dev/null; }

# refused PROP: QEMU fails and says why.
refused() {
	local out rc=0
	out=$(start ",$1=on${EXTRA[$1]:-},iommu_platform=on") || rc=$?
	[[ $rc != 0 && $rc != 124 && $out == *"'$1' cannot be used with 'iommu_platform'"* ]] && return 0
	diag "exit status $rc: $out"
	return 1
}

check "iommu_platform=on alone starts" starts ",iommu_platform=on"
for p in "${PROPS[@]}"; do
	check "$p=on alone starts" starts ",$p=on${EXTRA[$p]:-}"
	check "$p=on with iommu_platform=on is refused" refused "$p"
done
done_testing
