#!/bin/bash
# The same small inflate scenario through the QEMU backend and through
# libvirt: the reports have the same fields, the device negotiates the same
# features, every run reaches its target and is timed by the balloon's
# event, and the stage counters (guest and host, read through libvirt's
# agent and monitor APIs) are not zero.  The
# libvirt runs go to the test's own libvirtd (lib/libvirt.bash).
. "$(dirname "$0")/lib/libvirt.bash"
lv_require
plan $((13 + LV_FINISH_CHECKS))

scenario=$T_TMP/inflate-libvirt.json
cat >"$scenario" <<'EOF'
{
  "scenario": "inflate",
  "memory": "512M",
  "touch": "1/2",
  "inflate": "1/2",
  "repetitions": 1,
  "accel": "tcg",
  "matrix": {"mode": ["stock", "chunk", "sg-order9"]}
}
EOF

declare -A report
for backend in qemu libvirt; do
	rc=0
	where=()
	# the libvirt runs go to the test's own daemon
	[[ $backend == libvirt ]] && where=(--connect "$LV_URI")
	"$BB" run "$scenario" --backend "$backend" "${where[@]}" \
		--output_dir "$T_TMP/res-$backend" \
		>"$T_TMP/$backend.out" 2>"$T_TMP/$backend.err" || rc=$?
	check "inflate through $backend exits 0" test "$rc" -eq 0
	[[ $rc -eq 0 ]] || diag "$(tail -20 "$T_TMP/$backend.err")"
	report[$backend]=$(find "$T_TMP/res-$backend" -name report.json | head -1)
	[[ -n ${report[$backend]} ]] || report[$backend]=/dev/null
done

# same JQ-FILTER NAME: the filter gives the same value on both reports.
same() {
	local a b
	a=$(jq -cS "$1" "${report[qemu]}" 2>/dev/null)
	b=$(jq -cS "$1" "${report[libvirt]}" 2>/dev/null)
	if [[ -n $a && $a != null && $a == "$b" ]]; then
		ok "$2"
	else
		not_ok "$2"
		diag "  qemu:    $a" "  libvirt: $b"
	fi
}
j() { jq -e "$1" "${report[libvirt]}" >/dev/null 2>&1; }

check "the libvirt report says so" j '.scenario.backend == "libvirt"'
same '[.rows[].name]' "same rows"
same '[.rows[] | .runs[] | keys]' "same fields in every run"
same '.rows[0].summary | keys' "same summary fields"
same '[.rows[] | .runs[] | .host_counters.features]' \
	"same negotiated features (host_counters.features)"
same '.host.qemu_versions' "same QEMU versions"
check "every libvirt run reached its target" \
	j '([.rows[].runs[] | .inflate_bytes == 268435456 and .inflate_ms > 0 and .deflate_ms > 0] | all) and .errors == []'
check "vballoon rows carry non-zero guest and host counters" \
	j '[.rows[] | select(.settings.driver == "vballoon") | .runs[] | (.guest_counters.inflate_pages > 0 and .host_counters.inflate.pages > 0 and .host_counters.inflate.requests > 0)] | all'
# libvirt passes QEMU's BALLOON_CHANGE on with its stamp: no 1 ms polling.
check "every libvirt wait ended on a BALLOON_CHANGE event" \
	j '[.rows[].runs[] | .inflate_timed_by == "event" and .deflate_timed_by == "event"] | all'
check "host RSS measured through libvirt (QEMU pid from the process list)" \
	j '[.rows[].runs[] | .rss_before_bytes > 0 and .rss_freed_bytes > 0] | all'
all_clean() { lv_no_domains && lv_no_qemus && nothing_left; }
check "no domain, QEMU or file left" all_clean
lv_finish
done_testing
