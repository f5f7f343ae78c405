#!/usr/bin/env bash
# The whole test suite: unit, golden, real-tool checks and emulator integration tests
# (root). Installs what is missing first, compiles, type-checks the tests, then runs ava.
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")"
scripts/bootstrap.sh
rm -rf dist && npx tsc -p tsconfig.json && touch dist/.build-stamp
npm run --silent typecheck   # tests, benchmarks and scripts are type-checked like src/
exec npx ava "$@"
