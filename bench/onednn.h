// The oneDNN baseline of convgen_bench: one layer as oneDNN convolution primitive(s).
//
// src/weights/dst use format_tag::any (oneDNN picks its layout, e.g. nChw16c); the input is
// reordered into it and the weights are reordered once at construction, never in run(). Bias and
// the activation (ReLU: eltwise_relu post-op, ReLU6: eltwise_clip 0..6) are fused; dwsep's
// BatchNorms are folded into weights and biases (in double), giving two primitives run back to
// back in run(): depthwise (grouped conv, groups = C) then pointwise 1x1, each with its bias and
// activation post-op, the pointwise taking the depthwise's dst layout directly.
#pragma once

#include "generator/spec/layer_spec.h"
#include "generator/spec/npy.h"

#include <memory>
#include <string>
#include <vector>

namespace convgen_bench {

class OnednnLayer {
public:
    // input in the layer's layout (as reference_forward takes it), params PyTorch's (reference.h).
    // Sets oneDNN's (OpenMP) thread count. Throws std::exception (dnnl::error) on failure.
    OnednnLayer(const convgen::LayerSpec &spec, const convgen::Tensor &input, const convgen::NamedTensors &params,
                int threads);
    ~OnednnLayer();
    OnednnLayer(const OnednnLayer &) = delete;
    OnednnLayer &operator=(const OnednnLayer &) = delete;

    // The timed part: the primitive(s) on the prepared input, then waits for the stream.
    void run();
    // run() between the reorders a caller with tensors in the layer's layout pays: its input into
    // the first primitive's layout, the last one's output back (what an NCHW framework user sees).
    void run_with_reorders();
    // The last run's result, reordered to the layer's layout (NCHW or NHWC).
    std::vector<float> output();
    // The implementation(s) oneDNN chose, e.g. "jit:avx512_core" (dwsep: "dw+pw").
    std::string impl() const;

private:
    struct State;
    std::unique_ptr<State> st_;
};

std::string onednn_version();  // e.g. "2.6.3"

}  // namespace convgen_bench
