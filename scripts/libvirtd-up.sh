#!/bin/bash
# Prepare and start a local libvirtd for the libvirt backend on a machine
# without systemd (containers, CI runners): the accounts and directories the
# Debian packages would have set up, a qemu.conf section that runs QEMU as
# root without virtlogd or a security driver, and the daemon itself.
#
# Idempotent: says what it changes, does nothing when all is in place, and
# exits 0 once qemu:///system answers.  Exit 1 with the reason otherwise.
#
# Debian 12 (libvirt 9.0) ships the monolithic libvirtd; the split daemons
# (virtqemud...) are used instead where this libvirt has them and no
# libvirtd.
set -euo pipefail

URI=qemu:///system
QEMU_CONF=/etc/libvirt/qemu.conf
# What goes into its balloonbench section.
QEMU_SETTINGS=$(dirname "$0")/libvirt-qemu.conf
# Our own daemon configuration, so /etc/libvirt/libvirtd.conf stays as the
# package left it.
DAEMON_CONF=/etc/libvirt/balloonbench-libvirtd.conf
DAEMON_LOG=/var/log/libvirt/libvirtd.log
PIDFILE=/run/libvirtd.pid
BEGIN="# balloonbench: begin (written by libvirtd-up.sh)"
END="# balloonbench: end"
# How long the daemon may take to answer once started, in tenths of a second.
START_WAIT_TENTHS=150

