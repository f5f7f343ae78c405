#!/usr/bin/env bash
# The whole test suite: unit, golden, real-tool checks and emulator integration tests
# (root). Installs what is missing first, compiles, then runs ava.
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")"
scripts/bootstrap.sh
rm -rf dist && npx tsc -p tsconfig.json && touch dist/.build-stamp
exec npx ava "$@"
