#!/bin/bash
# make bench: run a scenario (default configs/inflate-quick.json), then plot
# its report beside it.  Extra arguments go to balloonbench run.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
BB=$TOP/build/bin/balloonbench
CONFIG=${1:-$TOP/configs/inflate-quick.json}
shift || true

out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$BB" run "$CONFIG" "$@" | tee "$out"
report=$(sed -n 's/^report: //p' "$out" | tail -1)
if [[ -n $report ]]; then
	"$BB" plot "$report"
fi
