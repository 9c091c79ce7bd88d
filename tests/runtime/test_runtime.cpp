// Tests of the convgen runtime (runtime/src) against fake kernels: C++ argv functions that
// record the halide_buffer_t's they receive, or compute a tiny pointwise convolution, stand in
// for Halide pipelines, and a fake CPU check for halide_can_use_target_features. Covered: weight
// packing for every kind from OIHW and HWIO, BatchNorm folding, every validation error and its
// wording, the registry, which targets are supported and which kernel is chosen, Halide error
// routing and concurrent runs.
#include <gtest/gtest.h>

#include <HalideRuntime.h>
#include <dlfcn.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <deque>
#include <string>
#include <thread>
#include <vector>

#include "convgen/convgen.h"

namespace {

using Shape = std::vector<int64_t>;

// ---- fake kernels ----

// What the last capture_fn call saw, per argument.
struct Captured {
    std::vector<std::vector<halide_dimension_t>> dims;
    std::vector<halide_type_t> types;
    std::vector<void *> hosts;
    std::vector<std::vector<float>> data;
};
Captured g_captured;

// Records every buffer and writes out[i] = i so the test can see the output pointer was used.
template <int N>
int capture_fn(void **argv) {
    g_captured = Captured{};
    for (int a = 0; a < N; a++) {
        auto *b = static_cast<halide_buffer_t *>(argv[a]);
        g_captured.dims.emplace_back(b->dim, b->dim + b->dimensions);
        g_captured.types.push_back(b->type);
        g_captured.hosts.push_back(b->host);
        size_t n = 1;
        for (int d = 0; d < b->dimensions; d++) n *= b->dim[d].extent;
        const float *f = reinterpret_cast<const float *>(b->host);
        g_captured.data.emplace_back(f, f + n);
        if (a == N - 1)
            for (size_t i = 0; i < n; i++) reinterpret_cast<float *>(b->host)[i] = float(i);
    }
    return 0;
}

// A real pointwise convolution, NCHW, with bias: out[o][p] = sum_i in[i][p] * W[i][o] + b[o].
// Reads only its arguments, so it is safe to call from several threads.
int pointwise_fn(void **argv) {
    auto *in = static_cast<halide_buffer_t *>(argv[0]);
    auto *w = static_cast<halide_buffer_t *>(argv[1]);
    auto *b = static_cast<halide_buffer_t *>(argv[2]);
    auto *out = static_cast<halide_buffer_t *>(argv[3]);
    int pixels = in->dim[0].extent * in->dim[1].extent, cin = in->dim[2].extent, cout = w->dim[0].extent;
    auto *I = reinterpret_cast<const float *>(in->host);
    auto *W = reinterpret_cast<const float *>(w->host);
    auto *B = reinterpret_cast<const float *>(b->host);
    auto *O = reinterpret_cast<float *>(out->host);
    for (int o = 0; o < cout; o++)
        for (int p = 0; p < pixels; p++) {
            float s = B[o];
            for (int i = 0; i < cin; i++) s += I[i * pixels + p] * W[i * cout + o];
            O[o * pixels + p] = s;
        }
    return 0;
}

convgen_halide_error_handler g_halide_handler;
std::atomic<int> g_set_handler_calls{0};
convgen_halide_error_handler fake_set_error_handler(convgen_halide_error_handler h) {
    g_set_handler_calls++;
    auto old = g_halide_handler;
    g_halide_handler = h;
    return old;
}
int failing_fn(void **) {
    g_halide_handler(nullptr, "Input buffer input is accessed at 8, which is beyond the max (7) in dimension 0\n");
    return -3;
}

convgen_halide_error_handler g_halide_handler2;
convgen_halide_error_handler fake_set_error_handler2(convgen_halide_error_handler h) {
    auto old = g_halide_handler2;
    g_halide_handler2 = h;
    return old;
}
int no_device_fn(void **) {
    g_halide_handler2(nullptr, "CUDA: no device");
    return halide_error_code_device_interface_no_device;
}
int leaves_output_on_device_fn(void **argv) {
    static_cast<halide_buffer_t *>(argv[3])->device = 42;
    return 0;
}

// ---- layers, args tables and kernels as the generator would emit them ----

convgen_layer make_layer(convgen_kind kind, int c, int h, int w, int cout, int k, int bias,
                         convgen_layout layout = CONVGEN_LAYOUT_NCHW, int groups = 1, int mult = 1) {
    convgen_layer l{};
    l.kind = kind;
    l.n = 1, l.c = c, l.h = h, l.w = w, l.cout = cout, l.kh = k, l.kw = k;
    l.sh = l.sw = l.dh = l.dw = 1;
    l.groups = groups, l.multiplier = mult, l.bias = bias;
    l.act = CONVGEN_ACT_NONE, l.layout = layout;
    return l;
}

convgen_arg_info arg(const char *name, const char *layout, Shape s) {
    convgen_arg_info a{};
    a.name = name, a.layout = layout, a.ndim = int(s.size());
    for (size_t i = 0; i < s.size(); i++) a.shape[i] = s[i];
    return a;
}

Shape activation(const convgen_layer &l, int64_t c, int64_t h, int64_t w) {
    return l.layout == CONVGEN_LAYOUT_NCHW ? Shape{l.n, c, h, w} : Shape{l.n, h, w, c};
}

std::vector<convgen_arg_info> args_for(const convgen_layer &l) {
    const char *act = l.layout == CONVGEN_LAYOUT_NCHW ? "NCHW" : "NHWC";
    std::vector<convgen_arg_info> a{arg("input", act, activation(l, l.c, l.h, l.w))};
    switch (l.kind) {
    case CONVGEN_KIND_CONV: a.push_back(arg("weight", "HWIO", {l.kh, l.kw, l.c / l.groups, l.cout})); break;
    case CONVGEN_KIND_POINTWISE: a.push_back(arg("weight", "IO", {l.c, l.cout})); break;
    case CONVGEN_KIND_DEPTHWISE: a.push_back(arg("weight", "HWC", {l.kh, l.kw, l.c * l.multiplier})); break;
    case CONVGEN_KIND_DWSEP:
        a.push_back(arg("dw_weight", "HWC", {l.kh, l.kw, l.c}));
        a.push_back(arg("dw_bias", "C", {l.c}));
        a.push_back(arg("pw_weight", "IO", {l.c, l.cout}));
        a.push_back(arg("pw_bias", "C", {l.cout}));
        break;
    }
    if (l.bias && l.kind != CONVGEN_KIND_DWSEP) a.push_back(arg("bias", "C", {l.cout}));
    a.push_back(arg("output", act, activation(l, l.cout, l.h - l.kh + 1, l.w - l.kw + 1)));
    return a;
}

// ---- a fake CPU for halide_can_use_target_features ----

// As many feature words as the generator emits (Halide's Target::FeatureEnd, rounded up).
constexpr int kFeatureWords = (halide_target_feature_end + 63) / 64;
using CanUseFn = int (*)(int count, const uint64_t *features);

// The features the fake CPU lacks (for Halide's runtime: known and not available), and what the
// last check was asked.
uint64_t g_cpu_lacks[kFeatureWords];
int g_can_use_calls, g_can_use_count;

void cpu_lacks(std::initializer_list<int> features) {
    std::fill(std::begin(g_cpu_lacks), std::end(g_cpu_lacks), 0);
    for (int f : features) g_cpu_lacks[f / 64] |= uint64_t(1) << (f % 64);
}

// What halide_can_use_target_features of a runtime on the fake CPU answers.
int fake_can_use(int count, const uint64_t *features) {
    g_can_use_calls++, g_can_use_count = count;
    for (int i = 0; i < count && i < kFeatureWords; i++)
        if (features[i] & g_cpu_lacks[i]) return 0;
    return 1;
}
int never_can_use(int, const uint64_t *) { return 0; }

// Owns the strings, args table and feature bitmask a convgen_kernel points into (stable addresses).
struct FakeKernel {
    std::string key, target;
    std::vector<convgen_arg_info> args;
    std::vector<uint64_t> feature_mask;
    convgen_kernel k{};
    FakeKernel(std::string key_, const convgen_layer &l, int (*fn)(void **), std::string target_ = "x86-64-linux",
               convgen_set_error_handler_fn seh = nullptr)
        : key(std::move(key_)), target(std::move(target_)), args(args_for(l)) {
        k.key = key.c_str(), k.target = target.c_str(), k.layer = l;
        k.num_args = int(args.size()), k.args = args.data(), k.argv_fn = fn, k.set_error_handler = seh;
    }
    // What the generated registry gives a kernel: its target's halide_target_feature_t bits, the
    // runtime's check of them and Halide's natural f32 vector width. Returns k, for tables.
    const convgen_kernel &features(std::initializer_list<int> fs, CanUseFn check, int vector_bits) {
        feature_mask.assign(kFeatureWords, 0);
        for (int f : fs) feature_mask[f / 64] |= uint64_t(1) << (f % 64);
        k.feature_words = kFeatureWords, k.features = feature_mask.data();
        k.can_use_target_features = check, k.natural_vector_bits = vector_bits;
        return k;
    }
    FakeKernel(const FakeKernel &) = delete;
};

// ---- tensors ----

// A tensor owning its data, dense (all-zero strides) unless strides are given.
struct Tensor {
    std::vector<float> v;
    convgen_tensor t{};
    Tensor(Shape dims, convgen_layout layout, float fill = 0.f) {
        size_t n = 1;
        for (auto d : dims) n *= size_t(d);
        v.assign(n, fill);
        t.data = v.data(), t.dtype = CONVGEN_F32, t.ndim = int(dims.size()), t.layout = layout;
        for (size_t i = 0; i < dims.size(); i++) t.dims[i] = dims[i];
    }
    Tensor(const Tensor &o) : v(o.v), t(o.t) { t.data = v.data(); }
    void resize(size_t n, float fill) { // keeps t.data pointing at the storage
        v.assign(n, fill);
        t.data = v.data();
    }
};

// The reference framework weight w(o, i, y, x), exactly representable in float.
float wref(int64_t o, int64_t i, int64_t y, int64_t x) { return float(o * 1000 + i * 100 + y * 10 + x); }

// A weight of logical shape (O, I, KH, KW) in OIHW or HWIO (depthwise HWIO: (KH, KW, O/m, m)).
Tensor weight(convgen_layout layout, int64_t O, int64_t I, int64_t KH, int64_t KW, int64_t dw_mult = 0) {
    if (layout == CONVGEN_LAYOUT_OIHW) {
        Tensor t({O, I, KH, KW}, layout);
        for (int64_t o = 0; o < O; o++)
            for (int64_t i = 0; i < I; i++)
                for (int64_t y = 0; y < KH; y++)
                    for (int64_t x = 0; x < KW; x++) t.v[((o * I + i) * KH + y) * KW + x] = wref(o, i, y, x);
        return t;
    }
    if (dw_mult > 0) {
        Tensor t({KH, KW, O / dw_mult, dw_mult}, layout);
        for (int64_t y = 0; y < KH; y++)
            for (int64_t x = 0; x < KW; x++)
                for (int64_t o = 0; o < O; o++) t.v[(y * KW + x) * O + o] = wref(o, 0, y, x);
        return t;
    }
    Tensor t({KH, KW, I, O}, layout);
    for (int64_t y = 0; y < KH; y++)
        for (int64_t x = 0; x < KW; x++)
            for (int64_t i = 0; i < I; i++)
                for (int64_t o = 0; o < O; o++) t.v[((y * KW + x) * I + i) * O + o] = wref(o, i, y, x);
    return t;
}

// The packed [kh][kw][i][o] form every kind uses.
std::vector<float> packed_ref(int64_t O, int64_t I, int64_t KH, int64_t KW) {
    std::vector<float> p;
    for (int64_t y = 0; y < KH; y++)
        for (int64_t x = 0; x < KW; x++)
            for (int64_t i = 0; i < I; i++)
                for (int64_t o = 0; o < O; o++) p.push_back(wref(o, i, y, x));
    return p;
}

Tensor vec(int64_t n, float base, float step = 1.f) {
    Tensor t({n}, CONVGEN_LAYOUT_X);
    for (int64_t i = 0; i < n; i++) t.v[i] = base + step * float(i);
    return t;
}

std::vector<convgen_named_tensor> named(std::vector<std::pair<const char *, const Tensor *>> list) {
    std::vector<convgen_named_tensor> out;
    for (auto &p : list) out.push_back({p.first, p.second->t});
    return out;
}

std::string last_error() { return convgen_last_error(); }

#define EXPECT_ERROR_HAS(text) EXPECT_NE(last_error().find(text), std::string::npos) << last_error()

// Prepares params, runs the capture kernel, and returns the captured packed buffers.
std::vector<std::vector<float>> pack_through(FakeKernel &fk, const std::vector<convgen_named_tensor> &ts) {
    convgen_params *p = nullptr;
    EXPECT_EQ(convgen_prepare_params(&fk.k, ts.data(), int(ts.size()), 1e-5f, &p), CONVGEN_OK) << last_error();
    if (p == nullptr) return {};
    const auto &in = fk.args.front(), &out = fk.args.back();
    Tensor x(Shape(in.shape, in.shape + 4), fk.k.layer.layout, 1.f), y(Shape(out.shape, out.shape + 4), fk.k.layer.layout);
    EXPECT_EQ(convgen_run(&fk.k, p, &x.t, &y.t), CONVGEN_OK) << last_error();
    convgen_params_free(p);
    return std::vector<std::vector<float>>(g_captured.data.begin() + 1, g_captured.data.end() - 1);
}

// ---- status ----

TEST(Status, Strings) {
    EXPECT_STREQ(convgen_status_string(CONVGEN_OK), "CONVGEN_OK");
    EXPECT_STREQ(convgen_status_string(CONVGEN_ERROR_SHAPE), "CONVGEN_ERROR_SHAPE");
    EXPECT_STREQ(convgen_status_string(CONVGEN_ERROR_UNSUPPORTED_CPU), "CONVGEN_ERROR_UNSUPPORTED_CPU");
    EXPECT_STREQ(convgen_status_string(convgen_status(99)), "CONVGEN_ERROR_UNKNOWN_STATUS");
}

TEST(Status, LastErrorIsPerThread) {
    EXPECT_EQ(convgen_find_kernel("no_such_kernel_for_thread_test"), nullptr);
    EXPECT_ERROR_HAS("no_such_kernel_for_thread_test");
    std::string other = "unset";
    std::thread([&] { other = convgen_last_error(); }).join();
    EXPECT_EQ(other, "");
}

// ---- packing ----

class Packing : public ::testing::TestWithParam<convgen_layout> {};

TEST_P(Packing, Conv) {
    auto l = make_layer(CONVGEN_KIND_CONV, 3, 6, 6, 4, 3, /*bias=*/1);
    FakeKernel fk("pack_conv", l, capture_fn<4>);
    Tensor w = weight(GetParam(), 4, 3, 3, 3), b = vec(4, 0.5f);
    auto got = pack_through(fk, named({{"weight", &w}, {"bias", &b}}));
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0], packed_ref(4, 3, 3, 3));
    EXPECT_EQ(got[1], b.v);
}

