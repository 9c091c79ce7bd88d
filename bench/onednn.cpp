// The oneDNN baseline (see onednn.h). oneDNN 2.x API (apt libdnnl-dev 2.6, OpenMP threading).
#include "bench/onednn.h"

#include <dnnl.hpp>
#include <omp.h>

#include <cmath>
#include <stdexcept>
#include <unordered_map>

namespace convgen_bench {

using convgen::Act;
using convgen::Kind;
using convgen::Layout;
using convgen::LayerSpec;
using convgen::NamedTensors;
using convgen::Tensor;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

namespace {

// One convolution primitive with its memories (weights already in the primitive's layout).
struct Stage {
    dnnl::convolution_forward::primitive_desc pd;
    dnnl::convolution_forward prim;
    dnnl::memory weights, bias, dst;
    std::unordered_map<int, dnnl::memory> args;
};

// What one stage computes: PyTorch-layout weights (O, I/groups, kh, kw) and an optional bias.
struct StageDef {
    int64_t n, c, h, w, cout, groups, kh, kw, sh, sw, pt, pl, pb, pr, dh, dw;
    std::vector<float> weight, bias;  // bias empty: none
    Act act;
};

const Tensor &param(const NamedTensors &p, const std::string &name) {
    auto it = p.find(name);
    if (it == p.end()) throw std::runtime_error("onednn: missing parameter '" + name + "'");
    return it->second;
}

// BatchNorm (v - mean) / sqrt(var + eps) * gamma + beta folded into weights (O rows of `per_out`
// values) and a bias; computed in double, rounded once.
void fold_bn(const NamedTensors &p, const std::string &bn, float eps, int64_t outs, std::vector<float> &weight,
             std::vector<float> &bias, const Tensor *conv_bias) {
    const Tensor &g = param(p, bn + ".weight"), &b = param(p, bn + ".bias"), &m = param(p, bn + ".running_mean"),
                 &v = param(p, bn + ".running_var");
    const size_t per_out = weight.size() / size_t(outs);
    bias.assign(size_t(outs), 0.f);
    for (int64_t o = 0; o < outs; o++) {
        const double s = double(g.data[size_t(o)]) / std::sqrt(double(v.data[size_t(o)]) + double(eps));
        const double cb = conv_bias ? double(conv_bias->data[size_t(o)]) : 0.0;
        bias[size_t(o)] = float((cb - double(m.data[size_t(o)])) * s + double(b.data[size_t(o)]));
        for (size_t i = 0; i < per_out; i++) {
            float &w = weight[size_t(o) * per_out + i];
            w = float(double(w) * s);
        }
    }
}

dnnl::memory::desc act_desc(int64_t n, int64_t c, int64_t h, int64_t w, tag t) {
    return dnnl::memory::desc({n, c, h, w}, dt::f32, t);
}

// Builds one stage. src_md: the layout its input comes in (format_tag::any lets oneDNN choose).
Stage make_stage(const StageDef &d, const dnnl::memory::desc &src_md, const dnnl::engine &eng, dnnl::stream &strm) {
    const int64_t oh = (d.h + d.pt + d.pb - (d.dh * (d.kh - 1) + 1)) / d.sh + 1;
    const int64_t ow = (d.w + d.pl + d.pr - (d.dw * (d.kw - 1) + 1)) / d.sw + 1;
    const bool grouped = d.groups > 1;
    const dnnl::memory::dims wdims = grouped ? dnnl::memory::dims{d.groups, d.cout / d.groups, d.c / d.groups, d.kh, d.kw}
                                             : dnnl::memory::dims{d.cout, d.c, d.kh, d.kw};
    const dnnl::memory::desc w_any(wdims, dt::f32, tag::any);
    const dnnl::memory::desc b_md = d.bias.empty() ? dnnl::memory::desc() : dnnl::memory::desc({d.cout}, dt::f32, tag::x);
    const dnnl::memory::desc dst_any = act_desc(d.n, d.cout, oh, ow, tag::any);
    dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
                                         src_md, w_any, b_md, dst_any, {d.sh, d.sw}, {d.dh - 1, d.dw - 1},
                                         {d.pt, d.pl}, {d.pb, d.pr});
    dnnl::post_ops ops;
    if (d.act == Act::Relu) ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
    if (d.act == Act::Relu6) ops.append_eltwise(1.f, dnnl::algorithm::eltwise_clip, 0.f, 6.f);
    dnnl::primitive_attr attr;
    attr.set_post_ops(ops);
    Stage s;
    s.pd = dnnl::convolution_forward::primitive_desc(desc, attr, eng);
    s.prim = dnnl::convolution_forward(s.pd);
    // Weights: PyTorch OIHW (grouped: the same memory read as GOIHW), reordered once.
    std::vector<float> wcopy = d.weight;
    dnnl::memory user_w({wdims, dt::f32, grouped ? tag::goihw : tag::oihw}, eng, wcopy.data());
    s.weights = dnnl::memory(s.pd.weights_desc(), eng);
    dnnl::reorder(user_w, s.weights).execute(strm, user_w, s.weights);
    if (!d.bias.empty()) {
        s.bias = dnnl::memory(s.pd.bias_desc(), eng);
        std::vector<float> bcopy = d.bias;
        dnnl::memory user_b(b_md, eng, bcopy.data());
        dnnl::reorder(user_b, s.bias).execute(strm, user_b, s.bias);
    }
    strm.wait();
    s.dst = dnnl::memory(s.pd.dst_desc(), eng);
    s.args = {{DNNL_ARG_WEIGHTS, s.weights}, {DNNL_ARG_DST, s.dst}};
    if (!d.bias.empty()) s.args[DNNL_ARG_BIAS] = s.bias;
    return s;
}

}  // namespace

