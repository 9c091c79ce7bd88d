#!/bin/sh
# GPU benchmark: convgen's CUDA kernels for the suite (both layouts) against the double reference
# and against cuDNN (PyTorch), on a machine with an NVIDIA GPU (sm_80+), its driver and PyTorch;
# no internet, no compiler, no Halide needed there (< 4 minutes on an H100).
#
# Built on the development machine (CUDA toolkit present, so CMake builds it):
#   .venv/bin/cmake --build build -j2 --target convgen_gpu_check
# then carry build/bench/gpu/convgen_gpu_check (statically linked but for libc, libm, libz;
# the kernels, the Halide runtime and the reference are inside) and run, from the repo root:
#   bench/gpu/run.sh [path/to/convgen_gpu_check]
#
# Prints convgen_gpu_check's table (per kernel, each path checked against the reference: GPU time
# per call from graph replays; wall time per call on host tensors (copies), on device tensors with
# resident parameters (convgen_run) and by replaying a recorded graph; what those add to the GPU
# time), then cudnn.py's table (cuDNN through torch.nn.functional.conv2d in CUDA graphs, TF32 off
# and on, the ratios and their geometric mean, convgen's wall times beside). Exit status: that of
# convgen_gpu_check (1: a kernel failed; 3: no GPU). Time limits: 150 s + 80 s.
set -u
here=$(dirname "$0")
check=${1:-build/bench/gpu/convgen_gpu_check}
out=${TMPDIR:-/tmp}/convgen_gpu.csv
timeout 150 "$check" --iterations 200 --csv "$out"
status=$?
if [ "$status" -le 1 ] && [ -s "$out" ]; then
    timeout 80 python3 "$here/cudnn.py" "$out" --reps 200 || echo "cudnn.py failed (PyTorch with CUDA needed)"
fi
exit "$status"
