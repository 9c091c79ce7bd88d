// `convgen tune` (see tune.h).
#include "generator/driver/tune.h"

#include "generator/driver/compile.h"
#include "generator/driver/manifest.h"
#include "generator/driver/measure.h"
#include "generator/driver/process.h"
#include "generator/driver/qemu_runner.h"
#include "generator/driver/tuning_db.h"
#include "generator/harness/timing.h"
#include "generator/spec/reference.h"
#include "schedules/schedule.h"

#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <set>

namespace convgen {

namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kBatch = 6;       // candidates compiled and measured together
constexpr int kRestarts = 3;       // restarts in a row without a better point end the search
constexpr int kWalk = 3;           // steps of a restart's random walk
constexpr double kStep = 0.02;     // a move must be this much faster (the rounds' noise)
constexpr double kMargin = 0.03;   // a record must be this much faster than the default
constexpr int kSearchRounds = 5;
constexpr double kSearchMs = 20, kProofMs = 40;

std::string hash8(const std::string &text) {
    uint32_t h = 2166136261u;
    for (unsigned char ch : text) h = (h ^ ch) * 16777619u;
    return fmt::format("{:08x}", h);
}

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// CPU time of the machine so far (/proc/stat's first line): total and stolen jiffies.
std::pair<double, double> cpu_jiffies() {
    std::ifstream f("/proc/stat");
    std::string cpu;
    double v[8] = {}, total = 0;
    f >> cpu;
    for (double &x : v) f >> x, total += x;
    return {total, v[7]};
}

double load_average() {
    std::ifstream f("/proc/loadavg");
    double l = 0;
    f >> l;
    return l;
}

// Options and a target that tune and compare can work with; SpecError otherwise.
void check_options(const ResolvedTarget &target, const TuneOptions &o) {
    auto num = [](double v) { return fmt::format("{:g}", v); };  // as an ostream writes a double
    if (!(o.budget_s > 0)) throw SpecError("--budget: " + num(o.budget_s) + " must be > 0 seconds");
    if (o.threads < 1) throw SpecError("--threads: " + std::to_string(o.threads) + " must be >= 1");
    if (o.jobs < 1) throw SpecError("--jobs: " + std::to_string(o.jobs) + " must be >= 1");
    if (!(o.timeout_s > 0)) throw SpecError("--timeout: " + num(o.timeout_s) + " must be > 0 seconds");
    if (needs_emulator(target.target) || target.target.has_gpu_feature())
        throw SpecError("tune: this machine cannot time target " + target.string +
                        " (tune times kernels here: use a target of this CPU, e.g. host)");
}

// Compiles `kernels` into o.work_dir, a failing one left out, and measures those that compiled
// in one child, interleaved. Returns one Measured per kernel, in order (a failed compile's error
// in it).
std::vector<Measured> compile_and_measure(const std::vector<KernelRecord> &kernels, const std::vector<double> &reference,
                                          const TuneOptions &o, int rounds, double min_ms, double compile_timeout_s,
                                          std::vector<double> *compile_seconds = nullptr) {
    GenerateOptions g;
    g.out_dir = o.work_dir;
    g.bundle = "convgen_tune";
    g.jobs = o.jobs;
    g.keep_going = true;
    g.compile_timeout_s = compile_timeout_s;
    const GenerateResult built = generate(kernels, g);
    std::vector<Candidate> measured;
    std::vector<size_t> where;  // index in `kernels` of each measured candidate
    std::vector<Measured> out(kernels.size());
    if (compile_seconds) compile_seconds->assign(kernels.size(), 0);
    auto index_of = [&](const std::string &key) {
        for (size_t i = 0; i < kernels.size(); i++)
            if (kernels[i].key == key) return i;
        throw std::logic_error("tune: generate returned an unknown kernel " + key);
    };
    for (const KernelRecord &k : built.kernels) {
        measured.push_back({k.key, k.spec, to_text(k.schedule.choice)});
        where.push_back(index_of(k.key));
        if (compile_seconds) (*compile_seconds)[where.back()] = k.compile_seconds;
    }
    for (const KernelRecord &k : built.failed) {
        out[index_of(k.key)].error = k.error;
        if (compile_seconds) (*compile_seconds)[index_of(k.key)] = k.compile_seconds;
    }
    MeasureOptions m;
    m.threads = o.threads;
    m.rounds = rounds;
    m.min_ms = min_ms;
    m.timeout_s = o.timeout_s;
    const std::vector<Measured> r = measure(o.work_dir, measured, reference, m);
    for (size_t i = 0; i < r.size(); i++) out[where[i]] = r[i];
    return out;
}

// The reference output of `spec` on the data measure() runs kernels on.
std::vector<double> reference_of(const LayerSpec &spec) {
    const MeasureOptions data;
    return reference_forward(spec, random_input(spec, data.seed), random_params(spec, data.seed + 1));
}

// The search over one layer's space.
class LayerSearch {
public:
    LayerSearch(const LayerSpec &layer, const ResolvedTarget &target, const TuneOptions &o, const std::string &label)
        : target_(target), o_(o), label_(label), rng_(o.seed) {
        const Specialized sp = specialize(layer, target);
        spec_ = sp.spec;
        default_ = sp.schedule.choice;
        strategies_ = strategy_defaults(spec_, target_.target, target_.facts);
    }