TEST_P(Packing, GroupedConv) {
    auto l = make_layer(CONVGEN_KIND_CONV, 4, 5, 5, 6, 3, 0, CONVGEN_LAYOUT_NHWC, /*groups=*/2);
    FakeKernel fk("pack_grouped", l, capture_fn<3>);
    Tensor w = weight(GetParam(), 6, 2, 3, 3);
    auto got = pack_through(fk, named({{"weight", &w}}));
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0], packed_ref(6, 2, 3, 3));
}

TEST_P(Packing, Pointwise) {
    auto l = make_layer(CONVGEN_KIND_POINTWISE, 3, 4, 4, 5, 1, 0);
    FakeKernel fk("pack_pointwise", l, capture_fn<3>);
    Tensor w = weight(GetParam(), 5, 3, 1, 1);
    auto got = pack_through(fk, named({{"weight", &w}}));
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0], packed_ref(5, 3, 1, 1));
}

// A blocked pointwise weight ("Oi<B>o", [cout/B][c][B]): out[o / B][i][o % B] = w(o, i).
std::vector<float> blocked_ref(int64_t O, int64_t I, int64_t B) {
    std::vector<float> p;
    for (int64_t ob = 0; ob < O / B; ob++)
        for (int64_t i = 0; i < I; i++)
            for (int64_t j = 0; j < B; j++) p.push_back(wref(ob * B + j, i, 0, 0));
    return p;
}

TEST_P(Packing, BlockedPointwise) {
    auto l = make_layer(CONVGEN_KIND_POINTWISE, 3, 4, 4, 8, 1, 0);
    FakeKernel fk("pack_pointwise_blocked", l, capture_fn<3>);
    fk.args[1] = arg("weight", "Oi4o", {2, 3, 4});
    Tensor w = weight(GetParam(), 8, 3, 1, 1);
    auto got = pack_through(fk, named({{"weight", &w}}));
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0], blocked_ref(8, 3, 4));
}

// A block that does not divide the output channels, or an unknown layout, is a generator bug.
TEST(Packing, BlockedLayoutMustDivideCout) {
    auto l = make_layer(CONVGEN_KIND_POINTWISE, 3, 4, 4, 6, 1, 0);
    Tensor w = weight(CONVGEN_LAYOUT_OIHW, 6, 3, 1, 1);
    auto ts = named({{"weight", &w}});
    for (const char *layout : {"Oi4o", "Oi0o", "Oi4x", "OI"}) {
        FakeKernel fk("pack_pointwise_bad_block", l, capture_fn<3>);
        fk.args[1] = arg("weight", layout, {1, 3, 4});
        convgen_params *p = nullptr;
        EXPECT_EQ(convgen_prepare_params(&fk.k, ts.data(), int(ts.size()), 1e-5f, &p), CONVGEN_ERROR_PARAMS_MISMATCH)
            << layout;
        EXPECT_EQ(p, nullptr);
        EXPECT_ERROR_HAS(std::string("argument \"weight\" has layout ") + layout);
    }
}

