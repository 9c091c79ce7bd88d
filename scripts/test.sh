#!/usr/bin/env bash
# Sets up a fresh machine (scripts/setup.sh: apt packages, pinned .venv, build) and runs every
# test with ctest: unit, runtime, numerical (every kind x layout x AVX2/AVX-512 against the
# double reference), lit/FileCheck, and the embedding examples.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
.venv/bin/ctest --test-dir build --output-on-failure -j2
