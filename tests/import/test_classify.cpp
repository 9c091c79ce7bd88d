// The import classifier (generator/import/model.h) on graphs built here: kinds, what fuses and
// what must not, BN folding by hand-worked numbers, dwsep parameters, rows of what is skipped.
#include "generator/import/model.h"

#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

using namespace convgen;

namespace {

GraphOp conv(const std::string &name, const std::string &in, const std::string &out, std::vector<int64_t> in_shape,
             int cout, int k, int groups = 1) {
    GraphOp op;
    op.type = GraphOp::Type::Conv;
    op.name = op.op_type = name;
    op.inputs = {in};
    op.outputs = {out};
    op.in_shape = in_shape;
    op.cout = cout, op.kh = op.kw = k, op.groups = groups;
    op.pad_t = op.pad_l = op.pad_b = op.pad_r = k / 2;
    const int64_t per = in_shape[1] / groups * k * k;
    op.has_weights = true;
    op.weight = Tensor{{cout, in_shape[1] / groups, k, k}, std::vector<float>(size_t(cout * per), 1.f)};
    return op;
}

GraphOp bn(const std::string &name, const std::string &in, const std::string &out, int c) {
    GraphOp op;
    op.type = GraphOp::Type::BatchNorm;
    op.name = name;
    op.inputs = {in};
    op.outputs = {out};
    op.has_weights = true;
    op.eps = 0.25;
    op.gamma = Tensor{{c}, std::vector<float>(size_t(c), 2.f)};
    op.beta = Tensor{{c}, std::vector<float>(size_t(c), 1.f)};
    op.mean = Tensor{{c}, std::vector<float>(size_t(c), 3.f)};
    op.var = Tensor{{c}, std::vector<float>(size_t(c), 0.75f)};  // scale 2 / sqrt(0.75 + 0.25) = 2
    return op;
}

GraphOp act(const std::string &name, const std::string &in, const std::string &out, Act a, const char *unsupported = "") {
    GraphOp op;
    op.type = GraphOp::Type::Act;
    op.name = name;
    op.inputs = {in};
    op.outputs = {out};
    op.act = a;
    op.unsupported = unsupported;
    return op;
}

GraphOp other(const std::string &name, std::vector<std::string> in, const std::string &out) {
    GraphOp op;
    op.name = op.op_type = name;
    op.inputs = in;
    op.outputs = {out};
    return op;
}

}  // namespace

TEST(Classify, ConvBnReluFoldsAndFuses) {
    Graph g;
    g.ops = {conv("c", "x", "t", {1, 2, 5, 5}, 3, 3), bn("b", "t", "u", 3), act("r", "u", "y", Act::Relu)};
    g.outputs = {"y"};
    const ImportResult r = classify(g, {});
    ASSERT_EQ(r.layers.size(), 1u);
    const ImportedLayer &l = r.layers[0];
    EXPECT_EQ(l.spec.kind, Kind::Conv);
    EXPECT_EQ(l.spec.act, Act::Relu);
    EXPECT_TRUE(l.spec.bias);
    EXPECT_EQ(l.nodes, (std::vector<std::string>{"c", "b", "r"}));
    // w' = w * 2, b' = (0 - 3) * 2 + 1 = -5
    EXPECT_EQ(l.params.at("weight").data[0], 2.f);
    EXPECT_EQ(l.params.at("bias").data, (std::vector<float>{-5, -5, -5}));
    EXPECT_EQ(r.rows[0].fused, "BN+relu");
}

TEST(Classify, NothingFusesAcrossATensorWithTwoReadersOrAGraphOutput) {
    Graph g;
    g.ops = {conv("c", "x", "t", {1, 2, 5, 5}, 3, 3), bn("b", "t", "u", 3), other("add", {"t", "u"}, "y")};
    g.outputs = {"y"};
    ImportResult r = classify(g, {});
    ASSERT_EQ(r.layers.size(), 1u);
    EXPECT_EQ(r.layers[0].nodes, (std::vector<std::string>{"c"}));
    EXPECT_FALSE(r.layers[0].spec.bias);

    g.ops = {conv("c", "x", "t", {1, 2, 5, 5}, 3, 3), act("r", "t", "y", Act::Relu)};
    g.outputs = {"t", "y"};
    r = classify(g, {});
    EXPECT_EQ(r.layers[0].spec.act, Act::None);
}

TEST(Classify, BnOfTheWrongSizeStaysANode) {
    Graph g;
    g.ops = {conv("c", "x", "t", {1, 2, 5, 5}, 3, 3), bn("b", "t", "y", 4)};
    g.outputs = {"y"};
    EXPECT_EQ(classify(g, {}).layers[0].nodes, (std::vector<std::string>{"c"}));
}

TEST(Classify, KindsFromGroupsAndKernel) {
    Graph g;
    g.ops = {conv("pw", "x", "a", {1, 4, 6, 6}, 8, 1), conv("dw", "x", "b", {1, 4, 6, 6}, 8, 3, 4),
             conv("grouped", "x", "c", {1, 4, 6, 6}, 6, 3, 2), conv("c1", "x", "d", {1, 1, 6, 6}, 2, 3, 1)};
    g.outputs = {"a", "b", "c", "d"};
    const ImportResult r = classify(g, {});
    ASSERT_EQ(r.layers.size(), 4u);
    EXPECT_EQ(r.layers[0].spec.kind, Kind::Pointwise);
    EXPECT_EQ(r.layers[1].spec.kind, Kind::Depthwise);
    EXPECT_EQ(r.layers[1].spec.multiplier, 2);
    EXPECT_EQ(r.layers[2].spec.kind, Kind::Conv);
    EXPECT_EQ(r.layers[2].spec.groups, 2);
    EXPECT_EQ(r.layers[3].spec.kind, Kind::Conv);  // one channel, groups 1: a regular conv
}

