// Tuning records (generator/driver/tuning_db.h): round trip, lookup by layer, target and CPU,
// concurrent appends, refusal of corrupt files (left as they were), merge.
#include "tests/unit/error_of.h"
#include "generator/driver/manifest.h"
#include "generator/driver/tuning_db.h"
#include "schedules/choice.h"

#include <filesystem>
#include <fstream>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

namespace fs = std::filesystem;
using namespace convgen;
using ::testing::HasSubstr;

namespace {

TuningRecord record(const std::string &choice, int threads = 2) {
    TuningRecord r;
    r.layer = record_layer(parse_layer("kind=pointwise,c=64,h=14,w=14,cout=32,layout=nhwc"));
    r.target = "x86-64-linux-avx2-fma";
    r.halide = halide_version();
    r.space = kChoiceSpaceVersion;
    r.cpu = host_cpu(threads);
    r.choice = choice;
    r.default_choice = "v=8,cw=2,tx=5";
    r.tuned = {10, 0.01};
    r.fallback = {12, 0.02};
    r.wins = 9, r.rounds = 11, r.candidates = 20;
    r.date = "2026-12-02T00:00:00Z";
    return r;
}

// One directory per test process, removed when the process exits (forked writers leave with _exit).
struct TempDir {
    const fs::path dir = fs::temp_directory_path() / ("convgen_test_tuning_db_" + std::to_string(getpid()));
    TempDir() { fs::create_directories(dir); }
    ~TempDir() {
        std::error_code ignored;
        fs::remove_all(dir, ignored);
    }
};

std::string temp_path(const std::string &name) {
    static const TempDir temp;
    return (temp.dir / name).string();
}

std::string slurp(const std::string &path) {
    std::ifstream f(path, std::ios::binary);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
}

}  // namespace

TEST(TuningDb, RoundTripAndLookup) {
    const std::string path = temp_path("round.jsonl");
    fs::remove(path);
    TuningDb::append(path, record("tx=2", 1));
    TuningDb::append(path, record("tx=3", 2));
    const TuningDb db = TuningDb::open(path);
    ASSERT_EQ(db.records().size(), 2u);
    EXPECT_EQ(to_json(db.records()[0]), to_json(record("tx=2", 1)));
    EXPECT_EQ(db.records()[1].where, path + ":2");
    const TuningRecord &r = db.records()[0];
    // The closest CPU: the same threads pick their record either way round.
    EXPECT_EQ(db.find(r.layer, r.target, host_cpu(1))->choice, "tx=2");
    EXPECT_EQ(db.find(r.layer, r.target, host_cpu(2))->choice, "tx=3");
    EXPECT_EQ(db.find(r.layer, "x86-64-linux-avx512_skylake", host_cpu(2)), nullptr);
    EXPECT_EQ(db.find(record_layer(parse_layer("kind=pointwise,c=64,h=14,w=14,cout=48,layout=nhwc")), r.target,
                      host_cpu(2)),
              nullptr);
}

TEST(TuningDb, ConcurrentAppendsKeepEveryRecord) {
    const std::string path = temp_path("concurrent.jsonl");
    fs::remove(path);
    constexpr int kWriters = 4, kEach = 25;
    std::vector<pid_t> pids;
    for (int w = 0; w < kWriters; w++) {
        const pid_t pid = fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) {
            for (int i = 0; i < kEach; i++) TuningDb::append(path, record("tx=" + std::to_string(1 + i % 8)));
            _exit(0);
        }
        pids.push_back(pid);
    }
    for (pid_t p : pids) {
        int status = 0;
        waitpid(p, &status, 0);
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    EXPECT_EQ(TuningDb::open(path).records().size(), size_t(kWriters * kEach));
}

TEST(TuningDb, CorruptFilesAreRefusedAndLeftAsTheyWere) {
    const std::string path = temp_path("corrupt.jsonl");
    const std::string good = to_json(record("tx=2")).dump() + "\n";
    for (const std::string &bad : {good + "{\"format\": 1\n", good + "not json\n", good.substr(0, good.size() - 1),
                                   good + "{\"format\": 7}\n"}) {
        { std::ofstream(path, std::ios::binary) << bad; }
        const std::string e = error_of([&] { TuningDb::open(path); });
        EXPECT_THAT(e, HasSubstr(path + ":")) << bad;
        EXPECT_THAT(error_of([&] { TuningDb::append(path, record("tx=3")); }), HasSubstr(path + ":"));
        EXPECT_EQ(slurp(path), bad);
    }
    { std::ofstream(path, std::ios::binary) << good + "{\"format\": 7}\n"; }
    EXPECT_THAT(error_of([&] { TuningDb::open(path); }), HasSubstr(":2: record format 7 is newer"));
    EXPECT_THAT(error_of([&] { TuningDb::open(temp_path("missing.jsonl")); }), HasSubstr("cannot read"));
    EXPECT_TRUE(TuningDb::open(temp_path("missing.jsonl"), true).records().empty());
}

TEST(TuningDb, MergeKeepsEachRecordOnce) {
    const std::string a = temp_path("a.jsonl"), b = temp_path("b.jsonl"), c = temp_path("c.jsonl");
    for (const auto &p : {a, b, c}) fs::remove(p);
    TuningDb::append(a, record("tx=2"));
    TuningDb::append(a, record("tx=3"));
    TuningDb::append(b, record("tx=3"));
    TuningDb::append(b, record("tx=4"));
    EXPECT_EQ(merge_tuning_dbs({a, b}, c), 3u);
    const TuningDb merged = TuningDb::open(c);
    ASSERT_EQ(merged.records().size(), 3u);
    EXPECT_EQ(merged.records()[2].choice, "tx=4");
}
