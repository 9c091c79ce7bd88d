// Between the C runtime's descriptions (runtime/include/convgen/convgen.h) and the C++ side
// (LayerSpec, Tensor): the CLI, the benchmarks and the tests all convert the same way.
// Header-only, so cross-compiled test programs can use it without the rest of convgen_core.
#pragma once

#include "convgen/convgen.h"
#include "generator/spec/layer_spec.h"
#include "generator/spec/npy.h"

#include <cstdint>
#include <vector>

namespace convgen {

// Kind, Act and Layout have the values of convgen_kind, convgen_act and convgen_layout's first
// entries: both are built from the lists of convgen/layer_enums.h.
static_assert(int(Kind::Dwsep) == CONVGEN_KIND_DWSEP && int(Act::Relu6) == CONVGEN_ACT_RELU6 &&
              int(Layout::NHWC) == CONVGEN_LAYOUT_NHWC);

// The enumerator of E whose name (to_string) is `name`; throws SpecError naming `what` otherwise.
template <typename E>
E enum_named(const std::string &what, const std::string &name, int count) {
    for (int i = 0; i < count; i++)
        if (name == to_string(E(i))) return E(i);
    throw SpecError(what + ": unknown value '" + name + "'");
}
inline Kind kind_named(const std::string &n) { return enum_named<Kind>("kind", n, 0 CONVGEN_KIND_LIST(CONVGEN_ENUM_COUNT)); }
inline Act act_named(const std::string &n) { return enum_named<Act>("act", n, 0 CONVGEN_ACT_LIST(CONVGEN_ENUM_COUNT)); }
inline Layout layout_named(const std::string &n) {
    return enum_named<Layout>("layout", n, 0 CONVGEN_ACTIVATION_LAYOUT_LIST(CONVGEN_ENUM_COUNT));
}

// The LayerSpec a registered kernel was generated for (eps is not part of a kernel).
inline LayerSpec spec_of(const convgen_layer &l) {
    LayerSpec s;
    s.kind = Kind(l.kind);
    s.n = l.n, s.c = l.c, s.h = l.h, s.w = l.w, s.cout = l.cout, s.kh = l.kh, s.kw = l.kw, s.sh = l.sh, s.sw = l.sw;
    s.pad_t = l.pad_t, s.pad_l = l.pad_l, s.pad_b = l.pad_b, s.pad_r = l.pad_r, s.dh = l.dh, s.dw = l.dw;
    s.groups = l.groups, s.multiplier = l.multiplier, s.bias = l.bias != 0, s.act = Act(l.act);
    s.layout = Layout(l.layout);  // the activation layouts are the first values of convgen_layout
    s.algo = l.algo == 1 ? Algo::Winograd : Algo::Direct;
    if (l.dw_act != CONVGEN_DW_ACT_SAME) s.dw_act = Act(l.dw_act - CONVGEN_DW_ACT_NONE);
    return s;
}

inline convgen_layout layout_of(const LayerSpec &s) {
    return convgen_layout(s.layout);
}

// A dense f32 host tensor over `data` (dims outermost first).
inline convgen_tensor host_tensor(float *data, const std::vector<int64_t> &shape, convgen_layout layout) {
    convgen_tensor t{};
    t.data = data;
    t.dtype = CONVGEN_F32;
    t.ndim = int(shape.size());
    for (size_t i = 0; i < shape.size() && i < CONVGEN_MAX_DIMS; i++) t.dims[i] = shape[i];
    t.layout = layout;
    t.device = CONVGEN_DEVICE_HOST;
    return t;
}

// The same over a CUDA device pointer (CUdeviceptr), for CUDA kernels run on device tensors.
inline convgen_tensor cuda_tensor(uint64_t device_ptr, const std::vector<int64_t> &shape, convgen_layout layout) {
    convgen_tensor t = host_tensor(reinterpret_cast<float *>(static_cast<uintptr_t>(device_ptr)), shape, layout);
    t.device = CONVGEN_DEVICE_CUDA;
    return t;
}

// PyTorch state_dict tensors as the runtime's named tensors: 4-D weights OIHW, vectors X.
// The result points into `params`, which must outlive it.
inline std::vector<convgen_named_tensor> named_tensors(NamedTensors &params) {
    std::vector<convgen_named_tensor> out;
    for (auto &[name, t] : params)
        out.push_back({name.c_str(), host_tensor(t.data.data(), t.shape,
                                                 t.shape.size() == 4 ? CONVGEN_LAYOUT_OIHW : CONVGEN_LAYOUT_X)});
    return out;
}

}  // namespace convgen
