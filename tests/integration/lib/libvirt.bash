# shellcheck shell=bash
# Helpers for the libvirt backend tests (tests/integration/5x-libvirt-*.t).
# Each test runs a libvirtd of its own, from scripts/libvirtd-private.sh:
# its configuration, runtime, state, cache, log and socket directories are
# under the test's temp dir, in a mount namespace of its own, and the
# harness reaches it through LV_URI, which names its socket.  /etc/libvirt
# and any system libvirtd are left alone, and lv_finish checks that they
# were.  Where such a daemon cannot run, the test says SKIP with the reason.
#
#   . "$(dirname "$0")/lib/libvirt.bash"
#   lv_require; plan $((N + LV_FINISH_CHECKS))
#   ...; check "no domain left" lv_no_domains
#   lv_finish; done_testing
#
# Builds on lib.sh (plan, ok, not_ok, check, diag, skip_all, T_TMP).

# shellcheck source=tests/integration/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

LV_PRIVATE=$TOP/scripts/libvirtd-private.sh
# The daemon's directory; its socket is $LV_DIR/run/libvirt-sock.
LV_DIR=$T_TMP/lv
T_HELPER_DIRS+=("$LV_DIR")
# qemu:///system?socket=..., set by lv_require.
LV_URI=""
# The daemon's mount namespace, as /proc/PID/ns/mnt names it.
LV_NS=""
# The checks lv_finish adds to the plan.
# shellcheck disable=SC2034 # for the tests' plans
LV_FINISH_CHECKS=6
# What the test must leave as it found it.
LV_ETC_BEFORE=""
LV_DAEMONS_BEFORE=""
LV_MOUNTS_BEFORE=""
LV_DIRS_BEFORE=""

# /etc/libvirt: every byte, name, mode, owner and mtime in it.
lv_etc_state() { tar --sort=name -C /etc -cf - libvirt 2>&1 | sha256sum; }

# libvirt daemons other than ours (a system libvirtd), by pid.
lv_other_daemons() {
	local p
	for p in $(pgrep -x libvirtd; pgrep -x virtqemud); do
		[[ -n $LV_NS &&
			$(readlink "/proc/$p/ns/mnt" 2>/dev/null) == "$LV_NS" ]] ||
			echo "$p"
	done
}

# The names in /run, and the system's libvirt directories with their
# owners and modes (what a system libvirtd or the mount tool would change).
lv_dirs_state() {
	ls -A /run
	find /var/lib/libvirt /var/cache/libvirt /var/log/libvirt -maxdepth 1 \
		-printf '%p %u:%g %m\n' 2>/dev/null | sort
}

# This host's mounts at the directories the daemon replaces, and under
# T_TMP: the daemon's mounts must never show here.
lv_mounts() {
	awk -v t="$T_TMP" '$5 ~ "^(/run|/run/libvirt|/etc/libvirt)$" ||
		$5 ~ "^/var/(lib|cache|log)/libvirt$" ||
		index($5, t) == 1 || index($4, t) == 1 { print $4, $5 }' \
		/proc/self/mountinfo | sort
}

# Every process in the daemon's namespace: pid and name.
lv_ns_procs() {
	local p
	[[ -n $LV_NS ]] || return 0
	for p in /proc/[0-9]*; do
		[[ $(readlink "$p/ns/mnt" 2>/dev/null) == "$LV_NS" ]] &&
			echo "${p#/proc/} $(cat "$p/comm" 2>/dev/null)"
	done
	return 0
}

# Start the test's own libvirtd, or skip the whole test.
lv_require() {
	local err=$T_TMP/lv-start.err
	command -v virsh >/dev/null ||
		skip_all "virsh is not installed (scripts/install-deps.sh)"
	[[ $(id -u) -eq 0 ]] || skip_all "a private libvirtd needs root"
	LV_ETC_BEFORE=$(lv_etc_state)
	LV_DAEMONS_BEFORE=$(lv_other_daemons)
	LV_MOUNTS_BEFORE=$(lv_mounts)
	LV_DIRS_BEFORE=$(lv_dirs_state)
	trap 'lv_cleanup; t_cleanup' EXIT
	if ! LV_URI=$("$LV_PRIVATE" start "$LV_DIR" 2>"$err"); then
		skip_all "no private libvirtd here: $(tail -1 "$err")"
	fi
	LV_NS=$(cat "$LV_DIR/mntns")
}

# Our domains that libvirt knows, running or not.
lv_domains() {
	timeout 10 virsh -q -c "$LV_URI" list --all --name 2>/dev/null |
		grep . || true
}

# QEMUs that the daemon started.
lv_qemus() { lv_ns_procs | grep ' qemu-system' || true; }

# check "no domain left" lv_no_domains
lv_no_domains() {
	local left
	left=$(lv_domains)
	[[ -z $left ]] || { diag "domains left: $left"; return 1; }
}

lv_no_qemus() {
	local left
	left=$(lv_qemus)
	[[ -z $left ]] || { diag "QEMUs left: $left"; return 1; }
}

# A failed test's exit: stop the daemon, its domains and QEMUs.
lv_cleanup() {
	"$LV_PRIVATE" stop "$LV_DIR" >/dev/null 2>&1 || true
}

lv_ns_empty() {
	local left
	left=$(lv_ns_procs)
	[[ -z $left ]] || { diag "left in its namespace: $left"; return 1; }
}

lv_no_mounts() {
	local now
	now=$(lv_mounts)
	[[ $now == "$LV_MOUNTS_BEFORE" ]] ||
		{ diag "mounts before:" "$LV_MOUNTS_BEFORE" "now:" "$now"; return 1; }
}

lv_etc_same() { [[ $(lv_etc_state) == "$LV_ETC_BEFORE" ]]; }

lv_dirs_same() {
	local now
	now=$(lv_dirs_state)
	[[ $now == "$LV_DIRS_BEFORE" ]] ||
		{ diag "$(diff <(echo "$LV_DIRS_BEFORE") <(echo "$now"))"; return 1; }
}

lv_daemons_same() {
	local now
	now=$(lv_other_daemons)
	[[ $now == "$LV_DAEMONS_BEFORE" ]] ||
		{ diag "other libvirt daemons before: [$LV_DAEMONS_BEFORE]" \
			"now: [$now]"; return 1; }
}

# Stop the daemon and check, in LV_FINISH_CHECKS checks, that nothing of it
# is left and that the system's libvirt is as it was.
lv_finish() {
	local err=$T_TMP/lv-stop.err
	"$LV_PRIVATE" stop "$LV_DIR" 2>"$err" || diag "$(cat "$err")"
	check "private libvirtd stopped: no process left in its namespace" \
		lv_ns_empty
	check "no mount of it on this host" lv_no_mounts
	check "its directory is removed" test ! -e "$LV_DIR"
	check "/etc/libvirt byte-identical to before the test" lv_etc_same
	check "/run and the system's libvirt directories as before" lv_dirs_same
	check "no other libvirt daemon started, stopped or restarted" \
		lv_daemons_same
}
