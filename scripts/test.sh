#!/usr/bin/env bash
# Runs the whole suite with Node's test runner: unit tests, workflow tests on a real Temporal dev
# server and registry, interop tests with the real cosign. `bash scripts/test.sh [PATH...]` runs
# only the test files under the given paths.
set -euo pipefail
cd "$(dirname "$0")/.."

roots=("$@")
[ ${#roots[@]} -eq 0 ] && roots=(test)
mapfile -t files < <(find "${roots[@]}" -name '*.test.ts' -not -path '*/node_modules/*' | sort)
if [ ${#files[@]} -eq 0 ]; then
  echo "no test files under: ${roots[*]}" >&2
  exit 1
fi

npx tsc --noEmit -p .
# Each file runs in its own process; workflow files start their own servers on free ports.
# --test-timeout bounds each file (and each test and hook in it): a file that hangs, in a hook or
# on a handle left open, fails after it and the run goes on. The slowest file takes about 4 minutes.
exec node --import tsx --test --test-concurrency="${COUNTERSIGN_TEST_CONCURRENCY:-2}" \
  --test-timeout="${COUNTERSIGN_TEST_TIMEOUT_MS:-900000}" "${files[@]}"