    TuneOutcome run(const LayerSpec &layer) {
        const auto start = Clock::now();
        reference_ = reference_of(spec_);
        const auto [total0, steal0] = cpu_jiffies();
        TuneOutcome out;
        out.spec = layer;
        out.default_choice = to_text(default_);
        Choice current = default_, best = default_;
        score_[out.default_choice] = 1.0;
        batch({}, default_);  // the default's own time first
        // Then the other strategies' default points and the points the default function's model
        // ranks next, then local search from the best (steps within its strategy).
        std::vector<Choice> seeds(strategies_.begin() + 1, strategies_.end());
        for (const Choice &c : model_alternatives(spec_, target_.target, target_.facts, int(kBatch))) try {
                validate(c, default_, spec_);
                if (seeds.size() < kBatch) seeds.push_back(c);
            } catch (const SpecError &) {
            }
        int restarts = 0;
        double per_batch = seconds_since(start);
        for (;;) {
            if (interrupted()) throw Interrupted();
            if (seconds_since(start) + per_batch > o_.budget_s) break;
            std::vector<Choice> next =
                unmeasured(seeds.empty() ? neighbors(current, strategy_of(current, strategies_), spec_) : seeds);
            seeds.clear();
            bool restart = next.empty();
            if (restart) {
                if (++restarts > kRestarts) break;
                const std::optional<Choice> walk = random_walk(best);
                if (!walk) break;
                next = {*walk};
            }
            std::shuffle(next.begin(), next.end(), rng_);
            if (next.size() > kBatch) next.resize(kBatch);
            const auto t0 = Clock::now();
            batch(next, best);
            per_batch = 0.5 * per_batch + 0.5 * seconds_since(t0);
            const Choice *top = nullptr;
            for (const Choice &c : next)
                if (score_.count(to_text(c)) && (!top || score(c) > score(*top))) top = &c;
            if (top && score(*top) > score(best) * (1 + kStep)) {
                best = *top;
                restarts = 0;
            }
            if (top && (restart || score(*top) > score(current) * (1 + kStep))) current = *top;
            progress(out.default_choice, best, start, false);
        }
        out.search_s = seconds_since(start);
        out.candidates = int(score_.size() + bad_.size());
        out.failed = int(bad_.size());
        out.best_choice = to_text(best);
        out.default_us = default_us_;
        out.best_us = default_us_ / score(best);
        if (best != default_) prove(best, out);
        else out.note = "no faster choice found";
        const auto [total1, steal1] = cpu_jiffies();
        load_ = load_average();
        steal_ = total1 > total0 ? (steal1 - steal0) / (total1 - total0) : 0;
        progress(out.default_choice, best, start, true);
        return out;
    }

    // The record of a kept outcome.
    TuningRecord record(const TuneOutcome &r) const {
        TuningRecord rec = outcome_record(r, record_layer(spec_), target_.string, halide_version(), kChoiceSpaceVersion,
                                          host_cpu(o_.threads), proof_);
        rec.load = load_;
        rec.steal = steal_;
        return rec;
    }

    const LayerSpec &spec() const { return spec_; }
    std::string default_text() const { return to_text(default_); }

private:
    double score(const Choice &c) const { return score_.at(to_text(c)); }

