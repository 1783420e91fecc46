#!/bin/bash
# Across hosts, as far as one machine can show it: a fleet of 2 spread
# round-robin over the test's own libvirtd reached directly and the same
# daemon reached through qemu+ssh:// and the test's own sshd on 127.0.0.1.
# Both "hosts" get a VM, both guests answer (the second one's monitor and
# agent cross ssh), and the report marks which VM is remote.
#
# On Debian 12 (libvirt 9.0), a qemu+ssh:// URI with socket= has ssh run
# `nc -U SOCKET` on the remote side (netcat-openbsd); without socket= it
# runs virt-ssh-helper, which connects to the default socket.
. "$(dirname "$0")/lib/libvirt.bash"
. "$(dirname "$0")/lib/sshd.bash"
lv_require
sshd_require
sshd_start
plan $((10 + LV_FINISH_CHECKS + SSHD_FINISH_CHECKS))

local_uri=$LV_URI
remote_uri="qemu+ssh://root@127.0.0.1:$SSHD_PORT/system"
remote_uri+="?socket=${LV_URI#*socket=}"
remote_uri+="&keyfile=$SSHD_KEY&no_tty=1&command=$SSHD_SSH"

rc=0
timeout 60 virsh -q -c "$remote_uri" version >"$T_TMP/virsh.out" 2>&1 || rc=$?
check "virsh reaches the daemon through ssh" test "$rc" -eq 0
[[ $rc -eq 0 ]] ||
	diag "$(cat "$T_TMP/virsh.out")" "$(tail -5 "$SSHD_DIR/sshd.log")"

out=$T_TMP/boot.out
rc=0
"$BB" -v boot --backend libvirt --vms 2 --memory 256M --accel tcg \
	--connect "$local_uri,$remote_uri" \
	--output_dir "$T_TMP/res" >"$out" 2>"$out.err" || rc=$?
check "boot 2 VMs over a local and an ssh URI exits 0" test "$rc" -eq 0
[[ $rc -eq 0 ]] || diag "$(grep -v '^ ' "$out.err" | tail -20)"

# Each VM's domain on its URI, as the harness logged it.
placed() {
	grep "vm0$1: domain bb-[0-9]*-[A-Za-z0-9]*-vm0$1 on " "$out.err" |
		grep -qF " on $2:"
}
both_placed() { placed 0 "$local_uri" && placed 1 "$remote_uri"; }
check "vm00 went to the local URI, vm01 through ssh" both_placed
logins() { grep -c "Accepted publickey for root from 127.0.0.1" \
	"$SSHD_DIR/sshd.log" 2>/dev/null || true; }
# at least the one virsh login above and the harness's
check "the harness logged in through our sshd" test "$(logins)" -ge 2

report=$(find "$T_TMP/res" -name report.json | head -1)
j() {
	jq -e --arg l "$local_uri" --arg r "$remote_uri" "$1" \
		"${report:-/dev/null}" >/dev/null 2>&1
}
# $l and $r are jq's variables, not the shell's.
# shellcheck disable=SC2016
check "the report names each VM's URI" \
	j '[.rows[0].runs[] | .uri] == [$l, $r]'
check "and marks vm01, and only vm01, as remote" \
	j '[.rows[0].runs[] | [.vm, .remote]] == [["vm00", false], ["vm01", true]]'
check "both guests answered: MemTotal from each" \
	j '[.rows[0].runs[] | .memtotal_bytes > 0] == [true, true]'
# RSS is read from /proc: measured for the local VM only, as documented.
check "host RSS measured for the local VM, 0 for the remote one" \
	j '[.rows[0].runs[] | .rss_bytes > 0] == [true, false]'
shows() { "$BB" show "${report:-/dev/null}" >"$T_TMP/show.out" 2>&1; }
check "show reads the report back" shows
all_clean() { lv_no_domains && lv_no_qemus && nothing_left; }
check "no domain, QEMU or file left" all_clean
sshd_finish
lv_finish
done_testing