TEST_P(Packing, DepthwiseWithMultiplier) {
    auto l = make_layer(CONVGEN_KIND_DEPTHWISE, 3, 6, 6, 6, 3, 1, CONVGEN_LAYOUT_NCHW, 3, /*mult=*/2);
    FakeKernel fk("pack_depthwise", l, capture_fn<4>);
    Tensor w = weight(GetParam(), 6, 1, 3, 3, /*dw_mult=*/2), b = vec(6, -1.f);
    auto got = pack_through(fk, named({{"weight", &w}, {"bias", &b}}));
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0], packed_ref(6, 1, 3, 3)); // HWC: output channel o = ci * m + j innermost
    EXPECT_EQ(got[1], b.v);
}

// The two 3x3 filters (1 input channel) both Winograd packing tests transform, in `layout`:
// o = 0 all ones, o = 1 zero but for a centre tap of 2.
Tensor winograd_filters(convgen_layout layout) {
    Tensor w = weight(layout, 2, 1, 3, 3);
    const bool oihw = layout == CONVGEN_LAYOUT_OIHW;
    for (int64_t y = 0; y < 3; y++)
        for (int64_t x = 0; x < 3; x++) {
            w.v[oihw ? y * 3 + x : (y * 3 + x) * 2] = 1.f;                                   // o = 0
            w.v[oihw ? 9 + y * 3 + x : (y * 3 + x) * 2 + 1] = (y == 1 && x == 1) ? 2.f : 0.f;  // o = 1
        }
    return w;
}

// The weight transforms G of F(2,3) and F(4,3) a generated Winograd kernel carries
// (convgen_kernel.weight_transform; the generator's are in generator/algorithms/winograd.cpp).
const double kTestG2[4 * 3] = {1, 0, 0, 0.5, 0.5, 0.5, 0.5, -0.5, 0.5, 0, 0, 1};
const double kTestG4[6 * 3] = {1,        0,       0,        -1.0 / 3,   1.0 / 3,   -1.0 / 3,  1.0 / 3,  1.0 / 3, 1.0 / 3,
                               -16. / 15, -8. / 15, -4. / 15, 1.0 / 15, -2.0 / 15, 4.0 / 15, 0,        0,       1};

// A Winograd kernel (weight arg layout "WINO2x3", [4][4][c][cout]) gets U = G g G^T. By hand,
// with G = [[1,0,0],[.5,.5,.5],[.5,-.5,.5],[0,0,1]]: an all-ones filter has G g G^T = u u^T with
// u = G (1,1,1) = (1, 1.5, .5, 1); twice the centre tap gives 2 v v^T with v = G (0,1,0) =
// (0, .5, -.5, 0).
TEST_P(Packing, WinogradWeights) {
    auto l = make_layer(CONVGEN_KIND_CONV, 1, 4, 4, 2, 3, 0);
    l.algo = 1;
    FakeKernel fk("pack_winograd", l, capture_fn<3>);
    fk.args[1] = arg("weight", "WINO2x3", {4, 4, 1, 2});
    fk.k.weight_transform = kTestG2;
    Tensor w = winograd_filters(GetParam());
    auto got = pack_through(fk, named({{"weight", &w}}));
    ASSERT_EQ(got.size(), 1u);
    const float u[4] = {1, 1.5f, 0.5f, 1}, v[4] = {0, 0.5f, -0.5f, 0};
    std::vector<float> want;
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) want.push_back(u[i] * u[j]), want.push_back(2 * v[i] * v[j]);
    EXPECT_EQ(got[0], want);
}

// F(4,3) ("WINO4x3", [6][6][c][cout]) with the points 0, -1, 1, 1/2, -2: the same two filters
// give u = G (1,1,1) = (1, -1/3, 1, -28/15, 1/5, 1) and v = G (0,1,0) = (0, 1/3, 1/3, -8/15,
// -2/15, 0).
TEST_P(Packing, Winograd4Weights) {
    auto l = make_layer(CONVGEN_KIND_CONV, 1, 8, 8, 2, 3, 0);
    l.algo = 1;
    FakeKernel fk("pack_winograd4", l, capture_fn<3>);
    fk.args[1] = arg("weight", "WINO4x3", {6, 6, 1, 2});
    fk.k.weight_transform = kTestG4;
    Tensor w = winograd_filters(GetParam());
    auto got = pack_through(fk, named({{"weight", &w}}));
    ASSERT_EQ(got.size(), 1u);
    const double u[6] = {1, -1.0 / 3, 1, -28.0 / 15, 0.2, 1}, v[6] = {0, 1.0 / 3, 1.0 / 3, -8.0 / 15, -2.0 / 15, 0};
    ASSERT_EQ(got[0].size(), 72u);
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 6; j++) {
            EXPECT_FLOAT_EQ(got[0][(i * 6 + j) * 2], float(u[i] * u[j])) << i << "," << j;
            EXPECT_FLOAT_EQ(got[0][(i * 6 + j) * 2 + 1], float(2 * v[i] * v[j])) << i << "," << j;
        }
}

// The runtime keeps no Winograd matrices of its own: a Winograd kernel without its transform is refused.
TEST_P(Packing, WinogradWithoutTransformIsRefused) {
    auto l = make_layer(CONVGEN_KIND_CONV, 1, 4, 4, 2, 3, 0);
    l.algo = 1;
    FakeKernel fk("pack_winograd_no_g", l, capture_fn<3>);
    fk.args[1] = arg("weight", "WINO2x3", {4, 4, 1, 2});
    Tensor w = winograd_filters(GetParam());
    const auto ts = named({{"weight", &w}});
    convgen_params *p = nullptr;
    EXPECT_EQ(convgen_prepare_params(&fk.k, ts.data(), int(ts.size()), 1e-5f, &p), CONVGEN_ERROR_INVALID_ARGUMENT);
    EXPECT_EQ(p, nullptr);
    EXPECT_ERROR_HAS("kernel pack_winograd_no_g has a WINO2x3 weight but no weight transform");
}

INSTANTIATE_TEST_SUITE_P(Layouts, Packing, ::testing::Values(CONVGEN_LAYOUT_OIHW, CONVGEN_LAYOUT_HWIO),
                         [](const auto &info) { return info.param == CONVGEN_LAYOUT_OIHW ? "OIHW" : "HWIO"; });

TEST(Packing, StridedWeightIsHonored) {
    // An OIHW view into a bigger buffer: the I dim is padded from 3 to 5.
    auto l = make_layer(CONVGEN_KIND_POINTWISE, 3, 4, 4, 2, 1, 0);
    FakeKernel fk("pack_strided", l, capture_fn<3>);
    Tensor w({2, 3, 1, 1}, CONVGEN_LAYOUT_OIHW);
    w.resize(10, -99.f);
    for (int o = 0; o < 2; o++)
        for (int i = 0; i < 3; i++) w.v[o * 5 + i] = wref(o, i, 0, 0);
    int64_t strides[4] = {5, 1, 1, 1};
    std::memcpy(w.t.strides, strides, sizeof strides);
    auto got = pack_through(fk, named({{"weight", &w}}));
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0], packed_ref(2, 3, 1, 1));
}

// ---- BatchNorm folding (dwsep) ----

struct DwsepParams {
    Tensor dw_w = weight(CONVGEN_LAYOUT_OIHW, 3, 1, 3, 3), dw_b = vec(3, 0.25f);
    Tensor g1 = vec(3, 0.5f, 0.25f), b1 = vec(3, -1.f), m1 = vec(3, 0.1f, 0.2f), v1 = vec(3, 1.f, 0.5f);
    Tensor pw_w = weight(CONVGEN_LAYOUT_HWIO, 4, 3, 1, 1), pw_b = vec(4, 2.f, -0.5f);
    Tensor g2 = vec(4, 1.5f, -0.25f), b2 = vec(4, 0.f, 0.125f), m2 = vec(4, -0.3f), v2 = vec(4, 4.f, 1.f);
    std::vector<convgen_named_tensor> list(bool bias) const {
        auto l = named({{"dw.weight", &dw_w}, {"bn1.weight", &g1}, {"bn1.bias", &b1}, {"bn1.running_mean", &m1},
                        {"bn1.running_var", &v1}, {"pw.weight", &pw_w}, {"bn2.weight", &g2}, {"bn2.bias", &b2},
                        {"bn2.running_mean", &m2}, {"bn2.running_var", &v2}});
        if (bias) {
            l.push_back({"dw.bias", dw_b.t});
            l.push_back({"pw.bias", pw_b.t});
        }
        return l;
    }
};

