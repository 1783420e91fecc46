# shellcheck shell=bash
# An sshd of the test's own on 127.0.0.1, for qemu+ssh:// (53-*.t): its
# host key, configuration, log, the client's key and known_hosts are under
# the test's temp dir; root logs in with that key only, on a free port.
# The system's ssh configuration and host keys and root's ~/.ssh are
# neither used nor written: sshd_finish checks that.
#
#   . "$(dirname "$0")/lib/sshd.bash"       (after lib.sh)
#   sshd_require; sshd_start     # SSHD_PORT, SSHD_KEY, SSHD_SSH
#   ...; sshd_finish             # SSHD_FINISH_CHECKS checks
#
# sshd needs its privilege separation directory, /run/sshd: it runs in a
# mount namespace of its own with an empty tmpfs on /run, so that none is
# made on the host.  What libvirt runs through it (nc) sees the same /tmp.

SSHD_DIR=$T_TMP/ssh
T_HELPER_DIRS+=("$SSHD_DIR")
# The port it listens on, for the test's URI.
SSHD_PORT=""
# The client's private key, for the URI's keyfile=.
SSHD_KEY=$SSHD_DIR/id
# ssh with this test's known_hosts and no other configuration, for the
# URI's command=: libvirt's ssh transport passes no known_hosts file to
# ssh (known_hosts= is for libssh and libssh2), and no_verify=1 would have
# ssh add our host key to ~/.ssh/known_hosts.
SSHD_SSH=$SSHD_DIR/ssh
SSHD_PID=""
# sshd's mount namespace, as /proc/PID/ns/mnt names it.
SSHD_NS=""
# shellcheck disable=SC2034 # for the test's plan
SSHD_FINISH_CHECKS=3
# Ports tried, from a range below the kernel's ephemeral ports.
SSHD_PORT_MIN=20000
SSHD_PORT_SPAN=12000
SSHD_PORT_TRIES=20
SSHD_ETC_BEFORE=""

# Root's ~/.ssh and /etc/ssh, every byte, name, mode and mtime.
sshd_state() {
	local home
	home=$(getent passwd root | cut -d: -f6)
	{
		tar --sort=name -C "$home" -cf - .ssh 2>&1
		tar --sort=name -C /etc -cf - ssh 2>&1
	} | sha256sum
}

# Skip the whole test when this machine cannot run the sshd or what
# libvirt runs on the "remote" side.
sshd_require() {
	local c
	for c in /usr/sbin/sshd ssh ssh-keygen nc unshare; do
		command -v "$c" >/dev/null ||
			skip_all "no $c (scripts/install-deps.sh: openssh-server, openssh-client, netcat-openbsd)"
	done
	# UsePAM no: sshd refuses a locked account even with a key.
	[[ $(getent shadow root | cut -d: -f2) != '!'* ]] ||
		skip_all "root's account is locked; sshd without PAM refuses it"
	SSHD_ETC_BEFORE=$(sshd_state)
}

sshd_config() {
	cat <<-EOF
	ListenAddress 127.0.0.1:$1
	HostKey $SSHD_DIR/host_key
	PidFile $SSHD_DIR/sshd.pid
	AuthorizedKeysFile $SSHD_DIR/authorized_keys
	PermitRootLogin prohibit-password
	PubkeyAuthentication yes
	PasswordAuthentication no
	KbdInteractiveAuthentication no
	UsePAM no
	# the keys are under /tmp, which anyone may write to
	StrictModes no
	AllowUsers root
	AllowTcpForwarding no
	AllowAgentForwarding no
	X11Forwarding no
	PermitTTY no
	PrintMotd no
	PrintLastLog no
	UseDNS no
	LogLevel VERBOSE
	EOF
}

