#!/usr/bin/env bash
# The whole test suite: unit, golden, real-tool checks and emulator integration tests
# (root). Installs what is missing first, compiles, type-checks the tests, then runs ava:
# the default suite (files in parallel), then the tests that need the host to themselves
# (test/alone/: dc-256 and dc-256-vxlan, ava.alone.config.mjs), one at a time. With
# arguments, only `ava ARGS` (e.g. ./test.sh test/unit/plan.test.ts).
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")"
scripts/bootstrap.sh
rm -rf dist && npx tsc -p tsconfig.json && touch dist/.build-stamp
npm run --silent typecheck   # tests, benchmarks and scripts are type-checked like src/
if [ $# -gt 0 ]; then exec npx ava "$@"; fi
rc=0
npx ava || rc=$?
npx ava --config ava.alone.config.mjs || rc=$?
exit "$rc"