TEST(BatchNorm, FoldsIntoDwsepWeightsAndBias) {
    for (int bias = 0; bias <= 1; bias++) {
        auto l = make_layer(CONVGEN_KIND_DWSEP, 3, 6, 6, 4, 3, bias);
        FakeKernel fk("fold_dwsep_" + std::to_string(bias), l, capture_fn<6>);
        DwsepParams P;
        auto got = pack_through(fk, P.list(bias));
        ASSERT_EQ(got.size(), 4u);
        const double eps = double(1e-5f);
        auto fold = [&](const Tensor &g, const Tensor &b, const Tensor &m, const Tensor &v, const Tensor &cb,
                        int64_t o, double *s) {
            *s = double(g.v[o]) / std::sqrt(double(v.v[o]) + eps);
            return float(((bias ? double(cb.v[o]) : 0.0) - double(m.v[o])) * *s + double(b.v[o]));
        };
        for (int64_t y = 0; y < 3; y++)
            for (int64_t x = 0; x < 3; x++)
                for (int64_t c = 0; c < 3; c++) {
                    double s;
                    float fb = fold(P.g1, P.b1, P.m1, P.v1, P.dw_b, c, &s);
                    EXPECT_FLOAT_EQ(got[0][(y * 3 + x) * 3 + c], float(wref(c, 0, y, x) * s)) << y << x << c;
                    EXPECT_FLOAT_EQ(got[1][c], fb);
                }
        for (int64_t i = 0; i < 3; i++)
            for (int64_t o = 0; o < 4; o++) {
                double s;
                float fb = fold(P.g2, P.b2, P.m2, P.v2, P.pw_b, o, &s);
                EXPECT_FLOAT_EQ(got[2][i * 4 + o], float(wref(o, i, 0, 0) * s));
                EXPECT_FLOAT_EQ(got[3][o], fb);
            }
    }
    // One value by hand: bn1 channel 1: s = 0.75 / sqrt(1.5 + 1e-5); dw.bias 1.25, mean 0.3, beta 0.
    auto l = make_layer(CONVGEN_KIND_DWSEP, 3, 6, 6, 4, 3, 1);
    FakeKernel fk("fold_dwsep_hand", l, capture_fn<6>);
    DwsepParams P;
    auto got = pack_through(fk, P.list(true));
    ASSERT_EQ(got.size(), 4u);
    double s = 0.75 / std::sqrt(1.5 + double(1e-5f));
    EXPECT_NEAR(got[1][1], (1.25 - 0.3) * s + 0.0, 1e-6);
    EXPECT_NEAR(got[0][1], wref(1, 0, 0, 0) * s, 1e-3); // [y=0][x=0][c=1]
}

// dwsep's pointwise stage in a blocked layout ("Oi2o"): the same folded values as in IO, moved
// to out[o / 2][i][o % 2].
TEST(BatchNorm, FoldsIntoBlockedDwsepPointwiseWeights) {
    auto l = make_layer(CONVGEN_KIND_DWSEP, 3, 6, 6, 4, 3, 1);
    DwsepParams P;
    FakeKernel io("fold_dwsep_io", l, capture_fn<6>), blocked("fold_dwsep_blocked", l, capture_fn<6>);
    blocked.args[3] = arg("pw_weight", "Oi2o", {2, 3, 2});
    auto want = pack_through(io, P.list(true)), got = pack_through(blocked, P.list(true));
    ASSERT_EQ(want.size(), 4u);
    ASSERT_EQ(got.size(), 4u);
    EXPECT_EQ(got[0], want[0]);
    EXPECT_EQ(got[1], want[1]);
    EXPECT_EQ(got[3], want[3]);
    ASSERT_EQ(got[2].size(), 12u);
    for (int64_t i = 0; i < 3; i++)
        for (int64_t o = 0; o < 4; o++) EXPECT_EQ(got[2][(o / 2 * 3 + i) * 2 + o % 2], want[2][i * 4 + o]) << i << o;
}

TEST(BatchNorm, NonPositiveVarianceIsAnError) {
    auto l = make_layer(CONVGEN_KIND_DWSEP, 3, 6, 6, 4, 3, 0);
    FakeKernel fk("fold_bad_var", l, capture_fn<6>);
    DwsepParams P;
    P.v1.v[1] = -2.f;
    auto ts = P.list(false);
    convgen_params *p = nullptr;
    EXPECT_EQ(convgen_prepare_params(&fk.k, ts.data(), int(ts.size()), 1e-5f, &p), CONVGEN_ERROR_INVALID_ARGUMENT);
    EXPECT_EQ(p, nullptr);
    EXPECT_ERROR_HAS("\"bn1.running_var\"[1] is -2");
}

// bn_eps is added to running_var: infinity would fold every scale to 0 and eps <= 0 admits a
// zero variance. Layers without BatchNorm ignore it.
TEST(BatchNorm, EpsMustBeFiniteAndPositive) {
    auto l = make_layer(CONVGEN_KIND_DWSEP, 3, 6, 6, 4, 3, 0);
    FakeKernel fk("fold_bad_eps", l, capture_fn<6>);
    DwsepParams P;
    auto ts = P.list(false);
    for (float eps : {INFINITY, -INFINITY, NAN, 0.f, -1e-5f}) {
        convgen_params *p = nullptr;
        EXPECT_EQ(convgen_prepare_params(&fk.k, ts.data(), int(ts.size()), eps, &p), CONVGEN_ERROR_INVALID_ARGUMENT)
            << eps;
        EXPECT_EQ(p, nullptr);
        EXPECT_ERROR_HAS("must be finite and > 0");
    }
    auto cl = make_layer(CONVGEN_KIND_CONV, 3, 8, 8, 4, 3, 0);
    FakeKernel conv("conv_eps_unused", cl, capture_fn<3>);
    Tensor w = weight(CONVGEN_LAYOUT_OIHW, 4, 3, 3, 3);
    auto cts = named({{"weight", &w}});
    convgen_params *p = nullptr;
    EXPECT_EQ(convgen_prepare_params(&conv.k, cts.data(), 1, INFINITY, &p), CONVGEN_OK) << last_error();
    convgen_params_free(p);
}

// ---- prepare_params errors ----

struct ConvFixture : ::testing::Test {
    convgen_layer l = make_layer(CONVGEN_KIND_CONV, 3, 8, 8, 4, 3, 1);
    FakeKernel fk{"conv_f32_n1c3h8w8_o4_k3s1p0d1_none_nchw__test", l, capture_fn<4>};
    Tensor w = weight(CONVGEN_LAYOUT_OIHW, 4, 3, 3, 3), b = vec(4, 0.f);
    convgen_params *p = nullptr;
    convgen_status prepare(const std::vector<convgen_named_tensor> &ts) {
        return convgen_prepare_params(&fk.k, ts.data(), int(ts.size()), 1e-5f, &p);
    }
    void TearDown() override { convgen_params_free(p); }
};

TEST_F(ConvFixture, NullArguments) {
    auto ts = named({{"weight", &w}, {"bias", &b}});
    EXPECT_EQ(convgen_prepare_params(&fk.k, ts.data(), 2, 1e-5f, nullptr), CONVGEN_ERROR_INVALID_ARGUMENT);
    EXPECT_ERROR_HAS("out is NULL");
    EXPECT_EQ(convgen_prepare_params(nullptr, ts.data(), 2, 1e-5f, &p), CONVGEN_ERROR_INVALID_ARGUMENT);
    EXPECT_ERROR_HAS("kernel is NULL");
    EXPECT_EQ(convgen_prepare_params(&fk.k, nullptr, 2, 1e-5f, &p), CONVGEN_ERROR_INVALID_ARGUMENT);
    EXPECT_ERROR_HAS("count 2");
    EXPECT_EQ(convgen_prepare_params(&fk.k, ts.data(), -1, 1e-5f, &p), CONVGEN_ERROR_INVALID_ARGUMENT);
    EXPECT_ERROR_HAS("count -1");
    ts[1].name = nullptr;
    EXPECT_EQ(prepare(ts), CONVGEN_ERROR_INVALID_ARGUMENT);
    EXPECT_ERROR_HAS("tensors[1] has a NULL name");
}

TEST_F(ConvFixture, MissingParameter) {
    EXPECT_EQ(prepare(named({{"weight", &w}})), CONVGEN_ERROR_INVALID_ARGUMENT);
    EXPECT_ERROR_HAS("missing parameter \"bias\"");
    EXPECT_ERROR_HAS(fk.key);
}

TEST_F(ConvFixture, UnknownParameter) {
    EXPECT_EQ(prepare(named({{"weight", &w}, {"bias", &b}, {"wieght", &w}})), CONVGEN_ERROR_INVALID_ARGUMENT);
    EXPECT_ERROR_HAS("unknown parameter \"wieght\"");
    EXPECT_ERROR_HAS("expects weight, bias");
}