# Start sshd on port $1; 0 once it listens, 1 when it exited (port taken).
sshd_try_port() {
	local port=$1 i
	sshd_config "$port" >"$SSHD_DIR/sshd_config"
	: >"$SSHD_DIR/sshd.log"
	# shellcheck disable=SC2016 # $@ is the inner shell's
	unshare --mount --propagation private -- bash -c \
		'mount -n -t tmpfs -o mode=0755 bb-sshd /run && mkdir -m 0755 /run/sshd && exec "$@"' \
		sshd-ns /usr/sbin/sshd -D -f "$SSHD_DIR/sshd_config" \
		-E "$SSHD_DIR/sshd.log" </dev/null >"$SSHD_DIR/sshd.err" 2>&1 &
	SSHD_PID=$!
	for ((i = 0; i < 100; i++)); do
		if grep -q "Server listening on 127.0.0.1 port $port" \
			"$SSHD_DIR/sshd.log"; then
			SSHD_NS=$(readlink "/proc/$SSHD_PID/ns/mnt")
			return 0
		fi
		kill -0 "$SSHD_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$SSHD_PID" 2>/dev/null || true
	wait "$SSHD_PID" 2>/dev/null || true
	SSHD_PID=""
	return 1
}

# Keys, a free port, the sshd; skip the test when no sshd will listen.
sshd_start() {
	local port try
	mkdir -m 0700 "$SSHD_DIR"
	ssh-keygen -q -t ed25519 -N '' -C bb-test-host -f "$SSHD_DIR/host_key"
	ssh-keygen -q -t ed25519 -N '' -C bb-test-client -f "$SSHD_KEY"
	cp "$SSHD_KEY.pub" "$SSHD_DIR/authorized_keys"
	trap 'sshd_stop; lv_cleanup; t_cleanup' EXIT
	for ((try = 0; try < SSHD_PORT_TRIES; try++)); do
		port=$((SSHD_PORT_MIN + RANDOM % SSHD_PORT_SPAN))
		sshd_try_port "$port" && break
	done
	[[ -n $SSHD_PID ]] ||
		skip_all "no sshd would listen on 127.0.0.1: $(cat \
			"$SSHD_DIR/sshd.err" "$SSHD_DIR/sshd.log" | tail -1)"
	# shellcheck disable=SC2034 # for the test's URI
	SSHD_PORT=$port
	echo "[127.0.0.1]:$port $(cat "$SSHD_DIR/host_key.pub")" \
		>"$SSHD_DIR/known_hosts"
	cat >"$SSHD_SSH" <<-EOF
	#!/bin/bash
	# ssh for libvirt's qemu+ssh:// (command=): this test's host key only.
	exec ssh -F /dev/null -o UserKnownHostsFile=$SSHD_DIR/known_hosts \\
		-o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes \\
		-o UpdateHostKeys=no -o IdentitiesOnly=yes "\$@"
	EOF
	chmod 0700 "$SSHD_SSH"
}

# Every process in sshd's namespace: the listener, its sessions, their nc.
sshd_ns_procs() {
	local p
	[[ -n $SSHD_NS ]] || return 0
	for p in /proc/[0-9]*; do
		[[ $(readlink "$p/ns/mnt" 2>/dev/null) == "$SSHD_NS" ]] &&
			echo "${p#/proc/} $(cat "$p/comm" 2>/dev/null)"
	done
	return 0
}

# Stop sshd and what runs under it, by pid; remove its files.
sshd_stop() {
	local i p pids sig
	if [[ -n $SSHD_PID ]]; then
		kill -TERM "$SSHD_PID" 2>/dev/null || true
		wait "$SSHD_PID" 2>/dev/null || true
	fi
	for ((i = 0; i < 100; i++)); do
		pids=$(sshd_ns_procs | cut -d' ' -f1)
		[[ -z $pids ]] && break
		# sessions outlive the listener: end them too, TERM then KILL
		sig=""
		((i == 0)) && sig=TERM
		((i == 20)) && sig=KILL
		for p in ${sig:+$pids}; do kill -"$sig" "$p" 2>/dev/null || true; done
		sleep 0.1
	done
	SSHD_PID=""
	rm -rf "$SSHD_DIR"
}

sshd_gone() {
	local left
	left=$(sshd_ns_procs)
	[[ -z $left ]] || { diag "left under sshd: $left"; return 1; }
}

sshd_state_same() { [[ $(sshd_state) == "$SSHD_ETC_BEFORE" ]]; }

sshd_finish() {
	sshd_stop
	check "sshd stopped: no process left in its namespace" sshd_gone
	check "its keys, configuration and log are removed" \
		test ! -e "$SSHD_DIR"
	check "root's ~/.ssh and /etc/ssh byte-identical to before the test" \
		sshd_state_same
}
