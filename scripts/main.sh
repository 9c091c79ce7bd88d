#!/usr/bin/env bash
# The main job on its built-in default: set up and build, generate kernels for every layer of the
# benchmark suite (layers/suite.tsv) for this machine's best x86 target, run each against
# the double-precision reference and print the table. Extra arguments go to `convgen check`.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
exec build/convgen check --target host "$@"
