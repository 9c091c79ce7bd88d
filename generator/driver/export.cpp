// `convgen tune --export` and `--import` (see export.h). The plan and results format is
// described in generator/driver/tune_bench.c, which reads the one and writes the other.
#include "generator/driver/export.h"

#include "generator/driver/export_files.h"
#include "generator/driver/manifest.h"
#include "generator/driver/measure.h"
#include "generator/harness/timing.h"
#include "generator/driver/qemu_runner.h"
#include "generator/spec/reference.h"
#include "schedules/schedule.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <map>
#include <random>
#include <set>
#include <sstream>

namespace fs = std::filesystem;

namespace convgen {

namespace {

constexpr const char *kPlanMagic = "convgen-tune-plan";
constexpr int kPlanVersion = 1;
constexpr const char *kBundle = "convgen_tune";  // libconvgen_tune.a, as the Makefile names it

void write_file(const fs::path &file, const std::string &text) {
    fs::create_directories(file.parent_path());
    std::ofstream f(file, std::ios::binary);
    f << text;
    if (!f) throw SpecError("tune --export: cannot write '" + file.string() + "'");
}

// "data/0/input.f32 4 1 16 8 8": the file (written under dir) and its shape.
std::string write_tensor(const fs::path &dir, const std::string &name, const std::vector<int64_t> &shape,
                         const std::vector<float> &data) {
    std::ostringstream bytes;
    bytes.write(reinterpret_cast<const char *>(data.data()), std::streamsize(data.size() * sizeof(float)));
    write_file(dir / name, bytes.str());
    std::string s = name + " " + std::to_string(shape.size());
    for (int64_t d : shape) s += " " + std::to_string(d);
    return s;
}

// The layer's strategy points (strategy_defaults: the default first), then their neighbours, each
// within its own strategy, nearest first: n Choices at most.
std::vector<Choice> candidates_of(const LayerSpec &spec, const std::vector<Choice> &strategies, int n,
                                  std::mt19937_64 &rng) {
    std::vector<Choice> out, frontier;
    std::set<std::string> seen;
    for (const Choice &c : strategies)
        if (int(out.size()) < n && seen.insert(to_text(c)).second) out.push_back(c), frontier.push_back(c);
    while (int(out.size()) < n && !frontier.empty()) {
        std::vector<Choice> next;
        for (const Choice &c : frontier)
            for (const Choice &m : neighbors(c, strategy_of(c, strategies), spec))
                if (seen.insert(to_text(m)).second) next.push_back(m);
        std::shuffle(next.begin(), next.end(), rng);
        for (const Choice &c : next)
            if (int(out.size()) < n) out.push_back(c);
        frontier = next;
    }
    return out;
}

const char *kMakefile = R"(# The tuning benchmark of `convgen tune --export` (generator/driver/tune_bench.c).
# Build it with the device's C compiler (or a cross compiler: make CC=aarch64-linux-gnu-gcc), run
#   ./tune_bench plan.txt results.txt [THREADS [ROUNDS]]
# in this folder, and bring results.txt back to `convgen tune --import results.txt`.
CC ?= cc
CFLAGS ?= -O2
tune_bench: tune_bench.c convgen_registry.c $(wildcard runtime/*.c) libconvgen_tune.a
	$(CC) $(CFLAGS) -std=gnu11 -Iinclude -Iinclude/convgen -I. -o $@ tune_bench.c convgen_registry.c runtime/*.c \
	    libconvgen_tune.a $(LDFLAGS) -lpthread -ldl -lm
)";

// A results file, line by line, with its name and line number for messages.
class Reader {
public:
    explicit Reader(const std::string &path) : path_(path), f_(path) {
        if (!f_) throw SpecError("tune --import: cannot read '" + path + "'");
    }
    bool next(std::string &word, std::istringstream &rest) {
        std::string line;
        while (std::getline(f_, line)) {
            line_++;
            rest.clear();
            rest.str(line);
            if (rest >> word) return true;
        }
        return false;
    }
    [[noreturn]] void fail(const std::string &why) const {
        throw SpecError(path_ + ":" + std::to_string(line_) + ": " + why + " (not a results file of tune_bench?)");
    }

private:
    std::string path_;
    std::ifstream f_;
    int line_ = 0;
};

struct ImportedLayer {
    LayerSpec spec;
    std::string layer_text, name;
    std::vector<std::pair<std::string, std::string>> cands;  // key, choice text; default first
    std::map<std::string, std::vector<double>> rounds;       // key -> per-round us (ok candidates)
    std::map<std::string, std::string> failed;               // key -> why
};

}  // namespace

int export_tuning(const std::vector<LayerSpec> &layers, const ResolvedTarget &target, const TuneOptions &o,
                  const std::string &dir, int candidates) {
    if (candidates < 1) throw SpecError("--candidates: " + std::to_string(candidates) + " must be >= 1");
    if (target.target.has_gpu_feature())
        throw SpecError("tune --export: target " + target.string + " has no schedule space to search (CPU targets only)");
    std::mt19937_64 rng(o.seed);
    std::vector<KernelRecord> kernels;
    struct Planned {
        LayerSpec spec;
        std::vector<std::string> keys, choices;
    };
    std::vector<Planned> planned;
    for (const LayerSpec &layer : layers) {
        const Specialized sp = specialize(layer, target);
        Planned p{sp.spec, {}, {}};
        const std::vector<Choice> strategies = strategy_defaults(sp.spec, target.target, target.facts);
        for (const Choice &c : candidates_of(sp.spec, strategies, candidates, rng)) {
            KernelRecord k = candidate_kernel(sp.spec, target, sp.schedule.choice, c);
            p.keys.push_back(k.key);
            p.choices.push_back(to_text(c));
            kernels.push_back(k);
        }
        planned.push_back(p);
    }
    GenerateOptions g;
    g.out_dir = dir;
    g.bundle = kBundle;
    g.jobs = o.jobs;
    g.keep_going = true;
    g.compile_timeout_s = std::max(o.timeout_s, 60.0);
    const GenerateResult built = generate(kernels, g);
    std::set<std::string> failed;
    for (const KernelRecord &k : built.failed) failed.insert(k.key);

    const fs::path root(dir);
    std::ostringstream plan;
    plan << std::setprecision(9) << kPlanMagic << " " << kPlanVersion << "\ntarget " << target.string << "\nhalide "
         << halide_version() << "\nspace " << kChoiceSpaceVersion << "\n";
    int written = 0;
    for (size_t i = 0; i < planned.size(); i++) {
        const LayerSpec &s = planned[i].spec;
        const std::string data = "data/" + std::to_string(i) + "/";
        const MeasureOptions seeds;
        const Tensor input = random_input(s, seeds.seed);
        const NamedTensors params = random_params(s, seeds.seed + 1);
        const std::vector<double> ref = reference_forward(s, input, params);
        std::string name = s.name.empty() ? "-" : s.name;
        std::replace_if(name.begin(), name.end(), [](char ch) { return std::isspace(static_cast<unsigned char>(ch)); }, '_');
        plan << "layer " << i << " " << record_layer(s) << " " << name << "\neps " << s.eps << "\ntol " << tolerance(s)
             << "\ninput " << write_tensor(root, data + "input.f32", input.shape, input.data) << "\n";
        int p = 0;
        for (const auto &[pname, t] : params)
            plan << "param " << pname << " " << write_tensor(root, data + "param" + std::to_string(p++) + ".f32", t.shape, t.data)
                 << "\n";
        plan << "output "
             << write_tensor(root, data + "expected.f32", kernel_args(s).back().shape, std::vector<float>(ref.begin(), ref.end()))
             << "\n";
        for (size_t c = 0; c < planned[i].keys.size(); c++) {
            if (failed.count(planned[i].keys[c])) continue;  // the default never fails: generate throws then
            plan << "cand " << planned[i].keys[c] << " " << planned[i].choices[c] << "\n";
            written++;
        }
    }
    plan << "end\n";
    write_file(root / "plan.txt", plan.str());
    for (const EmbeddedFile &f : export_files()) write_file(root / f.name, f.content);
    write_file(root / "Makefile", kMakefile);
    return written;
}

std::vector<TuneOutcome> import_tuning(const std::string &results, const TuneOptions &o) {
    TuningDb::open(o.db, /*missing_ok=*/true);  // a corrupt database is refused before anything else
    Reader in(results);
    std::string word, target, halide, cpu;
    int space = -1, threads = 0;
    std::vector<ImportedLayer> layers;
    std::map<std::string, ImportedLayer *> by_key;
    std::istringstream rest;
    bool ended = false;
    if (!in.next(word, rest) || word != kPlanMagic) in.fail("the first line is not '" + std::string(kPlanMagic) + " 1'");
    int version = 0;
    if (!(rest >> version) || version != kPlanVersion) in.fail("format version " + std::to_string(version) + " is not 1");
    while (in.next(word, rest)) {
        if (word == "target") rest >> target;
        else if (word == "halide") rest >> halide;
        else if (word == "space") rest >> space;
        else if (word == "layer") {
            ImportedLayer l;
            int index = 0;
            if (!(rest >> index >> l.layer_text >> l.name)) in.fail("a layer line needs an index, a layer and a name");
            try {
                l.spec = parse_layer(l.layer_text);
            } catch (const SpecError &e) {
                in.fail(e.what());
            }
            l.spec.name = l.name == "-" ? "" : l.name;
            layers.push_back(l);
        } else if (word == "cand") {
            std::string key, choice;
            if (layers.empty() || !(rest >> key >> choice)) in.fail("a cand line needs a layer before it, a key and a choice");
            layers.back().cands.push_back({key, choice});
        } else if (word == "result") {
            std::string key, status;
            if (!(rest >> key >> status)) in.fail("a result line needs a key and ok or failed");
            ImportedLayer *owner = nullptr;
            for (ImportedLayer &l : layers)
                for (const auto &c : l.cands)
                    if (c.first == key) owner = &l;
            if (!owner) in.fail("result for '" + key + "', which no cand line names");
            if (status == "ok") {
                std::vector<double> us;
                for (double v; rest >> v;) {
                    if (!(v > 0)) in.fail("a time must be > 0 microseconds");
                    us.push_back(v);
                }
                if (us.empty() || !rest.eof()) in.fail("an ok result needs its times in microseconds");
                owner->rounds[key] = us;
            } else if (status == "failed") {
                std::string why;
                std::getline(rest >> std::ws, why);
                owner->failed[key] = why;
            } else {
                in.fail("result status '" + status + "' is neither ok nor failed");
            }
        } else if (word == "cpu") {
            std::getline(rest >> std::ws, cpu);
        } else if (word == "threads") {
            rest >> threads;
        } else if (word == "end") {
            ended = true;
        } else if (word != "eps" && word != "tol" && word != "input" && word != "param" && word != "output") {
            in.fail("unknown line '" + word + "'");
        }
    }
    if (!ended || cpu.empty() || threads < 1) in.fail("the file ends before the benchmark finished (no end, cpu or threads line)");
    if (target.empty() || halide.empty() || space < 0) in.fail("the header lacks target, halide or space");
    const size_t bar = cpu.find('|');
    CpuIdentity id;
    id.vendor = cpu.substr(0, bar);
    id.name = bar == std::string::npos ? "" : cpu.substr(bar + 1);
    id.threads = threads;