    std::vector<Choice> unmeasured(const std::vector<Choice> &cs) const {
        std::vector<Choice> out;
        for (const Choice &c : cs)
            if (!score_.count(to_text(c)) && !bad_.count(to_text(c))) out.push_back(c);
        return out;
    }

    // An unmeasured point kWalk random steps away from `from`, if one is found.
    std::optional<Choice> random_walk(const Choice &from) {
        for (int attempt = 0; attempt < 20; attempt++) {
            Choice c = from;
            for (int step = 0; step < kWalk; step++) {
                const std::vector<Choice> n = neighbors(c, strategy_of(c, strategies_), spec_);
                if (n.empty()) break;
                c = n[std::uniform_int_distribution<size_t>(0, n.size() - 1)(rng_)];
            }
            if (!unmeasured({c}).empty()) return c;
        }
        return std::nullopt;
    }

    // Measures `cands` with `anchor` (first; reused when compiled before): the anchor must pass,
    // a failing candidate is noted in bad_. Returns the anchor's and the candidates' Measured.
    std::vector<Measured> anchored(const std::vector<Choice> &cands, const Choice &anchor, int rounds, double min_ms) {
        std::vector<KernelRecord> kernels{candidate_kernel(spec_, target_, default_, anchor)};
        for (const Choice &c : cands) kernels.push_back(candidate_kernel(spec_, target_, default_, c));
        const std::vector<Measured> r = compile_and_measure(kernels, reference_, o_, rounds, min_ms, o_.timeout_s);
        if (r[0].error == kUnsupportedTarget)
            throw SpecError("tune: this CPU cannot run target " + target_.string + " (tune times kernels here)");
        if (!r[0].ok()) throw ToolError("tune: the reference choice " + to_text(anchor) + " failed: " + r[0].error);
        for (size_t i = 1; i < r.size(); i++)
            if (!r[i].ok()) bad_[to_text(cands[i - 1])] = r[i].error;
        return r;
    }

    // Scores each candidate as the anchor's score times its median per-round speed-up over the
    // anchor; with no candidates, times the anchor (the default) alone.
    void batch(const std::vector<Choice> &cands, const Choice &anchor) {
        const std::vector<Measured> r = anchored(cands, anchor, kSearchRounds, kSearchMs);
        if (cands.empty()) default_us_ = median(r[0].rounds);
        for (size_t i = 1; i < r.size(); i++) {
            if (!r[i].ok()) continue;
            std::vector<double> speedup;
            for (size_t k = 0; k < std::min(r[0].rounds.size(), r[i].rounds.size()); k++)
                speedup.push_back(r[0].rounds[k] / r[i].rounds[k]);
            score_[to_text(cands[i - 1])] = score(anchor) * median(speedup);
        }
    }

    // The final ABAB rounds of the best point against the default.
    void prove(const Choice &best, TuneOutcome &out) {
        const std::vector<Measured> r = anchored({best}, default_, o_.proof_rounds, kProofMs);
        if (!r[1].ok()) {
            out.note = "the best choice failed in the proof";
            return;
        }
        proof_ = paired_proof(r[0].rounds, r[1].rounds);
        out.wins = proof_.wins;
        out.rounds = proof_.rounds;
        out.default_us = proof_.fallback.median_us;
        out.best_us = proof_.tuned.median_us;
        out.note = proof_.note;
        out.result = proof_.kept ? TuneOutcome::Kept : TuneOutcome::DefaultKept;
    }

    void progress(const std::string &default_text, const Choice &best, Clock::time_point start, bool last) {
        const double left = std::max(0.0, o_.budget_s - seconds_since(start));
        const int tried = int(score_.size() + bad_.size());
        const double s = score(best);
        if (o_.bar) {
            const int width = 20, filled = std::min(width, int(width * (1 - left / std::max(o_.budget_s, 1e-9))));
            std::fprintf(stderr, "\r\033[K%s [%s%s] %3d tried  best %9.1f us  %.2fx  %3.0f s left%s", label_.c_str(),
                         std::string(size_t(last ? width : filled), '#').c_str(),
                         std::string(size_t(last ? 0 : width - filled), '.').c_str(), tried, default_us_ / s, s, left,
                         last ? "\n" : "");
        } else if (!last && s > reported_ * (1 + kStep)) {
            std::fprintf(stderr, "%s: %d tried, best %.1f us (%.2fx the default %s): %s\n", label_.c_str(), tried,
                         default_us_ / s, s, default_text.c_str(), to_text(best).c_str());
            reported_ = s;
        }
        std::fflush(stderr);
    }

