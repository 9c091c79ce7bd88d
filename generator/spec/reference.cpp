// The double-precision reference (see reference.h for the parameter contract).
//
// Map of this file:
//   checks          input/params names and shapes -> SpecError naming the tensor
//   conv2d_nchw     one direct grouped convolution in double; every kind is built from it
//                   (depthwise = groups c, pointwise = 1x1, dwsep = depthwise, BN, act,
//                   pointwise, BN, act)
//   random data     splitmix64 streams per tensor
//   tolerance       the error model for an f32 kernel, and compare()
//
// Clarity over speed: a direct 7-deep loop; the largest suite layers take seconds at most.
#include "generator/spec/reference.h"

#include <cfloat>
#include <cmath>
#include <limits>
#include <set>

namespace convgen {

namespace {

[[noreturn]] void fail(const std::string &msg) { throw SpecError(msg); }

bool is_nchw(const LayerSpec &s) { return s.layout == Layout::NCHW; }

// ---------------------------------------------------------------------------------------------
// checks

void check_geometry(const LayerSpec &s) {
    if (s.n <= 0 || s.c <= 0 || s.h <= 0 || s.w <= 0 || s.cout <= 0)
        fail("spec: n, c, h, w, cout must be positive (n=" + std::to_string(s.n) + " c=" + std::to_string(s.c) +
             " h=" + std::to_string(s.h) + " w=" + std::to_string(s.w) + " cout=" + std::to_string(s.cout) + ")");
    if (s.kh <= 0 || s.kw <= 0 || s.sh <= 0 || s.sw <= 0 || s.dh <= 0 || s.dw <= 0)
        fail("spec: kernel, stride and dilation must be positive");
    if (s.pad_t < 0 || s.pad_l < 0 || s.pad_b < 0 || s.pad_r < 0) fail("spec: padding must be non-negative");
    if (s.out_h() <= 0 || s.out_w() <= 0)
        fail("spec: output size " + std::to_string(s.out_h()) + "x" + std::to_string(s.out_w()) +
             " is empty (the dilated kernel is larger than the padded input)");
    if (s.kind == Kind::Conv && (s.groups <= 0 || s.c % s.groups || s.cout % s.groups))
        fail("spec: groups=" + std::to_string(s.groups) + " must divide c=" + std::to_string(s.c) +
             " and cout=" + std::to_string(s.cout));
    if (s.kind == Kind::Depthwise && (s.multiplier <= 0 || s.cout != s.c * s.multiplier))
        fail("spec: depthwise cout=" + std::to_string(s.cout) + " must equal c*multiplier=" +
             std::to_string(int64_t(s.c) * s.multiplier));
    if (s.kind == Kind::Pointwise && (s.kh != 1 || s.kw != 1))
        fail("spec: pointwise kernel must be 1x1, not " + std::to_string(s.kh) + "x" + std::to_string(s.kw));
}

void check_params(const LayerSpec &s, const NamedTensors &params) {
    auto expected = expected_params(s);
    std::set<std::string> names;
    for (const auto &e : expected) {
        names.insert(e.first);
        auto it = params.find(e.first);
        if (it == params.end()) fail("params: missing '" + e.first + "'");
        const Tensor &t = it->second;
        if (t.shape != e.second)
            fail("params: '" + e.first + "' has shape " + shape_str(t.shape) + ", expected " + shape_str(e.second));
        if (int64_t(t.data.size()) != t.numel())
            fail("params: '" + e.first + "' has shape " + shape_str(t.shape) + " but " +
                 std::to_string(t.data.size()) + " values");
    }
    for (const auto &kv : params) {
        const std::string &k = kv.first;
        if (names.count(k)) continue;
        if (s.kind == Kind::Dwsep && (k == "bn1.num_batches_tracked" || k == "bn2.num_batches_tracked")) continue;
        bool is_bias = k == "bias" || k == "dw.bias" || k == "pw.bias";
        if (is_bias && !s.bias) fail("params: unexpected '" + k + "' (layer has bias=0)");
        std::string takes;
        for (const auto &e : expected) takes += (takes.empty() ? "'" : ", '") + e.first + "'";
        fail("params: unexpected '" + k + "' (a " + to_string(s.kind) + " layer takes " + takes + ")");
    }
}

// ---------------------------------------------------------------------------------------------
// compute (all buffers NCHW, double)

struct Geometry {
    int kh, kw, sh, sw, dh, dw, pad_t, pad_l, oh, ow;
};

Geometry spatial(const LayerSpec &s) {
    return {s.kh, s.kw, s.sh, s.sw, s.dh, s.dw, s.pad_t, s.pad_l, s.out_h(), s.out_w()};
}

Geometry one_by_one(int h, int w) { return {1, 1, 1, 1, 1, 1, 0, 0, h, w}; }

// PyTorch's conv2d: out[n][o][y][x] = bias[o] + sum over the group's input channels i and taps
// (ky, kx) of in[n][g*cig + i][y*sh - pad_t + ky*dh][x*sw - pad_l + kx*dw] * w[o][i][ky][kx],
// g = o / (cout/groups), zero outside the input.
std::vector<double> conv2d_nchw(const std::vector<double> &in, int n, int c, int h, int w, const Tensor &weight,
                                const Tensor *bias, int cout, int groups, const Geometry &g) {
    const int cig = c / groups, cog = cout / groups;
    std::vector<double> out(size_t(n) * cout * g.oh * g.ow);
    for (int b = 0; b < n; b++)
        for (int o = 0; o < cout; o++) {
            const int grp = o / cog;
            for (int y = 0; y < g.oh; y++)
                for (int x = 0; x < g.ow; x++) {
                    double acc = bias ? double(bias->data[size_t(o)]) : 0.0;
                    for (int i = 0; i < cig; i++) {
                        const int ci = grp * cig + i;
                        for (int ky = 0; ky < g.kh; ky++) {
                            const int iy = y * g.sh - g.pad_t + ky * g.dh;
                            if (iy < 0 || iy >= h) continue;
                            for (int kx = 0; kx < g.kw; kx++) {
                                const int ix = x * g.sw - g.pad_l + kx * g.dw;
                                if (ix < 0 || ix >= w) continue;
                                acc += in[((size_t(b) * c + ci) * h + iy) * w + ix] *
                                       double(weight.data[((size_t(o) * cig + i) * g.kh + ky) * g.kw + kx]);
                            }
                        }
                    }
                    out[((size_t(b) * cout + o) * g.oh + y) * g.ow + x] = acc;
                }
        }
    return out;
}

void batch_norm(std::vector<double> &v, int n, int c, int hw, const NamedTensors &p, const std::string &prefix,
                double eps) {
    const Tensor &gamma = p.at(prefix + ".weight"), &beta = p.at(prefix + ".bias");
    const Tensor &mean = p.at(prefix + ".running_mean"), &var = p.at(prefix + ".running_var");
    for (int ch = 0; ch < c; ch++) {
        const double scale = double(gamma.data[size_t(ch)]) / std::sqrt(double(var.data[size_t(ch)]) + eps);
        const double m = mean.data[size_t(ch)], b = beta.data[size_t(ch)];
        for (int b_ = 0; b_ < n; b_++) {
            double *row = &v[(size_t(b_) * c + ch) * hw];
            for (int k = 0; k < hw; k++) row[k] = (row[k] - m) * scale + b;
        }
    }
}

void activate(std::vector<double> &v, Act a) {
    if (a == Act::None) return;
    for (double &x : v) {
        x = std::max(x, 0.0);
        if (a == Act::Relu6) x = std::min(x, 6.0);
    }
}

// Layout conversions between the layer's layout and NCHW.
std::vector<double> to_nchw(const std::vector<double> &v, int n, int c, int h, int w, Layout l) {
    if (l == Layout::NCHW) return v;
    std::vector<double> out(v.size());
    for (int b = 0; b < n; b++)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                for (int ch = 0; ch < c; ch++)
                    out[((size_t(b) * c + ch) * h + y) * w + x] = v[((size_t(b) * h + y) * w + x) * c + ch];
    return out;
}

std::vector<double> from_nchw(const std::vector<double> &v, int n, int c, int h, int w, Layout l) {
    if (l == Layout::NCHW) return v;
    std::vector<double> out(v.size());
    for (int b = 0; b < n; b++)
        for (int ch = 0; ch < c; ch++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    out[((size_t(b) * h + y) * w + x) * c + ch] = v[((size_t(b) * c + ch) * h + y) * w + x];
    return out;
}

// ---------------------------------------------------------------------------------------------
// random data

uint64_t splitmix64(uint64_t &state) {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

uint64_t fnv1a(const std::string &s) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (unsigned char ch : s) h = (h ^ ch) * 0x100000001b3ull;
    return h;
}

// Uniform in [lo, hi): 24 random bits, so every value is exact in float for [-1, 1).
Tensor random_tensor(std::vector<int64_t> shape, uint64_t seed, const std::string &name, double lo, double hi) {
    uint64_t state = seed ^ fnv1a(name);
    Tensor t;
    t.shape = std::move(shape);
    t.data.resize(size_t(t.numel()));
    for (float &v : t.data) {
        const double u = double(splitmix64(state) >> 40) * (1.0 / 16777216.0);
        v = float(lo + (hi - lo) * u);
    }
    return t;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// public

std::vector<int64_t> input_shape(const LayerSpec &s) {
    if (is_nchw(s)) return {s.n, s.c, s.h, s.w};
    return {s.n, s.h, s.w, s.c};
}

std::vector<int64_t> output_shape(const LayerSpec &s) {
    if (is_nchw(s)) return {s.n, s.cout, s.out_h(), s.out_w()};
    return {s.n, s.out_h(), s.out_w(), s.cout};
}

std::vector<std::pair<std::string, std::vector<int64_t>>> expected_params(const LayerSpec &s) {
    std::vector<std::pair<std::string, std::vector<int64_t>>> p;
    const int64_t co = s.cout;
    switch (s.kind) {
    case Kind::Conv:
        p.push_back({"weight", {co, s.groups > 0 ? s.c / s.groups : 0, s.kh, s.kw}});
        break;
    case Kind::Pointwise:
        p.push_back({"weight", {co, s.c, 1, 1}});
        break;
    case Kind::Depthwise:
        p.push_back({"weight", {int64_t(s.c) * s.multiplier, 1, s.kh, s.kw}});
        break;
    case Kind::Dwsep:
        p.push_back({"dw.weight", {s.c, 1, s.kh, s.kw}});
        if (s.bias) p.push_back({"dw.bias", {s.c}});
        for (const char *f : {"weight", "bias", "running_mean", "running_var"})
            p.push_back({std::string("bn1.") + f, {s.c}});
        p.push_back({"pw.weight", {co, s.c, 1, 1}});
        if (s.bias) p.push_back({"pw.bias", {co}});
        for (const char *f : {"weight", "bias", "running_mean", "running_var"})
            p.push_back({std::string("bn2.") + f, {co}});
        return p;
    }
    if (s.bias) p.push_back({"bias", {s.kind == Kind::Depthwise ? int64_t(s.c) * s.multiplier : co}});
    return p;
}

std::vector<double> reference_forward(const LayerSpec &s, const std::vector<double> &input,
                                      const NamedTensors &params) {
    check_geometry(s);
    const auto ishape = input_shape(s);
    const int64_t want = ishape[0] * ishape[1] * ishape[2] * ishape[3];
    if (int64_t(input.size()) != want)
        fail("input: " + std::to_string(input.size()) + " values, expected " + shape_str(ishape) + " = " +
             std::to_string(want) + " (" + to_string(s.layout) + ")");
    check_params(s, params);

    const std::vector<double> x = to_nchw(input, s.n, s.c, s.h, s.w, s.layout);
    const int oh = s.out_h(), ow = s.out_w();
    auto bias = [&](const char *name) { return s.bias ? &params.at(name) : nullptr; };
    std::vector<double> y;
    switch (s.kind) {
    case Kind::Conv:
        y = conv2d_nchw(x, s.n, s.c, s.h, s.w, params.at("weight"), bias("bias"), s.cout, s.groups, spatial(s));
        break;
    case Kind::Pointwise:
        y = conv2d_nchw(x, s.n, s.c, s.h, s.w, params.at("weight"), bias("bias"), s.cout, 1, spatial(s));
        break;
    case Kind::Depthwise:
        y = conv2d_nchw(x, s.n, s.c, s.h, s.w, params.at("weight"), bias("bias"), s.c * s.multiplier, s.c,
                        spatial(s));
        break;
    case Kind::Dwsep: {
        std::vector<double> mid =
            conv2d_nchw(x, s.n, s.c, s.h, s.w, params.at("dw.weight"), bias("dw.bias"), s.c, s.c, spatial(s));
        batch_norm(mid, s.n, s.c, oh * ow, params, "bn1", double(s.eps));
        activate(mid, s.dw_stage_act());
        y = conv2d_nchw(mid, s.n, s.c, oh, ow, params.at("pw.weight"), bias("pw.bias"), s.cout, 1,
                        one_by_one(oh, ow));
        batch_norm(y, s.n, s.cout, oh * ow, params, "bn2", double(s.eps));
        break;
    }
    }
    activate(y, s.act);
    return from_nchw(y, s.n, s.cout, oh, ow, s.layout);
}

std::vector<double> reference_forward(const LayerSpec &s, const Tensor &input, const NamedTensors &params) {
    check_geometry(s);
    if (input.shape != input_shape(s))
        fail("input: shape " + shape_str(input.shape) + ", expected " + shape_str(input_shape(s)) + " (" +
             to_string(s.layout) + ")");
    if (int64_t(input.data.size()) != input.numel())
        fail("input: shape " + shape_str(input.shape) + " but " + std::to_string(input.data.size()) + " values");
    return reference_forward(s, std::vector<double>(input.data.begin(), input.data.end()), params);
}

Tensor random_input(const LayerSpec &s, uint64_t seed) { return random_tensor(input_shape(s), seed, "input", -1, 1); }

NamedTensors random_params(const LayerSpec &s, uint64_t seed) {
    NamedTensors p;
    for (const auto &e : expected_params(s)) {
        const std::string &k = e.first;
        const bool positive = k == "bn1.weight" || k == "bn2.weight" || k == "bn1.running_var" ||
                              k == "bn2.running_var";
        p[k] = positive ? random_tensor(e.second, seed, k, 0.5, 1.5) : random_tensor(e.second, seed, k, -1, 1);
    }
    return p;
}

// Tolerance: the error model.
//
// u = 2^-24 is float32's unit roundoff. A kernel accumulates a dot product of L terms in f32,
// usually sequentially per output (vector lanes run over outputs, not over the sum), with FMA
// or not, in any order. Each step rounds the partial sum s_i by at most u|s_i|, with random
// sign. With inputs and weights uniform in [-1, 1] a term has rms 1/3, so |s_i| ~ sqrt(i)/3 and
// the accumulated error has standard deviation about u * sqrt(sum_i i/9) = u*L/(3*sqrt 2) ~
// 0.24 u L (less with FMA or blocked sums). We allow
//     e(L, scale) = u * scale * (4 L + 24 sqrt(L) + 64)
// i.e. >= 16 standard deviations of the summation error (never flakes, even as the max over
// 10^8 outputs), plus 24 u sqrt(L) for the bias and product roundings and 64 u for the final
// rounding of an output of magnitude ~ sqrt(L). Examples: 3x3 conv on 3 channels (L = 27):
// 1.8e-5; on 512 channels (L = 4608): 1.2e-3.
//
// dwsep: the kernel folds BatchNorm into weights and bias, so its stage-1 weights are scaled by
// the BN gain G = bn.weight / sqrt(var + eps) <= 1.5 / sqrt(0.5) = 2.12 (we take the maximum
// for every channel) and its stage-1 bias is up to (1 + 1) G + 1. Stage 1 (L1 = kh*kw terms of
// rms G/3) errs by at most e1 = e(L1, G). The intermediate values have rms at most
// Mrms = G sqrt(L1/9 + 2/3) + 1/sqrt(3) (sum, dw bias, mean; then beta) and the folded
// pointwise weights rms Wrms = G/sqrt(3), so stage 2 sums c terms of rms Mrms*Wrms, i.e.
// 3*Mrms*Wrms times a plain conv's 1/3: its own error is e(c, 3 Mrms Wrms). The stage-1 errors
// reach the output as a random-sign sum over c channels weighted by up to G: sqrt(c) G e1
// (e1 is itself a ~16-sigma bound). Examples: k3 c32->64: 5e-4; k3 c512: 3e-3; measured
// errors of a plain f32 kernel are 1-2% of these (tests/unit/test_reference.cpp prints them).
//
// What it must catch: a wrong or missing tap changes an output by |x w| (uniform products, up
// to 1; the max over many outputs is near 1); a missing bias by up to 1 (dwsep: up to 2.1 after
// BN); a wrong BN fold by a factor on O(1) values. All are orders of magnitude above the bound
// for every layer size in the suite.
double tolerance(const LayerSpec &s) {
    const double u = std::ldexp(1.0, -24);
    auto e = [&](double L, double scale) { return u * scale * (4 * L + 24 * std::sqrt(L) + 64); };
    switch (s.kind) {
    case Kind::Conv:
        return e(double(s.groups > 0 ? s.c / s.groups : s.c) * s.kh * s.kw, 1.0);
    case Kind::Pointwise:
        return e(double(s.c) * s.kh * s.kw, 1.0);
    case Kind::Depthwise:
        return e(double(s.kh) * s.kw, 1.0);
    case Kind::Dwsep: {
        const double G = 1.5 / std::sqrt(0.5 + double(s.eps));
        const double L1 = double(s.kh) * s.kw, c = s.c;
        const double e1 = e(L1, G);
        const double Mrms = G * std::sqrt(L1 / 9 + 2.0 / 3) + 1 / std::sqrt(3.0);
        const double Wrms = G / std::sqrt(3.0);
        return e(c, 3 * Mrms * Wrms) + std::sqrt(c) * G * e1;
    }
    }
    return 0;
}

Comparison compare(const std::vector<float> &out, const std::vector<double> &ref, double tol) {
    if (out.size() != ref.size())
        fail("compare: output has " + std::to_string(out.size()) + " values, reference has " +
             std::to_string(ref.size()));
    Comparison c;
    c.tol = tol;
    for (size_t i = 0; i < out.size(); i++) {
        double err = std::fabs(double(out[i]) - ref[i]);
        if (!std::isfinite(err)) err = std::numeric_limits<double>::infinity();
        if (c.worst_index < 0 || err > c.max_abs_err) {
            c.max_abs_err = err;
            c.worst_index = int64_t(i);
        }
    }
    c.ok = c.max_abs_err <= tol;
    return c;
}

}  // namespace convgen
