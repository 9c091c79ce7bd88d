// The schedule space (schedules/choice.h, schedule.h) and the machine facts
// (schedules/target_facts.h): text round trips, validation naming the field, defaults valid by
// construction on many layers and targets, host facts read from the machine.
#include "tests/unit/error_of.h"
#include "bench/random_layers.h"
#include "generator/driver/compile.h"
#include "generator/driver/targets.h"
#include "schedules/choice.h"
#include "schedules/schedule.h"
#include "schedules/target_facts.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sstream>

namespace convgen {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

TEST(Choice, TextRoundTrip) {
    Choice c;
    c.v = 16, c.cw = 4, c.tx = 6, c.rows = 8, c.par = int(ParallelLoop::Rows), c.pad = 2;
    EXPECT_EQ(to_text(c), "v=16,cw=4,tx=6,rows=8,par=rows,pad=2");
    EXPECT_EQ(parse_choice(to_text(c)), c);
    EXPECT_EQ(to_text(Choice{}), "");
    EXPECT_EQ(parse_choice("tx=3", c).tx, 3);
    EXPECT_EQ(parse_choice("tx=3", c).cw, 4);  // the rest kept
}

TEST(Choice, ParseNamesTheBadField) {
    EXPECT_THAT(error_of([] { parse_choice("tz=3"); }), HasSubstr("unknown field 'tz'"));
    EXPECT_THAT(error_of([] { parse_choice("tx=0"); }), HasSubstr("tx=0"));
    EXPECT_THAT(error_of([] { parse_choice("tx=abc"); }), HasSubstr("tx=abc"));
    EXPECT_THAT(error_of([] { parse_choice("par=diagonal"); }), HasSubstr("par=diagonal"));
    EXPECT_THAT(error_of([] { parse_choice("v=99999999999"); }), HasSubstr("v=99999999999"));
}

TEST(Choice, ValidateAgainstTheLayer) {
    const LayerSpec s = parse_layer("kind=pointwise,c=64,h=14,w=14,cout=32,layout=nhwc");
    const ResolvedTarget t = resolve_target("x86_avx512");
    const Schedule d = choose_schedule(s, t.target, t.facts);
    EXPECT_EQ(d.source, ScheduleSource::Default);
    EXPECT_NO_THROW(validate(d.choice, d.choice, s));
    EXPECT_THAT(error_of([&] { choose_schedule(s, t.target, t.facts, "tx=15"); }), HasSubstr("tx=15 exceeds"));
    EXPECT_THAT(error_of([&] { choose_schedule(s, t.target, t.facts, "v=16,cw=4"); }), HasSubstr("v*cw=64 exceeds"));
    EXPECT_THAT(error_of([&] { choose_schedule(s, t.target, t.facts, "dw_v=8"); }), HasSubstr("dw_v is not used"));
    const Schedule o = choose_schedule(s, t.target, t.facts, "tx=2");
    EXPECT_EQ(o.source, ScheduleSource::Override);
    EXPECT_EQ(o.choice.tx, 2);
    // An override equal to the default is the default.
    EXPECT_EQ(choose_schedule(s, t.target, t.facts, "tx=" + std::to_string(d.choice.tx)).source,
              ScheduleSource::Default);
}

// The flattened plane (plane=1) exists for NCHW pointwise layers with stride 1 and no padding, whose
// plane is as contiguous in the input as in the output; the algorithm refuses it elsewhere.
TEST(Choice, FlatPlaneOnlyWhereThePlaneIsContiguous) {
    EXPECT_TRUE(flat_plane_eligible(parse_layer("kind=pointwise,c=8,h=5,w=7,cout=4,layout=nchw")));
    for (const char *other : {"kind=pointwise,c=8,h=5,w=7,cout=4,layout=nhwc",
                              "kind=pointwise,c=8,h=5,w=7,cout=4,stride=2,layout=nchw",
                              "kind=pointwise,c=8,h=5,w=7,cout=4,pad=1,layout=nchw",
                              "kind=conv,c=8,h=5,w=7,cout=4,k=1,layout=nchw"}) {
        const LayerSpec s = parse_layer(other);
        EXPECT_FALSE(flat_plane_eligible(s)) << other;
        EXPECT_THAT(error_of([&] { build_algorithm(s, true); }), HasSubstr("flattened plane")) << other;
    }
}

// Every default Choice is valid for its layer, on every CPU target and both layouts.
TEST(Choice, DefaultsValidByConstruction) {
    int checked = 0;
    for (const char *target : {"x86_avx2", "x86_avx512", "arm64"}) {
        const ResolvedTarget t = resolve_target(target);
        for (LayerSpec s : random_layers(150, 7)) {
            for (Layout l : {Layout::NCHW, Layout::NHWC}) {
                s.layout = l;
                const LayerSpec sp = specialize(s, t).spec;
                const Schedule d = choose_schedule(sp, t.target, t.facts);
                EXPECT_NO_THROW(validate(d.choice, d.choice, sp)) << to_text(sp) << " " << target;
                EXPECT_FALSE(to_text(d.choice).empty()) << to_text(sp);
                checked++;
            }
        }
    }
    EXPECT_EQ(checked, 900);
}

// A layer's strategies (schedule.h strategy_defaults): the default first; NCHW conv, pointwise and
// dwsep also the GEMM strategy the default did not take, with other fields, NCHW pointwise
// with stride 1 and no padding the flattened plane, NCHW dwsep with stride 1 and 8-lane vectors
// the repack (dw_pad=5, both stages as NHWC), NCHW depthwise with multiplier 1 and 8-lane vectors
// its repack (pad=3, the window as NHWC), conv and pointwise with fewer output channels than
// the lanes the dot tile (dot=1); each point valid for the layer, reached by
// --choice or a tuning record with its own text (parse_valid_choice), found by strategy_of; a text
// no strategy takes names the default's error and each other strategy's.
TEST(Choice, StrategiesEachValidAndReachable) {
    int two = 0, planes = 0, repacks = 0, dw_repacks = 0, dots = 0;
    for (const char *target : {"x86_avx2", "x86_avx512", "arm64"}) {
        const ResolvedTarget t = resolve_target(target);
        for (LayerSpec s : random_layers(80, 5)) {
            for (Layout l : {Layout::NCHW, Layout::NHWC}) {
                s.layout = l;
                const LayerSpec sp = specialize(s, t).spec;
                const std::vector<Choice> st = strategy_defaults(sp, t.target, t.facts);
                ASSERT_FALSE(st.empty());
                EXPECT_EQ(st[0], default_choice(sp, t.target, t.facts)) << to_text(sp);
                const bool gemm = sp.kind != Kind::Depthwise && sp.algo != Algo::Winograd;
                int repack = 0, dw_repack = 0;
                for (const Choice &c : st) repack += c.dw_pad == 5;
                for (const Choice &c : st) dw_repack += sp.kind == Kind::Depthwise && c.pad == 3;
                repacks += repack;
                dw_repacks += dw_repack;
                if (repack) {
                    EXPECT_EQ(sp.kind, Kind::Dwsep);
                    EXPECT_EQ(sp.sw, 1);
                }
                if (dw_repack) {  // not the default (measured no better as a whole: depthwise.cpp)
                    EXPECT_EQ(sp.layout, Layout::NCHW);
                    EXPECT_EQ(sp.multiplier, 1);
                    EXPECT_NE(st[0].pad, 3);
                }
                int dot = 0;
                for (const Choice &c : st) dot += c.dot;
                dots += dot;
                EXPECT_LE(dot, 1) << to_text(sp);
                if (dot) EXPECT_LT(sp.cout, t.facts.f32_lanes()) << to_text(sp);
                const size_t expected = (l == Layout::NCHW && gemm ? 2u + flat_plane_eligible(sp) + repack : 1u) + dot + dw_repack;
                EXPECT_EQ(st.size(), expected) << to_text(sp) << " " << target;
                for (const Choice &c : st) {
                    EXPECT_NO_THROW(validate(c, c, sp)) << to_text(c) << " " << to_text(sp);
                    EXPECT_EQ(strategy_of(c, st), c);
                    EXPECT_EQ(choose_schedule(sp, t.target, t.facts, to_text(c)).choice, c) << to_text(c);
                }
                if (l == Layout::NCHW && gemm) {
                    two++;
                    int tiles = 0, xvectors = 0;  // channel tile, x-vectors (and the plane)
                    for (const Choice &c : st)
                        tiles += c.cw && c.dw_pad != 5, xvectors += c.ty != 0, planes += c.plane != 0;
                    EXPECT_EQ(tiles, 1) << to_text(sp);
                    EXPECT_EQ(xvectors, 1) << to_text(sp);
                }
            }
        }
    }
    EXPECT_GT(two, 60);
    EXPECT_GT(planes, 5);
    EXPECT_GT(repacks, 5);
    EXPECT_GT(dw_repacks, 5);
    EXPECT_GT(dots, 0);
    const ResolvedTarget t = resolve_target("x86_avx512");
    const LayerSpec s = specialize(parse_layer("kind=pointwise,c=48,h=13,w=13,cout=192,layout=nchw"), t).spec;
    EXPECT_THAT(error_of([&] { choose_schedule(s, t.target, t.facts, "xw=2,ty=1"); }),
                AllOf(HasSubstr("ty is not used"), HasSubstr("as the strategy"), HasSubstr("v*xw"), HasSubstr("plane=1")));
}

// The steps `convgen tune` searches by: each neighbour is valid for the layer, differs from the
// Choice in exactly one field, and appears once; most defaults have some.
TEST(Choice, NeighborsAreOneValidStepEach) {
    const ResolvedTarget t = resolve_target("x86_avx2");
    int with_steps = 0, layers = 0;
    for (LayerSpec s : random_layers(60, 3)) {
        const LayerSpec sp = specialize(s, t).spec;
        const Choice d = default_choice(sp, t.target, t.facts);
        const std::vector<Choice> n = neighbors(d, d, sp);
        layers++;
        with_steps += !n.empty();
        for (size_t i = 0; i < n.size(); i++) {
            EXPECT_NO_THROW(validate(n[i], d, sp)) << to_text(n[i]);
            EXPECT_NE(n[i], d);
            // One field changed: the texts differ in exactly one "name=value" item.
            std::vector<std::string> a, b;
            std::stringstream sa(to_text(d)), sb(to_text(n[i]));
            for (std::string x; std::getline(sa, x, ',');) a.push_back(x);
            for (std::string x; std::getline(sb, x, ',');) b.push_back(x);
            ASSERT_EQ(a.size(), b.size()) << to_text(d) << " -> " << to_text(n[i]);
            int changed = 0;
            for (size_t k = 0; k < a.size(); k++) changed += a[k] != b[k];
            EXPECT_EQ(changed, 1) << to_text(d) << " -> " << to_text(n[i]);
            for (size_t j = 0; j < i; j++) EXPECT_NE(n[i], n[j]);
        }
    }
    EXPECT_GE(with_steps, layers * 9 / 10);
}

// The tuner's first candidates: the NHWC tile model's next (cw, tx) points after the default's,
// valid, distinct, and otherwise the default; none where no such model sized the default.
TEST(Choice, ModelAlternativesAreTheTileModelsNextPoints) {
    const ResolvedTarget t = resolve_target("x86_avx512");
    const LayerSpec pw = specialize(parse_layer("kind=pointwise,c=64,h=56,w=56,cout=256,layout=nhwc"), t).spec;
    const Choice d = default_choice(pw, t.target, t.facts);
    const std::vector<Choice> alt = model_alternatives(pw, t.target, t.facts, 6);
    ASSERT_EQ(alt.size(), 6u);
    for (size_t i = 0; i < alt.size(); i++) {
        EXPECT_NO_THROW(validate(alt[i], d, pw)) << to_text(alt[i]);
        EXPECT_FALSE(alt[i].cw == d.cw && alt[i].tx == d.tx) << to_text(alt[i]);
        Choice same = alt[i];
        same.cw = d.cw;
        same.tx = d.tx;
        EXPECT_EQ(same, d) << to_text(alt[i]);
        for (size_t j = 0; j < i; j++) EXPECT_NE(alt[i], alt[j]);
    }
    const LayerSpec dw = specialize(parse_layer("kind=depthwise,c=64,h=56,w=56,k=3,pad=1,layout=nhwc"), t).spec;
    EXPECT_TRUE(model_alternatives(dw, t.target, t.facts, 6).empty());
    const LayerSpec wino = specialize(parse_layer("kind=conv,c=64,h=56,w=56,cout=64,k=3,pad=1,layout=nhwc"), t).spec;
    ASSERT_EQ(wino.algo, Algo::Winograd);
    EXPECT_TRUE(model_alternatives(wino, t.target, t.facts, 6).empty());
}

TEST(TargetFacts, DefaultsPerIsa) {
    const TargetFacts a = default_facts(Halide::Target("x86-64-linux-avx512_skylake"));
    EXPECT_EQ(a.vector_bits, 512);
    EXPECT_EQ(a.l2_bytes, 1 << 20);
    EXPECT_EQ(a.source, "defaults");
    EXPECT_EQ(default_facts(Halide::Target("x86-64-linux-avx2-fma")).vector_registers, 16);
    EXPECT_EQ(default_facts(Halide::Target("arm-64-linux")).l1_bytes, 64 << 10);
    EXPECT_EQ(default_facts(Halide::Target("arm-64-linux")).l1_sets(), 256);  // 64 KiB, 4 ways, 64 B lines
    EXPECT_EQ(a.l1_sets(), 64);                                              // 32 KiB, 8 ways
}

// The narrowest vector at the full FMA rate per float: the ISA's width unless its FMA units are
// narrower (Zen 4 runs a 512-bit FMA as two 256-bit halves).
TEST(TargetFacts, FullRateLanes) {
    TargetFacts f = default_facts(Halide::Target("x86-64-linux-avx512_skylake"));
    EXPECT_EQ(f.full_rate_lanes(), 16);
    f.fma_bits = 256;
    EXPECT_EQ(f.full_rate_lanes(), 8);
    EXPECT_EQ(default_facts(Halide::Target("x86-64-linux-avx2-fma")).full_rate_lanes(), 8);
    EXPECT_EQ(default_facts(Halide::Target("arm-64-linux")).full_rate_lanes(), 4);
}

// NCHW depthwise: vectors along x as wide as run at the full FMA rate (AVX2: 8 lanes over 27
// columns, not 4 that recompute one column fewer), and, for a window longer than 3x3, at least
// the FMAs in flight as the tile's accumulators where whole x-vectors of the row allow. Where
// half-width vectors run at the same rate per float (fma_bits 256 under AVX-512), the width that
// recomputes fewer columns.
TEST(Choice, NchwDepthwiseVectorsAtTheFullRate) {
    const ResolvedTarget avx2 = resolve_target("x86_avx2");
    const LayerSpec s = specialize(parse_layer("kind=depthwise,c=64,h=33,w=33,k=7,layout=nchw"), avx2).spec;
    const Choice c = choose_schedule(s, avx2.target, avx2.facts).choice;
    EXPECT_EQ(c.v, 8) << to_text(c);
    const LayerSpec wide = specialize(parse_layer("kind=depthwise,c=64,h=38,w=38,k=7,layout=nchw"), avx2).spec;
    const Choice w = choose_schedule(wide, avx2.target, avx2.facts).choice;
    EXPECT_GE(w.xw * w.ty, avx2.facts.fmas_in_flight()) << to_text(w);
    const LayerSpec small = specialize(parse_layer("kind=depthwise,c=64,h=38,w=38,k=3,layout=nchw"), avx2).spec;
    EXPECT_EQ(choose_schedule(small, avx2.target, avx2.facts).choice.xw, 1);

    const ResolvedTarget avx512 = resolve_target("x86_avx512");
    TargetFacts halves = avx512.facts;
    halves.fma_bits = 256;
    const LayerSpec s14 = specialize(parse_layer("kind=depthwise,c=64,h=26,w=26,k=7,layout=nchw"), avx512).spec;
    EXPECT_EQ(choose_schedule(s14, avx512.target, halves).choice.v, 8);         // 20 columns: 3 x 8 vs 2 x 16 twice
    EXPECT_EQ(choose_schedule(s14, avx512.target, avx512.facts).choice.v, 16);  // 2 x 16 in two slots, not 3
}

// NCHW x-vector tiles: the loads per step split between x-vectors and rows so that the shifted
// last tiles recompute the fewest outputs (56 columns in 8 lanes: 1 x 2, exact; 64: 2 x 1). An
// NCHW pointwise x-vector tile copies each column tile's input (pad=5) where its weights fit half
// of L2, else reads it in place (pad=2); pad=5 is refused where it does not apply.
TEST(Choice, NchwTilesAndTheirInputCopy) {
    const ResolvedTarget avx2 = resolve_target("x86_avx2");
    auto choice = [&](const std::string &layer, const TargetFacts &f) {
        const LayerSpec s = specialize(parse_layer(layer), avx2).spec;
        return choose_schedule(s, avx2.target, f).choice;
    };
    const Choice p1 = choice("kind=pointwise,c=64,h=56,w=56,cout=256,layout=nchw", avx2.facts);
    EXPECT_EQ(p1.cw, 0) << to_text(p1);
    EXPECT_EQ(p1.xw * 10 + p1.ty, 12) << to_text(p1);
    EXPECT_EQ(p1.pad, 5) << to_text(p1);
    const Choice w64 = choice("kind=pointwise,c=16,h=8,w=64,cout=32,layout=nchw", avx2.facts);
    EXPECT_EQ(w64.xw * 10 + w64.ty, 21) << to_text(w64);
    TargetFacts small_l2 = avx2.facts;
    small_l2.l2_bytes = 2 * 64 * 256 * 4 - 4;  // the weights are 64 KiB
    EXPECT_EQ(choice("kind=pointwise,c=64,h=56,w=56,cout=256,layout=nchw", small_l2).pad, 2);

    const LayerSpec s = specialize(parse_layer("kind=pointwise,c=64,h=56,w=56,cout=256,layout=nchw"), avx2).spec;
    EXPECT_THAT(error_of([&] { choose_schedule(s, avx2.target, avx2.facts, "pad=5,par=channels"); }),
                HasSubstr("pad=5"));
    const LayerSpec conv = specialize(parse_layer("kind=conv,c=16,h=20,w=56,cout=24,k=5,pad=2,layout=nchw"), avx2).spec;
    EXPECT_THAT(error_of([&] { choose_schedule(conv, avx2.target, avx2.facts, "v=8,xw=1,ty=2,tc=6,pad=5"); }),
                HasSubstr("pad=5"));
}

// dw_pad=5 (NCHW dwsep, the input repacked channels innermost): a strategy of stride-1 layers,
// reached by its text, the default of some; bad input elsewhere, and beside the x-vector
// depthwise stage's fields.
TEST(Choice, DwsepRepackOnlyWhereItApplies) {
    const ResolvedTarget avx2 = resolve_target("x86_avx2");
    auto spec = [&](const std::string &layer) { return specialize(parse_layer(layer), avx2).spec; };
    const LayerSpec s = spec("kind=dwsep,c=120,h=13,w=13,cout=72,k=3,pad=1,layout=nchw");
    const Choice r = choose_schedule(s, avx2.target, avx2.facts, "dw_pad=5").choice;
    EXPECT_EQ(r.dw_pad, 5);
    EXPECT_GT(r.cw, 0);
    EXPECT_EQ(r.dw_tx, 8);
    EXPECT_EQ(r.dw_ty + r.dw_xw, 0);
    EXPECT_EQ(r.in_v, 8);
    EXPECT_THAT(error_of([&] { choose_schedule(s, avx2.target, avx2.facts, "dw_pad=5,in_v=16"); }),
                HasSubstr("in_v=16 exceeds"));
    EXPECT_THAT(error_of([&] { choose_schedule(s, avx2.target, avx2.facts, "dw_pad=5,dw_v=4"); }),
                HasSubstr("dw_pad=5 needs in_v (8) to divide dw_v (4)"));
    // The default where the pointwise stage is the channel tile and has 8 or more vector FMAs per
    // intermediate float; not below, nor with x-vectors (S1).
    auto default_of = [&](const std::string &layer) {
        const LayerSpec l = spec(layer);
        return choose_schedule(l, avx2.target, avx2.facts).choice;
    };
    EXPECT_EQ(default_of("kind=dwsep,c=384,h=15,w=15,cout=96,k=3,pad=2,dilation=2,layout=nchw").dw_pad, 5);
    EXPECT_NE(default_of("kind=dwsep,c=384,h=15,w=15,cout=56,k=3,pad=2,dilation=2,layout=nchw").dw_pad, 5);
    EXPECT_NE(default_of("kind=dwsep,c=32,h=112,w=112,cout=64,k=3,pad=1,layout=nchw").dw_pad, 5);
    const LayerSpec s2 = spec("kind=dwsep,c=120,h=13,w=13,cout=72,k=3,stride=2,pad=1,layout=nchw");
    EXPECT_THAT(error_of([&] { choose_schedule(s2, avx2.target, avx2.facts, "dw_pad=5"); }),
                HasSubstr("dw_pad=5 (input repacked channels innermost) needs an NCHW layer with stride 1"));
    const LayerSpec nhwc = spec("kind=dwsep,c=120,h=13,w=13,cout=72,k=3,pad=1,layout=nhwc");
    EXPECT_THAT(error_of([&] { choose_schedule(nhwc, avx2.target, avx2.facts, "dw_pad=5"); }),
                HasSubstr("dw_pad is not used"));
    EXPECT_THAT(error_of([&] { validate(parse_choice("dw_pad=1", r), r, s); }),
                HasSubstr("dw_pad=1 needs the x-vector depthwise stage"));
}

// The dot tile (dot=1): the default of ungrouped conv and pointwise layers with fewer output
// channels than a vector's lanes and an input channel count that 8 or 4 lanes divide, channels
// innermost (NHWC, NCHW conv over its pad=3 copy); a strategy where its model does not pay;
// absent and rejected elsewhere, naming the field.
TEST(Choice, DotOnlyWhereItApplies) {
    const ResolvedTarget avx2 = resolve_target("x86_avx2");
    auto spec = [&](const std::string &layer) { return specialize(parse_layer(layer), avx2).spec; };
    auto default_of = [&](const std::string &layer) { return choose_schedule(spec(layer), avx2.target, avx2.facts).choice; };
    auto has_dot = [&](const std::string &layer) {
        int dots = 0;
        for (const Choice &c : strategy_defaults(spec(layer), avx2.target, avx2.facts)) dots += c.dot;
        return dots;
    };
    const Choice d = default_of("kind=conv,c=240,h=20,w=20,cout=3,k=3,pad=2,dilation=2,layout=nhwc");
    EXPECT_EQ(to_text(d), "v=8,tx=4,tc=3,rows=20,par=rows,pad=1,in_v=8,tasks=2,dot=1");
    const Choice dn = default_of("kind=conv,c=240,h=20,w=20,cout=3,k=3,pad=2,dilation=2,layout=nchw");
    EXPECT_EQ(dn.dot, 1);
    EXPECT_EQ(dn.pad, 3);
    EXPECT_EQ(default_of("kind=pointwise,c=20,h=9,w=9,cout=3,layout=nhwc").v, 4);  // 20 channels: 4 lanes
    EXPECT_EQ(default_of("kind=pointwise,c=20,h=9,w=9,cout=3,layout=nhwc").dot, 1);
    // 6 channels of 4-lane vectors fill 6/8 of the lanes; one 8-channel step per output does not
    // pay for its horizontal sum: a strategy, not the default.
    EXPECT_EQ(default_of("kind=pointwise,c=8,h=9,w=9,cout=6,layout=nhwc").dot, 0);
    EXPECT_EQ(has_dot("kind=pointwise,c=8,h=9,w=9,cout=6,layout=nhwc"), 1);
    for (const char *none : {"kind=conv,c=240,h=20,w=20,cout=8,k=3,pad=1,layout=nhwc",          // cout fills a vector
                             "kind=conv,c=6,h=20,w=20,cout=3,k=3,pad=1,layout=nhwc",            // 6 channels: no 4-lane vector
                             "kind=conv,c=240,h=20,w=20,cout=4,k=3,pad=1,groups=2,layout=nhwc",  // grouped
                             "kind=pointwise,c=240,h=20,w=20,cout=3,layout=nchw"})              // NCHW pointwise: the plane
        EXPECT_EQ(has_dot(none), 0) << none;
    const LayerSpec s = spec("kind=conv,c=240,h=20,w=20,cout=3,k=3,pad=2,dilation=2,layout=nhwc");
    EXPECT_THAT(error_of([&] { validate(parse_choice("v=32", d), d, s); }), HasSubstr("v=32 divides"));
    EXPECT_THAT(error_of([&] { validate(parse_choice("par=channels", d), d, s); }), HasSubstr("dot=1"));
    EXPECT_THAT(error_of([&] { validate(parse_choice("tc=4", d), d, s); }), HasSubstr("tc=4 exceeds"));
    EXPECT_THAT(error_of([&] { validate(parse_choice("pad=2", dn), dn, spec("kind=conv,c=240,h=20,w=20,cout=3,k=3,pad=2,dilation=2,layout=nchw")); }),
                HasSubstr("NCHW with pad=3"));
    const LayerSpec big = spec("kind=conv,c=240,h=20,w=20,cout=64,k=3,pad=1,layout=nhwc");
    EXPECT_THAT(error_of([&] { choose_schedule(big, avx2.target, avx2.facts, "dot=1"); }), HasSubstr("dot is not used"));
}

TEST(TargetFacts, HostReadsTheMachine) {
    const ResolvedTarget host = resolve_target("host");
    EXPECT_EQ(host.facts.source, "host");
    EXPECT_GE(host.facts.l1_bytes, 8 << 10);
    EXPECT_GE(host.facts.l2_bytes, host.facts.l1_bytes);
    EXPECT_GE(host.facts.l1_ways, 1);
    EXPECT_GE(host.facts.line_bytes, 16);
    EXPECT_GE(host.facts.l1_sets(), 1);
    EXPECT_GE(host.facts.cores, 1);
    EXPECT_EQ(resolve_target("x86_avx2").facts.source, "defaults");
    EXPECT_THAT(to_text(host.facts), HasSubstr("source=host"));
}

TEST(RandomLayers, ReproducibleAndValid) {
    const auto a = random_layers(40, 3), b = random_layers(40, 3), c = random_layers(40, 4);
    ASSERT_EQ(a.size(), 40u);
    int differ = 0, kinds[4] = {};
    for (size_t i = 0; i < a.size(); i++) {
        EXPECT_EQ(to_text(a[i]), to_text(b[i]));
        differ += to_text(a[i]) != to_text(c[i]);
        kinds[int(a[i].kind)]++;
        EXPECT_NO_THROW(validate(a[i]));
    }
    EXPECT_GT(differ, 30);
    for (int k : kinds) EXPECT_GT(k, 0);
}

}  // namespace
}  // namespace convgen