// A caller's name is echoed with its control characters escaped: the message stays one line.
TEST_F(ConvFixture, ControlCharactersInANameAreEscaped) {
    EXPECT_EQ(prepare(named({{"weight", &w}, {"bias", &b}, {"bad\nname\t\x1b", &w}})), CONVGEN_ERROR_INVALID_ARGUMENT);
    EXPECT_EQ(last_error().find_first_of("\n\r\t\x1b"), std::string::npos) << last_error();
    EXPECT_ERROR_HAS("unknown parameter \"bad\\x0aname\\x09\\x1b\"");
}

TEST_F(ConvFixture, BiasForALayerWithoutBias) {
    fk.k.layer.bias = 0;
    fk.args.erase(fk.args.begin() + 2);
    fk.k.num_args = 3;
    EXPECT_EQ(prepare(named({{"weight", &w}, {"bias", &b}})), CONVGEN_ERROR_INVALID_ARGUMENT);
    EXPECT_ERROR_HAS("\"bias\" given, but kernel");
    EXPECT_ERROR_HAS("without bias");
}

TEST_F(ConvFixture, GivenTwice) {
    EXPECT_EQ(prepare(named({{"weight", &w}, {"bias", &b}, {"bias", &b}})), CONVGEN_ERROR_INVALID_ARGUMENT);
    EXPECT_ERROR_HAS("\"bias\" given twice (tensors[2])");
}

TEST_F(ConvFixture, WrongShape) {
    Tensor bad = weight(CONVGEN_LAYOUT_OIHW, 4, 5, 3, 3);
    EXPECT_EQ(prepare(named({{"weight", &bad}, {"bias", &b}})), CONVGEN_ERROR_SHAPE);
    EXPECT_ERROR_HAS("\"weight\" dim 1 is 5");
    EXPECT_ERROR_HAS("expects 3 (layout OIHW, shape (4, 3, 3, 3))");
    Tensor bad_hwio = weight(CONVGEN_LAYOUT_HWIO, 7, 3, 3, 3);
    EXPECT_EQ(prepare(named({{"weight", &bad_hwio}, {"bias", &b}})), CONVGEN_ERROR_SHAPE);
    EXPECT_ERROR_HAS("\"weight\" dim 3 is 7");
    EXPECT_ERROR_HAS("(layout HWIO, shape (3, 3, 3, 4))");
    Tensor bad_bias = vec(5, 0.f);
    EXPECT_EQ(prepare(named({{"weight", &w}, {"bias", &bad_bias}})), CONVGEN_ERROR_SHAPE);
    EXPECT_ERROR_HAS("\"bias\" dim 0 is 5");
}

TEST_F(ConvFixture, WrongRank) {
    Tensor b2({4, 1}, CONVGEN_LAYOUT_X);
    EXPECT_EQ(prepare(named({{"weight", &w}, {"bias", &b2}})), CONVGEN_ERROR_SHAPE);
    EXPECT_ERROR_HAS("\"bias\" has ndim 2");
    EXPECT_ERROR_HAS("expects 1");
}

TEST_F(ConvFixture, WrongDtype) {
    w.t.dtype = convgen_dtype(3);
    EXPECT_EQ(prepare(named({{"weight", &w}, {"bias", &b}})), CONVGEN_ERROR_DTYPE);
    EXPECT_ERROR_HAS("\"weight\" has dtype 3");
}

TEST_F(ConvFixture, WrongLayout) {
    w.t.layout = CONVGEN_LAYOUT_NCHW;
    EXPECT_EQ(prepare(named({{"weight", &w}, {"bias", &b}})), CONVGEN_ERROR_LAYOUT);
    EXPECT_ERROR_HAS("\"weight\" has layout NCHW (0); a 4-D weight must be OIHW or HWIO");
    w.t.layout = CONVGEN_LAYOUT_OIHW;
    b.t.layout = CONVGEN_LAYOUT_NHWC;
    EXPECT_EQ(prepare(named({{"weight", &w}, {"bias", &b}})), CONVGEN_ERROR_LAYOUT);
    EXPECT_ERROR_HAS("\"bias\" has layout NHWC");
}

TEST_F(ConvFixture, DeviceAndNullData) {
    w.t.device = CONVGEN_DEVICE_CUDA;
    EXPECT_EQ(prepare(named({{"weight", &w}, {"bias", &b}})), CONVGEN_ERROR_INVALID_ARGUMENT);
    EXPECT_ERROR_HAS("\"weight\" is a CUDA tensor");
    w.t.device = CONVGEN_DEVICE_HOST;
    b.t.data = nullptr;
    EXPECT_EQ(prepare(named({{"weight", &w}, {"bias", &b}})), CONVGEN_ERROR_INVALID_ARGUMENT);
    EXPECT_ERROR_HAS("\"bias\" has NULL data");
}

// Parameter strides are checked before anything is read: negative strides (a view whose data
// points at its first element would read before the buffer), offsets that overflow 64 bits, and
// views that run past the end of the address space are statuses, not reads.
TEST_F(ConvFixture, BadParameterStrides) {
    const int64_t neg[4] = {-36, -9, -3, -1}, huge[4] = {INT64_MAX, 9, 3, 1}, far[4] = {INT64_MAX / 8, 9, 3, 1};
    std::memcpy(w.t.strides, neg, sizeof neg);
    EXPECT_EQ(prepare(named({{"weight", &w}, {"bias", &b}})), CONVGEN_ERROR_LAYOUT);
    EXPECT_ERROR_HAS("\"weight\" stride 0 is -36; strides must be >= 0");
    EXPECT_EQ(p, nullptr);
    std::memcpy(w.t.strides, huge, sizeof huge);
    EXPECT_EQ(prepare(named({{"weight", &w}, {"bias", &b}})), CONVGEN_ERROR_LAYOUT);
    EXPECT_ERROR_HAS("\"weight\" stride 0 is 9223372036854775807: the view's offsets overflow 64 bits");
    std::memcpy(w.t.strides, far, sizeof far);
    EXPECT_EQ(prepare(named({{"weight", &w}, {"bias", &b}})), CONVGEN_ERROR_LAYOUT);
    EXPECT_ERROR_HAS("\"weight\" strides (1152921504606846975, 9, 3, 1) reach element");
    EXPECT_ERROR_HAS("past the end of the address space");
    std::memset(w.t.strides, 0, sizeof w.t.strides);
    b.t.strides[0] = -1;
    EXPECT_EQ(prepare(named({{"weight", &w}, {"bias", &b}})), CONVGEN_ERROR_LAYOUT);
    EXPECT_ERROR_HAS("\"bias\" stride 0 is -1");
    // Broadcast (a zero stride among others) and exact dense strides stay valid views.
    b.t.strides[0] = 0;
    const int64_t dense[4] = {27, 9, 3, 1};
    std::memcpy(w.t.strides, dense, sizeof dense);
    EXPECT_EQ(prepare(named({{"weight", &w}, {"bias", &b}})), CONVGEN_OK) << last_error();
}

TEST_F(ConvFixture, ArgsTableDisagreesWithTheRuntime) {
    auto ts = named({{"weight", &w}, {"bias", &b}});
    fk.args[1].shape[3] = 8; // the generator claims another packed weight shape
    EXPECT_EQ(prepare(ts), CONVGEN_ERROR_PARAMS_MISMATCH);
    EXPECT_ERROR_HAS("argument \"weight\" is HWIO (3, 3, 3, 8) but the runtime packs HWIO (3, 3, 3, 4)");
    EXPECT_ERROR_HAS("generator bug");
    fk.args[1] = arg("weights", "HWIO", {3, 3, 3, 4});
    EXPECT_EQ(prepare(ts), CONVGEN_ERROR_PARAMS_MISMATCH);
    EXPECT_ERROR_HAS("takes argument \"weights\"");
    fk.args[1] = arg("weight", "HWIO", {3, 3, 3, 4});
    fk.args.erase(fk.args.begin() + 2); // no bias arg although the layer has bias
    fk.k.num_args = 3;
    EXPECT_EQ(prepare(ts), CONVGEN_ERROR_PARAMS_MISMATCH);
    EXPECT_ERROR_HAS("has no argument \"bias\"");
}

// ---- run ----

struct RunFixture : ConvFixture {
    Tensor x{{1, 3, 8, 8}, CONVGEN_LAYOUT_NCHW, 1.f}, y{{1, 4, 6, 6}, CONVGEN_LAYOUT_NCHW};
    void SetUp() override { ASSERT_EQ(prepare(named({{"weight", &w}, {"bias", &b}})), CONVGEN_OK) << last_error(); }
    convgen_status run() { return convgen_run(&fk.k, p, &x.t, &y.t); }
};

