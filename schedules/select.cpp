// apply_schedule: the one place that chooses where a layer's schedule comes from.
//
// Order (schedule.h): a tuned record for (kernel key, target, Halide version) first, then the
// hand schedule of the target's family, then an autoscheduler. Today only the hand schedules
// exist: x86 (AVX2 / AVX-512) has one per kind in schedules/x86/; other families are an error
// until their folders land (ARM NEON, CUDA).
#include "schedule.h"

#include <string>

namespace convgen {

const char *to_string(ScheduleSource s) {
    switch (s) {
    case ScheduleSource::Tuned: return "tuned";
    case ScheduleSource::Hand: return "hand";
    case ScheduleSource::Autoscheduler: return "autoscheduler";
    }
    return "unknown";
}

namespace {

const char *arch_name(Halide::Target::Arch a) {
    switch (a) {
    case Halide::Target::X86: return "x86";
    case Halide::Target::ARM: return "arm";
    case Halide::Target::POWERPC: return "powerpc";
    case Halide::Target::WebAssembly: return "wasm";
    case Halide::Target::RISCV: return "riscv";
    default: return "unknown";
    }
}

}  // namespace

ScheduleSource apply_schedule(Algorithm &alg, const Halide::Target &target) {
    // 1. Tuned records: not yet (README, Tuning).
    // 2. Hand schedules, by family.
    if (target.arch == Halide::Target::X86 && !target.has_gpu_feature()) {
        switch (alg.spec.kind) {
        case Kind::Conv: x86::schedule_conv(alg, target); break;
        case Kind::Pointwise: x86::schedule_pointwise(alg, target); break;
        case Kind::Depthwise: x86::schedule_depthwise(alg, target); break;
        case Kind::Dwsep: x86::schedule_dwsep(alg, target); break;
        }
        return ScheduleSource::Hand;
    }
    // 3. Autoscheduler: not wired yet; say which family lacks a schedule.
    throw SpecError(std::string("no schedule for target family ") + arch_name(target.arch) +
                    (target.has_gpu_feature() ? " (gpu)" : "") + " (target " + target.to_string() +
                    ")");
}

}  // namespace convgen
