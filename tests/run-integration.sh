#!/bin/bash
# Run the integration tests (real VMs) with prove.  TESTS=... selects a
# subset: TESTS="tests/integration/10-boot.t" make check.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP"
# shellcheck disable=SC2086
exec prove -v --timer ${TESTS:-tests/integration/*.t}
