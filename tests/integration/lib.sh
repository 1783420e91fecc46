#!/bin/bash
# Shared helpers for the TAP integration tests (run by tests/run-integration.sh
# through prove).  Each test gets a private TMPDIR, so that every QEMU it
# starts carries that path on its command line and leftovers can be found.
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BB=$TOP/build/bin/balloonbench
T_N=0
T_FAILED=0

T_TMP=$(mktemp -d /tmp/bbtest.XXXXXX)
export TMPDIR=$T_TMP
# Directories under T_TMP that a test's own daemons keep (a private
# libvirtd, an sshd): their sockets are not the harness's leftovers.
T_HELPER_DIRS=()

plan() { echo "1..$1"; }
ok() { T_N=$((T_N + 1)); echo "ok $T_N - $*"; }
not_ok() { T_N=$((T_N + 1)); T_FAILED=1; echo "not ok $T_N - $*"; }
diag() { printf '%s\n' "$@" | sed 's/^/# /'; }
skip_all() { echo "1..0 # SKIP $*"; exit 0; }
skip() { T_N=$((T_N + 1)); echo "ok $T_N # SKIP $*"; }

# check "description" command...: ok when the command succeeds.
check() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else not_ok "$what"; fi
}

# QEMU processes started under this test's TMPDIR.
our_qemus() { pgrep -f -- "qemu-system-x86_64.*$T_TMP" || true; }

# No QEMU, socket or run directory of this test is left.
nothing_left() {
	local procs files d prune=()
	for d in "${T_HELPER_DIRS[@]}"; do prune+=(-path "$d" -prune -o); done
	procs=$(our_qemus)
	files=$(find "$T_TMP" -mindepth 1 "${prune[@]}" \( -name 'balloonbench.*' \
		-o -type s \) -print 2>/dev/null)
	if [[ -n $procs || -n $files ]]; then
		diag "left behind: processes [$procs] files [$files]"
		return 1
	fi
}

t_cleanup() {
	local p
	for p in $(our_qemus); do kill -9 "$p" 2>/dev/null || true; done
	rm -rf "$T_TMP"
}
trap t_cleanup EXIT

# Wait up to $2 seconds for file $1 to contain $3.
wait_for_text() {
	local file=$1 secs=$2 text=$3 i
	for ((i = 0; i < secs * 10; i++)); do
		grep -q -- "$text" "$file" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# wait_until SECS CMD...: run CMD every second until it succeeds (0) or
# SECS seconds have passed (1).
wait_until() {
	local secs=$1 i
	shift
	for ((i = 0; i < secs; i++)); do
		"$@" && return 0
		sleep 1
	done
	"$@"
}

# Exit status of background job $1, or 124 when it still runs after $2
# seconds: then it is killed, so that a hung harness fails the test instead
# of hanging it.
wait_exit() {
	local pid=$1 secs=$2 i rc=0
	for ((i = 0; i < secs * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		return 124
	fi
	wait "$pid" || rc=$?
	return "$rc"
}

# The directory where the harness kept a dead VM's logs, from its stderr $1.
kept_logs() { sed -n 's/.*its logs are kept in \([^;]*\);.*/\1/p' "$1" | head -1; }

done_testing() { exit "$T_FAILED"; }
