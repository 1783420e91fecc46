#!/bin/bash
# Whole-device fuzzing of the patched virtio-balloon with QEMU's own generic
# virtio fuzzer (tests/qtest/fuzz/generic_fuzz.c): `make fuzz-qemu`.
#
# Builds qemu-fuzz-x86_64 from the tree build-qemu.sh patched (clang,
# libFuzzer, ASan + UBSan through --enable-sanitizers) in its own object
# directory, cached with a stamp like the QEMU build; CI never builds it.
# Then runs the generic-fuzz target once per device configuration below,
# FUZZ_QEMU_SECONDS each (default 600: the six configurations take an
# hour), one job at a time, with a corpus per configuration kept under
# build/qemu-fuzz/corpus/ so that later runs go on from where the last one
# stopped.  A crash leaves its input and log under build/qemu-fuzz/crashes/
# and fails the run.  At the end, each corpus is replayed once with
# -print_coverage=1 and the edges of the balloon's files that were reached
# are summed per configuration in build/qemu-fuzz/summary.txt.
#
#   FUZZ_QEMU_SECONDS=N   seconds per configuration (default 600)
#   FUZZ_QEMU_ONLY=NAME   run one configuration (legacy, bitmap, chunk, sg,
#                         sg-packed, auto)
#   FUZZ_QEMU_BUILD_ONLY=1  build, do not run
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/.." && pwd)
BUILD=${BUILD_DIR:-$TOP/build}
SRC=$BUILD/qemu-src
OBJ=$SRC/obj-fuzz
OUT=$BUILD/qemu-fuzz
JOBS=${JOBS:-$(nproc)}
SECONDS_EACH=${FUZZ_QEMU_SECONDS:-600}

# shellcheck source=qemu-options.bash
. "$HERE/qemu-options.bash"