struct OnednnLayer::State {
    dnnl::engine eng{dnnl::engine::kind::cpu, 0};
    dnnl::stream strm{eng};
    std::vector<Stage> stages;
    dnnl::memory src;  // the input in the first primitive's layout
    LayerSpec spec;
    // run_with_reorders(): the caller's tensors in the layer's layout and the two reorders.
    std::vector<float> user_in, user_out;
    dnnl::memory user_src, user_dst;
    dnnl::reorder to_src, from_dst;
};

OnednnLayer::OnednnLayer(const LayerSpec &s, const Tensor &input, const NamedTensors &params, int threads)
    : st_(std::make_unique<State>()) {
    // oneDNN's OpenMP kernels size their work split by the thread count when created.
    omp_set_num_threads(threads);
    st_->spec = s;
    const tag user_tag = s.layout == Layout::NHWC ? tag::nhwc : tag::nchw;
    std::vector<StageDef> defs;
    StageDef base{s.n, s.c, s.h, s.w, s.cout, 1, s.kh, s.kw, s.sh, s.sw, s.pad_t, s.pad_l, s.pad_b, s.pad_r, s.dh, s.dw,
                  {}, {}, s.act};
    switch (s.kind) {
    case Kind::Conv:
    case Kind::Pointwise:
    case Kind::Depthwise: {
        StageDef d = base;
        if (s.kind == Kind::Conv) d.groups = s.groups;
        if (s.kind == Kind::Depthwise) d.groups = s.c;  // weight (C*m, 1, kh, kw) = goihw (C, m, 1, kh, kw)
        d.weight = param(params, "weight").data;
        if (s.bias) d.bias = param(params, "bias").data;
        defs.push_back(d);
        break;
    }
    case Kind::Dwsep: {
        StageDef dw = base;  // the depthwise stage's activation (act=relu6:none: relu6)
        dw.act = s.dw_stage_act();
        dw.cout = s.c;
        dw.groups = s.c;
        dw.weight = param(params, "dw.weight").data;
        fold_bn(params, "bn1", s.eps, s.c, dw.weight, dw.bias, s.bias ? &param(params, "dw.bias") : nullptr);
        StageDef pw{s.n, s.c, s.out_h(), s.out_w(), s.cout, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, {}, {}, s.act};
        pw.weight = param(params, "pw.weight").data;
        fold_bn(params, "bn2", s.eps, s.cout, pw.weight, pw.bias, s.bias ? &param(params, "pw.bias") : nullptr);
        defs.push_back(dw);
        defs.push_back(pw);
        break;
    }
    }
    for (size_t i = 0; i < defs.size(); i++) {
        const StageDef &d = defs[i];
        // The first stage picks its input layout; later ones take the previous stage's dst as is.
        const dnnl::memory::desc src_md =
            i == 0 ? act_desc(d.n, d.c, d.h, d.w, tag::any) : st_->stages.back().pd.dst_desc();
        st_->stages.push_back(make_stage(d, src_md, st_->eng, st_->strm));
    }
    // The input, reordered once into the first primitive's layout.
    std::vector<float> in_copy = input.data;
    dnnl::memory user_src(act_desc(s.n, s.c, s.h, s.w, user_tag), st_->eng, in_copy.data());
    st_->src = dnnl::memory(st_->stages[0].pd.src_desc(), st_->eng);
    dnnl::reorder(user_src, st_->src).execute(st_->strm, user_src, st_->src);
    st_->strm.wait();
    for (size_t i = 0; i < st_->stages.size(); i++)
        st_->stages[i].args[DNNL_ARG_SRC] = i == 0 ? st_->src : st_->stages[i - 1].dst;

    st_->user_in = input.data;
    st_->user_out.resize(size_t(s.n) * size_t(s.cout) * size_t(s.out_h()) * size_t(s.out_w()));
    st_->user_src = dnnl::memory(act_desc(s.n, s.c, s.h, s.w, user_tag), st_->eng, st_->user_in.data());
    st_->user_dst = dnnl::memory(act_desc(s.n, s.cout, s.out_h(), s.out_w(), user_tag), st_->eng, st_->user_out.data());
    st_->to_src = dnnl::reorder(st_->user_src, st_->src);
    st_->from_dst = dnnl::reorder(st_->stages.back().dst, st_->user_dst);
}

OnednnLayer::~OnednnLayer() = default;

void OnednnLayer::run() {
    for (Stage &s : st_->stages) s.prim.execute(st_->strm, s.args);
    st_->strm.wait();
}

void OnednnLayer::run_with_reorders() {
    st_->to_src.execute(st_->strm, st_->user_src, st_->src);
    for (Stage &s : st_->stages) s.prim.execute(st_->strm, s.args);
    st_->from_dst.execute(st_->strm, st_->stages.back().dst, st_->user_dst);
    st_->strm.wait();
}

std::vector<float> OnednnLayer::output() {
    const LayerSpec &s = st_->spec;
    std::vector<float> out(size_t(s.n) * size_t(s.cout) * size_t(s.out_h()) * size_t(s.out_w()));
    dnnl::memory user_dst(act_desc(s.n, s.cout, s.out_h(), s.out_w(), s.layout == Layout::NHWC ? tag::nhwc : tag::nchw),
                          st_->eng, out.data());
    dnnl::memory &dst = st_->stages.back().dst;
    dnnl::reorder(dst, user_dst).execute(st_->strm, dst, user_dst);
    st_->strm.wait();
    return out;
}

std::string OnednnLayer::impl() const {
    std::string out;
    for (const Stage &s : st_->stages) out += (out.empty() ? "" : "+") + std::string(s.pd.impl_info_str());
    return out;
}

std::string onednn_version() {
    const dnnl_version_t *v = dnnl_version();
    return std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
}

}  // namespace convgen_bench
