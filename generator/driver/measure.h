// Timing candidate kernels of one layer where a bad one cannot take the tuner down.
//
// measure() loads a folder that generate() wrote (loader.h) in a forked child process, which
// checks each candidate against the double reference, then times the candidates that passed in
// interleaved rounds (candidate 0, 1, ..., 0, 1, ...; timing.h's rounds) and reports each step
// over a pipe. A candidate that crashes the child, or makes no progress for `timeout_s`, is
// marked bad (the child is killed), and the others are measured again in a fresh child.
// Tests make a candidate fail on purpose through $CONVGEN_FAULT (fault.h).
#pragma once

#include "generator/spec/layer_spec.h"

#include <cstdint>
#include <exception>
#include <string>
#include <vector>

namespace convgen {

struct Candidate {
    std::string key;     // the kernel's key in the folder
    LayerSpec spec;      // its specialized layer (the weight block follows the Choice)
    std::string choice;  // to_text of its Choice (messages, fault injection)
};

// Measured::error of a kernel whose target this CPU lacks.
constexpr const char *kUnsupportedTarget = "this CPU cannot run its target";

struct Measured {
    std::string error;           // "" when it passed its check and was timed
    std::vector<double> rounds;  // per-round median call time, microseconds
    bool ok() const { return error.empty(); }
};

struct MeasureOptions {
    int threads = 2;         // Halide's thread pool in the child
    int rounds = 5;          // interleaved rounds
    double min_ms = 30;      // per candidate and round (time_round)
    double timeout_s = 20;   // a step (a check, or one candidate's round) longer than this is a hang
    uint64_t seed = 1;       // random_input(seed), random_params(seed + 1)
};

// Thrown when SIGINT or SIGTERM arrived while measuring (see interrupted()).
struct Interrupted : std::exception {
    const char *what() const noexcept override { return "interrupted"; }
};
// True once SIGINT or SIGTERM arrived in this process since install_interrupt_handler().
bool interrupted();
// Makes SIGINT and SIGTERM set interrupted() instead of ending the process.
void install_interrupt_handler();

// One Measured per candidate, in order. `reference`: reference_forward of the layer on the
// seed's data (the same for every candidate). Throws ToolError when the folder cannot be loaded,
// Interrupted on SIGINT/SIGTERM.
std::vector<Measured> measure(const std::string &dir, const std::vector<Candidate> &candidates,
                              const std::vector<double> &reference, const MeasureOptions &o);

}  // namespace convgen