TEST_F(RunFixture, PassesDenseHalideBuffers) {
    ASSERT_EQ(run(), CONVGEN_OK) << last_error();
    ASSERT_EQ(g_captured.dims.size(), 4u);
    const auto &in = g_captured.dims[0]; // NCHW (1, 3, 8, 8): innermost first
    ASSERT_EQ(in.size(), 4u);
    int32_t extents[4] = {8, 8, 3, 1}, strides[4] = {1, 8, 64, 192};
    for (int d = 0; d < 4; d++) {
        EXPECT_EQ(in[d].min, 0);
        EXPECT_EQ(in[d].extent, extents[d]);
        EXPECT_EQ(in[d].stride, strides[d]);
    }
    const auto &wd = g_captured.dims[1]; // HWIO (3, 3, 3, 4)
    EXPECT_EQ(wd[0].extent, 4);
    EXPECT_EQ(wd[1].stride, 4);
    EXPECT_EQ(wd[3].stride, 36);
    EXPECT_EQ(g_captured.dims[2].size(), 1u);
    EXPECT_EQ(g_captured.dims[2][0].extent, 4);
    for (auto t : g_captured.types) {
        EXPECT_EQ(t.code, halide_type_float);
        EXPECT_EQ(t.bits, 32);
        EXPECT_EQ(t.lanes, 1);
    }
    EXPECT_EQ(g_captured.hosts[0], x.t.data);
    EXPECT_EQ(g_captured.hosts[3], y.t.data);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(g_captured.hosts[1]) % 64, 0u);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(g_captured.hosts[2]) % 64, 0u);
    EXPECT_EQ(y.v[5], 5.f); // the fake wrote out[i] = i
    int64_t dense[4] = {144, 36, 6, 1}; // explicit row-major strides are accepted too
    std::memcpy(y.t.strides, dense, sizeof dense);
    EXPECT_EQ(run(), CONVGEN_OK) << last_error();
}

TEST_F(RunFixture, NullArguments) {
    EXPECT_EQ(convgen_run(nullptr, p, &x.t, &y.t), CONVGEN_ERROR_INVALID_ARGUMENT);
    EXPECT_ERROR_HAS("kernel is NULL");
    EXPECT_EQ(convgen_run(&fk.k, nullptr, &x.t, &y.t), CONVGEN_ERROR_INVALID_ARGUMENT);
    EXPECT_ERROR_HAS("params is NULL");
    EXPECT_EQ(convgen_run(&fk.k, p, nullptr, &y.t), CONVGEN_ERROR_INVALID_ARGUMENT);
    EXPECT_ERROR_HAS("input is NULL");
    EXPECT_EQ(convgen_run(&fk.k, p, &x.t, nullptr), CONVGEN_ERROR_INVALID_ARGUMENT);
    EXPECT_ERROR_HAS("output is NULL");
    x.t.data = nullptr;
    EXPECT_EQ(run(), CONVGEN_ERROR_INVALID_ARGUMENT);
    EXPECT_ERROR_HAS("input data is NULL");
}

TEST_F(RunFixture, Dtype) {
    y.t.dtype = convgen_dtype(2);
    EXPECT_EQ(run(), CONVGEN_ERROR_DTYPE);
    EXPECT_ERROR_HAS("output dtype is 2");
}

TEST_F(RunFixture, Layout) {
    x.t.layout = CONVGEN_LAYOUT_NHWC;
    EXPECT_EQ(run(), CONVGEN_ERROR_LAYOUT);
    EXPECT_ERROR_HAS("input layout is NHWC (1), kernel " + fk.key + " expects NCHW");
}

TEST_F(RunFixture, Shape) {
    x.t.dims[2] = 7;
    EXPECT_EQ(run(), CONVGEN_ERROR_SHAPE);
    EXPECT_ERROR_HAS("convgen_run: input dim 2 is 7, kernel " + fk.key + " expects 8 (layout NCHW)");
    x.t.dims[2] = 8;
    x.t.ndim = 3;
    EXPECT_EQ(run(), CONVGEN_ERROR_SHAPE);
    EXPECT_ERROR_HAS("input ndim is 3");
    x.t.ndim = 4;
    y.t.dims[1] = 5;
    EXPECT_EQ(run(), CONVGEN_ERROR_SHAPE);
    EXPECT_ERROR_HAS("output dim 1 is 5");
}

TEST_F(RunFixture, NonDenseStrides) {
    int64_t padded[4] = {200, 50, 8, 1};
    std::memcpy(x.t.strides, padded, sizeof padded);
    EXPECT_EQ(run(), CONVGEN_ERROR_LAYOUT);
    EXPECT_ERROR_HAS("input strides (200, 50, 8, 1) are not dense");
    EXPECT_ERROR_HAS("expects (192, 64, 8, 1)");
}

TEST_F(RunFixture, DeviceTensor) {
    y.t.device = CONVGEN_DEVICE_CUDA;
    EXPECT_EQ(run(), CONVGEN_ERROR_INVALID_ARGUMENT);
    EXPECT_ERROR_HAS("output has device CUDA");
}

TEST_F(RunFixture, UnsupportedCpu) {
    // The runtime's check refuses the kernel's features.
    fk.features({halide_target_feature_avx2}, never_can_use, 256);
    EXPECT_EQ(run(), CONVGEN_ERROR_UNSUPPORTED_CPU);
    EXPECT_ERROR_HAS("this CPU cannot run kernel " + fk.key + " (target " + fk.target + ")");
    // Another architecture: refused before the check is asked.
#if defined(__x86_64__)
    fk.target = "arm-64-linux";
#else
    fk.target = "x86-64-linux";
#endif
    fk.k.target = fk.target.c_str();
    cpu_lacks({});
    fk.features({}, fake_can_use, 128);
    g_can_use_calls = 0;
    EXPECT_EQ(run(), CONVGEN_ERROR_UNSUPPORTED_CPU);
    EXPECT_ERROR_HAS("target " + fk.target);
    EXPECT_EQ(g_can_use_calls, 0);
}

TEST_F(RunFixture, ParamsOfAnotherKernel) {
    auto l2 = make_layer(CONVGEN_KIND_CONV, 3, 8, 8, 4, 3, 1);
    FakeKernel other("conv_other_key", l2, capture_fn<4>);
    EXPECT_EQ(convgen_run(&other.k, p, &x.t, &y.t), CONVGEN_ERROR_PARAMS_MISMATCH);
    EXPECT_ERROR_HAS("params were prepared for kernel " + fk.key + ", not conv_other_key");
    // The same kernel described by a second table (same key) is fine.
    FakeKernel same(fk.key, l2, capture_fn<4>);
    EXPECT_EQ(convgen_run(&same.k, p, &x.t, &y.t), CONVGEN_OK) << last_error();
}

TEST(Run, HalideErrorIsRoutedIntoTheStatus) {
    auto l = make_layer(CONVGEN_KIND_POINTWISE, 2, 3, 3, 2, 1, 1);
    FakeKernel fk("pointwise_failing", l, failing_fn, "x86-64-linux", fake_set_error_handler);
    Tensor w = weight(CONVGEN_LAYOUT_OIHW, 2, 2, 1, 1), b = vec(2, 0.f);
    Tensor x({1, 2, 3, 3}, CONVGEN_LAYOUT_NCHW), y({1, 2, 3, 3}, CONVGEN_LAYOUT_NCHW);
    auto ts = named({{"weight", &w}, {"bias", &b}});
    convgen_params *p = nullptr;
    ASSERT_EQ(convgen_prepare_params(&fk.k, ts.data(), 2, 1e-5f, &p), CONVGEN_OK) << last_error();
    int calls_before = g_set_handler_calls;
    for (int i = 0; i < 3; i++) {
        EXPECT_EQ(convgen_run(&fk.k, p, &x.t, &y.t), CONVGEN_ERROR_KERNEL);
        EXPECT_EQ(last_error(), "convgen_run: kernel pointwise_failing failed (Halide error -3): Input buffer input is "
                                "accessed at 8, which is beyond the max (7) in dimension 0");
    }
    EXPECT_EQ(g_set_handler_calls - calls_before, 1); // installed once per runtime, not per run
    convgen_params_free(p);
}

TEST(Run, NoDeviceAndOutputLeftOnDevice) {
    auto l = make_layer(CONVGEN_KIND_POINTWISE, 2, 3, 3, 2, 1, 1);
    FakeKernel fk("pointwise_no_device", l, no_device_fn, "x86-64-linux-cuda-cuda_capability_80",
                  fake_set_error_handler2);
    Tensor w = weight(CONVGEN_LAYOUT_OIHW, 2, 2, 1, 1), b = vec(2, 0.f);
    Tensor x({1, 2, 3, 3}, CONVGEN_LAYOUT_NCHW), y({1, 2, 3, 3}, CONVGEN_LAYOUT_NCHW);
    auto ts = named({{"weight", &w}, {"bias", &b}});
    convgen_params *p = nullptr;
    ASSERT_EQ(convgen_prepare_params(&fk.k, ts.data(), 2, 1e-5f, &p), CONVGEN_OK) << last_error();
    EXPECT_EQ(convgen_run(&fk.k, p, &x.t, &y.t), CONVGEN_ERROR_NO_DEVICE);
    EXPECT_ERROR_HAS("CUDA: no device");
    fk.k.argv_fn = leaves_output_on_device_fn;
    EXPECT_EQ(convgen_run(&fk.k, p, &x.t, &y.t), CONVGEN_ERROR_KERNEL);
    EXPECT_ERROR_HAS("left its output on the device");
    convgen_params_free(p);
}

