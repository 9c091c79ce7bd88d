// Unit tests of generator/reference.{h,cpp}: the double-precision reference of the four kinds.
//
//   WorkedExamples    small cases computed by hand (3x3 on a 4x4 input, stride 2 + dilation 2 +
//                     asymmetric padding, groups=2, multiplier=2) and DESIGN.md's shapes
//   Composition       dwsep == depthwise -> BN -> act -> pointwise -> BN -> act
//   Layouts           NCHW and NHWC give the same values, transposed
//   Params            every name/shape error, in PyTorch terms
//   Tolerance         a plain f32 kernel (sequential sums, BN folded as the real kernels do) is
//                     well inside tolerance(); one perturbed tap or a dropped bias is not
//   Random            determinism and ranges of random_input/random_params
#include "tests/unit/error_of.h"
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "generator/spec/npy.h"
#include "generator/spec/reference.h"

using namespace convgen;
using ::testing::HasSubstr;

namespace {

LayerSpec make_spec(Kind kind, int c, int h, int w, int cout, int k, bool bias = true) {
    LayerSpec s;
    s.kind = kind;
    s.c = c;
    s.h = h;
    s.w = w;
    s.cout = cout;
    s.kh = s.kw = k;
    s.bias = bias;
    return s;
}

Tensor tensor(std::vector<int64_t> shape, std::vector<float> data) {
    Tensor t;
    t.shape = std::move(shape);
    t.data = std::move(data);
    return t;
}

Tensor filled(std::vector<int64_t> shape, float v) {
    Tensor t;
    t.shape = std::move(shape);
    t.data.assign(size_t(t.numel()), v);
    return t;
}

// NCHW <-> NHWC of a float tensor / double vector.
Tensor nchw_to_nhwc(const Tensor &t) {
    int64_t n = t.shape[0], c = t.shape[1], h = t.shape[2], w = t.shape[3];
    Tensor o;
    o.shape = {n, h, w, c};
    o.data.resize(t.data.size());
    for (int64_t b = 0; b < n; b++)
        for (int64_t ch = 0; ch < c; ch++)
            for (int64_t y = 0; y < h; y++)
                for (int64_t x = 0; x < w; x++)
                    o.data[size_t(((b * h + y) * w + x) * c + ch)] = t.data[size_t(((b * c + ch) * h + y) * w + x)];
    return o;
}

std::vector<double> nhwc_to_nchw(const std::vector<double> &v, int64_t n, int64_t c, int64_t h, int64_t w) {
    std::vector<double> o(v.size());
    for (int64_t b = 0; b < n; b++)
        for (int64_t ch = 0; ch < c; ch++)
            for (int64_t y = 0; y < h; y++)
                for (int64_t x = 0; x < w; x++)
                    o[size_t(((b * c + ch) * h + y) * w + x)] = v[size_t(((b * h + y) * w + x) * c + ch)];
    return o;
}

// ---------------------------------------------------------------------------------------------
// A plain float32 kernel (NCHW): what a generated kernel computes, sequential f32 sums, and for
// dwsep BatchNorm folded into weights and bias in f32, as runtime weight preparation does.

std::vector<float> conv_f32(const std::vector<float> &in, int n, int c, int h, int w, const std::vector<float> &wt,
                            const std::vector<float> *bias, int cout, int groups, const LayerSpec &g, bool one) {
    const int kh = one ? 1 : g.kh, kw = one ? 1 : g.kw, sh = one ? 1 : g.sh, sw = one ? 1 : g.sw;
    const int dh = one ? 1 : g.dh, dw = one ? 1 : g.dw, pt = one ? 0 : g.pad_t, pl = one ? 0 : g.pad_l;
    const int oh = one ? h : g.out_h(), ow = one ? w : g.out_w();
    const int cig = c / groups, cog = cout / groups;
    std::vector<float> out(size_t(n) * cout * oh * ow);
    for (int b = 0; b < n; b++)
        for (int o = 0; o < cout; o++)
            for (int y = 0; y < oh; y++)
                for (int x = 0; x < ow; x++) {
                    float acc = bias ? (*bias)[size_t(o)] : 0.0f;
                    for (int i = 0; i < cig; i++)
                        for (int ky = 0; ky < kh; ky++)
                            for (int kx = 0; kx < kw; kx++) {
                                int iy = y * sh - pt + ky * dh, ix = x * sw - pl + kx * dw;
                                if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                                acc += in[((size_t(b) * c + (o / cog) * cig + i) * h + iy) * w + ix] *
                                       wt[((size_t(o) * cig + i) * kh + ky) * kw + kx];
                            }
                    out[((size_t(b) * cout + o) * oh + y) * ow + x] = acc;
                }
    return out;
}

void act_f32(std::vector<float> &v, Act a) {
    for (float &x : v) {
        if (a != Act::None) x = std::max(x, 0.0f);
        if (a == Act::Relu6) x = std::min(x, 6.0f);
    }
}

// Folds BN into (w, b): w' = w * g, b' = (b - mean) * g + beta with g = gamma / sqrt(var + eps).
void fold(std::vector<float> &w, std::vector<float> &b, const NamedTensors &p, const std::string &bn, int ch,
          float eps) {
    const size_t per = w.size() / size_t(ch);
    for (int o = 0; o < ch; o++) {
        float g = p.at(bn + ".weight").data[o] / std::sqrt(p.at(bn + ".running_var").data[o] + eps);
        for (size_t k = 0; k < per; k++) w[o * per + k] *= g;
        b[o] = (b[o] - p.at(bn + ".running_mean").data[o]) * g + p.at(bn + ".bias").data[o];
    }
}

std::vector<float> kernel_f32(const LayerSpec &s, const Tensor &in, const NamedTensors &p) {
    std::vector<float> y;
    auto biasp = [&](const char *k) { return s.bias ? &p.at(k).data : nullptr; };
    switch (s.kind) {
    case Kind::Conv:
        y = conv_f32(in.data, s.n, s.c, s.h, s.w, p.at("weight").data, biasp("bias"), s.cout, s.groups, s, false);
        break;
    case Kind::Pointwise:
        y = conv_f32(in.data, s.n, s.c, s.h, s.w, p.at("weight").data, biasp("bias"), s.cout, 1, s, false);
        break;
    case Kind::Depthwise:
        y = conv_f32(in.data, s.n, s.c, s.h, s.w, p.at("weight").data, biasp("bias"), s.cout, s.c, s, false);
        break;
    case Kind::Dwsep: {
        std::vector<float> w1 = p.at("dw.weight").data, b1(size_t(s.c), 0.0f);
        std::vector<float> w2 = p.at("pw.weight").data, b2(size_t(s.cout), 0.0f);
        if (s.bias) b1 = p.at("dw.bias").data, b2 = p.at("pw.bias").data;
        fold(w1, b1, p, "bn1", s.c, s.eps);
        fold(w2, b2, p, "bn2", s.cout, s.eps);
        std::vector<float> mid = conv_f32(in.data, s.n, s.c, s.h, s.w, w1, &b1, s.c, s.c, s, false);
        act_f32(mid, s.act);
        y = conv_f32(mid, s.n, s.c, s.out_h(), s.out_w(), w2, &b2, s.cout, 1, s, true);
        break;
    }
    }
    act_f32(y, s.act);
    return y;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// worked examples

TEST(ReferenceWorked, Conv3x3On4x4) {
    // in(y, x) = 4y + x + 1 (1..16); an asymmetric kernel catches a flipped (true convolution)
    // implementation: w = [[1,0,0],[0,0,0],[0,0,2]] gives out(y,x) = in(y,x) + 2 in(y+2,x+2).
    LayerSpec s = make_spec(Kind::Conv, 1, 4, 4, 1, 3);
    std::vector<float> v(16);
    for (int i = 0; i < 16; i++) v[i] = float(i + 1);
    Tensor in = tensor({1, 1, 4, 4}, v);
    NamedTensors p = {{"weight", tensor({1, 1, 3, 3}, {1, 0, 0, 0, 0, 0, 0, 0, 2})}, {"bias", tensor({1}, {0.5f})}};
    EXPECT_EQ(reference_forward(s, in, p), (std::vector<double>{1 + 22 + 0.5, 2 + 24 + 0.5, 5 + 30 + 0.5, 6 + 32 + 0.5}));

    // All-ones 3x3 sums the windows: 54, 63, 90, 99; with "same" padding the corner sees 2x2.
    p["weight"] = filled({1, 1, 3, 3}, 1.0f);
    p["bias"] = tensor({1}, {0});
    EXPECT_EQ(reference_forward(s, in, p), (std::vector<double>{54, 63, 90, 99}));
    s.pad_t = s.pad_l = s.pad_b = s.pad_r = 1;
    std::vector<double> same = reference_forward(s, in, p);
    ASSERT_EQ(same.size(), 16u);
    EXPECT_EQ(same[0], 1 + 2 + 5 + 6);
    EXPECT_EQ(same[5], 54);
    EXPECT_EQ(same[15], 11 + 12 + 15 + 16);
}

TEST(ReferenceWorked, DepthwiseShapeAndParams) {
    // DESIGN.md: depthwise 3 channels 5x5 on 12x12x3 without padding gives 8x8x3 (3*5*5 = 75
    // weights; DESIGN.md's table once said 45).
    for (Layout l : {Layout::NCHW, Layout::NHWC}) {
        LayerSpec s = make_spec(Kind::Depthwise, 3, 12, 12, 3, 5);
        s.layout = l;
        NamedTensors p = {{"weight", filled({3, 1, 5, 5}, 1.0f)}, {"bias", tensor({3}, {0, 1, 2})}};
        EXPECT_EQ(p.at("weight").numel(), 75);
        std::vector<double> out = reference_forward(s, filled(input_shape(s), 1.0f), p);
        EXPECT_EQ(output_shape(s), l == Layout::NCHW ? (std::vector<int64_t>{1, 3, 8, 8})
                                                     : (std::vector<int64_t>{1, 8, 8, 3}));
        ASSERT_EQ(out.size(), 8u * 8 * 3);
        for (size_t i = 0; i < out.size(); i++) {
            int ch = l == Layout::NCHW ? int(i / 64) : int(i % 3);
            ASSERT_EQ(out[i], 25.0 + ch) << i;
        }
    }
}

TEST(ReferenceWorked, Pointwise16To32) {
    LayerSpec s = make_spec(Kind::Pointwise, 16, 32, 32, 32, 1);
    Tensor in = random_input(s, 1);
    NamedTensors p = random_params(s, 2);
    EXPECT_EQ(p.at("weight").shape, (std::vector<int64_t>{32, 16, 1, 1}));
    std::vector<double> out = reference_forward(s, in, p);
    EXPECT_EQ(output_shape(s), (std::vector<int64_t>{1, 32, 32, 32}));
    ASSERT_EQ(out.size(), 32u * 32 * 32);
    for (int o : {0, 7, 31})
        for (int yx : {0, 33, 1023}) {
            double want = p.at("bias").data[o];
            for (int c = 0; c < 16; c++) want += double(p.at("weight").data[o * 16 + c]) * in.data[c * 1024 + yx];
            EXPECT_NEAR(out[o * 1024 + yx], want, 1e-12);
        }
}

TEST(ReferenceWorked, StrideDilationAsymmetricPad) {
    // in(y, x) = 10y + x on 5x5; 2x2 kernel [[1,2],[3,4]], stride 2, dilation 2, pad t1 l0 b0 r2.
    // out_h = (5+1-3)/2+1 = 2, out_w = (5+2-3)/2+1 = 3; tap (ky,kx) of out(y,x) reads
    // in(2y-1+2ky, 2x+2kx):
    //   out(0,0) = 3 in(1,0) + 4 in(1,2) = 30 + 48 = 78        (row -1 is padding)
    //   out(0,1) = 3 in(1,2) + 4 in(1,4) = 36 + 56 = 92
    //   out(0,2) = 3 in(1,4) + 4 in(1,6 pad) = 42
    //   out(1,0) = in(1,0) + 2 in(1,2) + 3 in(3,0) + 4 in(3,2) = 10 + 24 + 90 + 128 = 252
    //   out(1,1) = in(1,2) + 2 in(1,4) + 3 in(3,2) + 4 in(3,4) = 12 + 28 + 96 + 136 = 272
    //   out(1,2) = in(1,4) + 3 in(3,4) = 14 + 102 = 116
    LayerSpec s = make_spec(Kind::Conv, 1, 5, 5, 1, 2, false);
    s.sh = s.sw = 2;
    s.dh = s.dw = 2;
    s.pad_t = 1;
    s.pad_r = 2;
    ASSERT_EQ(s.out_h(), 2);
    ASSERT_EQ(s.out_w(), 3);
    std::vector<float> v(25);
    for (int y = 0; y < 5; y++)
        for (int x = 0; x < 5; x++) v[y * 5 + x] = float(10 * y + x);
    NamedTensors p = {{"weight", tensor({1, 1, 2, 2}, {1, 2, 3, 4})}};
    EXPECT_EQ(reference_forward(s, tensor({1, 1, 5, 5}, v), p), (std::vector<double>{78, 92, 42, 252, 272, 116}));
    // Stride and dilation differ per axis too: sh=1, sw=3, dh=1, dw=1, no pad -> 4x2.
    s.sh = 1;
    s.sw = 3;
    s.dh = s.dw = 1;
    s.pad_t = s.pad_r = 0;
    std::vector<double> out = reference_forward(s, tensor({1, 1, 5, 5}, v), p);
    ASSERT_EQ(out.size(), 8u);
    // out(y, x) = in(y,3x) + 2 in(y,3x+1) + 3 in(y+1,3x) + 4 in(y+1,3x+1) = 100y + 30x + 76
    for (int y = 0; y < 4; y++)
        for (int x = 0; x < 2; x++) EXPECT_EQ(out[y * 2 + x], 100.0 * y + 30.0 * x + 76) << y << x;
}

TEST(ReferenceWorked, Groups2) {
    // c=4, cout=4, groups=2, 1x1: outputs 0,1 read channels 0,1; outputs 2,3 read channels 2,3.
    LayerSpec s = make_spec(Kind::Conv, 4, 1, 1, 4, 1, false);
    s.groups = 2;
    NamedTensors p = {{"weight", tensor({4, 2, 1, 1}, {1, 1, 1, -1, 1, 1, 2, 0})}};
    EXPECT_EQ(reference_forward(s, tensor({1, 4, 1, 1}, {1, 2, 3, 4}), p), (std::vector<double>{3, -1, 7, 6}));
    EXPECT_EQ(error_of([&] {
                  reference_forward(s, tensor({1, 4, 1, 1}, {1, 2, 3, 4}),
                                    {{"weight", tensor({4, 4, 1, 1}, std::vector<float>(16))}});
              }),
              "params: 'weight' has shape (4,4,1,1), expected (4,2,1,1)");

    // Random 3x3, groups=2 equals two independent convs on the channel halves.
    LayerSpec g = make_spec(Kind::Conv, 6, 7, 6, 4, 3);
    g.groups = 2;
    g.pad_t = g.pad_l = g.pad_b = g.pad_r = 1;
    Tensor in = random_input(g, 3);
    NamedTensors gp = random_params(g, 4);
    std::vector<double> full = reference_forward(g, in, gp);
    LayerSpec half = make_spec(Kind::Conv, 3, 7, 6, 2, 3);
    half.pad_t = half.pad_l = half.pad_b = half.pad_r = 1;
    for (int k = 0; k < 2; k++) {
        Tensor hin = tensor({1, 3, 7, 6}, std::vector<float>(in.data.begin() + k * 126, in.data.begin() + (k + 1) * 126));
        const auto &w = gp.at("weight").data;
        NamedTensors hp = {{"weight", tensor({2, 3, 3, 3}, std::vector<float>(w.begin() + k * 54, w.begin() + (k + 1) * 54))},
                           {"bias", tensor({2}, {gp.at("bias").data[2 * k], gp.at("bias").data[2 * k + 1]})}};
        std::vector<double> part = reference_forward(half, hin, hp);
        EXPECT_EQ(part, std::vector<double>(full.begin() + k * 84, full.begin() + (k + 1) * 84));
    }
}

TEST(ReferenceWorked, Multiplier2) {
    // c=2, m=2: outputs 0,1 read channel 0 and outputs 2,3 read channel 1 (PyTorch groups=c).
    LayerSpec s = make_spec(Kind::Depthwise, 2, 1, 1, 4, 1);
    s.multiplier = 2;
    NamedTensors p = {{"weight", tensor({4, 1, 1, 1}, {1, 2, 3, 4})}, {"bias", tensor({4}, {0, 0, 0, 0.5f})}};
    EXPECT_EQ(reference_forward(s, tensor({1, 2, 1, 1}, {3, 5}), p), (std::vector<double>{3, 6, 15, 20.5}));
    s.layout = Layout::NHWC;
    EXPECT_EQ(reference_forward(s, tensor({1, 1, 1, 2}, {3, 5}), p), (std::vector<double>{3, 6, 15, 20.5}));
}

TEST(ReferenceWorked, Activations) {
    LayerSpec s = make_spec(Kind::Pointwise, 1, 1, 4, 1, 1);
    NamedTensors p = {{"weight", tensor({1, 1, 1, 1}, {2})}, {"bias", tensor({1}, {0})}};
    Tensor in = tensor({1, 1, 1, 4}, {-1, 0.5f, 3, 4});
    EXPECT_EQ(reference_forward(s, in, p), (std::vector<double>{-2, 1, 6, 8}));
    s.act = Act::Relu;
    EXPECT_EQ(reference_forward(s, in, p), (std::vector<double>{0, 1, 6, 8}));
    s.act = Act::Relu6;
    EXPECT_EQ(reference_forward(s, in, p), (std::vector<double>{0, 1, 6, 6}));
}

// ---------------------------------------------------------------------------------------------
// dwsep is the composition of its parts

TEST(ReferenceComposition, DwsepIsDepthwiseBnActPointwiseBnAct) {
    for (Act act : {Act::None, Act::Relu, Act::Relu6})
      for (Act dw_act : {Act::None, Act::Relu, Act::Relu6})  // act=<dw_act>:<act>
        for (bool bias : {true, false}) {
            LayerSpec s = make_spec(Kind::Dwsep, 3, 9, 8, 5, 3, bias);
            s.sh = s.sw = 2;
            s.pad_t = s.pad_l = 1;
            s.pad_b = 0;
            s.pad_r = 1;
            s.act = act;
            if (dw_act != act) s.dw_act = dw_act;
            s.eps = 1e-3f;
            Tensor in = random_input(s, 11);
            for (float &v : in.data) v *= 16;  // so that relu6 clamps somewhere
            NamedTensors p = random_params(s, 12);
            std::vector<double> got = reference_forward(s, in, p);

            LayerSpec dw = s;
            dw.kind = Kind::Depthwise;
            dw.cout = 3;
            dw.act = Act::None;
            NamedTensors dwp = {{"weight", p.at("dw.weight")}};
            if (bias) dwp["bias"] = p.at("dw.bias");
            std::vector<double> mid = reference_forward(dw, in, dwp);
            const int oh = s.out_h(), ow = s.out_w();
            auto bn_act = [&](std::vector<double> &v, int ch, const std::string &bn, Act act) {
                for (size_t i = 0; i < v.size(); i++) {
                    int c = int(i / size_t(oh * ow)) % ch;
                    double x = (v[i] - p.at(bn + ".running_mean").data[c]) /
                                   std::sqrt(double(p.at(bn + ".running_var").data[c]) + double(s.eps)) *
                                   p.at(bn + ".weight").data[c] +
                               p.at(bn + ".bias").data[c];
                    if (act != Act::None) x = std::max(x, 0.0);
                    if (act == Act::Relu6) x = std::min(x, 6.0);
                    v[i] = x;
                }
            };
            bn_act(mid, 3, "bn1", dw_act);
            LayerSpec pw = make_spec(Kind::Pointwise, 3, oh, ow, 5, 1, bias);
            NamedTensors pwp = {{"weight", p.at("pw.weight")}};
            if (bias) pwp["bias"] = p.at("pw.bias");
            std::vector<double> want = reference_forward(pw, mid, pwp);
            bn_act(want, 5, "bn2", act);
            ASSERT_EQ(got.size(), want.size());
            for (size_t i = 0; i < got.size(); i++) ASSERT_NEAR(got[i], want[i], 1e-12) << i;
            if (act == Act::Relu6) {
                bool clamped = false;
                for (double v : got) clamped |= v == 6.0;
                EXPECT_TRUE(clamped) << "the test data should exercise the clamp";
            }
        }
}

// ---------------------------------------------------------------------------------------------
// layouts

TEST(ReferenceLayouts, NchwAndNhwcAgree) {
    std::vector<LayerSpec> specs = {make_spec(Kind::Conv, 3, 7, 9, 4, 3), make_spec(Kind::Pointwise, 5, 6, 4, 7, 1),
                                    make_spec(Kind::Depthwise, 4, 8, 7, 8, 5), make_spec(Kind::Dwsep, 6, 7, 7, 3, 3)};
    specs[0].groups = 1;
    specs[0].sh = 2;
    specs[0].pad_t = specs[0].pad_b = 1;
    specs[0].pad_l = 2;
    specs[0].dw = 2;
    specs[2].multiplier = 2;
    specs[2].pad_t = specs[2].pad_l = specs[2].pad_b = specs[2].pad_r = 2;
    specs[3].act = Act::Relu;
    specs[3].n = 2;
    for (LayerSpec s : specs) {
        SCOPED_TRACE(to_string(s.kind));
        s.layout = Layout::NCHW;
        Tensor in = random_input(s, 5);
        NamedTensors p = random_params(s, 6);
        std::vector<double> nchw = reference_forward(s, in, p);
        s.layout = Layout::NHWC;
        std::vector<double> nhwc = reference_forward(s, nchw_to_nhwc(in), p);
        EXPECT_EQ(nhwc_to_nchw(nhwc, s.n, s.cout, s.out_h(), s.out_w()), nchw);
        // random_input in NHWC draws the same stream in the NHWC order: same values, moved.
        EXPECT_EQ(random_input(s, 5).shape, (std::vector<int64_t>{s.n, s.h, s.w, s.c}));
    }
}

// ---------------------------------------------------------------------------------------------
// parameter and input checks

TEST(ReferenceParams, Errors) {
    LayerSpec conv = make_spec(Kind::Conv, 3, 8, 8, 4, 5);
    Tensor in = random_input(conv, 1);
    NamedTensors p = random_params(conv, 2);
    p["weight"] = filled({4, 3, 3, 3}, 0);
    EXPECT_EQ(error_of([&] { reference_forward(conv, in, p); }), "params: 'weight' has shape (4,3,3,3), expected (4,3,5,5)");
    p = random_params(conv, 2);
    p.erase("bias");
    EXPECT_EQ(error_of([&] { reference_forward(conv, in, p); }), "params: missing 'bias'");
    p = random_params(conv, 2);
    p["foo"] = filled({1}, 0);
    EXPECT_EQ(error_of([&] { reference_forward(conv, in, p); }),
              "params: unexpected 'foo' (a conv layer takes 'weight', 'bias')");
    p = random_params(conv, 2);
    p["bias"].data.pop_back();
    EXPECT_EQ(error_of([&] { reference_forward(conv, in, p); }), "params: 'bias' has shape (4,) but 3 values");

    conv.bias = false;
    p = random_params(conv, 2);
    EXPECT_EQ(p.count("bias"), 0u);
    p["bias"] = filled({4}, 0);
    EXPECT_EQ(error_of([&] { reference_forward(conv, in, p); }), "params: unexpected 'bias' (layer has bias=0)");

    LayerSpec ds = make_spec(Kind::Dwsep, 3, 8, 8, 4, 3);
    NamedTensors dp = random_params(ds, 3);
    dp.erase("bn1.running_var");
    EXPECT_EQ(error_of([&] { reference_forward(ds, random_input(ds, 1), dp); }), "params: missing 'bn1.running_var'");
    dp = random_params(ds, 3);
    dp["bn2.num_batches_tracked"] = filled({}, 100);  // present in every torch state_dict: ignored
    EXPECT_NO_THROW(reference_forward(ds, random_input(ds, 1), dp));
    ds.bias = false;
    dp = random_params(ds, 3);
    dp["pw.bias"] = filled({4}, 0);
    EXPECT_EQ(error_of([&] { reference_forward(ds, random_input(ds, 1), dp); }),
              "params: unexpected 'pw.bias' (layer has bias=0)");

    LayerSpec pw = make_spec(Kind::Pointwise, 3, 4, 4, 4, 1);
    NamedTensors pp = random_params(pw, 1);
    pp["weight"] = filled({4, 3}, 0);  // a Linear-style weight is not a 1x1 conv weight
    EXPECT_EQ(error_of([&] { reference_forward(pw, random_input(pw, 1), pp); }),
              "params: 'weight' has shape (4,3), expected (4,3,1,1)");
}

TEST(ReferenceParams, InputErrors) {
    LayerSpec s = make_spec(Kind::Conv, 3, 4, 4, 4, 3);
    NamedTensors p = random_params(s, 2);
    EXPECT_EQ(error_of([&] { reference_forward(s, filled({1, 3, 8, 8}, 0), p); }),
              "input: shape (1,3,8,8), expected (1,3,4,4) (nchw)");
    s.layout = Layout::NHWC;
    EXPECT_EQ(error_of([&] { reference_forward(s, filled({1, 3, 4, 4}, 0), p); }),
              "input: shape (1,3,4,4), expected (1,4,4,3) (nhwc)");
    LayerSpec big = make_spec(Kind::Conv, 3, 2, 2, 4, 5);
    EXPECT_THAT(error_of([&] { reference_forward(big, filled({1, 3, 2, 2}, 0), random_params(big, 1)); }),
                HasSubstr("spec: output size -2x-2 is empty"));
}

TEST(ReferenceParams, ThroughNpz) {
    // params saved as .npz and read back give the same output.
    LayerSpec s = make_spec(Kind::Dwsep, 4, 6, 6, 8, 3);
    NamedTensors p = random_params(s, 9);
    NamedTensors back = parse_npz(serialize_npz(p));
    Tensor in = random_input(s, 8);
    EXPECT_EQ(reference_forward(s, parse_npy(serialize_npy(in)), back), reference_forward(s, in, p));
}

// ---------------------------------------------------------------------------------------------
// random data

TEST(ReferenceRandom, DeterministicAndInRange) {
    LayerSpec s = make_spec(Kind::Dwsep, 16, 10, 10, 32, 3);
    NamedTensors a = random_params(s, 42), b = random_params(s, 42), c = random_params(s, 43);
    for (const auto &kv : a) {
        EXPECT_EQ(kv.second.data, b.at(kv.first).data) << kv.first;
        EXPECT_NE(kv.second.data, c.at(kv.first).data) << kv.first;
        bool pos = kv.first == "bn1.weight" || kv.first == "bn2.weight" || kv.first == "bn1.running_var" ||
                   kv.first == "bn2.running_var";
        for (float v : kv.second.data) {
            ASSERT_GE(v, pos ? 0.5f : -1.0f) << kv.first;
            ASSERT_LE(v, pos ? 1.5f : 1.0f) << kv.first;
        }
    }
    EXPECT_NE(a.at("bn1.bias").data, std::vector<float>(a.at("bn1.bias").data.size(), a.at("bn1.bias").data[0]));
    Tensor x = random_input(s, 7), y = random_input(s, 7);
    EXPECT_EQ(x.data, y.data);
    double mean = 0;
    for (float v : x.data) {
        ASSERT_GE(v, -1.0f);
        ASSERT_LE(v, 1.0f);
        mean += v;
    }
    EXPECT_NEAR(mean / double(x.data.size()), 0.0, 0.05);
    // A tensor's stream depends on its name only: adding bias does not change the weights.
    LayerSpec nb = s;
    nb.bias = false;
    EXPECT_EQ(random_params(nb, 42).at("dw.weight").data, a.at("dw.weight").data);
}

// ---------------------------------------------------------------------------------------------
// tolerance

struct TolCase {
    const char *name;
    LayerSpec spec;
};

std::vector<TolCase> tolerance_cases() {
    std::vector<TolCase> cs;
    auto add = [&](const char *n, LayerSpec s) { cs.push_back({n, s}); };
    LayerSpec s = make_spec(Kind::Conv, 3, 9, 9, 4, 3);
    s.pad_t = s.pad_l = s.pad_b = s.pad_r = 1;
    add("conv c3 k3 (L=27)", s);
    s = make_spec(Kind::Conv, 512, 6, 6, 4, 3);
    add("conv c512 k3 (L=4608)", s);
    s = make_spec(Kind::Conv, 64, 9, 9, 8, 7);
    s.sh = s.sw = 2;
    s.act = Act::Relu;
    add("conv c64 k7 s2 (L=3136)", s);
    s = make_spec(Kind::Conv, 32, 8, 8, 32, 3);
    s.groups = 4;
    add("conv groups=4", s);
    add("pointwise c2048", make_spec(Kind::Pointwise, 2048, 4, 4, 8, 1));
    add("pointwise c16", make_spec(Kind::Pointwise, 16, 8, 8, 32, 1));
    s = make_spec(Kind::Depthwise, 8, 20, 20, 16, 7);
    s.multiplier = 2;
    add("depthwise k7 m2", s);
    add("depthwise k3", make_spec(Kind::Depthwise, 32, 12, 12, 32, 3));
    s = make_spec(Kind::Dwsep, 512, 6, 6, 32, 3);
    s.act = Act::Relu;
    add("dwsep c512 k3", s);
    s = make_spec(Kind::Dwsep, 32, 12, 12, 64, 3);
    s.act = Act::Relu6;
    s.pad_t = s.pad_l = s.pad_b = s.pad_r = 1;
    add("dwsep c32 k3 relu6", s);
    s = make_spec(Kind::Dwsep, 64, 12, 12, 16, 5);
    s.bias = false;
    add("dwsep c64 k5 no bias", s);
    return cs;
}

TEST(ReferenceTolerance, F32KernelPassesWithMargin) {
    for (const TolCase &tc : tolerance_cases()) {
        const LayerSpec &s = tc.spec;
        for (uint64_t seed : {1u, 2u}) {
            Tensor in = random_input(s, seed);
            NamedTensors p = random_params(s, seed + 100);
            std::vector<double> ref = reference_forward(s, in, p);
            Comparison c = compare(kernel_f32(s, in, p), ref, tolerance(s));
            // A quarter of the bound: the model must not be tight enough to flake.
            EXPECT_LT(c.max_abs_err, c.tol / 4) << tc.name << " seed " << seed << ": err " << c.max_abs_err
                                                << " tol " << c.tol;
            EXPECT_TRUE(c.ok);
            std::printf("  %-26s seed %d  max err %.3g  tol %.3g  (%.1f%%)\n", tc.name, int(seed), c.max_abs_err,
                        c.tol, 100 * c.max_abs_err / c.tol);
        }
    }
}

TEST(ReferenceTolerance, RejectsOnePerturbedTapOrMissingBias) {
    for (const TolCase &tc : tolerance_cases()) {
        const LayerSpec &s = tc.spec;
        Tensor in = random_input(s, 3);
        NamedTensors p = random_params(s, 4);
        std::vector<double> ref = reference_forward(s, in, p);
        const std::string wname = s.kind == Kind::Dwsep ? "dw.weight" : "weight";
        // One tap of one filter off by 0.25 (a wrong index or a dropped tap moves it by ~0.5).
        for (size_t at : {size_t(0), p.at(wname).data.size() / 2 + 1, p.at(wname).data.size() - 1}) {
            NamedTensors bad = p;
            bad[wname].data[at] += 0.25f;
            Comparison c = compare(kernel_f32(s, in, bad), ref, tolerance(s));
            EXPECT_FALSE(c.ok) << tc.name << " tap " << at << ": err " << c.max_abs_err << " tol " << c.tol;
            EXPECT_GT(c.max_abs_err, 10 * c.tol) << tc.name;
        }
        if (s.kind == Kind::Dwsep) {  // the pointwise half too
            // A pointwise tap whose input channel the ReLU zeroed (or whose output it zeroes)
            // changes nothing: take the first tap whose change the exact reference can see.
            NamedTensors bad = p;
            for (size_t at = 0; at < p.at("pw.weight").data.size(); at++) {
                bad = p;
                bad["pw.weight"].data[at] -= 0.25f;
                if (compare(std::vector<float>(ref.begin(), ref.end()), reference_forward(s, in, bad), 0.05).ok == false)
                    break;
            }
            Comparison c = compare(kernel_f32(s, in, bad), ref, tolerance(s));
            EXPECT_FALSE(c.ok) << tc.name << " pw tap: err " << c.max_abs_err << " tol " << c.tol;
            bad = p;  // a BN fold off by 5% (10% wrong variance)
            for (float &v : bad["bn1.running_var"].data) v *= 1.1f;
            EXPECT_FALSE(compare(kernel_f32(s, in, bad), ref, tolerance(s)).ok) << tc.name;
        }
        const std::string bname = s.kind == Kind::Dwsep ? "pw.bias" : "bias";
        if (s.bias) {
            NamedTensors bad = p;
            for (float &v : bad[bname].data) v = 0;
            Comparison c = compare(kernel_f32(s, in, bad), ref, tolerance(s));
            EXPECT_FALSE(c.ok) << tc.name << " without bias: err " << c.max_abs_err;
        }
    }
}

TEST(ReferenceTolerance, Values) {
    // The documented examples (reference.cpp) and monotonic growth with L.
    LayerSpec a = make_spec(Kind::Conv, 3, 8, 8, 4, 3), b = make_spec(Kind::Conv, 512, 8, 8, 4, 3);
    EXPECT_NEAR(tolerance(a), 1.8e-5, 1e-6);
    EXPECT_NEAR(tolerance(b), 1.2e-3, 1e-4);
    LayerSpec d1 = make_spec(Kind::Dwsep, 32, 8, 8, 64, 3), d2 = make_spec(Kind::Dwsep, 512, 8, 8, 512, 3);
    EXPECT_NEAR(tolerance(d1), 5e-4, 0.2e-4);
    EXPECT_NEAR(tolerance(d2), 3e-3, 0.2e-3);
    EXPECT_LT(tolerance(d1), tolerance(d2));
    EXPECT_LT(tolerance(d2), 0.01);  // still far below a wrong tap's ~0.1-1
}

TEST(ReferenceCompare, Basics) {
    Comparison c = compare({1.0f, 2.5f, 3.0f}, {1.0, 2.0, 3.0001}, 0.1);
    EXPECT_EQ(c.worst_index, 1);
    EXPECT_DOUBLE_EQ(c.max_abs_err, 0.5);
    EXPECT_FALSE(c.ok);
    EXPECT_TRUE(compare({1.0f, 2.0f}, {1.0, 2.0}, 0).ok);
    Comparison n = compare({1.0f, NAN, 1.0f}, {1.0, 1.0, 1e9}, 1e12);
    EXPECT_FALSE(n.ok);
    EXPECT_EQ(n.worst_index, 1);
    EXPECT_TRUE(std::isinf(n.max_abs_err));
    Comparison e = compare({}, {}, 0);
    EXPECT_TRUE(e.ok);
    EXPECT_EQ(e.worst_index, -1);
    EXPECT_EQ(error_of([] { compare({1.0f}, {1.0, 2.0}, 1); }), "compare: output has 1 values, reference has 2");
}