    ResolvedTarget target_;
    const TuneOptions &o_;
    std::string label_;
    std::mt19937_64 rng_;
    LayerSpec spec_;
    Choice default_;
    std::vector<Choice> strategies_;  // the default first (strategy_defaults)
    std::vector<double> reference_;
    std::map<std::string, double> score_;       // Choice text -> speed relative to the default
    std::map<std::string, std::string> bad_;    // Choice text -> why it failed
    double default_us_ = 0, reported_ = 1, load_ = 0, steal_ = 0;
    Proof proof_;  // of the best point against the default
};

// A record of this layer, target, versions and CPU (the same machine at the same thread count).
// A stale one (proven against another default Choice) does not count.
const TuningRecord *existing_record(const TuningDb &db, const LayerSpec &spec, const ResolvedTarget &t, int threads,
                                    const std::string &default_text) {
    const CpuIdentity cpu = host_cpu(threads);
    const TuningRecord *r = db.find(record_layer(spec), t.string, cpu);
    if (!r || r->default_choice != default_text) return nullptr;
    const CpuIdentity &c = r->cpu;
    const bool same = c.vendor == cpu.vendor && c.name == cpu.name && c.family == cpu.family &&
                      c.model == cpu.model && c.threads == cpu.threads;
    return same ? r : nullptr;
}

}  // namespace

// The kernel of `spec` under Choice `c` (or, when `autoscheduler` is named, under that
// autoscheduler), keyed apart from the layer's other candidates.
KernelRecord candidate_kernel(const LayerSpec &spec, const ResolvedTarget &target, const Choice &default_choice,
                              const Choice &c, const std::string &autoscheduler) {
    KernelRecord k;
    k.spec = spec;
    k.target = target;
    if (autoscheduler.empty()) {
        const std::string text = to_text(c);
        k.spec.pw_block = choose_weight_block(spec, target.target, c);
        k.key = kernel_key(k.spec, target.key) + "_t" + hash8(text);
        k.schedule = {c, c == default_choice ? ScheduleSource::Default : ScheduleSource::Override, ""};
    } else {
        k.key = kernel_key(k.spec, target.key) + "_" + autoscheduler;
        k.schedule = {c, ScheduleSource::Autoscheduler, autoscheduler};
    }
    return k;
}

Proof paired_proof(const std::vector<double> &default_rounds, const std::vector<double> &tuned_rounds) {
    Proof p;
    const std::vector<double> &d = default_rounds, &t = tuned_rounds;
    p.rounds = int(std::min(d.size(), t.size()));
    if (!p.rounds) return p;
    for (int k = 0; k < p.rounds; k++) p.wins += t[size_t(k)] < d[size_t(k)];
    p.fallback = {median(d), (quantile(d, 0.75) - quantile(d, 0.25)) / median(d)};
    p.tuned = {median(t), (quantile(t, 0.75) - quantile(t, 0.25)) / median(t)};
    p.speedup = p.fallback.median_us / p.tuned.median_us;
    p.kept = 2 * p.wins > p.rounds && p.speedup >= 1 + kMargin;
    p.note = fmt::format("proof: {:.3f}x, won {} of {} rounds", p.speedup, p.wins, p.rounds);
    return p;
}

TuningRecord outcome_record(const TuneOutcome &r, const std::string &layer, const std::string &target,
                           const std::string &halide, int space, const CpuIdentity &cpu, const Proof &p) {
    TuningRecord rec;
    rec.layer = layer;
    rec.target = target;
    rec.halide = halide;
    rec.space = space;
    rec.cpu = cpu;
    rec.choice = r.best_choice;
    rec.default_choice = r.default_choice;
    rec.tuned = p.tuned;
    rec.fallback = p.fallback;
    rec.wins = p.wins;
    rec.rounds = p.rounds;
    rec.candidates = r.candidates;
    rec.search_seconds = r.search_s;
    rec.date = utc_now();
    return rec;
}

std::string default_tuning_db(const ResolvedTarget &target) { return "tuning/" + target.key + ".jsonl"; }

