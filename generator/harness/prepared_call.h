// A registered kernel ready to be called on a layer's deterministic data: random_input(seed) and
// random_params(seed + 1) (reference.h), the parameters prepared by the runtime, 64-byte aligned
// copies of the input and an output buffer (timing.h), and the runtime tensors over them.
// `convgen check` and `convgen tune` time and check kernels through it, the benchmark its
// runtime-overhead probe.
#pragma once

#include "convgen/convgen.h"
#include "generator/spec/layer_spec.h"
#include "generator/spec/npy.h"
#include "generator/harness/timing.h"

#include <cstdint>
#include <string>
#include <vector>

namespace convgen {

struct PreparedCall {
    Tensor input;
    NamedTensors params;
    AlignedFloats in_buf, out_buf;
    convgen_params *prepared = nullptr;
    convgen_tensor in_t{}, out_t{};

    // Throws std::runtime_error("<what>: <the runtime's message>") when the runtime refuses the
    // parameters.
    PreparedCall(const convgen_kernel *k, const LayerSpec &spec, uint64_t seed, const std::string &what);
    ~PreparedCall() { convgen_params_free(prepared); }
    PreparedCall(const PreparedCall &) = delete;
    PreparedCall &operator=(const PreparedCall &) = delete;

    convgen_status run(const convgen_kernel *k) { return convgen_run(k, prepared, &in_t, &out_t); }
    std::vector<float> output() const { return out_buf.vector(); }
};

}  // namespace convgen
