// Scheduling: turns an Algorithm (generator/algorithms/algorithm.h) into fast code for a target.
//
// A target family (x86 and AArch64 share the CPU family, schedules/cpu/; CUDA has its own) gives
// each kind a default Choice (schedules/choice.h: a function of the layer and the machine facts)
// and applies a Choice to the pipeline. choose_schedule() is the one place that decides which
// Choice a kernel gets: an override (`--choice` or a tuned record) validated against the
// kind's fields, else the default. Nothing else branches on that. Schedules never compute: they
// only schedule the struct's Funcs.
#pragma once

#include "Halide.h"
#include "generator/algorithms/algorithm.h"
#include "schedules/choice.h"
#include "schedules/target_facts.h"

#include <string>
#include <vector>

namespace convgen {

// Where a kernel's Choice came from.
enum class ScheduleSource { Default, Override, Tuned, Autoscheduler };
const char *to_string(ScheduleSource s);

struct Schedule {
    Choice choice;
    ScheduleSource source = ScheduleSource::Default;
    std::string autoscheduler;  // source Autoscheduler: the Halide autoscheduler that schedules it instead
};

// True when a family of schedules covers the target (generator/driver/targets.cpp accepts it).
bool has_schedules(const Halide::Target &target);
// Resolves algo=auto for a target (the rule is commented in select.cpp); an explicit algo is
// returned as given. generator/driver/compile.h's specialize() is the one caller.
Algo choose_algorithm(const LayerSpec &spec, const Halide::Target &target);
// The Choice of a kernel whose spec has its algo resolved: `override_text` ("" for none, else
// fields as parse_choice takes them, on top of the default: `--choice` or a tuned record's
// choice) is validated, and the result says `source` when it differs from the default;
// SpecError names a bad field.
Schedule choose_schedule(const LayerSpec &spec, const Halide::Target &target, const TargetFacts &facts,
                         const std::string &override_text = "", ScheduleSource source = ScheduleSource::Override);
// The layer's default Choice for the target (what choose_schedule starts from).
Choice default_choice(const LayerSpec &spec, const Halide::Target &target, const TargetFacts &facts);
// The default point of each strategy the layer's schedule has, the default first: Choices of
// different strategies use different fields (NCHW GEMMs: cw, tx of the channel-vector tile or
// xw, ty, tc of x-vectors), so neither is a step from the other; `convgen tune` starts from each,
// and a --choice or tuning record may name any of them.
std::vector<Choice> strategy_defaults(const LayerSpec &spec, const Halide::Target &target, const TargetFacts &facts);
// Up to `k` other points the default function's own model ranks next (today: the NHWC register
// tile's (cw, tx) by its throughput model), each differing from the default only there; empty
// for kernels without such a model. `convgen tune` measures them first.
std::vector<Choice> model_alternatives(const LayerSpec &spec, const Halide::Target &target, const TargetFacts &facts,
                                       int k);
// The pointwise weight block (LayerSpec::pw_block) a Choice wants, 0 for the plain IO layout.
int choose_weight_block(const LayerSpec &spec, const Halide::Target &target, const Choice &choice);
// Applies the Choice to the pipeline; layers below ~0.6 MFLOP then run on the calling thread.
void apply_schedule(Algorithm &alg, const Halide::Target &target, const Choice &choice);

// Halide's autoschedulers that `convgen tune --compare` measures (schedules/autoschedule.cpp):
// Adams2019, Mullapudi2016, Li2018.
std::vector<std::string> autoscheduler_names();
// Schedules the pipeline with the named autoscheduler of the Halide wheel, sized by the facts
// (parallelism = cores); SpecError for an unknown name or a GPU target.
void apply_autoscheduler(Algorithm &alg, const Halide::Target &target, const TargetFacts &facts,
                         const std::string &name);

namespace cpu {  // x86 AVX2 / AVX-512 and AArch64 NEON (schedules/cpu/)
Choice default_conv(const LayerSpec &s, const TargetFacts &f);
Choice default_pointwise(const LayerSpec &s, const TargetFacts &f);
Choice default_depthwise(const LayerSpec &s, const TargetFacts &f);
Choice default_dwsep(const LayerSpec &s, const TargetFacts &f);
Choice default_winograd(const LayerSpec &s, const TargetFacts &f);  // kind conv, algo winograd
void apply_conv(Algorithm &a, const Choice &c);
void apply_pointwise(Algorithm &a, const Choice &c);
void apply_depthwise(Algorithm &a, const Choice &c);
void apply_dwsep(Algorithm &a, const Choice &c);
void apply_winograd(Algorithm &a, const Choice &c);
int pointwise_weight_block(const LayerSpec &s, const Choice &c);
std::vector<Choice> model_alternatives(const LayerSpec &s, const TargetFacts &f, const Choice &d, int k);
// The default point of each strategy of the kind (default first): NCHW conv, pointwise and dwsep
// have two, the channel-vector tile and x-vectors (nchw_channel_tile picks the default), and
// some layers more: the flattened plane, dwsep's repack, conv and pointwise's dot tile; NCHW
// depthwise has its x-vectors (the default) and, with multiplier 1, the repack.
std::vector<Choice> conv_strategies(const LayerSpec &s, const TargetFacts &f);
std::vector<Choice> pointwise_strategies(const LayerSpec &s, const TargetFacts &f);
std::vector<Choice> depthwise_strategies(const LayerSpec &s, const TargetFacts &f);
std::vector<Choice> dwsep_strategies(const LayerSpec &s, const TargetFacts &f);
}  // namespace cpu

namespace cuda {  // NVIDIA GPUs through Halide's CUDA backend (schedules/cuda/); no Choice fields yet
void schedule_conv(Algorithm &alg, const Halide::Target &t);
void schedule_pointwise(Algorithm &alg, const Halide::Target &t);
void schedule_depthwise(Algorithm &alg, const Halide::Target &t);
void schedule_dwsep(Algorithm &alg, const Halide::Target &t);
}  // namespace cuda

}  // namespace convgen
