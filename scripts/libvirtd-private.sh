#!/bin/bash
# A libvirtd of our own that leaves the machine's alone: /etc/libvirt, a
# system libvirtd and its directories are never touched.  The integration
# tests run one each; a user may too, instead of scripts/libvirtd-up.sh.
#
#   scripts/libvirtd-private.sh start DIR   prints the URI to connect to,
#       qemu:///system?socket=DIR/run/libvirt-sock
#   scripts/libvirtd-private.sh stop DIR    its domains, its QEMUs, DIR: gone
#
# How: libvirtd runs as root (QEMU as root, see scripts/libvirt-qemu.conf;
# no hugetlbfs, see write_config)
# in a mount namespace of its own, made by `unshare --mount --propagation
# private`, where DIR/etc is mounted over /etc/libvirt, DIR/lib over
# /var/lib/libvirt, DIR/cache over /var/cache/libvirt, DIR/log over
# /var/log/libvirt, and a fresh tmpfs over /run with DIR/run at
# /run/libvirt.  libvirtd's paths are compiled in; a mount namespace is
# the one way to give it others.  The mounts are private: the rest of the
# machine never sees them, and they go with the namespace when its last
# process (the daemon, its QEMUs) exits.  The empty /run also hides D-Bus:
# the daemon registers nothing with systemd-machined, firewalld or polkit.
# Everything else (the source tree, /tmp, /proc) is shared, so the harness
# runs outside and connects through the socket in DIR.
#
# Exit 0 when done; 1 with the reason on stderr; 2 on a usage error.
set -euo pipefail

SELF=$(readlink -f "$0")
# The first line of the libvirtd.conf it writes: stop removes only such DIRs.
MARK="# Written by balloonbench scripts/libvirtd-private.sh."
SETTINGS=$(dirname "$SELF")/libvirt-qemu.conf
# Our directory under DIR : the system's directory it replaces.
MOUNTS=(etc:/etc/libvirt lib:/var/lib/libvirt cache:/var/cache/libvirt
	log:/var/log/libvirt)
# The longest unix socket path (sun_path, less its NUL).
SOCK_MAX=107
# How long the daemon may take to answer once started, in tenths of a second.
START_WAIT_TENTHS=150
# How long it, and then what it left, may take to exit, in tenths of a second.
STOP_WAIT_TENTHS=100
# The only processes stop kills in the namespace: the daemon and its QEMUs.
OURS='^(libvirtd|qemu-system-.*)$'

