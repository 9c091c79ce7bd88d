// The compile driver: layers x targets -> objects, headers, one runtime per architecture, a
// static library bundling them, the registry source and manifest.json, in one output folder.
//
// Every file is written under a temporary name and renamed into place, so a failure leaves no
// partial file. A kernel whose fingerprint (convgen binary, spec, target, outputs) matches the
// existing manifest is reused, not recompiled.
#pragma once

#include "generator/spec/layer_spec.h"
#include "schedules/schedule.h"
#include "generator/driver/targets.h"
#include "generator/driver/tuning_db.h"

#include <string>
#include <vector>

namespace convgen {

struct GenerateOptions {
    std::string out_dir;
    std::string bundle = "convgen_kernels";  // lib<bundle>.a, convgen_register_<bundle>()
    bool assembly = false;                   // also <key>.s
    bool stmt = false;                       // also <key>.stmt
    bool verbose = false;                    // one line per kernel on stderr
    int jobs = 2;                            // kernels compiled at once (one process each)
    std::string choice;                      // --choice: Choice fields over every kernel's default
    const TuningDb *db = nullptr;            // --db: tuned records (used where --choice is not given)
    bool keep_going = false;                 // a kernel that fails to compile is left out (GenerateResult::failed)
    double compile_timeout_s = 0;            // > 0: a kernel compiling longer than this fails (its process is killed)
};

struct KernelRecord {
    LayerSpec spec;
    ResolvedTarget target;
    std::string key;
    Schedule schedule;        // its Choice and where that came from (schedules/schedule.h)
    std::string record;       // the tuned record's FILE:LINE when the Choice is tuned
    std::string fingerprint;  // what the kernel's files were made from
    bool reused = false;
    double compile_seconds = 0;
    std::string error;  // why it failed to compile (GenerateOptions::keep_going)
};

struct GenerateResult {
    std::vector<KernelRecord> kernels;
    struct Runtime {
        std::string target, object, fingerprint;  // Halide target, object file, what it was made from
    };
    std::vector<Runtime> runtimes;  // one per architecture (reused when the fingerprint matches)
    std::vector<KernelRecord> failed;  // keep_going: the kernels left out, each with its error
};

// A layer made concrete for a target: the spec with algo and the pointwise weight block resolved
// (schedules/select.cpp choose_algorithm, choose_schedule, choose_weight_block), which keys,
// kernel arguments and compiles take, and its schedule.
struct Specialized {
    LayerSpec spec;
    Schedule schedule;
    std::string record;  // FILE:LINE of the tuned record the Choice came from, "" otherwise
    std::string stale;   // FILE:LINE of a record left out: its default_choice is not today's default
};
// Every call site that names or builds a kernel goes here first. The Choice: `choice` fields
// over the default when given (--choice), else the record of `db` for this layer, target and
// CPU (tuning_db.h) when it was proven against today's default Choice, else the default.
Specialized specialize(const LayerSpec &s, const ResolvedTarget &t, const std::string &choice = "",
                       const TuningDb *db = nullptr);

// Specializes each (layer, target) before keying and compiling it.
GenerateResult generate(const std::vector<LayerSpec> &layers, const std::vector<ResolvedTarget> &targets,
                        const GenerateOptions &options);
// Compiles kernels whose spec, target, schedule and key are set (generate() makes them from
// layers; a caller that keys kernels itself, e.g. one layer under several Choices, calls this).
GenerateResult generate(std::vector<KernelRecord> kernels, const GenerateOptions &options);

// Files of one kernel in the output folder.
inline std::string object_file(const std::string &key) { return key + ".o"; }
inline std::string header_file(const std::string &key) { return key + ".h"; }

}  // namespace convgen
