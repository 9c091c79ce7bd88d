#!/usr/bin/env bash
# Sets up a fresh Debian bookworm machine for convgen and builds it into build/:
#  1. apt packages (by exact name) when any is missing,
#  2. the pinned Python packages (Halide 21 wheel, CMake, Ninja, numpy, lit) in .venv/,
#  3. configure and build with CMake (-j2).
# Idempotent: a second run only rebuilds what changed.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(g++ make python3-venv zlib1g-dev libminizip-dev pkg-config nlohmann-json3-dev libcli11-dev libfmt-dev
              libgtest-dev libgmock-dev llvm-14-tools clang-14 libclang-rt-14-dev libdnnl-dev python3-matplotlib
              g++-aarch64-linux-gnu qemu-user
              libonnx-dev libprotobuf-dev python3-onnx python3-torch python3-torchvision
              libmlir-19-dev mlir-19-tools llvm-19-dev)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [[ ! -x .venv/bin/python ]]; then python3 -m venv .venv; fi
if ! .venv/bin/pip freeze 2>/dev/null | sort | diff -q <(grep -v '^#' scripts/requirements.txt | sort) - >/dev/null 2>&1; then
  .venv/bin/pip install -q --disable-pip-version-check -r scripts/requirements.txt
fi

HALIDE_DIR=$(.venv/bin/python -c 'import halide, os; print(os.path.join(os.path.dirname(halide.__file__), "lib64", "cmake"))')
.venv/bin/cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_MAKE_PROGRAM="$PWD/.venv/bin/ninja" -DCMAKE_PREFIX_PATH="$HALIDE_DIR" >/dev/null
.venv/bin/cmake --build build -j2