log() { printf 'libvirtd-up: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

changed=0
note() { log "$*"; changed=1; }

[[ $(id -u) -eq 0 ]] || die "must run as root (it edits $QEMU_CONF and starts the daemon)"
[[ -r $QEMU_SETTINGS ]] || die "cannot read $QEMU_SETTINGS"

daemon=$(command -v libvirtd || command -v virtqemud || true)
[[ -n $daemon ]] || die "no libvirtd or virtqemud (run scripts/install-deps.sh)"
command -v virsh >/dev/null || die "no virsh (run scripts/install-deps.sh)"

# Does the daemon answer, within a few seconds (never hang)?
answers() { timeout 5 virsh -q -c "$URI" version >/dev/null 2>&1; }

ensure_group() {
	getent group "$1" >/dev/null && return 0
	groupadd --system "$1"
	note "created group $1"
}

ensure_user() {
	getent passwd "$1" >/dev/null && return 0
	useradd --system --no-create-home --home-dir /var/lib/libvirt \
		--shell /usr/sbin/nologin --gid "$2" "$1"
	note "created user $1"
}

ensure_dir() {
	[[ -d $1 ]] && return 0
	mkdir -p "$1"
	note "created $1"
}

# The qemu.conf section: the settings of scripts/libvirt-qemu.conf (which
# says why each is there) between our markers, without its comments.
qemu_section() {
	printf '%s\n' "$BEGIN"
	grep -v -e '^#' -e '^$' "$QEMU_SETTINGS"
	printf '%s\n' "$END"
}

# Replace (or add) our section of qemu.conf; 0 when it changed.
update_qemu_conf() {
	local want cur
	want=$(qemu_section)
	cur=$(sed -n "/^$BEGIN\$/,/^$END\$/p" "$QEMU_CONF")
	[[ $cur == "$want" ]] && return 1
	if [[ ! -e $QEMU_CONF.balloonbench-orig ]]; then
		cp -p "$QEMU_CONF" "$QEMU_CONF.balloonbench-orig"
		log "saved the original as $QEMU_CONF.balloonbench-orig"
	fi
	sed -i "/^$BEGIN\$/,/^$END\$/d" "$QEMU_CONF"
	printf '%s\n' "$want" >>"$QEMU_CONF"
	note "updated the balloonbench section of $QEMU_CONF"
	return 0
}

# Root's unix socket without polkit (no polkitd here), log to a file (no
# syslog here), no TCP.
daemon_conf() {
	cat <<-EOF
	# Written by balloonbench scripts/libvirtd-up.sh; used with libvirtd -f.
	unix_sock_group = "root"
	unix_sock_rw_perms = "0700"
	auth_unix_rw = "none"
	auth_unix_ro = "none"
	log_outputs = "3:file:$DAEMON_LOG"
	EOF
}

update_daemon_conf() {
	local want
	want=$(daemon_conf)
	[[ -e $DAEMON_CONF && $(cat "$DAEMON_CONF") == "$want" ]] && return 1
	printf '%s\n' "$want" >"$DAEMON_CONF"
	note "wrote $DAEMON_CONF"
	return 0
}

running_pid() {
	local pid
	[[ -r $PIDFILE ]] || return 1
	pid=$(cat "$PIDFILE")
	[[ -n $pid && -d /proc/$pid ]] || return 1
	# a stale pid file may name another process by now
	[[ $(cat "/proc/$pid/comm" 2>/dev/null) == "${daemon##*/}" ]] || return 1
	echo "$pid"
}

stop_daemon() {
	local pid=$1 i
	kill -TERM "$pid"
	for ((i = 0; i < 100; i++)); do
		[[ -d /proc/$pid ]] || return 0
		sleep 0.1
	done
	die "libvirtd (pid $pid) did not stop"
}

start_daemon() {
	local i
	rm -f "$PIDFILE"
	"$daemon" -d -f "$DAEMON_CONF" -p "$PIDFILE" ||
		die "$daemon failed to start (see $DAEMON_LOG)"
	note "started $daemon"
	for ((i = 0; i < START_WAIT_TENTHS; i++)); do
		answers && return 0
		sleep 0.1
	done
	log "last lines of $DAEMON_LOG:"
	tail -5 "$DAEMON_LOG" >&2 || true
	die "$daemon started but $URI does not answer"
}

ensure_group kvm
ensure_group libvirt
ensure_group libvirt-qemu
ensure_user libvirt-qemu kvm
for d in /run/libvirt /run/libvirt/qemu /var/lib/libvirt/qemu \
	/var/log/libvirt/qemu /var/cache/libvirt/qemu; do
	ensure_dir "$d"
done
conf_changed=0
update_qemu_conf && conf_changed=1
# systemd, where it runs, starts libvirtd with its own configuration.
systemd=0
[[ -d /run/systemd/system ]] && systemd=1
if ((!systemd)) && update_daemon_conf; then
	conf_changed=1
fi

# Domains running under the daemon: a restart would take them down.
busy() { [[ -n $(timeout 5 virsh -q -c "$URI" list --name 2>/dev/null) ]]; }

if ((systemd)); then
	# systemd runs libvirtd here: only qemu.conf matters, it restarts it.
	unit=libvirtd
	if ! answers; then
		systemctl start "$unit" || die "systemctl start $unit failed"
		note "started $unit through systemd"
	elif ((conf_changed)); then
		busy && die "qemu.conf changed but libvirtd runs domains; restart $unit by hand"
		systemctl restart "$unit" || die "systemctl restart $unit failed"
		note "restarted $unit through systemd"
	fi
	answers || die "$unit runs but $URI does not answer"
elif pid=$(running_pid); then
	if ((conf_changed)); then
		busy && die "the configuration changed but libvirtd (pid $pid) runs domains; restart it by hand"
		log "restarting libvirtd (pid $pid) for the new configuration"
		stop_daemon "$pid"
		start_daemon
	elif ! answers; then
		die "libvirtd (pid $pid) runs but $URI does not answer (see $DAEMON_LOG)"
	fi
elif answers; then
	# Someone else's daemon (another pid file, another service manager).
	if ((conf_changed)); then
		log "a libvirtd this script did not start answers; restart it to apply the changes"
	fi
else
	start_daemon
fi
if ((changed)); then
	log "ready: $URI answers"
else
	log "nothing to change; $URI answers"
fi
exit 0