TEST(Run, ConcurrentRunsOnTwoThreads) {
    auto l = make_layer(CONVGEN_KIND_POINTWISE, 3, 5, 7, 4, 1, 1);
    FakeKernel fk("pointwise_concurrent", l, pointwise_fn);
    Tensor w = weight(CONVGEN_LAYOUT_HWIO, 4, 3, 1, 1), b = vec(4, 0.5f);
    auto ts = named({{"weight", &w}, {"bias", &b}});
    convgen_params *p = nullptr;
    ASSERT_EQ(convgen_prepare_params(&fk.k, ts.data(), 2, 1e-5f, &p), CONVGEN_OK) << last_error();
    std::atomic<int> failures{0};
    auto worker = [&](float scale) {
        Tensor x({1, 3, 5, 7}, CONVGEN_LAYOUT_NCHW), y({1, 4, 5, 7}, CONVGEN_LAYOUT_NCHW);
        for (size_t i = 0; i < x.v.size(); i++) x.v[i] = scale * float(i % 11);
        for (int iter = 0; iter < 300; iter++) {
            if (convgen_run(&fk.k, p, &x.t, &y.t) != CONVGEN_OK) failures++;
            for (int o = 0; o < 4; o++)
                for (int px = 0; px < 35; px++) {
                    double s = b.v[o];
                    for (int i = 0; i < 3; i++) s += double(x.v[i * 35 + px]) * wref(o, i, 0, 0);
                    if (std::fabs(y.v[o * 35 + px] - s) > 1e-3 * std::fabs(s) + 1e-3) failures++;
                }
        }
    };
    std::thread t1(worker, 1.f), t2(worker, -2.f);
    t1.join();
    t2.join();
    EXPECT_EQ(failures, 0);
    convgen_params_free(p);
}

// ---- registry and targets ----

TEST(Registry, RegisterFindAndDuplicates) {
    static FakeKernel a("registry_a", make_layer(CONVGEN_KIND_CONV, 3, 8, 8, 4, 3, 0), capture_fn<3>);
    static FakeKernel b("registry_b", make_layer(CONVGEN_KIND_CONV, 3, 8, 8, 5, 3, 0), capture_fn<3>);
    static convgen_kernel table[2] = {a.k, b.k};
    int before = convgen_kernel_count();
    ASSERT_EQ(convgen_register_kernels(table, 2), CONVGEN_OK);
    EXPECT_EQ(convgen_kernel_count(), before + 2);
    EXPECT_EQ(convgen_register_kernels(table, 2), CONVGEN_OK); // the same table again: no-op
    EXPECT_EQ(convgen_kernel_count(), before + 2);
    EXPECT_EQ(convgen_kernel_at(before + 1), &table[1]);
    EXPECT_EQ(convgen_find_kernel("registry_a"), &table[0]);
    EXPECT_EQ(convgen_find_kernel("registry_b"), &table[1]);
    EXPECT_EQ(convgen_find_kernel("registry_c"), nullptr);
    EXPECT_ERROR_HAS("no kernel with key \"registry_c\"");
    EXPECT_EQ(convgen_kernel_at(-1), nullptr);
    EXPECT_ERROR_HAS("index -1 is outside");
    EXPECT_EQ(convgen_find_kernel(nullptr), nullptr);
    EXPECT_EQ(convgen_register_kernels(nullptr, 0), CONVGEN_OK);
    EXPECT_EQ(convgen_register_kernels(nullptr, 3), CONVGEN_ERROR_INVALID_ARGUMENT);
    static convgen_kernel broken[1] = {a.k};
    broken[0].key = nullptr;
    EXPECT_EQ(convgen_register_kernels(broken, 1), CONVGEN_ERROR_INVALID_ARGUMENT);
    EXPECT_ERROR_HAS("NULL key");
    EXPECT_EQ(convgen_kernel_count(), before + 2);
}

TEST(Registry, RefusesABadFeatureBitmask) {
    static FakeKernel fk("registry_bad_features", make_layer(CONVGEN_KIND_CONV, 3, 8, 8, 6, 3, 0), capture_fn<3>);
    static convgen_kernel table[1] = {fk.features({halide_target_feature_avx2}, fake_can_use, 256)};
    table[0].feature_words = 0; // a bitmask of no words
    EXPECT_EQ(convgen_register_kernels(table, 1), CONVGEN_ERROR_INVALID_ARGUMENT);
    EXPECT_ERROR_HAS("kernel registry_bad_features has 0 feature words at 0x");
    table[0].feature_words = 17;
    EXPECT_EQ(convgen_register_kernels(table, 1), CONVGEN_ERROR_INVALID_ARGUMENT);
    EXPECT_ERROR_HAS("has 17 feature words");
    table[0].feature_words = kFeatureWords, table[0].natural_vector_bits = -1;
    EXPECT_EQ(convgen_register_kernels(table, 1), CONVGEN_ERROR_INVALID_ARGUMENT);
    EXPECT_ERROR_HAS("natural_vector_bits -1 (expected >= 0)");
    table[0].natural_vector_bits = 256;
    EXPECT_EQ(convgen_register_kernels(table, 1), CONVGEN_OK) << last_error();
}

// This machine's arch-bits-os, and another architecture's.
#if defined(__x86_64__)
const std::string kHost = "x86-64-linux", kForeign = "arm-64-linux";
#else
const std::string kHost = "arm-64-linux", kForeign = "x86-64-linux";
#endif

TEST(Registry, FindKernelForLayerPrefersTheWidestVectors) {
    // avx512_skylake is one feature bit, avx2-fma two: the vector width orders them.
    convgen_layer l = make_layer(CONVGEN_KIND_DEPTHWISE, 8, 9, 9, 8, 3, 1, CONVGEN_LAYOUT_NHWC, 8);
    static FakeKernel base("pick_base", l, capture_fn<4>, kHost + "-sse41");
    static FakeKernel avx2("pick_avx2", l, capture_fn<4>, kHost + "-avx2-fma");
    static FakeKernel avx512("pick_avx512", l, capture_fn<4>, kHost + "-avx512_skylake");
    static FakeKernel foreign("pick_foreign_arch", l, capture_fn<4>, kForeign + "-arm_dot_prod");
    static convgen_kernel table[4] = {
        base.features({halide_target_feature_sse41}, fake_can_use, 128),
        avx2.features({halide_target_feature_avx2, halide_target_feature_fma}, fake_can_use, 256),
        avx512.features({halide_target_feature_avx512_skylake}, fake_can_use, 512),
        foreign.features({halide_target_feature_arm_dot_prod}, fake_can_use, 1024)};
    ASSERT_EQ(convgen_register_kernels(table, 4), CONVGEN_OK) << last_error();
    cpu_lacks({});
    const convgen_kernel *k = convgen_find_kernel_for_layer(&l);
    ASSERT_NE(k, nullptr) << last_error();
    EXPECT_STREQ(k->key, "pick_avx512");
    cpu_lacks({halide_target_feature_avx512_skylake});
    k = convgen_find_kernel_for_layer(&l);
    ASSERT_NE(k, nullptr) << last_error();
    EXPECT_STREQ(k->key, "pick_avx2");
    cpu_lacks({halide_target_feature_avx512_skylake, halide_target_feature_fma});
    k = convgen_find_kernel_for_layer(&l);
    ASSERT_NE(k, nullptr) << last_error();
    EXPECT_STREQ(k->key, "pick_base");
    EXPECT_EQ(g_can_use_count, kFeatureWords); // the check gets the table's words
    cpu_lacks({halide_target_feature_avx512_skylake, halide_target_feature_fma, halide_target_feature_sse41});
    EXPECT_EQ(convgen_find_kernel_for_layer(&l), nullptr);
    EXPECT_ERROR_HAS("4 registered kernels match the layer; unsupported target e.g.");
    cpu_lacks({});
    EXPECT_EQ(convgen_find_kernel_for_layer(nullptr), nullptr);
}

TEST(Registry, FindKernelForLayerPrefersMoreFeaturesAtOneWidth) {
    convgen_layer l = make_layer(CONVGEN_KIND_DEPTHWISE, 4, 9, 9, 4, 3, 1, CONVGEN_LAYOUT_NHWC, 4);
    static FakeKernel plain("more_plain", l, capture_fn<4>, kHost);
    static FakeKernel more("more_features", l, capture_fn<4>, kHost + "-avx2-f16c-fma");
    static FakeKernel fewer("more_fewer", l, capture_fn<4>, kHost + "-avx2");
    static convgen_kernel table[3] = {
        plain.features({}, fake_can_use, 256),
        fewer.features({halide_target_feature_avx2}, fake_can_use, 256),
        more.features({halide_target_feature_avx2, halide_target_feature_f16c, halide_target_feature_fma},
                      fake_can_use, 256)};
    ASSERT_EQ(convgen_register_kernels(table, 3), CONVGEN_OK) << last_error();
    cpu_lacks({});
    const convgen_kernel *k = convgen_find_kernel_for_layer(&l);
    ASSERT_NE(k, nullptr) << last_error();
    EXPECT_STREQ(k->key, "more_features"); // not the first registered
    cpu_lacks({halide_target_feature_f16c});
    k = convgen_find_kernel_for_layer(&l);
    ASSERT_NE(k, nullptr) << last_error();
    EXPECT_STREQ(k->key, "more_fewer");
    cpu_lacks({});
}

