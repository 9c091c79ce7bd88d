// LayerSpec: grammar round trips, derived sizes, DESIGN.md's counting formulas, kernel keys,
// kernel arguments and the layer files (JSON, suite TSV).
#include "generator/spec/layer_spec.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <functional>

using namespace convgen;

namespace {

bool same(const LayerSpec &a, const LayerSpec &b) { return to_text(a) == to_text(b) && a.name == b.name; }

std::string write_temp(const std::string &name, const std::string &text) {
    std::string path = testing::TempDir() + name;
    std::ofstream(path) << text;
    return path;
}

}  // namespace

TEST(LayerSpec, TextRoundTrips) {
    for (const char *text : {"kind=conv,c=3,h=9,w=11,cout=5,k=3,pad=1",
                             "kind=conv,n=2,c=6,h=10,w=10,cout=6,k=3:1,stride=2:1,pad=0:1:2:1,dilation=2,groups=2,act=relu6",
                             "kind=pointwise,c=16,h=32,w=32,cout=32,bias=0,layout=nhwc",
                             "kind=depthwise,c=8,h=10,w=10,k=3,multiplier=2,pad=same",
                             "kind=dwsep,c=32,h=112,w=112,cout=64,k=3,pad=1,act=relu,eps=0.001",
                             "kind=dwsep,c=32,h=56,w=56,cout=24,k=3,pad=1,act=relu6:none"}) {
        LayerSpec s = parse_layer(text);
        EXPECT_TRUE(same(parse_layer(to_text(s)), s)) << text << " -> " << to_text(s);
    }
}

TEST(LayerSpec, Defaults) {
    LayerSpec s = parse_layer("kind=pointwise,c=3,h=4,w=5,cout=7");
    EXPECT_EQ(s.n, 1);
    EXPECT_EQ(s.kh, 1);
    EXPECT_EQ(s.sh, 1);
    EXPECT_EQ(s.pad_t + s.pad_l + s.pad_b + s.pad_r, 0);
    EXPECT_TRUE(s.bias);
    EXPECT_EQ(s.act, Act::None);
    EXPECT_EQ(s.layout, Layout::NCHW);
    EXPECT_EQ(parse_layer("kind=depthwise,c=3,h=8,w=8,k=3,multiplier=2").cout, 6);
}

TEST(LayerSpec, DwsepActPerStage) {
    LayerSpec s = parse_layer("kind=dwsep,c=8,h=8,w=8,cout=4,k=3,act=relu6:none");
    EXPECT_EQ(s.dw_stage_act(), Act::Relu6);  // depthwise stage first
    EXPECT_EQ(s.act, Act::None);
    EXPECT_NE(to_text(s).find(",act=relu6:none,"), std::string::npos) << to_text(s);
    // One value means both stages; so does a pair of equal values, in one spelling.
    LayerSpec both = parse_layer("kind=dwsep,c=8,h=8,w=8,cout=4,k=3,act=relu:relu");
    EXPECT_FALSE(both.dw_act.has_value());
    EXPECT_EQ(to_text(both), to_text(parse_layer("kind=dwsep,c=8,h=8,w=8,cout=4,k=3,act=relu")));
    EXPECT_EQ(both.dw_stage_act(), Act::Relu);
    // --set act=... replaces both.
    EXPECT_EQ(with_overrides(s, {"act=relu"}).dw_stage_act(), Act::Relu);
}

// Fuzz finding (fuzz.layer_string): an empty act split into no parts and read past them.
TEST(LayerSpec, EmptyActIsBadInput) {
    for (const char *text : {"kind=dwsep,c=8,h=8,w=8,cout=4,k=3,act=", "kind=conv,c=1,h=4,w=4,cout=1,act=,x=1"}) {
        try {
            parse_layer(text);
            ADD_FAILURE() << text << " was accepted";
        } catch (const SpecError &e) {
            EXPECT_NE(std::string(e.what()).find("act"), std::string::npos) << e.what();
        }
    }
}