TEST(Classify, DepthwiseThen1x1IsDwsepWithAnActPerStage) {
    Graph g;
    g.ops = {conv("dw", "x", "t", {1, 4, 6, 6}, 4, 3, 4), act("r6", "t", "u", Act::Relu6),
             conv("pw", "u", "v", {1, 4, 6, 6}, 5, 1), bn("b", "v", "y", 5)};
    g.outputs = {"y"};
    const ImportResult r = classify(g, {});
    ASSERT_EQ(r.layers.size(), 1u);
    const LayerSpec &s = r.layers[0].spec;
    EXPECT_EQ(s.kind, Kind::Dwsep);
    EXPECT_EQ(s.cout, 5);
    EXPECT_EQ(s.dw_stage_act(), Act::Relu6);
    EXPECT_EQ(s.act, Act::None);
    const NamedTensors &p = r.layers[0].params;
    EXPECT_EQ(p.at("dw.bias").data, std::vector<float>(4, 0.f));  // no bias, no BN: zeros
    EXPECT_EQ(p.at("pw.bias").data, std::vector<float>(5, -5.f));
    EXPECT_EQ(p.at("pw.weight").data[0], 2.f);
    // Identity BatchNorm for the runtime to fold: var + eps = 1.
    EXPECT_NEAR(double(p.at("bn2.running_var").data[0]) + double(s.eps), 1.0, 1e-7);
    EXPECT_EQ(p.at("bn1.weight").data, std::vector<float>(4, 1.f));
    EXPECT_EQ(r.rows[0].fused, "relu6 | pw pw BN+linear");
}

TEST(Classify, NoDwsepWhenThe1x1IsStridedPaddedOrTheDepthwiseHasAMultiplier) {
    for (int variant = 0; variant < 3; variant++) {
        Graph g;
        GraphOp dw = conv("dw", "x", "t", {1, 4, 6, 6}, variant == 2 ? 8 : 4, 3, 4);
        GraphOp pw = conv("pw", "t", "y", {1, variant == 2 ? 8 : 4, 6, 6}, 5, 1);
        if (variant == 0) pw.sh = pw.sw = 2;
        if (variant == 1) pw.pad_t = 1;
        g.ops = {dw, pw};
        g.outputs = {"y"};
        const ImportResult r = classify(g, {});
        ASSERT_EQ(r.layers.size(), 2u) << variant;
        EXPECT_EQ(r.layers[0].spec.kind, Kind::Depthwise) << variant;
    }
}

TEST(Classify, SkippedConvsAndUnfusedActivationsAreRows) {
    Graph g;
    GraphOp c3 = conv("c3", "x", "a", {1, 2, 5, 5}, 3, 3);
    c3.unsupported = "3-D convolution";
    GraphOp dyn = conv("dyn", "x", "b", {1, 2, 5, 5}, 3, 3);
    dyn.in_shape.clear();
    dyn.shape_problem = "dynamic shape";
    GraphOp big = conv("big", "x", "c", {1, 2, 2, 2}, 3, 1);  // made a 7x7 kernel on 2x2: validation rejects it
    big.kh = big.kw = 7;
    big.pad_t = big.pad_l = big.pad_b = big.pad_r = 0;
    big.weight.shape = {3, 2, 7, 7};
    g.ops = {c3, dyn, big, conv("h", "x", "d", {1, 2, 5, 5}, 3, 3), act("hs", "d", "e", Act::None, "HardSwish")};
    g.outputs = {"a", "b", "c", "e"};
    const ImportResult r = classify(g, {});
    ASSERT_EQ(r.rows.size(), 4u);
    EXPECT_EQ(r.rows[0].fused, "not imported: 3-D convolution");
    EXPECT_EQ(r.rows[1].fused, "not imported: dynamic shape");
    EXPECT_EQ(r.rows[2].kind, "-");
    EXPECT_NE(r.rows[2].fused.find("not imported: layer: kernel height extent 7"), std::string::npos) << r.rows[2].fused;
    EXPECT_EQ(r.rows[3].fused, "-; HardSwish not fused");
    ASSERT_EQ(r.layers.size(), 1u);
    std::ostringstream table;
    print_table(r, table);
    EXPECT_NE(table.str().find("1 layer(s) (conv 1), 3 convolution(s) not imported"), std::string::npos) << table.str();
}

TEST(Classify, LayerFileRoundTrips) {
    Graph g;
    g.ops = {conv("dw", "x", "t", {2, 4, 6, 6}, 4, 3, 4), act("r6", "t", "u", Act::Relu6),
             conv("pw", "u", "y", {2, 4, 6, 6}, 5, 1)};
    g.outputs = {"y"};
    ImportOptions o;
    o.layout = Layout::NHWC;
    const ImportResult r = classify(g, o);
    const std::string path = testing::TempDir() + "classify_layers.json";
    write_file_atomic(path, layers_json(r).dump(2));
    const std::vector<LayerSpec> back = parse_layer_file(path);
    ASSERT_EQ(back.size(), 1u);
    EXPECT_EQ(back[0].name, "dw");
    EXPECT_EQ(to_text(back[0]), to_text(r.layers[0].spec));
    EXPECT_NE(to_text(back[0]).find("act=relu6:none,layout=nhwc"), std::string::npos) << to_text(back[0]);
}