std::vector<TuneOutcome> tune(const std::vector<LayerSpec> &layers, const ResolvedTarget &target,
                              const TuneOptions &o, const std::function<void(const TuneOutcome &)> &done) {
    check_options(target, o);
    TuningDb::open(o.db, /*missing_ok=*/true);  // a corrupt database is refused before any work
    std::vector<TuneOutcome> outcomes;
    for (size_t i = 0; i < layers.size(); i++) {
        const std::string label = fmt::format("[{}/{}] {}", i + 1, layers.size(),
                                              layers[i].name.empty() ? to_string(layers[i].kind) : layers[i].name);
        LayerSearch search(layers[i], target, o, label);
        TuneOutcome out;
        const TuningDb db = TuningDb::open(o.db, /*missing_ok=*/true);  // as it is now (other tuners append too)
        if (const TuningRecord *r = o.retune ? nullptr : existing_record(db, search.spec(), target, o.threads, search.default_text())) {
            out.spec = layers[i];
            out.best_choice = r->choice;
            out.default_choice = r->default_choice;
            out.default_us = r->fallback.median_us;
            out.best_us = r->tuned.median_us;
            out.result = TuneOutcome::Skipped;
            out.note = "a record exists (" + r->where + "; --retune to tune again)";
        } else {
            out = search.run(layers[i]);
            if (out.result == TuneOutcome::Kept) TuningDb::append(o.db, search.record(out));
        }
        outcomes.push_back(out);
        done(out);
    }
    return outcomes;
}

std::vector<CompareRow> compare(const std::vector<LayerSpec> &layers, const ResolvedTarget &target,
                                const TuneOptions &o, const std::function<void(const CompareRow &)> &done) {
    check_options(target, o);
    const TuningDb db = TuningDb::open(o.db, /*missing_ok=*/true);
    // An autoscheduler's search runs inside its compile: allow it a minute beyond the budget.
    const double autoschedule_timeout_s = std::max(o.timeout_s, o.budget_s + 60);
    std::vector<CompareRow> rows;
    for (const LayerSpec &layer : layers) {
        const Specialized sp = specialize(layer, target);
        CompareRow row;
        row.spec = layer;
        std::vector<KernelRecord> kernels{candidate_kernel(sp.spec, target, sp.schedule.choice, sp.schedule.choice)};
        row.entries.push_back({"default", 0, 0, ""});
        // The record generate would use (specialize decides: lookup, staleness, validation).
        const Specialized with_db = specialize(layer, target, "", &db);
        const TuningRecord *rec = nullptr;
        for (const TuningRecord &r : db.records())
            if (!with_db.record.empty() && r.where == with_db.record) rec = &r;
        CompareEntry tuned{"tuned", 0, rec ? rec->search_seconds : 0, rec ? "" : "no record"};
        if (rec) kernels.push_back(candidate_kernel(sp.spec, target, sp.schedule.choice, with_db.schedule.choice));
        for (const std::string &name : autoscheduler_names()) {
            kernels.push_back(candidate_kernel(sp.spec, target, sp.schedule.choice, sp.schedule.choice, name));
            row.entries.push_back({name, 0, 0, ""});
        }
        // The same key twice (a record of the default choice) is measured once.
        std::vector<KernelRecord> unique;
        for (const KernelRecord &k : kernels) {
            bool dup = false;
            for (const KernelRecord &u : unique) dup |= u.key == k.key;
            if (!dup) unique.push_back(k);
        }
        std::vector<double> compile_s;
        const std::vector<Measured> r = compile_and_measure(unique, reference_of(sp.spec), o, o.proof_rounds, kSearchMs,
                                                            autoschedule_timeout_s, &compile_s);
        auto result_of = [&](const std::string &key, CompareEntry &e, bool search_is_compile) {
            for (size_t i = 0; i < unique.size(); i++)
                if (unique[i].key == key) {
                    if (r[i].ok()) e.us = median(r[i].rounds);
                    else e.error = r[i].error;
                    if (search_is_compile) e.search_s = compile_s[i];
                }
        };
        result_of(kernels[0].key, row.entries[0], false);
        size_t next = 1;
        if (rec) result_of(kernels[next++].key, tuned, false);
        for (size_t a = 1; a < row.entries.size(); a++) result_of(kernels[next++].key, row.entries[a], true);
        row.entries.insert(row.entries.begin() + 1, tuned);
        rows.push_back(row);
        done(row);
        if (interrupted()) throw Interrupted();
    }
    return rows;
}

}  // namespace convgen