TEST(Registry, FindKernelForLayerSkipsWhatTheRuntimeRefuses) {
    // The refused kernel has the wider vectors: its runtime's check alone rules it out.
    convgen_layer l = make_layer(CONVGEN_KIND_DEPTHWISE, 6, 9, 9, 6, 3, 1, CONVGEN_LAYOUT_NHWC, 6);
    static FakeKernel refused("skip_refused", l, capture_fn<4>, kHost + "-avx2-fma");
    static FakeKernel base("skip_base", l, capture_fn<4>, kHost + "-sse41");
    static convgen_kernel table[2] = {
        refused.features({halide_target_feature_avx2, halide_target_feature_fma}, never_can_use, 256),
        base.features({halide_target_feature_sse41}, fake_can_use, 128)};
    ASSERT_EQ(convgen_register_kernels(table, 2), CONVGEN_OK) << last_error();
    cpu_lacks({});
    EXPECT_EQ(convgen_kernel_supported(&table[0]), 0);
    const convgen_kernel *k = convgen_find_kernel_for_layer(&l);
    ASSERT_NE(k, nullptr) << last_error();
    EXPECT_STREQ(k->key, "skip_base");

    convgen_layer other = l;
    other.c = other.cout = 12;
    static FakeKernel only("skip_only_refused", other, capture_fn<4>, kHost + "-avx2-fma");
    static convgen_kernel table2[1] = {only.features({halide_target_feature_avx2}, never_can_use, 256)};
    ASSERT_EQ(convgen_register_kernels(table2, 1), CONVGEN_OK) << last_error();
    EXPECT_EQ(convgen_find_kernel_for_layer(&other), nullptr);
    EXPECT_ERROR_HAS("1 registered kernels match the layer; unsupported target e.g. " + kHost + "-avx2-fma");
}

// Whether a CUDA driver here reports a device, probed as the runtime does (cuda.c).
bool cuda_device_here() {
    void *lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (lib == nullptr) lib = dlopen("libcuda.so", RTLD_NOW | RTLD_LOCAL);
    if (lib == nullptr) return false;
    auto init = reinterpret_cast<int (*)(unsigned)>(dlsym(lib, "cuInit"));
    auto count = reinterpret_cast<int (*)(int *)>(dlsym(lib, "cuDeviceGetCount"));
    int n = 0;
    return init != nullptr && count != nullptr && init(0) == 0 && count(&n) == 0 && n > 0;
}

TEST(Registry, FindKernelForLayerTakesCudaOnlyWithADevice) {
    // Halide's CPU check passes a CUDA target (no CPU feature); the device decides.
    convgen_layer l = make_layer(CONVGEN_KIND_DEPTHWISE, 10, 9, 9, 10, 3, 1, CONVGEN_LAYOUT_NHWC, 10);
    static FakeKernel gpu("cuda_gpu", l, capture_fn<4>, kHost + "-cuda-cuda_capability_80");
    static FakeKernel cpu("cuda_cpu", l, capture_fn<4>, kHost + "-avx512_skylake");
    static FakeKernel opencl("cuda_opencl", l, capture_fn<4>, kHost + "-opencl");
    static convgen_kernel table[3] = {
        gpu.features({halide_target_feature_cuda, halide_target_feature_cuda_capability80}, fake_can_use, 128),
        cpu.features({halide_target_feature_avx512_skylake}, fake_can_use, 512),
        opencl.features({halide_target_feature_opencl}, fake_can_use, 128)};
    ASSERT_EQ(convgen_register_kernels(table, 3), CONVGEN_OK) << last_error();
    cpu_lacks({});
    EXPECT_EQ(convgen_kernel_supported(&table[0]), 1);
    const convgen_kernel *k = convgen_find_kernel_for_layer(&l);
    ASSERT_NE(k, nullptr) << last_error();
    EXPECT_STREQ(k->key, cuda_device_here() ? "cuda_gpu" : "cuda_cpu");

    // The CUDA kernel alone (and one for another GPU API, never a choice).
    convgen_layer other = l;
    other.c = other.cout = 20;
    static FakeKernel alone("cuda_alone", other, capture_fn<4>, kHost + "-cuda-cuda_capability_80");
    static FakeKernel alone_cl("cuda_alone_opencl", other, capture_fn<4>, kHost + "-opencl");
    static convgen_kernel table2[2] = {alone_cl.features({halide_target_feature_opencl}, fake_can_use, 128),
                                       alone.features({halide_target_feature_cuda}, fake_can_use, 128)};
    ASSERT_EQ(convgen_register_kernels(table2, 2), CONVGEN_OK) << last_error();
    k = convgen_find_kernel_for_layer(&other);
    if (cuda_device_here()) {
        ASSERT_NE(k, nullptr) << last_error();
        EXPECT_STREQ(k->key, "cuda_alone");
    } else {
        EXPECT_EQ(k, nullptr);
        EXPECT_ERROR_HAS("2 registered kernels match the layer; unsupported target e.g. " + kHost + "-cuda");
    }
}

TEST(Target, TheRuntimeCheckDecides) {
    convgen_kernel k{};
    uint64_t mask[kFeatureWords] = {};
    mask[halide_target_feature_avx512_skylake / 64] |= uint64_t(1) << (halide_target_feature_avx512_skylake % 64);
    std::string target = kHost + "-avx512_skylake";
    k.target = target.c_str(), k.feature_words = kFeatureWords, k.features = mask;
    k.can_use_target_features = fake_can_use;
    cpu_lacks({});
    g_can_use_calls = 0;
    EXPECT_EQ(convgen_kernel_supported(&k), 1);
    EXPECT_EQ(g_can_use_calls, 1);
    EXPECT_EQ(g_can_use_count, kFeatureWords);
    cpu_lacks({halide_target_feature_avx512_skylake});
    EXPECT_EQ(convgen_kernel_supported(&k), 0);
    // The check's answer stands whatever the string says; the string's arch and bits come first.
    target = kHost + "-no_asserts";
    k.target = target.c_str();
    EXPECT_EQ(convgen_kernel_supported(&k), 0);
    cpu_lacks({});
    EXPECT_EQ(convgen_kernel_supported(&k), 1);
    for (std::string foreign : {kForeign, kForeign + "-avx512_skylake", std::string(kHost).replace(4, 2, "32")}) {
        target = foreign;
        k.target = target.c_str();
        g_can_use_calls = 0;
        EXPECT_EQ(convgen_kernel_supported(&k), 0) << foreign;
        EXPECT_EQ(g_can_use_calls, 0) << foreign;
    }
}

TEST(Target, WithoutTheRuntimeCheckOnlyPlainAndCudaTargets) {
    auto supported = [](const std::string &target) {
        convgen_kernel k{};
        k.target = target.c_str();
        return convgen_kernel_supported(&k);
    };
    EXPECT_EQ(supported(kHost), 1);
    EXPECT_EQ(supported(kHost + "-cuda-cuda_capability_80"), 1); // CUDA's features ask nothing of the CPU
    EXPECT_EQ(supported(kHost + "-cuda"), 1);
    EXPECT_EQ(supported(kHost + "-avx2-fma"), 0);  // unchecked ISA features: refused, not SIGILL
    EXPECT_EQ(supported(kHost + "-arm_dot_prod"), 0);
    EXPECT_EQ(supported(kHost + "-no_asserts"), 0); // no table tells an ISA feature from another
    EXPECT_EQ(supported(kHost + "-cuda-cudax"), 0);
    EXPECT_EQ(supported(kForeign), 0);
    EXPECT_EQ(supported(std::string(kHost).replace(4, 2, "32")), 0);
    EXPECT_EQ(supported("host"), 1);
    EXPECT_EQ(supported("x86"), 0);
    EXPECT_EQ(supported(""), 0);
    EXPECT_EQ(convgen_kernel_supported(nullptr), 0);
    // A bitmask without the check (or a check without a bitmask) is no check.
    convgen_kernel k{};
    uint64_t mask[kFeatureWords] = {};
    std::string target = kHost + "-avx2";
    k.target = target.c_str(), k.feature_words = kFeatureWords, k.features = mask;
    EXPECT_EQ(convgen_kernel_supported(&k), 0);
    k.features = nullptr, k.can_use_target_features = fake_can_use;
    EXPECT_EQ(convgen_kernel_supported(&k), 0);
}

} // namespace
