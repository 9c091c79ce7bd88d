// `convgen run` for kernels this machine cannot load: AArch64 (NEON) kernels on an x86 host run
// in a small static aarch64 program under user-mode emulation (qemu-aarch64).
//
// The host tool does all .npy/.npz parsing; the runner only reads raw float32 files named in a
// text spec (format in qemu_runner.cpp), calls convgen_prepare_params + convgen_run through the
// generated registry, and writes the output as raw float32. The runner is linked from
//   - the kernel folder's bundle (libconvgen_kernels.a) and convgen_registry.c,
//   - the convgen runtime's C sources, compiled for aarch64 from the source tree recorded at build
//     time, or from $CONVGEN_RUNTIME_SRC (the runtime/ folder: src/*.c, include/) when installed;
//     HalideRuntime.h from the Halide recorded at build time or $CONVGEN_HALIDE_INCLUDE,
//   - a runner main embedded in qemu_runner.cpp,
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
// Throws SpecError naming the missing tool (aarch64-linux-gnu-gcc, qemu-aarch64), the runtime
// sources it could not find, or the command that failed.
Tensor run_under_qemu(const LayerSpec &spec, const ResolvedTarget &target, const std::string &dir,
                      const Tensor &input, const NamedTensors &params);

}  // namespace convgen
