#!/bin/bash
# Bad inflate scenarios are refused before any VM boots, with exit 2 and
# one line naming the problem.
. "$(dirname "$0")/lib.sh"
plan 10

# run_bad "what" pattern args...: exit 2, one stderr line matching pattern.
run_bad() {
	local what=$1 pattern=$2 rc=0
	shift 2
	"$@" >"$T_TMP/out" 2>"$T_TMP/err" || rc=$?
	check "$what: exit 2" test "$rc" -eq 2
	if [[ $(wc -l <"$T_TMP/err") -eq 1 ]] && grep -q -- "$pattern" "$T_TMP/err"; then
		ok "$what: one line naming the problem"
	else
		not_ok "$what: one line naming the problem"
		diag "got: $(cat "$T_TMP/err")"
	fi
}

cfg=$T_TMP/inflate.json
echo '{"scenario": "inflate", "output_dir": "'"$T_TMP"'/res", "memory": "1G", "matrix": {"mode": ["stock", "chunk"]}}' >"$cfg"

run_bad "target above the guest size" "key 'inflate'.*not below" \
	"$BB" run "$cfg" --inflate 2G
echo '{"scenario": "inflate", "output_dir": "'"$T_TMP"'/res", "matrix": {"mode": ["chunk", "turbo"]}}' >"$cfg"
run_bad "unknown mode in the matrix" "matrix.mode\[1\].*not one of" "$BB" run "$cfg"
echo '{"scenario": "inflate", "output_dir": "'"$T_TMP"'/res", "mode": "custom", "qemu": "stock", "driver": "vballoon", "device": "chunk-transfer=on"}' >"$cfg"
run_bad "a mode the device does not offer" "does not offer 'chunk-transfer'" "$BB" run "$cfg"

# A tree where vballoon.ko was never built.
fake=$T_TMP/fake-top
mkdir -p "$fake"
ln -s "$TOP/build" "$fake/build"
echo '{"scenario": "inflate", "output_dir": "'"$T_TMP"'/res", "matrix": {"mode": ["stock", "chunk"]}}' >"$cfg"
run_bad "a driver that is not built" "driver 'vballoon' is not built" \
	env BALLOONBENCH_TOP="$fake" "$BB" run "$cfg"
check "nothing started" nothing_left
check "no report written" test -z "$(find "$T_TMP" -name report.json)"
done_testing
