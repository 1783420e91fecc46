#!/bin/bash
# The device discards guest system RAM and nothing else: the machine's RAM
# backend and pc-dimm backends.  Requests crafted with vballoon.ko's inject
# file name, in every mode (legacy on a device that offers a balloonbench
# bit, page-bitmap, chunk, sg), the std-VGA framebuffer in the PCI hole,
# the read-only shadows of the BIOS (0xf0000) and of the VGA BIOS
# (0xc0000), a virtio-pmem device on a shared file and a pc-dimm on a
# shared file: each is dropped and counted (not-ram, or shared for the
# dimm), the framebuffer and shadow pages read the same afterwards and
# both backing files are byte for byte unchanged.  With x-discard-shared=on
# the shared dimm page is discarded (its file gets a hole) while the
# others are still refused.
. "$(dirname "$0")/lib/device.bash"
dev_require
dev_require_patched
dev_require_vballoon

MEM=1024          # guest RAM, MiB
PMEM_MIB=4        # virtio-pmem size
DIMM_MIB=128      # pc-dimm size
BIOS=0xf0000      # read-only shadow of the system BIOS (PAM)
VGABIOS=0xc0000   # read-only shadow of the VGA BIOS
MARK=0x5a5aa5a5   # written into the framebuffer by the guest
R=".inflate.rejected"

# name | device properties | vballoon mode= | stage-stats mode
MODES=(
	"legacy|,page-bitmap=on|legacy|legacy"
	"bitmap|,page-bitmap=on|bitmap|page-bitmap"
	"chunk|,chunk-transfer=on|chunk|chunk-transfer"
	"sg|,sg=on|sg|sg"
	"chunk, x-discard-shared=on|,chunk-transfer=on,x-discard-shared=on|chunk|chunk-transfer"
)
# boot, mode, 5 single-page cases, a straddling range (not legacy), files
# and pages (3), real inflate, QEMU log
PER_VM=13
plan $((${#MODES[@]} * PER_VM - 1))

ZERO_SUM=$(head -c 4096 /dev/zero | sha256sum | cut -d' ' -f1)

sum() { sha256sum <"$1" | cut -d' ' -f1; }

# page_sum ADDR: sha256 of one guest-physical page, as the guest sees it.
page_sum() {
	local f=$DEV_DIR/page.bin
	rm -f "$f"
	dev_qmp_ok pmemsave "{\"val\":$(($1)),\"size\":4096,\"filename\":\"$f\"}" &&
		sum "$f"
}

# inject_line KIND ADDR LEN: a request for [ADDR, ADDR + LEN) in KIND's format.
inject_line() {
	local kind=$1 addr=$(($2)) len=$(($3)) pfn
	pfn=$((addr >> 12))
	case $kind in
	legacy) printf 'legacy 0x%x' "$pfn" ;;
	# One record: the pages are in one aligned block of 64 here.
	bitmap) printf 'bitmap 0x%x 64 0x%x' $((pfn & ~63)) \
		$((((1 << (len >> 12)) - 1) << (pfn & 63))) ;;
	*) printf '%s 0x%x 0x%x' "$kind" "$addr" "$len" ;;
	esac
}

# inject_case NAME KIND ADDR LEN EXPECT: EXPECT is "reason" (that counter
# rises by one, no other, no page accepted) or "discard" (one page
# accepted and discarded, nothing rejected).
inject_case() {
	local name=$1 line before after d bad=""
	line=$(inject_line "$2" "$3" "$4")
	dev_snap
	before=$DEV_LAST_STATS
	if ! dev_inject "$line" >/dev/null 2>&1; then
		not_ok "$name ($line): guest could not inject"
		return
	fi
	dev_snap
	after=$DEV_LAST_STATS
	# A counter this QEMU lacks counts as 0.
	delta() { echo $(($(jq "($1) // 0" <<<"$after") - $(jq "($1) // 0" <<<"$before"))); }
	if [[ $5 == discard ]]; then
		[[ $(delta ".inflate.pages") == 1 ]] || bad+=" pages+$(delta .inflate.pages)"
		[[ $(delta ".inflate.ranges") == 1 ]] || bad+=" ranges+$(delta .inflate.ranges)"
		d=$(delta "[${R}[]] | add")
		[[ $d == 0 ]] || bad+=" rejected+$d"
	else
		d=$(delta "${R}[\"$5\"]")
		[[ $d == 1 ]] || bad+=" $5+$d"
		d=$(delta "[${R}[]] | add")
		[[ $d == 1 ]] || bad+=" total+$d"
		d=$(delta ".inflate.pages + .inflate.ranges")
		[[ $d == 0 ]] || bad+=" pages+ranges+$d"
	fi
	if [[ -z $bad ]]; then
		ok "$name ($line): $5"
	else
		not_ok "$name ($line): $5"
		diag "counters moved:$bad"
	fi
}

