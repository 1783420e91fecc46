# balloonbench: the top level only recurses and calls scripts.
#   make         build everything (QEMU, guest kernel, driver, image, harness)
#   make check   build everything and run all tests
#   make bench   build everything and run the default benchmark
#   make kbuild-image  the overcommit scenario's kernel-build disk
#   make fuzz    every libFuzzer target for FUZZ_SECONDS (300) each
#   make fuzz-qemu  QEMU's generic virtio fuzzer over the patched device,
#                FUZZ_QEMU_SECONDS (600) per device configuration
#   make check-debug  the driver tests on a debug guest kernel (lockdep,
#                DEBUG_VM, ...) built from Debian's source (debug-kernel)
TOP := $(CURDIR)
export V WERROR

all: harness image qemu

deps:
	@bash scripts/install-deps.sh

qemu: deps
	@bash host-device/build-qemu.sh

guest-kernel: deps
	@bash workloads/fetch-guest-kernel.sh

driver: guest-kernel
	@if [ -f guest-driver/Makefile ]; then \
		$(MAKE) --no-print-directory -C guest-driver KDIR=$(TOP)/build/guest/kdir; \
	else echo "guest-driver: not present yet; image has the stock driver only"; fi

image: driver
	@$(MAKE) --no-print-directory -C workloads

# The overcommit scenario's kernel-build disk, build/guest/kbuild.img (not in
# all: minutes and some GiB).  KBUILD_CONFIG=tinyconfig picks another config.
kbuild-image: deps guest-kernel
	@$(MAKE) --no-print-directory -C workloads kbuild-image

harness: deps
	@$(MAKE) --no-print-directory -C harness

unit: harness
	@$(MAKE) --no-print-directory -C tests/unit run

# The fuzzers' corpus, replayed once under ASan and UBSan (tests/fuzz/);
# the device's parsers are built from the patched QEMU tree.
fuzz-replay: deps qemu
	@$(MAKE) --no-print-directory -C tests/fuzz replay

# Every fuzzer for FUZZ_SECONDS (default 300) each.
fuzz: deps qemu
	@$(MAKE) --no-print-directory -C tests/fuzz fuzz

# QEMU's own generic virtio fuzzer over the patched virtio-balloon-pci, one
# run per configuration (host-device/fuzz-qemu.sh): a clang + ASan + UBSan
# QEMU built once under build/ and cached (the script brings the patched
# tree up to date itself); never part of check or CI.
fuzz-qemu: deps
	@bash host-device/fuzz-qemu.sh

# A debug guest kernel, Debian's source and config with lock and mm
# checking, and an image with vballoon.ko built against it, under
# build/debug/ (workloads/build-debug-kernel.sh; cached; not part of all
# or check: half an hour on two cores).
debug-kernel: image
	@bash workloads/build-debug-kernel.sh

# The driver tests (tests/integration/2?-driver-*.t) booting the debug
# kernel; their "kernel log clean" checks then see lockdep and DEBUG_VM.
check-debug: debug-kernel qemu
	@DEV_KERNEL=$(TOP)/build/debug/guest/vmlinuz \
		DEV_INITRD=$(TOP)/build/debug/guest/initramfs.cpio.gz \
		DRV_KO=$(TOP)/build/debug/driver/guest-driver/vballoon.ko \
		TESTS="$(wildcard tests/integration/2?-driver-*.t)" \
		bash tests/run-integration.sh

check: all unit fuzz-replay
	@bash tests/run-integration.sh

bench: all
	@bash scripts/bench.sh $(BENCH_CONFIG)

clean:
	-@$(MAKE) --no-print-directory -C harness clean
	-@$(MAKE) --no-print-directory -C workloads clean
	-@$(MAKE) --no-print-directory -C guest-driver clean KDIR=$(TOP)/build/guest/kdir
	-@$(MAKE) --no-print-directory -C tests/unit clean
	-@$(MAKE) --no-print-directory -C tests/fuzz clean

# Everything under build/, QEMU and the guest kernel included.
distclean: clean
	rm -rf build

.PHONY: all deps qemu guest-kernel driver image kbuild-image harness unit fuzz-replay fuzz fuzz-qemu debug-kernel check-debug check bench clean distclean