log() { printf 'fuzz-qemu: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# name | -device virtio-balloon-pci properties | guest features of the seed
# The generic fuzzer forks a child per input, and threads do not survive a
# fork: an iothread, and with it free-page-hint and free-page-bitmap, would
# never run.  Their parsers are fuzzed by tests/fuzz/fuzz_balloon.c.
CONFIGS=(
	"legacy|deflate-on-oom=on,free-page-reporting=on|0"
	"bitmap|page-bitmap=on|0x10000"
	"chunk|chunk-transfer=on|0x20000"
	"sg|sg=on|0x40000"
	"sg-packed|sg=on,packed=on|0x40000"
	"auto|auto-balloon=on,chunk-transfer=on|0xa0000"
)

[[ $SECONDS_EACH =~ ^[1-9][0-9]*$ ]] ||
	die "FUZZ_QEMU_SECONDS must be a positive number of seconds, not '$SECONDS_EACH'"
if ! command -v clang >/dev/null || ! command -v clang++ >/dev/null; then
	die "clang and clang++ are needed (scripts/install-deps.sh)"
fi

stamp() {
	{
		sha256sum <"$HERE/fuzz-qemu.sh"
		cat "$BUILD/qemu/.stamp"
	} | sha256sum | cut -d' ' -f1
}

build() {
	local want have=""
	# The patched tree and its stamp come from the ordinary QEMU build.
	"$HERE/build-qemu.sh"
	want=$(stamp)
	[[ -r $OUT/.stamp ]] && have=$(cat "$OUT/.stamp")
	if [[ $want == "$have" && -x $OUT/qemu-fuzz-x86_64 ]]; then
		log "qemu-fuzz-x86_64 up to date ($OUT)"
		return
	fi
	if [[ ! -e $OBJ/build.ninja ]]; then
		mkdir -p "$OBJ"
		log "configuring the fuzzer build (clang, libFuzzer, ASan + UBSan)"
		(cd "$OBJ" && ../tree/configure \
			--cc=clang --cxx=clang++ \
			--target-list=x86_64-softmmu \
			--enable-fuzzing --enable-sanitizers \
			"${QEMU_COMMON_OPTS[@]}" \
			>"$OUT.configure.log" 2>&1) || {
			rm -rf "$OBJ"
			die "configure failed; see $OUT.configure.log"
		}
	fi
	log "building qemu-fuzz-x86_64 with $JOBS jobs (log: $OUT.build.log)"
	ninja -C "$OBJ" -j "$JOBS" qemu-fuzz-x86_64 >"$OUT.build.log" 2>&1 ||
		{ tail -30 "$OUT.build.log" >&2; die "build failed; see $OUT.build.log"; }
	mkdir -p "$OUT"
	install -m 0755 "$OBJ/qemu-fuzz-x86_64" "$OUT/"
	echo "$want" >"$OUT/.stamp"
	log "installed $OUT/qemu-fuzz-x86_64"
}

# One generic-fuzz operation: opcode byte, then its argument bytes, given
# as numbers of the widths that follow (1, 2, 4 or 8 bytes, little-endian).
# op OPCODE [WIDTH VALUE]...
op() {
	local esc w v i
	esc=$(printf '\\x%02x' "$1")
	shift
	while (($#)); do
		w=$1 v=$2
		shift 2
		for ((i = 0; i < w; i++)); do
			esc+=$(printf '\\x%02x' $(((v >> (8 * i)) & 0xff)))
		done
	done
	printf '%b' "$esc"
}

# The seed of a corpus: one input that does what a driver does on the
# legacy (transitional) I/O BAR, so that the fuzzer starts from a request
# reaching the handler instead of finding the ring setup by chance.  It
# writes the guest features FEATURES, selects the inflate queue, puts its
# ring at 768 MiB (above the fuzzer's 512 MiB of RAM, where its sparse
# memory answers every read with the DMA pattern), sets DRIVER_OK, adds a
# pattern and notifies.  Read as an avail index, ring entry and descriptor,
# the pattern is one request of 4 bytes at guest address 1.
# Ops: 1 out (size 0 byte, 1 word, 2 long; region; offset; value),
# 7 add-dma-pattern (index, stride, bytes); operations end with "FUZZ".
seed_input() {
	local features=$1 sep=FUZZ
	{
		op 1 1 2 1 0 2 4 4 "$features"; printf %s "$sep"
		op 1 1 1 1 0 2 14 4 0; printf %s "$sep"
		op 1 1 2 1 0 2 8 4 $((0x30000000 >> 12)); printf %s "$sep"
		op 1 1 0 1 0 2 18 4 7; printf %s "$sep"
		op 7 1 0 1 0 8 1 4 4 4 0; printf %s "$sep"
		op 1 1 1 1 0 2 16 4 0
	}
}

# The generic fuzzer's environment for one configuration.
fuzz_env() {
	# The firmware as the ordinary build finds it (--firmwarepath).
	echo "QEMU_FUZZ_ARGS=-L ${FIRMWARE_PATH//:/ -L } -machine q35 -nodefaults -device virtio-balloon-pci,$1"
	echo "QEMU_FUZZ_OBJECTS=virtio*"
}

# fuzz NAME PROPS LIBFUZZER-OPTION...: the generic fuzzer on one
# configuration's corpus and seed, from its crash directory (where
# libFuzzer writes what it finds).
fuzz() {
	local name=$1 props=$2
	local -a env
	shift 2
	mapfile -t env < <(fuzz_env "$props")
	(cd "$OUT/crashes/$name" &&
		env "${env[@]}" ASAN_OPTIONS=detect_leaks=0 \
			"$OUT/qemu-fuzz-x86_64" --fuzz-target=generic-fuzz "$@" \
			"$OUT/corpus/$name" "$OUT/seeds/$name")
}

run_one() {
	local name=$1 props=$2
	local corpus=$OUT/corpus/$name log=$OUT/logs/$name.log rc=0
	mkdir -p "$corpus" "$OUT/logs" "$OUT/crashes/$name"
	log "$name: $SECONDS_EACH s (-device virtio-balloon-pci,$props; log $log)"
	fuzz "$name" "$props" -max_total_time="$SECONDS_EACH" \
		-print_final_stats=1 -rss_limit_mb=4096 >"$log" 2>&1 || rc=$?
	# libFuzzer's final line: "Done N runs in S second(s)"
	local runs
	runs=$(awk '/^Done [0-9]+ runs/ { print $2 }' "$log" | tail -1)
	if ((rc != 0)); then
		# libFuzzer names what it keeps crash-, leak-, timeout-, oom-.
		if ! compgen -G "$OUT/crashes/$name/*-*" >/dev/null; then
			tail -5 "$log" >&2
			die "$name: the fuzzer did not run (exit $rc); log $log"
		fi
		log "$name: the fuzzer stopped with $rc after ${runs:-?} runs: input in $OUT/crashes/$name, log $log"
		grep -m3 -E 'ERROR: |SUMMARY: |Assertion' "$log" >&2 || true
		return 1
	fi
	log "$name: ${runs:-?} runs in $SECONDS_EACH s, $(find "$corpus" -type f | wc -l) corpus inputs, nothing found"
	echo "$name ${runs:-0} $SECONDS_EACH"
}

# Edges reached in the balloon's files by one configuration's corpus.
coverage_one() {
	local name=$1
	fuzz "$name" "$2" -runs=0 -print_coverage=1 2>&1 |
		awk -v name="$name" '
		# COVERED_FUNC: hits: H edges: C/T FUNC FILE:LINE
		/^COVERED_FUNC:/ && /virtio-balloon\.c|vballoon-parse\.c/ {
			split($5, e, "/"); cov += e[1]; tot += e[2]; nf++
		}
		/^UNCOVERED_FUNC:/ && /virtio-balloon\.c|vballoon-parse\.c/ { unf++ }
		END {
			printf "%s: %d functions of the balloon files reached, %d not; %d of their %d edges\n",
				name, nf, unf, cov, tot
		}'
}

main() {
	local c name props features failed=0 total=0
	mkdir -p "$OUT"
	build
	[[ ${FUZZ_QEMU_BUILD_ONLY:-0} == 1 ]] && return 0
	: >"$OUT/summary.txt.new"
	for c in "${CONFIGS[@]}"; do
		IFS='|' read -r name props features <<<"$c"
		[[ -n ${FUZZ_QEMU_ONLY:-} && $FUZZ_QEMU_ONLY != "$name" ]] && continue
		total=$((total + 1))
		mkdir -p "$OUT/seeds/$name"
		seed_input "$features" >"$OUT/seeds/$name/queue-setup"
		run_one "$name" "$props" >>"$OUT/summary.txt.new" || failed=1
		coverage_one "$name" "$props" >>"$OUT/summary.txt.new" || true
	done
	((total)) || die "no configuration is called '$FUZZ_QEMU_ONLY'"
	mv "$OUT/summary.txt.new" "$OUT/summary.txt"
	log "summary ($OUT/summary.txt):"
	cat "$OUT/summary.txt" >&2
	return "$failed"
}

main "$@"
