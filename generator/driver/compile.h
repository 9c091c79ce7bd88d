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
};

struct KernelRecord {
    LayerSpec spec;
    ResolvedTarget target;
    std::string key;
    Schedule schedule;        // its Choice and where that came from (schedules/schedule.h)
    std::string fingerprint;  // what the kernel's files were made from
    bool reused = false;
    double compile_seconds = 0;
};

struct GenerateResult {
    std::vector<KernelRecord> kernels;
    std::vector<std::pair<std::string, std::string>> runtimes;  // (Halide target, object file)
};

// The spec with algo and the pointwise weight block resolved for the target (schedules/select.cpp
// choose_algorithm, choose_schedule, choose_weight_block): what keys, kernel arguments and
// compiles take. Every call site that names or builds a kernel goes here first. `choice`: as
// GenerateOptions::choice.
LayerSpec specialize(const LayerSpec &s, const ResolvedTarget &t, const std::string &choice = "");

// Specializes each (layer, target) before keying and compiling it.
GenerateResult generate(const std::vector<LayerSpec> &layers, const std::vector<ResolvedTarget> &targets,
                        const GenerateOptions &options);

// Files of one kernel in the output folder.
inline std::string object_file(const std::string &key) { return key + ".o"; }
inline std::string header_file(const std::string &key) { return key + ".h"; }

}  // namespace convgen
