# shellcheck shell=bash
# Helpers for the libvirt backend tests (tests/integration/5x-libvirt-*.t):
# a local libvirtd from scripts/libvirtd-up.sh (or SKIP with the reason),
# and what a run may leave behind there: domains bb-*, their QEMUs.
#
#   . "$(dirname "$0")/lib/libvirt.bash"
#   lv_require; ...; check "no domain left" lv_no_domains
#
# Builds on lib.sh (plan, ok, not_ok, check, diag, skip_all, T_TMP).

# shellcheck source=tests/integration/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

LV_URI=qemu:///system
# Domains and QEMUs of bb- domains that existed before this test (another
# run's): never counted as ours, never touched.
LV_BEFORE_DOMS=""
LV_BEFORE_QEMUS=""

# Our domains that libvirt knows, running or not.
lv_domains() {
	timeout 10 virsh -q -c "$LV_URI" list --all --name 2>/dev/null |
		grep '^bb-' | sort || true
}

# QEMUs that libvirt started for bb- domains.
lv_qemus() { pgrep -f -- '^[^ ]*qemu-system-x86_64 -name guest=bb-' | sort || true; }

# Start (or find) the local libvirtd, or skip the whole test.
lv_require() {
	local out
	command -v virsh >/dev/null ||
		skip_all "virsh is not installed (scripts/install-deps.sh)"
	[[ $(id -u) -eq 0 ]] || skip_all "scripts/libvirtd-up.sh needs root"
	if ! out=$("$TOP/scripts/libvirtd-up.sh" 2>&1); then
		skip_all "libvirtd cannot run here: $(tail -1 <<<"$out")"
	fi
	LV_BEFORE_DOMS=$(lv_domains)
	LV_BEFORE_QEMUS=$(lv_qemus)
	trap 'lv_cleanup; t_cleanup' EXIT
}

lv_new() { comm -13 <(printf '%s\n' "$1" | grep . || true) <(printf '%s\n' "$2" | grep . || true); }

# check "no domain left" lv_no_domains
lv_no_domains() {
	local left
	left=$(lv_new "$LV_BEFORE_DOMS" "$(lv_domains)")
	[[ -z $left ]] || { diag "domains left: $left"; return 1; }
}

lv_no_qemus() {
	local left
	left=$(lv_new "$LV_BEFORE_QEMUS" "$(lv_qemus)")
	[[ -z $left ]] || { diag "QEMUs left: $left"; return 1; }
}

# Whatever a failed test left: destroy our domains only.
lv_cleanup() {
	local d
	for d in $(lv_new "$LV_BEFORE_DOMS" "$(lv_domains)"); do
		timeout 30 virsh -q -c "$LV_URI" destroy "$d" >/dev/null 2>&1 || true
	done
}