    std::vector<TuneOutcome> outcomes;
    for (const ImportedLayer &l : layers) {
        TuneOutcome out;
        out.spec = l.spec;
        out.candidates = int(l.cands.size());
        out.failed = int(l.failed.size());
        if (l.cands.empty()) continue;
        const auto &[def_key, def_choice] = l.cands[0];
        out.default_choice = out.best_choice = def_choice;
        const auto def = l.rounds.find(def_key);
        if (def == l.rounds.end()) {
            out.note = "the default failed on the device: " + (l.failed.count(def_key) ? l.failed.at(def_key) : "no result");
            outcomes.push_back(out);
            continue;
        }
        out.default_us = out.best_us = median(def->second);
        Proof best;
        std::string best_choice;
        for (const auto &[key, choice] : l.cands) {
            const auto r = l.rounds.find(key);
            if (key == def_key || r == l.rounds.end()) continue;
            const Proof p = paired_proof(def->second, r->second);
            if (p.speedup > best.speedup) best = p, best_choice = choice;
        }
        if (best_choice.empty()) {
            out.note = "no other candidate passed";
        } else {
            Choice reference = parse_choice(def_choice);
            validate(parse_choice(best_choice, reference), reference, l.spec);  // a tampered choice is refused
            out.best_choice = best_choice;
            out.best_us = best.tuned.median_us;
            out.wins = best.wins;
            out.rounds = best.rounds;
            out.note = best.note;
            if (best.kept) {
                out.result = TuneOutcome::Kept;
                const TuningRecord rec = outcome_record(out, l.layer_text, target, halide, space, id, best);
                TuningDb::append(o.db, rec);
            }
        }
        outcomes.push_back(out);
    }
    return outcomes;
}

}  // namespace convgen
