// Tuning records: what `convgen tune` proved about a layer's schedule on a machine, kept in a
// database that `generate`, `check`, `run` and `convgen_bench` read (--db FILE, or the file named
// by $CONVGEN_TUNING_DB).
//
// The file is JSON Lines: one record per line, appended, never rewritten, so it diffs and merges
// like source. A record says which kernel it is for (the canonical layer with its algorithm
// resolved, the Halide target string, the Halide version and the Choice space version) and on
// which CPU it was measured, the tuned and the default Choice, their times and the paired rounds
// the tuned one won. Appends hold an exclusive lock on the file and write each line with one
// write(), so concurrent tuners lose nothing and a killed one leaves whole lines. A file with a
// line that is not a record of this format (or of a newer one) is refused with its name and line
// number, and nothing is appended to it.
#pragma once

#include "generator/spec/layer_spec.h"

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace convgen {

constexpr int kTuningFormat = 1;
constexpr const char *kTuningDbEnv = "CONVGEN_TUNING_DB";

// The machine a record was measured on.
struct CpuIdentity {
    std::string vendor, name;  // /proc/cpuinfo vendor_id, model name
    int family = 0, model = 0;
    int l1_bytes = 0, l2_bytes = 0, l3_bytes = 0;
    int threads = 0;  // threads the kernels were timed with
};
// This machine, timed with `threads` threads (caches as schedules/target_facts.h reads them);
// the machine is read once per process.
CpuIdentity host_cpu(int threads);

struct Timing {
    double median_us = 0;
    double spread = 0;  // (p75 - p25) / median over the rounds
};

struct TuningRecord {
    std::string layer;   // to_text of the layer: name cleared, algo resolved, pw_block 0
    std::string target;  // Halide target string
    std::string halide;  // Halide version
    int space = 0;       // kChoiceSpaceVersion
    CpuIdentity cpu;
    std::string choice, default_choice;  // to_text of each
    Timing tuned, fallback;              // `fallback`: the default choice's time
    int wins = 0, rounds = 0;            // paired rounds the tuned choice won
    int candidates = 0;                  // choices measured by the search
    double search_seconds = 0;
    double load = 0, steal = 0;  // 1-minute load average and the share of CPU time stolen while tuning
    std::string date;            // UTC, ISO 8601
    std::string where;           // "FILE:LINE" once read (not stored)
};

// Now, as a record's date: UTC, ISO 8601 ("2026-12-06T06:40:00Z").
std::string utc_now();

// The key a record is looked up by (the layer as tune and generate both canonicalise it).
std::string record_layer(const LayerSpec &specialized);

nlohmann::json to_json(const TuningRecord &r);
// Throws SpecError("<where>: ...") naming the missing or mistyped field, or a newer format.
TuningRecord record_from_json(const nlohmann::json &j, const std::string &where);

class TuningDb {
public:
    // Reads every record of `path`; a missing file is an empty database when `missing_ok`.
    // Throws SpecError naming the file and line of a corrupt or newer-format line.
    static TuningDb open(const std::string &path, bool missing_ok = false);
    // --db, else $CONVGEN_TUNING_DB, else none.
    static std::optional<TuningDb> from_option(const std::string &db_option);

    // The record for this kernel: same layer, target, Halide and space version; among those, the
    // CPU closest to `cpu` (vendor, family and model, threads, caches), the newest on a tie.
    const TuningRecord *find(const std::string &layer, const std::string &target, const CpuIdentity &cpu) const;
    const std::vector<TuningRecord> &records() const { return records_; }
    const std::string &path() const { return path_; }

    // Appends under an exclusive lock, after checking the whole file as open() does (a corrupt
    // file is refused, not appended to). Creates the file and its folder when missing.
    static void append(const std::string &path, const TuningRecord &r);

private:
    std::string path_;
    std::vector<TuningRecord> records_;
};

// Merges the records of `inputs` (each checked as open() does) into `output`, written whole
// under a temporary name and renamed; a record that is in several inputs is kept once.
// Returns the number of records written.
size_t merge_tuning_dbs(const std::vector<std::string> &inputs, const std::string &output);

}  // namespace convgen
