// What `convgen tune` survives (generator/driver/measure.h, compile.h's keep_going): a candidate
// whose compile process dies is left out of the folder; one that crashes, hangs or gives a wrong
// result in the measuring child is marked bad with the reason, and the others are still timed.
// The faults are injected through $CONVGEN_FAULT (generator/driver/fault.h).
#include "generator/driver/compile.h"
#include "generator/driver/measure.h"
#include "generator/driver/process.h"
#include "generator/spec/reference.h"
#include "schedules/choice.h"

#include <cstdlib>
#include <filesystem>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

namespace fs = std::filesystem;
using namespace convgen;
using ::testing::HasSubstr;

namespace {

TEST(Measure, SurvivesCandidatesThatFail) {
    const ResolvedTarget target = resolve_target("host");
    const Specialized sp = specialize(parse_layer("kind=pointwise,c=16,h=6,w=6,cout=32,layout=nhwc"), target);
    const Choice def = sp.schedule.choice;
    std::vector<Choice> choices{def};
    for (const Choice &n : neighbors(def, def, sp.spec))
        if (choices.size() < 6) choices.push_back(n);
    ASSERT_EQ(choices.size(), 6u) << "the test layer's default has too few neighbours";
    const std::string dir = (fs::temp_directory_path() / ("convgen_test_measure_" + std::to_string(getpid()))).string();

    std::vector<KernelRecord> kernels;
    for (size_t i = 0; i < choices.size(); i++) {
        KernelRecord k;
        k.spec = sp.spec;
        k.spec.pw_block = choose_weight_block(k.spec, target.target, choices[i]);
        k.target = target;
        k.key = kernel_key(k.spec, target.key) + "_c" + std::to_string(i);
        k.schedule = {choices[i], i ? ScheduleSource::Override : ScheduleSource::Default, ""};
        kernels.push_back(k);
    }
    // 1: its compile process dies; 2: crashes; 3: hangs; 4: a wrong result; 0 and 5 are fine.
    const std::string faults = "compile:" + to_text(choices[1]) + ";crash:" + to_text(choices[2]) + ";hang:" +
                               to_text(choices[3]) + ";wrong:" + to_text(choices[4]);
    setenv("CONVGEN_FAULT", faults.c_str(), 1);
    GenerateOptions g;
    g.out_dir = dir;
    g.keep_going = true;
    const GenerateResult built = generate(kernels, g);
    ASSERT_EQ(built.failed.size(), 1u);
    EXPECT_EQ(built.failed[0].key, kernels[1].key);
    EXPECT_THAT(built.failed[0].error, HasSubstr("without a report"));
    ASSERT_EQ(built.kernels.size(), 5u);

    std::vector<Candidate> cands;
    for (const KernelRecord &k : built.kernels) cands.push_back({k.key, k.spec, to_text(k.schedule.choice)});
    MeasureOptions m;
    m.rounds = 2;
    m.min_ms = 1;
    m.timeout_s = 2;
    const std::vector<double> ref = reference_forward(sp.spec, random_input(sp.spec, m.seed), random_params(sp.spec, m.seed + 1));
    const std::vector<Measured> r = measure(dir, cands, ref, m);
    unsetenv("CONVGEN_FAULT");
    ASSERT_EQ(r.size(), 5u);
    EXPECT_TRUE(r[0].ok()) << r[0].error;
    EXPECT_EQ(r[0].rounds.size(), 2u);
    EXPECT_THAT(r[1].error, HasSubstr("crashed"));
    EXPECT_THAT(r[1].error, HasSubstr("signal 11"));
    EXPECT_THAT(r[2].error, HasSubstr("hung (no progress in 2 s)"));
    EXPECT_THAT(r[3].error, HasSubstr("wrong result"));
    EXPECT_TRUE(r[4].ok()) << r[4].error;
    EXPECT_EQ(r[4].rounds.size(), 2u);
    for (double us : r[4].rounds) EXPECT_GT(us, 0);
    fs::remove_all(dir);
}

TEST(Measure, WithoutKeepGoingAFailedCompileIsAnError) {
    const ResolvedTarget target = resolve_target("host");
    const Specialized sp = specialize(parse_layer("kind=depthwise,c=16,h=6,w=6,k=3,pad=1,layout=nhwc"), target);
    KernelRecord k;
    k.spec = sp.spec;
    k.target = target;
    k.key = kernel_key(k.spec, target.key);
    k.schedule = sp.schedule;
    setenv("CONVGEN_FAULT", ("compile:" + to_text(sp.schedule.choice)).c_str(), 1);
    GenerateOptions g;
    g.out_dir = (fs::temp_directory_path() / ("convgen_test_measure_fail_" + std::to_string(getpid()))).string();
    try {
        generate({k}, g);
        ADD_FAILURE() << "generate did not fail";
    } catch (const ToolError &e) {
        EXPECT_THAT(std::string(e.what()), HasSubstr("without a report"));
    }
    unsetenv("CONVGEN_FAULT");
    EXPECT_FALSE(fs::exists(fs::path(g.out_dir) / "manifest.json"));
    fs::remove_all(g.out_dir);
}

}  // namespace