log() { printf 'libvirtd-private: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }
usage() {
	log "usage: $0 start|stop DIR"
	exit 2
}

sock_of() { printf '%s/run/libvirt-sock\n' "$1"; }
uri_of() { printf 'qemu:///system?socket=%s\n' "$(sock_of "$1")"; }

# Does the daemon in DIR answer, within a few seconds (never hang)?
answers() { timeout 5 virsh -q -c "$(uri_of "$1")" version >/dev/null 2>&1; }

# The pid of the daemon in DIR, if it runs.
daemon_pid() {
	local pid
	pid=$(cat "$1/libvirtd.pid" 2>/dev/null) || return 1
	[[ $pid =~ ^[0-9]+$ && $(cat "/proc/$pid/comm" 2>/dev/null) == libvirtd ]] ||
		return 1
	echo "$pid"
}

# Processes of ours in mount namespace $1 (as /proc/PID/ns/mnt reads).
ns_pids() {
	local p
	# the host's namespace holds other QEMUs: never ours to end
	[[ $1 != "$(readlink /proc/self/ns/mnt)" ]] || return 0
	for p in /proc/[0-9]*; do
		[[ $(readlink "$p/ns/mnt" 2>/dev/null) == "$1" ]] || continue
		[[ $(cat "$p/comm" 2>/dev/null) =~ $OURS ]] && echo "${p#/proc/}"
	done
	return 0
}

# Run by unshare, in the new namespace: our directories over the system's,
# then the daemon, which forks into the background once it is set up.
in_namespace() {
	local dir=$1 m
	# -n: no utab, which libmount keeps in the host's /run/mount
	mount -n -t tmpfs -o mode=0755 balloonbench-run /run
	mkdir /run/libvirt
	mount -n --bind "$dir/run" /run/libvirt
	for m in "${MOUNTS[@]}"; do
		mount -n --bind "$dir/${m%%:*}" "${m#*:}"
	done
	exec libvirtd -d -f /etc/libvirt/libvirtd.conf -p "$dir/libvirtd.pid"
}

# Root's socket without polkit, the log in DIR/log, no TCP; qemu.conf as
# scripts/libvirt-qemu.conf has it.
write_config() {
	cat >"$1/etc/libvirtd.conf" <<-EOF
	$MARK
	unix_sock_group = "root"
	unix_sock_ro_perms = "0700"
	unix_sock_rw_perms = "0700"
	auth_unix_rw = "none"
	auth_unix_ro = "none"
	log_outputs = "3:file:/var/log/libvirt/libvirtd.log"
	EOF
	cp "$SETTINGS" "$1/etc/qemu.conf"
	# No hugetlbfs: libvirt would make libvirt/qemu in every one this host
	# has mounted (the daemon sees the host's mounts), and the backend's
	# domains use none.
	echo 'hugetlbfs_mount = [ ]' >>"$1/etc/qemu.conf"
}

# What start needs, or the reason it cannot run here.
check_start() {
	local dir=$1 m
	[[ $(id -u) -eq 0 ]] || die "must run as root (a system libvirtd, mounts)"
	for m in libvirtd virsh unshare mount; do
		command -v "$m" >/dev/null || die "no $m (scripts/install-deps.sh)"
	done
	[[ -r $SETTINGS ]] || die "cannot read $SETTINGS"
	for m in "${MOUNTS[@]}"; do
		[[ -d ${m#*:} ]] ||
			die "${m#*:} does not exist: nothing to mount $dir/${m%%:*} over"
	done
	[[ $dir == /* ]] || die "$dir: not an absolute path"
	for m in /run "${MOUNTS[@]#*:}"; do
		[[ $dir/ != "$m"/* ]] || die "$dir: hidden from the daemon under $m"
	done
	m=$(sock_of "$dir")
	((${#m} <= SOCK_MAX)) || die "$m: too long for a unix socket path"
	if [[ -e $dir && -n $(ls -A "$dir") ]]; then
		die "$dir exists and is not empty"
	fi
}

# Is DIR one that start set up (so that stop may remove what is in it)?
ours() { head -1 "$1/etc/libvirtd.conf" 2>/dev/null | grep -qF "$MARK"; }

# Remove what start created in DIR, and DIR if that leaves it empty.
remove_dir() {
	local dir=${1:?}
	rm -rf -- "${dir:?}/etc" "${dir:?}/run" "${dir:?}/lib" "${dir:?}/cache" \
		"${dir:?}/log" "$dir/mntns" "$dir/start.log" "$dir/libvirtd.pid"
	rmdir -- "$dir" 2>/dev/null || log "$dir: other files in it; left there"
}

start() {
	local dir=$1 pid="" ns i
	check_start "$dir"
	mkdir -p -- "$dir"
	mkdir "$dir/etc" "$dir/run" "$dir/lib" "$dir/cache" "$dir/log"
	write_config "$dir"
	if ! unshare --mount --propagation private -- "$SELF" _ns "$dir" \
		</dev/null >"$dir/start.log" 2>&1; then
		log "$(tail -3 "$dir/start.log")"
		tail -3 "$dir/log/libvirtd.log" 2>/dev/null >&2 || true
		stop "$dir"
		die "libvirtd cannot start in a mount namespace of its own"
	fi
	for ((i = 0; i < START_WAIT_TENTHS; i++)); do
		[[ -n $pid ]] || pid=$(daemon_pid "$dir") || pid=""
		[[ -n $pid ]] && answers "$dir" && break
		sleep 0.1
	done
	if [[ -n $pid ]]; then
		ns=$(readlink "/proc/$pid/ns/mnt")
		# never the host's: stop ends every QEMU in the recorded one
		[[ $ns == "$(readlink /proc/self/ns/mnt)" ]] || echo "$ns" >"$dir/mntns"
		if [[ ! -e $dir/mntns ]]; then
			stop "$dir"
			die "libvirtd (pid $pid) ran in the host's mount namespace"
		fi
	fi
	if ((i == START_WAIT_TENTHS)); then
		log "last lines of $dir/log/libvirtd.log:"
		tail -5 "$dir/log/libvirtd.log" >&2 || true
		stop "$dir"
		die "libvirtd started but $(uri_of "$dir") does not answer"
	fi
	uri_of "$dir"
}

# Destroy the daemon's domains, so that their QEMUs exit cleanly.
destroy_domains() {
	local uri d
	uri=$(uri_of "$1")
	for d in $(timeout 10 virsh -q -c "$uri" list --name 2>/dev/null); do
		timeout 30 virsh -q -c "$uri" destroy "$d" >/dev/null 2>&1 ||
			log "cannot destroy domain $d"
	done
}

# SIGTERM each pid, wait, SIGKILL what is left, wait; 0 once none is left.
end_pids() {
	local i p left
	for ((i = 0; i < 2 * STOP_WAIT_TENTHS; i++)); do
		left=""
		for p in "$@"; do
			[[ -d /proc/$p ]] && left+=" $p"
		done
		[[ -z $left ]] && return 0
		for p in $left; do
			if ((i == 0)); then
				kill -TERM "$p" 2>/dev/null || true
			elif ((i == STOP_WAIT_TENTHS)); then
				kill -KILL "$p" 2>/dev/null || true
			fi
		done
		sleep 0.1
	done
	log "still running:$left"
	return 1
}

stop() {
	local dir=$1 ns="" pid rc=0
	[[ -d $dir ]] || return 0
	ours "$dir" || die "$dir: not set up by $0 start; not touching it"
	[[ -r $dir/mntns ]] && ns=$(cat "$dir/mntns")
	if pid=$(daemon_pid "$dir"); then
		destroy_domains "$dir"
		end_pids "$pid" || rc=1
	fi
	# QEMUs outlive a daemon that was killed; the namespace lives with them.
	if [[ -n $ns ]]; then
		# shellcheck disable=SC2046 # one pid per word
		end_pids $(ns_pids "$ns") || rc=1
	fi
	((rc == 0)) || die "processes of $dir are left; $dir is kept"
	remove_dir "$dir"
}

(($# == 2)) || usage
case $1 in
start) start "$(readlink -m -- "$2")" ;;
stop) stop "$(readlink -m -- "$2")" ;;
_ns) in_namespace "$2" ;;
*) usage ;;
esac
