// `convgen tune`: searches each layer's schedule space (schedules/choice.h) on this machine and
// keeps, as a tuning record (tuning_db.h), the Choice it proves faster than the default.
//
// Per layer, within the budget: the default Choice is measured first, then the points the default
// function's own model ranks next (model_alternatives(), schedules/schedule.h); then local search moves
// from the current point to its best one-field neighbour (neighbors()) while that is faster, and
// restarts from a random walk away from the best point when no neighbour is; the search ends at
// the budget or after kRestarts restarts without a better point. Every batch of candidates is
// compiled by generate() into the work folder (keep_going: a candidate that fails to compile is
// dropped) and measured by measure.h in a child process together with the best point so far, so
// that each candidate's speed is a ratio to a kernel timed in the same rounds. At the end the
// best point and the default are timed in alternating rounds (ABAB); the record is kept only
// when the best one wins most rounds and its median is at least kMargin faster.
#pragma once

#include "generator/driver/compile.h"
#include "generator/driver/targets.h"
#include "generator/driver/tuning_db.h"
#include "generator/spec/layer_spec.h"

#include <functional>
#include <string>
#include <vector>

namespace convgen {

struct TuneOptions {
    double budget_s = 60;      // search time per layer (compiles and measurements)
    int threads = 2;           // threads the kernels are timed with
    int jobs = 2;              // candidates compiled at once
    std::string db;            // the database the records are appended to
    std::string work_dir;      // where the candidates are compiled
    double timeout_s = 20;     // a candidate making no progress this long is a hang
    int proof_rounds = 15;     // ABAB rounds of the final proof
    bool retune = false;       // tune layers that already have a record for this CPU
    uint64_t seed = 1;         // the random restarts
    bool bar = false;          // progress as a bar redrawn in place (a terminal), else plain lines
};

struct TuneOutcome {
    LayerSpec spec;  // the layer as given (its name)
    std::string default_choice, best_choice;
    double default_us = 0, best_us = 0;  // medians of the proof (or of the search when no proof ran)
    int wins = 0, rounds = 0, candidates = 0, failed = 0;
    double search_s = 0;
    enum Result { Kept, DefaultKept, Skipped } result = DefaultKept;
    std::string note;  // why (skipped: the record that exists; default kept: the proof's numbers)
};

// Tunes `layers` for `target` (a CPU this machine runs) one after the other; each kept record is
// appended to o.db as soon as its layer is done, so an interrupt loses only the layer at hand.
// `done` is called after each layer. Throws Interrupted (measure.h) on SIGINT or SIGTERM after
// install_interrupt_handler(), SpecError for bad input.
std::vector<TuneOutcome> tune(const std::vector<LayerSpec> &layers, const ResolvedTarget &target,
                              const TuneOptions &o, const std::function<void(const TuneOutcome &)> &done);

// `convgen tune --compare`: per layer, the default Choice, the tuned one (the record o.db holds
// for this CPU, as generate would use it) and each of Halide's autoschedulers
// (schedules/schedule.h autoscheduler_names()), checked against the reference and timed in the
// same interleaved rounds.
struct CompareEntry {
    std::string name;      // "default", "tuned", or the autoscheduler's name
    double us = 0;         // median of the rounds; 0 when it failed
    double search_s = 0;   // tuned: the record's search time; an autoscheduler: its compile (search included)
    std::string error;     // why it has no time ("no record", a failed compile or check)
};
struct CompareRow {
    LayerSpec spec;
    std::vector<CompareEntry> entries;  // default, tuned, then the autoschedulers
};
std::vector<CompareRow> compare(const std::vector<LayerSpec> &layers, const ResolvedTarget &target,
                                const TuneOptions &o, const std::function<void(const CompareRow &)> &done);

// The kernel of `spec` (specialized) under Choice `c`, or under Halide's autoscheduler
// `autoscheduler` when named, keyed apart from the layer's other candidates.
KernelRecord candidate_kernel(const LayerSpec &spec, const ResolvedTarget &target, const Choice &default_choice,
                              const Choice &c, const std::string &autoscheduler = "");

// The rule that keeps a record: over paired rounds (round k of each timed back to back), the
// tuned choice wins most rounds and its median is kMargin (3%) faster than the default's.
struct Proof {
    int wins = 0, rounds = 0;
    double speedup = 0;  // default median / tuned median
    Timing tuned, fallback;
    bool kept = false;
    std::string note;  // "proof: 1.234x, won 12 of 15 rounds"
};
Proof paired_proof(const std::vector<double> &default_rounds, const std::vector<double> &tuned_rounds);

// The record of a kept outcome (`layer`: record_layer of the specialized layer); date now.
TuningRecord outcome_record(const TuneOutcome &r, const std::string &layer, const std::string &target,
                           const std::string &halide, int space, const CpuIdentity &cpu, const Proof &p);

// The default database of a target: tuning/<target key>.jsonl under the current folder.
std::string default_tuning_db(const ResolvedTarget &target);

}  // namespace convgen
