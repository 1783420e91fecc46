# configure options shared by build-qemu.sh and fuzz-qemu.sh: what the
# device, the tests and the fuzzer need, and nothing that pulls in
# libraries or firmware they do not use.  Sourced; part of both stamps.

# The distribution's firmware: SeaBIOS, iPXE option ROMs, and the option
# ROMs Debian builds itself (linuxboot_dma.bin, kvmvapic.bin, ...).
# shellcheck disable=SC2034  # used by the scripts that source this
FIRMWARE_PATH="/usr/share/qemu:/usr/share/seabios:/usr/lib/ipxe/qemu"
QEMU_COMMON_OPTS=(
	--disable-install-blobs --disable-docs --disable-tools
	--disable-user --disable-werror
	--enable-kvm --enable-tcg
	--disable-xen --disable-gtk --disable-sdl --disable-vnc
	--disable-opengl --disable-spice --disable-curses
	--disable-libusb --disable-usb-redir --disable-smartcard
	--disable-alsa --disable-pa --disable-jack --disable-oss
	--disable-guest-agent --disable-vhost-user-blk-server
	--disable-capstone --disable-rbd --disable-glusterfs
	--disable-libiscsi --disable-libnfs --disable-libssh
)