TEST(LayerSpec, SamePaddingPutsTheOddPixelLast) {
    LayerSpec s = parse_layer("kind=conv,c=1,h=8,w=7,cout=1,k=4:3,stride=2,pad=same");
    EXPECT_EQ(s.out_h(), 4);  // ceil(8/2)
    EXPECT_EQ(s.out_w(), 4);  // ceil(7/2)
    EXPECT_EQ(s.pad_t, 1);    // total 2
    EXPECT_EQ(s.pad_b, 1);
    EXPECT_EQ(s.pad_l, 1);    // total 2
    EXPECT_EQ(s.pad_r, 1);
    LayerSpec odd = parse_layer("kind=conv,c=1,h=8,w=8,cout=1,k=2,pad=same");
    EXPECT_EQ(odd.pad_t, 0);
    EXPECT_EQ(odd.pad_b, 1);
    EXPECT_EQ(odd.out_h(), 8);
}

TEST(Counts, WorkedExamplesOfDesign) {
    EXPECT_EQ(count(parse_layer("kind=conv,c=3,h=8,w=8,cout=4,k=3,pad=1")).params, 108);
    EXPECT_EQ(count(parse_layer("kind=pointwise,c=3,h=8,w=8,cout=4")).params, 12);
    EXPECT_EQ(count(parse_layer("kind=pointwise,c=3,h=8,w=8,cout=256")).params, 768);
    EXPECT_EQ(count(parse_layer("kind=depthwise,c=3,h=8,w=8,k=3")).params, 27);
    // DESIGN.md says 45 for this one; its formula C*k*k gives 75 (README, Notes).
    Counts dw5 = count(parse_layer("kind=depthwise,c=3,h=12,w=12,k=5"));
    EXPECT_EQ(dw5.params, 75);
    EXPECT_EQ(dw5.macs, 4800);
    EXPECT_EQ(dw5.out_h, 8);
    EXPECT_EQ(dw5.out_w, 8);
    EXPECT_EQ(dw5.out_c, 3);
    Counts pw = count(parse_layer("kind=pointwise,c=16,h=32,w=32,cout=32"));
    EXPECT_EQ(pw.out_n * 1000000 + pw.out_c * 10000 + pw.out_h * 100 + pw.out_w, 1323232);
    EXPECT_EQ(pw.params_with_bias, 512 + 32);
    EXPECT_EQ(pw.flops, 2 * pw.macs);
}

TEST(Counts, DwsepCostsOneOverCoutPlusOneOverKSquared) {
    for (int cout : {16, 64, 512})
        for (int k : {3, 5}) {
            const std::string shape = ",c=32,h=28,w=28,cout=" + std::to_string(cout) + ",k=" + std::to_string(k) +
                                      ",pad=" + std::to_string(k / 2);
            double ratio = double(count(parse_layer("kind=dwsep" + shape)).macs) /
                           double(count(parse_layer("kind=conv" + shape)).macs);
            EXPECT_NEAR(ratio, 1.0 / cout + 1.0 / (k * k), 1e-12) << shape;
        }
}

TEST(Counts, BytesAndIntensity) {
    Counts c = count(parse_layer("kind=conv,c=2,h=4,w=4,cout=3,k=3,pad=1"));
    EXPECT_EQ(c.bytes, 4 * (2 * 16 + 3 * 2 * 9 + 3 + 3 * 16));
    EXPECT_DOUBLE_EQ(c.intensity, double(c.flops) / double(c.bytes));
}

// Keys need a resolved algo (generator/compile.h specialize); these tests resolve it by hand.
LayerSpec direct(const std::string &text) { return parse_layer(text + ",algo=direct"); }

