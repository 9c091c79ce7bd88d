// `convgen run` for kernels this machine cannot load: AArch64 (NEON) kernels on an x86 host run
// in a small static aarch64 program under user-mode emulation (qemu-aarch64).
//
// The host tool does all .npy/.npz parsing; the runner only reads raw float32 files named in a
// text spec (format in qemu_runner.cpp), calls convgen_prepare_params + convgen_run through the
// generated registry, and writes the output as raw float32. The runner is linked from
//   - the kernel folder's bundle (libconvgen_kernels.a) and convgen_registry.c (compiled here),
//   - the aarch64 runtime and runner main (arm_runner.c) that convgen's build made with the
//     toolchain file cmake/aarch64-linux-gnu.cmake (cmake/convgen_aarch64.cmake), found in
//     $CONVGEN_AARCH64_PREFIX, beside an installed convgen or in the build tree,
// with aarch64-linux-gnu-gcc (or $CONVGEN_AARCH64_CC), cached next to the kernel.
#pragma once

#include "Halide.h"
#include "generator/spec/layer_spec.h"
#include "generator/spec/npy.h"
#include "generator/driver/targets.h"

#include <string>

namespace convgen {

// True when kernels for `t` must run under an emulator here (an ARM target on a non-ARM host).
bool needs_emulator(const Halide::Target &t);

// Generates (or reuses) the kernel of `spec` for `target` in `dir`, builds (or reuses) the
// aarch64 runner and runs it on `input`/`params` under qemu-aarch64; returns the output.
// Throws ToolError naming the missing tool (aarch64-linux-gnu-gcc, qemu-aarch64), the aarch64
// runtime it could not find, or the command that failed; SpecError when the runtime in the
// runner refuses the data.
Tensor run_under_qemu(const LayerSpec &spec, const ResolvedTarget &target, const std::string &dir,
                      const Tensor &input, const NamedTensors &params);

}  // namespace convgen
