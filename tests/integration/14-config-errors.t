#!/bin/bash
# Malformed scenarios as a new user writes them: one clear error line,
# exit 2, nothing started.
. "$(dirname "$0")/lib.sh"

cases=(
	"missing file|/nonexistent/scenario.json|cannot open"
	"bad JSON|{\"vms\": 2,|invalid JSON"
	"unknown key|{\"vmz\": 2}|key 'vmz': unknown key"
	"negative size|{\"memory\": \"-1G\"}|key 'memory'.*negative"
	"zero VMs|{\"vms\": 0}|key 'vms'.*out of range"
	"wrong type|{\"vms\": \"two\"}|key 'vms'.*integer"
	"bad enum|{\"driver\": \"virtio\"}|key 'driver'.*not one of"
	"inflate above RAM|{\"scenario\": \"inflate\", \"memory\": \"1G\", \"inflate\": \"2G\"}|key 'inflate'.*not below"
	"key of another scenario|{\"scenario\": \"boot\", \"touch\": \"1G\"}|key 'touch': applies to the inflate and migrate scenarios"
	"matrix row out of range|{\"scenario\": \"inflate\", \"memory\": \"1G\", \"matrix\": {\"inflate\": [\"512M\", \"2G\"]}}|matrix row '2G': key 'inflate'"
	"preset contradicted|{\"scenario\": \"inflate\", \"mode\": \"chunk\", \"modparams\": \"max_order=3\"}|key 'modparams': mode 'chunk' sets it"
	"unsafe name|{\"name\": \"../../etc\"}|key 'name'.*plain file name"
	"bad matrix value|{\"matrix\": {\"mode\": [\"sg\", \"nope\"]}}|matrix.mode\\[1\\]"
)
plan $((${#cases[@]} * 3 + 2))

for c in "${cases[@]}"; do
	IFS='|' read -r what json pattern <<<"$c"
	if [[ $what == "missing file" ]]; then
		file=$json
	else
		file=$T_TMP/scenario.json
		printf '%s\n' "$json" >"$file"
	fi
	rc=0
	"$BB" run "$file" >"$T_TMP/out" 2>"$T_TMP/err" || rc=$?
	check "$what: exit 2" test "$rc" -eq 2
	check "$what: one line on stderr" test "$(wc -l <"$T_TMP/err")" -eq 1
	if grep -q -- "$pattern" "$T_TMP/err"; then
		ok "$what: names the problem"
	else
		not_ok "$what: names the problem"
		diag "got: $(cat "$T_TMP/err")"
	fi
done
rc=0
"$BB" boot --vms 0 2>"$T_TMP/err" || rc=$?
check "boot --vms 0: exit 2" test "$rc" -eq 2
check "nothing started" nothing_left
done_testing
