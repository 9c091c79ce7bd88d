// The table of targets convgen generates for, and how a user's target string resolves to one.
//
// A target is a Halide target string. The table gives the common ones short keys (the suffix of
// kernel keys: "x86_avx2", "x86_avx512"); any other valid Halide string of a supported family
// gets a key spelled from its features. Adding a target family: a row in kFamilies (targets.cpp),
// a schedules/<family>/ folder, and its branch in schedules/select.cpp.
#pragma once

#include "Halide.h"
#include "schedules/target_facts.h"

#include <string>
#include <vector>

namespace convgen {

struct ResolvedTarget {
    Halide::Target target;  // what kernels are compiled for (never has no_runtime)
    std::string string;     // canonical Halide target string
    std::string key;        // kernel-key suffix, e.g. "x86_avx512"
    TargetFacts facts;      // what the schedules size from: read from this machine for `host`,
                            // the ISA's documented defaults otherwise (schedules/target_facts.h)
};

// "host", a table key ("x86_avx2"), or a Halide target string. Throws SpecError naming the value
// when it is invalid or its family is not supported.
ResolvedTarget resolve_target(const std::string &text);
// A comma-separated list of the above, in order, without duplicates.
std::vector<ResolvedTarget> resolve_targets(const std::string &list);

// The target of the one Halide runtime that all kernels of `t`'s architecture and OS share.
Halide::Target runtime_target(const Halide::Target &t);
// A file-name-safe name of a runtime target, e.g. "x86_64_linux".
std::string runtime_key(const Halide::Target &runtime);

// The named rows, best first, for help texts and `host`.
struct TargetRow {
    const char *key;
    const char *halide;
    const char *description;
};
const std::vector<TargetRow> &target_table();

}  // namespace convgen
