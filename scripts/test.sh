#!/usr/bin/env bash
# Sets up a fresh machine (scripts/setup.sh: apt packages, pinned .venv, build) and runs every
# test with ctest: unit, runtime, numerical (every kind x layout x AVX2/AVX-512 against the
# double reference), lit/FileCheck, the embedding examples and short fuzz runs. Then builds the
# same tree with AddressSanitizer + UndefinedBehaviorSanitizer (CONVGEN_SANITIZE=ON) into
# build-asan/ and runs its ctest too.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
.venv/bin/ctest --test-dir build --output-on-failure -j2

# ASan's defaults (LeakSanitizer included: the suite is leak-free, Halide's LLVM too); UB aborts
# (-fno-sanitize-recover), with its stack printed.
export UBSAN_OPTIONS=print_stacktrace=1
HALIDE_DIR=$(.venv/bin/python -c 'import halide, os; print(os.path.join(os.path.dirname(halide.__file__), "lib64", "cmake"))')
# -O1 (ASan's recommended level): a quarter of -O3's compile time under the sanitizers (test_runtime
# 26 s against 107), and the tests' time is Halide's and its kernels', not the instrumented code's.
.venv/bin/cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Release -DCONVGEN_SANITIZE=ON \
  -DCMAKE_CXX_FLAGS_RELEASE="-O1 -DNDEBUG" -DCMAKE_C_FLAGS_RELEASE="-O1 -DNDEBUG" \
  -DCMAKE_MAKE_PROGRAM="$PWD/.venv/bin/ninja" -DCMAKE_PREFIX_PATH="$HALIDE_DIR" >/dev/null
.venv/bin/cmake --build build-asan -j2
# Not again under the sanitizers: the benchmark (not built there: oneDNN's plumbing, no convgen
# parser it does not also reach through the other tests), the torchvision model exports (the ONNX
# reader is exercised by import.graphs and import.Classify) and lit.choice, whose ~50 reference
# checks of non-default choices JIT-compile kernels in Halide's uninstrumented LLVM (four minutes
# under the sanitizers); choices are parsed and validated there by unit.Choice.* and applied by
# every numerical kernel the sanitized generator builds. Nor lit.tune_ray: its C++ is the same
# `convgen tune` that lit.tune runs there; the rest is the Python Ray driver (~50 s).
.venv/bin/ctest --test-dir build-asan --output-on-failure -j2 -E '^(import[.]models|lit[.]choice|lit[.]tune_ray)$'
