#!/bin/bash
# Install every Debian package balloonbench needs, and the deb-src entries
# that let host-device/build-qemu.sh fetch Debian's QEMU source.
# Idempotent: says what it installs, does nothing when all is present.
set -euo pipefail

PACKAGES=(
	# compilers and the harness's libraries
	build-essential pkg-config git
	libjansson-dev libvirt-dev libcmocka-dev
	# building Debian's QEMU with our patches (apt-get source needs dpkg-dev)
	dpkg-dev meson ninja-build python3-venv
	libglib2.0-dev libpixman-1-dev libfdt-dev zlib1g-dev libslirp-dev
	# the stock QEMU of baseline rows, and the firmware both QEMUs load
	qemu-system-x86 qemu-utils seabios ipxe-qemu
	# the guest image
	busybox-static cpio kmod qemu-guest-agent
	# the overcommit kernel-build disk: a Debian root made with mmdebstrap,
	# packed with mkfs.ext4 -d
	mmdebstrap e2fsprogs
	# building vballoon.ko against the unpacked guest headers
	bc flex bison libelf-dev
	# make debug-kernel: Debian's kernel source (xz) built here (module
	# signing stays on in its config, and needs openssl's headers)
	xz-utils libssl-dev
	# plots, tests (jq reads reports, socat talks to sockets)
	gnuplot-nox jq socat
	# the libvirt backend
	libvirt-daemon-system libvirt-clients
	# test 53: qemu+ssh:// through an sshd of its own (only the sshd binary
	# is used; on a host with systemd the package also starts the system's
	# sshd), and the nc that libvirt runs at the far end for socket=
	openssh-server openssh-client netcat-openbsd
	# measuring
	linux-perf
	# fuzzing the scenario and report loaders (libFuzzer, ASan, UBSan)
	clang libclang-rt-14-dev
)

log() { printf 'install-deps: %s\n' "$*" >&2; }

if [[ $(id -u) -ne 0 ]]; then
	log "must run as root (apt-get install)"
	exit 1
fi

# deb-src entries mirroring the existing deb entries of the deb822 sources.
add_deb_src() {
	local src=/etc/apt/sources.list.d/debian.sources
	local dst=/etc/apt/sources.list.d/balloonbench-src.sources
	[[ -e $dst ]] && return 1
	[[ -r $src ]] || { log "no $src; add deb-src entries by hand"; return 1; }
	log "adding deb-src entries to $dst"
	sed -e 's/^Types:.*deb.*/Types: deb-src/' "$src" >"$dst"
	return 0
}

missing=()
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done

updated=0
if add_deb_src; then
	apt-get update -qq
	updated=1
fi

if ((${#missing[@]} == 0)); then
	exit 0
fi
log "installing: ${missing[*]}"
if ((!updated)); then
	apt-get update -qq
fi
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	"${missing[@]}" >/dev/null
log "done"