TEST(Keys, EncodeEverythingButEps) {
    EXPECT_EQ(kernel_key(direct("kind=dwsep,c=32,h=56,w=56,cout=24,k=3,pad=1,act=relu6:none"), "x86_avx2"),
              "dwsep_f32_n1c32h56w56_o24_k3s1p1d1_relu6_none_nchw__x86_avx2");
    EXPECT_EQ(kernel_key(direct("kind=dwsep,c=32,h=112,w=112,cout=64,k=3,pad=1,act=relu,layout=nhwc"), "x86_avx512"),
              "dwsep_f32_n1c32h112w112_o64_k3s1p1d1_relu_nhwc__x86_avx512");
    EXPECT_EQ(kernel_key(direct("kind=conv,n=2,c=5,h=9,w=8,cout=16,k=3,pad=0:1:2:1,bias=0"), "x86_avx2"),
              "conv_f32_n2c5h9w8_o16_k3s1p0x1x2x1d1_nobias_none_nchw__x86_avx2");
    EXPECT_EQ(kernel_key(direct("kind=conv,c=4,h=9,w=10,cout=8,k=1:3,stride=1:2,groups=2,dilation=2:1"), "t"),
              "conv_f32_n1c4h9w10_o8_k1x3s1x2p0d2x1_g2_none_nchw__t");
    EXPECT_EQ(kernel_key(direct("kind=depthwise,c=8,h=10,w=10,k=3,multiplier=2"), "t"),
              "depthwise_f32_n1c8h10w10_o16_k3s1p0d1_m2_none_nchw__t");
    EXPECT_EQ(kernel_key(direct("kind=dwsep,c=4,h=8,w=8,cout=4,k=3,eps=0.1"), "t"),
              kernel_key(direct("kind=dwsep,c=4,h=8,w=8,cout=4,k=3"), "t"));
}

TEST(Keys, AlgoAutoThrowsWinogradAddsItsTile) {
    EXPECT_THROW(kernel_key(parse_layer("kind=conv,c=4,h=8,w=8,cout=4,k=3"), "t"), std::logic_error);
    EXPECT_EQ(kernel_key(parse_layer("kind=conv,c=4,h=8,w=8,cout=4,k=3,pad=1,act=relu,algo=winograd"), "t"),
              "conv_f32_n1c4h8w8_o4_k3s1p1d1_wino4_relu_nchw__t");
    EXPECT_EQ(kernel_key(parse_layer("kind=conv,c=4,h=8,w=8,cout=4,k=3,bias=0,algo=winograd"), "t"),
              "conv_f32_n1c4h8w8_o4_k3s1p0d1_nobias_wino2_none_nchw__t");  // 6x6 out: a tie, F(2,3)
}

TEST(Winograd, TileMinimisesTransformProducts) {
    auto tile = [](const char *text) { return winograd_tile(parse_layer(text)); };
    // 56x56: 14^2 tiles x 36 = 7056 products (F(4,3)) against 28^2 x 16 = 12544 (F(2,3)).
    EXPECT_EQ(tile("kind=conv,c=64,h=56,w=56,cout=64,k=3,pad=1,algo=winograd"), 4);
    // 14x14 overhangs F(4,3)'s tiles (16x16 computed) and still wins: 16 x 36 = 576 < 49 x 16 = 784.
    EXPECT_EQ(tile("kind=conv,c=8,h=14,w=14,cout=8,k=3,pad=1,algo=winograd"), 4);
    // 2x2 output: one F(2,3) tile (16 products) against one F(4,3) tile (36).
    EXPECT_EQ(tile("kind=conv,c=8,h=4,w=4,cout=8,k=3,algo=winograd"), 2);
    // 5x5: 4 x 36 = 144 = 9 x 16, a tie goes to F(2,3) (the smaller rounding error).
    EXPECT_EQ(tile("kind=conv,c=8,h=5,w=5,cout=8,k=3,pad=1,algo=winograd"), 2);
}

