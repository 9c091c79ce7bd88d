#!/usr/bin/env bash
# Installs a convgen build into a fresh prefix and builds an example against it, as a user would:
#   run.sh cmake <convgen build dir> <work dir>   examples/embed (find_package, convgen_add_kernels)
#   run.sh make  <convgen build dir> <work dir>   examples/makefile (plain make)
#   run.sh existing <convgen build dir> <work dir>  tests/embed/existing (convgen_add_kernels on
#                                                 the project's own executable and static library)
# Tools come from the environment (tests/embed/CMakeLists.txt sets them): CMAKE (installs the
# build), CONSUMER_CMAKE (configures and builds the outside projects; default CMAKE), and for the
# CMake modes NINJA and PYTHON (with numpy, for the embed example's float64 reference).
# Exit status: 0 pass, 77 skipped (reason printed as [SKIP]), anything else a failure.
set -euo pipefail
mode=$1 build=$2 work=$3
src=$(cd "$(dirname "$0")/../.." && pwd)
CMAKE=${CMAKE:-cmake}
CONSUMER_CMAKE=${CONSUMER_CMAKE:-$CMAKE}

rm -rf "$work"
mkdir -p "$work"
prefix=$work/prefix
"$CMAKE" --install "$build" --prefix "$prefix" >"$work/install.log"
for f in bin/convgen lib/libconvgen_runtime.a include/convgen/convgen.h \
         lib/cmake/convgen/convgenConfig.cmake lib/cmake/convgen/convgenConfigVersion.cmake \
         lib/cmake/convgen/convgenTargets.cmake lib/cmake/convgen/convgen_add_kernels.cmake; do
  [[ -e $prefix/$f ]] || { echo "FAIL: the install has no $f"; exit 1; }
done

case $mode in
cmake)
  PYTHON=${PYTHON:-python3}
  if ! "$PYTHON" -c 'import numpy' 2>/dev/null; then
    echo "[SKIP] $PYTHON cannot import numpy (the example's reference needs it)"
    exit 77
  fi
  "$CONSUMER_CMAKE" --version | head -1
  "$CONSUMER_CMAKE" -S "$src/examples/embed" -B "$work/build" -G Ninja -DCMAKE_MAKE_PROGRAM="${NINJA:-ninja}" \
    -DCMAKE_PREFIX_PATH="$prefix"
  "$CONSUMER_CMAKE" --build "$work/build" -j2
  "$PYTHON" "$src/examples/embed/reference.py" "$work/expected.bin"
  "$work/build/mobilenet_block" "$work/expected.bin"
  ;;
existing)
  "$CONSUMER_CMAKE" --version | head -1
  "$CONSUMER_CMAKE" -S "$src/tests/embed/existing" -B "$work/build" -G Ninja -DCMAKE_MAKE_PROGRAM="${NINJA:-ninja}" \
    -DCMAKE_PREFIX_PATH="$prefix"
  "$CONSUMER_CMAKE" --build "$work/build" -j2
  # Each exits 77 (skip) when this CPU cannot run the kernel's target.
  "$work/build/conv_demo"
  "$work/build/conv_demo_static"
  ;;
make)
  make -C "$work" -f "$src/examples/makefile/Makefile" CONVGEN_PREFIX="$prefix" conv_demo
  "$work/conv_demo"  # exits 77 (skip) when this CPU cannot run the kernel's target
  ;;
*)
  echo "usage: run.sh cmake|existing|make <convgen build dir> <work dir>" >&2
  exit 2
  ;;
esac