run_mode() {
	local name=$1 props=$2 param=$3 want=$4 dir vga pmem dimm shared=shared
	local pmem_sum dimm_sum bios_sum vgabios_sum vga_sum n=$PER_VM i
	[[ $param == legacy ]] && n=$((PER_VM - 1))
	[[ $props == *x-discard-shared=on* ]] && shared=discard
	dir=$T_TMP/files-$param-$RANDOM
	mkdir -p "$dir"
	head -c $((PMEM_MIB << 20)) /dev/urandom >"$dir/pmem.img"
	head -c $((DIMM_MIB << 20)) /dev/urandom >"$dir/dimm.img"
	pmem_sum=$(sum "$dir/pmem.img")
	dimm_sum=$(sum "$dir/dimm.img")
	if ! DEV_QEMU_ARGS="$DEV_QEMU_ARGS -device VGA,id=vga0
		-m $MEM,slots=2,maxmem=$((MEM + 1024))M
		-object memory-backend-file,id=pm0,share=on,mem-path=$dir/pmem.img,size=${PMEM_MIB}M
		-device virtio-pmem-pci,memdev=pm0,id=pmem0
		-object memory-backend-file,id=dm0,share=on,mem-path=$dir/dimm.img,size=${DIMM_MIB}M
		-device pc-dimm,memdev=dm0,id=dimm0" \
		dev_boot "$MEM" "$props" \
		"bb.driver=vballoon bb.modparams=mode=$param,allow_inject=1 memhp_default_state=offline"; then
		not_ok "$name: boot with VGA, virtio-pmem and a pc-dimm on shared files"
		for ((i = 1; i < n; i++)); do not_ok "$name: (not booted)"; done
		dev_stop
		return
	fi
	ok "$name: boot with VGA, virtio-pmem and a pc-dimm on shared files"
	dev_snap
	is "$(dev_stat .mode)" "$want" "$name: stage-stats mode is $want"

	vga=$(dev_qmp query-pci | jq -r '.[0].devices[] | select(.qdev_id == "vga0") |
		.regions[] | select(.bar == 0) | .address')
	pmem=$(dev_qmp query-memory-devices | jq -r '.[] | select(.type == "virtio-pmem") | .data.memaddr')
	dimm=$(dev_qmp query-memory-devices | jq -r '.[] | select(.type == "dimm") | .data.addr')
	dev_guest "devmem $vga 32 $MARK" >/dev/null
	vga_sum=$(page_sum "$vga")
	bios_sum=$(page_sum $BIOS)
	vgabios_sum=$(page_sum $VGABIOS)

	inject_case "$name: VGA framebuffer" "$param" "$vga" 0x1000 not-ram
	inject_case "$name: BIOS shadow" "$param" $BIOS 0x1000 not-ram
	inject_case "$name: VGA BIOS shadow" "$param" $VGABIOS 0x1000 not-ram
	inject_case "$name: virtio-pmem" "$param" "$pmem" 0x1000 not-ram
	inject_case "$name: pc-dimm on a shared file" "$param" "$dimm" 0x1000 "$shared"
	if [[ $param != legacy ]]; then
		# Writable RAM running into the BIOS shadow: dropped whole.
		inject_case "$name: RAM into the BIOS shadow" "$param" 0xe8000 0x9000 not-ram
	fi

	is "$(sum "$dir/pmem.img")" "$pmem_sum" "$name: virtio-pmem file unchanged"
	if [[ $shared == discard ]]; then
		isnt_sum() { [[ $(sum "$dir/dimm.img") != "$dimm_sum" ]]; }
		check "$name: the shared pc-dimm's file got its hole" isnt_sum
	else
		is "$(sum "$dir/dimm.img")" "$dimm_sum" "$name: shared pc-dimm file unchanged"
	fi
	shadows_ok() {
		[[ $bios_sum != "$ZERO_SUM" && $vgabios_sum != "$ZERO_SUM" &&
			$vga_sum != "$ZERO_SUM" &&
			$(page_sum $BIOS) == "$bios_sum" &&
			$(page_sum $VGABIOS) == "$vgabios_sum" &&
			$(page_sum "$vga") == "$vga_sum" ]]
	}
	check "$name: framebuffer and shadow pages read as before (not zero)" shadows_ok
	is "$(dev_balloon_to $((MEM - 128)))" $(((MEM - 128) << 20)) \
		"$name: the queue still serves: real inflate exact"
	dev_stop
	check "$name: QEMU wrote no warning or error" test ! -s "$DEV_DIR/qemu.log"
	rm -rf "$dir"
}

for m in "${MODES[@]}"; do
	IFS='|' read -r name props param want <<<"$m"
	run_mode "$name" "$props" "$param" "$want"
done
done_testing