TEST(LayerSpec, AlgoGrammar) {
    EXPECT_EQ(parse_layer("kind=conv,c=4,h=8,w=8,cout=4,k=3").algo, Algo::Auto);
    EXPECT_EQ(parse_layer("kind=conv,c=4,h=8,w=8,cout=4,k=3,algo=Direct").algo, Algo::Direct);
    const LayerSpec w = parse_layer("kind=conv,c=4,h=8,w=8,cout=4,k=3,algo=winograd");
    EXPECT_EQ(w.algo, Algo::Winograd);
    EXPECT_NE(to_text(w).find(",algo=winograd"), std::string::npos) << to_text(w);
    EXPECT_EQ(to_text(parse_layer(to_text(w))), to_text(w));
    EXPECT_EQ(to_text(parse_layer("kind=conv,c=4,h=8,w=8,cout=4,k=3")).find("algo"), std::string::npos);
    auto message = [](const std::string &text) {
        try {
            parse_layer(text);
        } catch (const SpecError &e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    EXPECT_EQ(message("kind=conv,c=4,h=8,w=8,cout=4,k=3,algo=fft"),
              "layer: algo='fft' is not one of auto | direct | winograd");
    for (const char *bad : {"kind=conv,c=4,h=8,w=8,cout=4,k=3,stride=2,algo=winograd",
                            "kind=conv,c=4,h=8,w=8,cout=4,k=5,algo=winograd",
                            "kind=conv,c=4,h=8,w=8,cout=4,k=3,dilation=2,algo=winograd",
                            "kind=conv,c=4,h=8,w=8,cout=4,k=3,groups=2,algo=winograd",
                            "kind=depthwise,c=4,h=8,w=8,k=3,algo=winograd"})
        EXPECT_EQ(message(bad).rfind("layer: algo=winograd needs kind=conv with k=3, stride 1, dilation 1, groups 1", 0), 0u)
            << bad << ": " << message(bad);
}

TEST(KernelArgs, WinogradWeightIsTheTransformedFilter) {
    auto a = kernel_args(parse_layer("kind=conv,c=5,h=9,w=7,cout=6,k=3,pad=1,algo=winograd"));
    ASSERT_EQ(a.size(), 4u);
    EXPECT_EQ(a[1].name, "weight");
    EXPECT_EQ(a[1].layout, "WINO4x3");
    EXPECT_EQ(a[1].shape, (std::vector<int64_t>{6, 6, 5, 6}));
    auto b = kernel_args(parse_layer("kind=conv,c=5,h=4,w=4,cout=6,k=3,algo=winograd"));
    EXPECT_EQ(b[1].layout, "WINO2x3");
    EXPECT_EQ(b[1].shape, (std::vector<int64_t>{4, 4, 5, 6}));
    EXPECT_EQ(kernel_args(parse_layer("kind=conv,c=5,h=9,w=7,cout=6,k=3,algo=direct"))[1].layout, "HWIO");
}

// pw_block (set by specialize() for the target) blocks the pointwise weights by output channel:
// "Oi<B>o", [cout/B][c][B]; 0 keeps IO. A block that does not divide cout is an internal error.
TEST(KernelArgs, BlockedPointwiseWeights) {
    LayerSpec p = parse_layer("kind=pointwise,c=5,h=4,w=4,cout=32,layout=nhwc");
    EXPECT_EQ(kernel_args(p)[1].layout, "IO");
    p.pw_block = 16;
    auto a = kernel_args(p);
    EXPECT_EQ(a[1].name, "weight");
    EXPECT_EQ(a[1].layout, "Oi16o");
    EXPECT_EQ(a[1].shape, (std::vector<int64_t>{2, 5, 16}));
    LayerSpec d = parse_layer("kind=dwsep,c=8,h=8,w=8,cout=24,k=3,layout=nhwc");
    d.pw_block = 8;
    auto b = kernel_args(d);
    EXPECT_EQ(b[3].name, "pw_weight");
    EXPECT_EQ(b[3].layout, "Oi8o");
    EXPECT_EQ(b[3].shape, (std::vector<int64_t>{3, 8, 8}));
    EXPECT_EQ(b[1].layout, "HWC");  // the depthwise weight is not blocked
    d.pw_block = 16;
    EXPECT_THROW(kernel_args(d), std::logic_error);
}

TEST(KernelArgs, OrderShapesAndLayouts) {
    auto a = kernel_args(parse_layer("kind=conv,c=6,h=10,w=12,cout=4,k=3,groups=2,stride=2,layout=nhwc"));
    ASSERT_EQ(a.size(), 4u);
    EXPECT_EQ(a[0].name, "input");
    EXPECT_EQ(a[0].shape, (std::vector<int64_t>{1, 10, 12, 6}));
    EXPECT_EQ(a[1].layout, "HWIO");
    EXPECT_EQ(a[1].shape, (std::vector<int64_t>{3, 3, 3, 4}));
    EXPECT_EQ(a[2].name, "bias");
    EXPECT_TRUE(a[3].is_output);
    EXPECT_EQ(a[3].shape, (std::vector<int64_t>{1, 4, 5, 4}));
    auto d = kernel_args(parse_layer("kind=dwsep,c=8,h=8,w=8,cout=16,k=3,bias=0"));
    std::vector<std::string> names;
    for (const auto &x : d) names.push_back(x.name);
    EXPECT_EQ(names, (std::vector<std::string>{"input", "dw_weight", "dw_bias", "pw_weight", "pw_bias", "output"}));
}

TEST(LayerFiles, JsonWithNamesAndStrings) {
    auto layers = parse_layer_file(write_temp("layers.json",
        R"([{"name": "a", "kind": "conv", "c": 3, "h": 8, "w": 8, "cout": 4, "k": 3, "pad": "same", "bias": false},
            {"name": "b", "kind": "pointwise", "c": 4, "h": 8, "w": 8, "cout": 2, "layout": "nhwc"}])"));
    ASSERT_EQ(layers.size(), 2u);
    EXPECT_EQ(layers[0].name, "a");
    EXPECT_FALSE(layers[0].bias);
    EXPECT_EQ(layers[0].pad_t, 1);
    EXPECT_EQ(layers[1].layout, Layout::NHWC);
}

TEST(LayerFiles, SuiteTsvKinds) {
    auto layers = parse_layer_file(write_temp("suite.tsv",
        "# comment\nA\tconv\t1\t3\t8\t8\t4\t3\t1\t1\t1\nB\tpw\t1\t4\t8\t8\t2\t1\t1\t0\t1\n"
        "C\tdw\t1\t4\t8\t8\t4\t3\t2\t1\t1\nD\tdws\t2\t4\t8\t8\t6\t3\t1\t1\t1\n"));
    ASSERT_EQ(layers.size(), 4u);
    EXPECT_EQ(layers[1].kind, Kind::Pointwise);
    EXPECT_EQ(layers[2].kind, Kind::Depthwise);
    EXPECT_EQ(layers[2].sh, 2);
    EXPECT_EQ(layers[3].kind, Kind::Dwsep);
    EXPECT_EQ(layers[3].act, Act::Relu);
    EXPECT_EQ(layers[3].n, 2);
}

TEST(LayerFiles, TheBenchmarkSuiteParses) {
    const std::string path = CONVGEN_SUITE_TSV;
    if (!std::ifstream(path)) GTEST_SKIP() << "[SKIP] " << path << " is not beside the project";
    auto layers = parse_layer_file(path);
    EXPECT_EQ(layers.size(), 18u);
    EXPECT_EQ(layers.front().name, "R1");
}

TEST(Validation, NamesTheFieldAndValue) {
    auto message = [](const std::string &text) {
        try {
            parse_layer(text);
        } catch (const SpecError &e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    EXPECT_EQ(message("kind=conv,c=3,h=8,w=8,cout=4,k=3,groups=2"), "layer: c=3 is not a multiple of groups=2");
    EXPECT_EQ(message("kind=conv,c=3,h=8,w=8,cout=4,k=3,c=4"), "layer: key 'c' is given twice");
    EXPECT_EQ(message("kind=conv,c=3,h=8,w=8,cout=4,k=3,pad=-1"), "layer: pad top=-1 must be >= 0");
    EXPECT_EQ(message("kind=conv,c=3,h=8,w=8,cout=4,k=3,bias=2"), "layer: bias=2 must be 0 or 1");
    EXPECT_EQ(message("kind=conv,c=3,h=8,w=8,cout=4,k=3,eps=0"), "layer: eps='0' must be a positive number");
    EXPECT_EQ(message("kind=depthwise,c=3,h=8,w=8,k=3,groups=3"), "layer: groups=3 is only for kind=conv");
    EXPECT_EQ(message("kind=conv,c=3,h=99999999999,w=8,cout=4,k=3"), "layer: h=99999999999 is out of range");
    EXPECT_EQ(message("kind=conv,c=3,h=8,w=8,cout=4,k=3,act=relu6:none"),
              "layer: act=relu6:none (one per stage) is only for kind=dwsep");
    EXPECT_EQ(message("kind=dwsep,c=3,h=8,w=8,cout=4,k=3,act=relu:none:relu"),
              "layer: act='relu:none:relu' must be ACT or DW_ACT:PW_ACT");
    EXPECT_EQ(message("kind=dwsep,c=3,h=8,w=8,cout=4,k=3,act=relu7:none"),
              "layer: act='relu7' is not one of none | relu | relu6");
    EXPECT_EQ(message("kind=conv,c=3,h=8,w=8,cout=4,k=3,"), "layer: empty item in 'kind=conv,c=3,h=8,w=8,cout=4,k=3,'");
}

namespace {

std::string spec_error(const std::function<void()> &f) {
    try {
        f();
    } catch (const SpecError &e) {
        return e.what();
    }
    return "no error";
}

std::string layer_error(const std::string &text) {
    return spec_error([&] { parse_layer(text); });
}

}  // namespace

// Issue 15: values that overflowed int arithmetic (UBSan) or were reported as numbers the user
// never gave.
TEST(Validation, SamePaddingNeverOverflows) {
    EXPECT_EQ(layer_error("kind=conv,c=3,h=2147483647,w=8,cout=4,k=3,pad=same"),
              "layer: h=2147483647 is too large (max 16777216)");
    EXPECT_EQ(layer_error("kind=conv,c=3,h=8,w=8,cout=4,k=2000000000,pad=same"),
              "layer: kh=2000000000 is too large (max 16777216)");
    EXPECT_EQ(layer_error("kind=conv,c=3,h=8,w=8,cout=4,k=4,dilation=16777216,pad=same"),
              "layer: pad=same needs 50331648 rows of padding for h=8, kh=4, dilation 16777216 (max 16777216 per side)");
    EXPECT_EQ(layer_error("kind=conv,c=3,h=8,w=8,cout=4,k=3,stride=0,pad=same"), "layer: stride (sh)=0 must be >= 1");
}

TEST(Validation, DepthwiseCoutIsComputedIn64Bits) {
    EXPECT_EQ(layer_error("kind=depthwise,c=65536,h=1,w=1,k=1,multiplier=65536"),
              "layer: kind=depthwise has cout = c * multiplier = 65536 * 65536 = 4294967296, too large (max 16777216)");
    EXPECT_EQ(layer_error("kind=depthwise,c=65536,h=1,w=1,k=1,multiplier=65536,cout=0"),
              "layer: cout=0 must be >= 1");
    EXPECT_EQ(layer_error("kind=depthwise,c=4096,h=1,w=1,k=1,multiplier=4096,cout=5"),
              "layer: kind=depthwise needs cout = c * multiplier = 16777216, got cout=5");
}

TEST(Validation, EpsMustBeAFloat) {
    EXPECT_EQ(layer_error("kind=dwsep,c=3,h=8,w=8,cout=4,k=3,eps=1e300"),
              "layer: eps=1e300 is outside the float range [1.17549e-38, 3.40282e+38]");
    EXPECT_EQ(layer_error("kind=dwsep,c=3,h=8,w=8,cout=4,k=3,eps=1e-50"),
              "layer: eps=1e-50 is outside the float range [1.17549e-38, 3.40282e+38]");
    EXPECT_EQ(layer_error("kind=dwsep,c=3,h=8,w=8,cout=4,k=3,eps=inf"), "layer: eps='inf' must be a positive number");
    EXPECT_EQ(layer_error("kind=dwsep,c=3,h=8,w=8,cout=4,k=3,eps=nan"), "layer: eps='nan' must be a positive number");
    EXPECT_FLOAT_EQ(parse_layer("kind=dwsep,c=3,h=8,w=8,cout=4,k=3,eps=1e-3").eps, 1e-3f);
}

TEST(Validation, MessagesAreOneLine) {
    EXPECT_EQ(layer_error("kind=conv,c=3\n4,h=8,w=8,cout=4,k=3"), "layer: c='3\\x0a4' is not an integer");
    EXPECT_EQ(spec_error([] { parse_layer_file(write_temp("nl.json", R"([{"name": "a\nb", "kind": "cnv"}])")); }),
              testing::TempDir() + "nl.json: layer 0 (a\\x0ab): layer: kind='cnv' is not one of conv | pointwise | "
                                   "depthwise | dwsep");
    EXPECT_EQ(layer_error("kind=conv\x1b[31m,c=3"), "layer: kind='conv\\x1b[31m' is not one of conv | pointwise | depthwise | dwsep");
    EXPECT_EQ(SpecError("a\tb\r\nc\x7f").what(), std::string("a\\x09b\\x0d\\x0ac\\x7f"));
    EXPECT_EQ(one_line("caf\xc3\xa9"), "caf\xc3\xa9");  // UTF-8 stays as it is
}

TEST(LayerFiles, JsonNumbersOutOfRangeAreBadInput) {
    EXPECT_EQ(spec_error([] { parse_layer_file(write_temp("big.json", R"([{"kind": "conv", "c": 1e400}])")); }),
              testing::TempDir() + "big.json: invalid JSON: [json.exception.out_of_range.406] number overflow parsing '1e400'");
    EXPECT_EQ(spec_error([] {
                  parse_layer_file(write_temp("u64.json",
                      R"([{"kind": "conv", "c": 18446744073709551615, "h": 8, "w": 8, "cout": 4, "k": 3}])"));
              }),
              testing::TempDir() + "u64.json: layer 0: layer: c=18446744073709551615 is out of range");
    EXPECT_EQ(spec_error([] {
                  parse_layer_file(write_temp("f.json", R"([{"kind": "conv", "c": 3.5, "h": 8, "w": 8, "cout": 4, "k": 3}])"));
              }),
              testing::TempDir() + "f.json: layer 0: layer: c='3.5' is not an integer");
    auto l = parse_layer_file(write_temp("eps.json", R"([{"kind": "dwsep", "c": 3, "h": 8, "w": 8, "cout": 4, "k": 3,
                                                           "eps": 1.2345678e-5}])"));
    EXPECT_EQ(l[0].eps, 1.2345678e-5f);  // not rounded to 6 digits on the way
}

TEST(LayerFiles, TsvDepthwiseWithHugeNumbers) {
    EXPECT_EQ(spec_error([] {
                  parse_layer_file(write_temp("huge.tsv", "D\tdw\t1\t99999999999999999999\t8\t8\t4\t3\t1\t1\t1\n"));
              }),
              testing::TempDir() + "huge.tsv:1 (D): layer: c=99999999999999999999 is out of range");
}
