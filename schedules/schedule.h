// Scheduling: turns an Algorithm (generator/algorithms/algorithm.h) into fast code for a target.
//
// apply_schedule() is the one place that chooses where a schedule comes from, in this order:
//   1. a tuned record for (kernel key, target, Halide version)   [no autotuner yet]
//   2. the hand schedule of the target's family (schedules/<family>/<kind>.cpp)
//   3. Halide's autoscheduler, for a family without hand schedules
// Nothing else branches on that. Schedules never compute: they only schedule the struct's Funcs.
#pragma once

#include "Halide.h"
#include "generator/algorithms/algorithm.h"

namespace convgen {

enum class ScheduleSource { Tuned, Hand, Autoscheduler };
const char *to_string(ScheduleSource s);

ScheduleSource apply_schedule(Algorithm &alg, const Halide::Target &target);
// True when a family of hand schedules covers the target (generator/targets.cpp accepts it).
bool has_hand_schedules(const Halide::Target &target);
// Resolves algo=auto for a target (the rule is commented in select.cpp); an explicit algo is
// returned as given. generator/compile.h's specialize() is the one caller.
Algo choose_algorithm(const LayerSpec &spec, const Halide::Target &target);
// The pointwise weight block (LayerSpec::pw_block) the target's schedule wants for this spec,
// 0 for the plain IO layout; specialize() is the one caller.
int choose_weight_block(const LayerSpec &spec, const Halide::Target &target);

namespace x86 {
void schedule_conv(Algorithm &alg, const Halide::Target &t);
void schedule_pointwise(Algorithm &alg, const Halide::Target &t);
void schedule_depthwise(Algorithm &alg, const Halide::Target &t);
void schedule_dwsep(Algorithm &alg, const Halide::Target &t);
void schedule_winograd(Algorithm &alg, const Halide::Target &t);  // kind conv, algo winograd
int pointwise_weight_block(const LayerSpec &spec, const Halide::Target &t);
}  // namespace x86

namespace arm {  // AArch64 NEON (schedules/arm/)
void schedule_conv(Algorithm &alg, const Halide::Target &t);
void schedule_pointwise(Algorithm &alg, const Halide::Target &t);
void schedule_depthwise(Algorithm &alg, const Halide::Target &t);
void schedule_dwsep(Algorithm &alg, const Halide::Target &t);
}  // namespace arm

namespace cuda {  // NVIDIA GPUs through Halide's CUDA backend (schedules/cuda/)
void schedule_conv(Algorithm &alg, const Halide::Target &t);
void schedule_pointwise(Algorithm &alg, const Halide::Target &t);
void schedule_depthwise(Algorithm &alg, const Halide::Target &t);
void schedule_dwsep(Algorithm &alg, const Halide::Target &t);
}  // namespace cuda

}  // namespace convgen
