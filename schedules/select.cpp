// The target families and the one place that picks a kernel's algorithm, Choice and weight
// block (schedule.h).
#include "schedules/schedule.h"
#include "schedules/cpu/common.h"

#include <algorithm>
#include <map>
#include <string>
#include <vector>

namespace convgen {

const char *to_string(ScheduleSource s) {
    switch (s) {
    case ScheduleSource::Override: return "override";
    case ScheduleSource::Tuned: return "tuned";
    case ScheduleSource::Autoscheduler: return "autoscheduler";
    default: return "default";
    }
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

// The table of target families. Adding a family: its schedules/<family>/ folder, its
// declarations in schedule.h, one row here, and its rows in generator/driver/targets.cpp.
// A family without Choice fields (CUDA today) returns the empty Choice and schedules itself.
using DefaultFn = Choice (*)(const LayerSpec &, const TargetFacts &);
using StrategiesFn = std::vector<Choice> (*)(const LayerSpec &, const TargetFacts &);
using ApplyFn = void (*)(Algorithm &, const Choice &, const Halide::Target &);
struct Family {
    const char *name;
    bool (*matches)(const Halide::Target &t);
    DefaultFn defaults[4];  // indexed by Kind
    StrategiesFn strategies[4];  // each strategy's default point, the default first; null: the default alone
    ApplyFn apply[4];
    DefaultFn winograd_default;  // conv with algo=winograd; null: no Winograd schedule
    ApplyFn winograd_apply;
    int (*weight_block)(const LayerSpec &, const Choice &);  // LayerSpec::pw_block; null: IO
};

template <void (*F)(Algorithm &, const Choice &)>
void on_cpu(Algorithm &a, const Choice &c, const Halide::Target &) { F(a, c); }
template <void (*F)(Algorithm &, const Halide::Target &)>
void on_gpu(Algorithm &a, const Choice &, const Halide::Target &t) { F(a, t); }
Choice no_choice(const LayerSpec &, const TargetFacts &) { return {}; }
// A CPU kind's default Choice, and its strategies' points, with the family's rule for parallel tasks.
template <DefaultFn F>
Choice cpu_default(const LayerSpec &s, const TargetFacts &f) {
    Choice c = F(s, f);
    c.tasks = cpu::default_tasks(s, f);
    return c;
}
template <StrategiesFn F>
std::vector<Choice> cpu_strategies(const LayerSpec &s, const TargetFacts &f) {
    std::vector<Choice> out = F(s, f);
    for (Choice &c : out) c.tasks = cpu::default_tasks(s, f);
    return out;
}

bool is_cpu(const Halide::Target &t) {
    return !t.has_gpu_feature() && ((t.arch == Halide::Target::X86 && t.bits == 64) ||
                                    (t.arch == Halide::Target::ARM && t.bits == 64));
}

// AArch64 has no Winograd schedule: its precision and speed have not been measured there.
const Family kFamilies[] = {
    {"x86", [](const Halide::Target &t) { return is_cpu(t) && t.arch == Halide::Target::X86; },
     {cpu_default<cpu::default_conv>, cpu_default<cpu::default_pointwise>, cpu_default<cpu::default_depthwise>,
      cpu_default<cpu::default_dwsep>},
     {cpu_strategies<cpu::conv_strategies>, cpu_strategies<cpu::pointwise_strategies>, cpu_strategies<cpu::depthwise_strategies>,
      cpu_strategies<cpu::dwsep_strategies>},
     {on_cpu<cpu::apply_conv>, on_cpu<cpu::apply_pointwise>, on_cpu<cpu::apply_depthwise>, on_cpu<cpu::apply_dwsep>},
     cpu_default<cpu::default_winograd>, on_cpu<cpu::apply_winograd>, cpu::pointwise_weight_block},
    {"arm", [](const Halide::Target &t) { return is_cpu(t) && t.arch == Halide::Target::ARM; },
     {cpu_default<cpu::default_conv>, cpu_default<cpu::default_pointwise>, cpu_default<cpu::default_depthwise>,
      cpu_default<cpu::default_dwsep>},
     {cpu_strategies<cpu::conv_strategies>, cpu_strategies<cpu::pointwise_strategies>, cpu_strategies<cpu::depthwise_strategies>,
      cpu_strategies<cpu::dwsep_strategies>},
     {on_cpu<cpu::apply_conv>, on_cpu<cpu::apply_pointwise>, on_cpu<cpu::apply_depthwise>, on_cpu<cpu::apply_dwsep>},
     nullptr, nullptr, nullptr},
    {"cuda", [](const Halide::Target &t) { return t.arch == Halide::Target::X86 && t.has_feature(Halide::Target::CUDA); },
     {no_choice, no_choice, no_choice, no_choice},
     {nullptr, nullptr, nullptr, nullptr},
     {on_gpu<cuda::schedule_conv>, on_gpu<cuda::schedule_pointwise>, on_gpu<cuda::schedule_depthwise>,
      on_gpu<cuda::schedule_dwsep>},
     nullptr, nullptr, nullptr},
};

// Turns every parallel loop of the pipeline that computes `output` into a serial one, after the
// family's schedule has chosen them (one place instead of a condition at each parallel()).
void run_on_calling_thread(const Halide::Func &output) {
    using namespace Halide::Internal;
    auto serialize = [](StageSchedule schedule) {
        for (Dim &d : schedule.dims())
            if (d.for_type == ForType::Parallel) d.for_type = ForType::Serial;
    };
    // The pipeline's Funcs, and the wrappers that .in() made of them (not in the call graph).
    std::map<std::string, Function> funcs{{output.name(), output.function()}};
    std::vector<Function> todo{output.function()};
    while (!todo.empty()) {
        Function f = todo.back();
        todo.pop_back();
        std::map<std::string, Function> next = find_transitive_calls(f);
        for (const auto &w : f.wrappers()) next.emplace(Function(w.second).name(), Function(w.second));
        for (const auto &[name, g] : next)
            if (funcs.emplace(name, g).second) todo.push_back(g);
    }
    for (auto &[name, f] : funcs) {
        serialize(f.definition().schedule());
        for (int i = 0; i < int(f.updates().size()); i++) serialize(f.update(i).schedule());
    }
}

const Family *family_of(const Halide::Target &t) {
    for (const Family &f : kFamilies)
        if (f.matches(t)) return &f;
    return nullptr;
}

}  // namespace

bool has_schedules(const Halide::Target &target) { return family_of(target) != nullptr; }

// algo=auto -> Winograd (F(4,3) or F(2,3): winograd_tile() in generator/spec/layer_spec.h) when
// the shape is eligible (3x3, stride 1, dilation 1, groups 1), the target's family has a
// Winograd schedule and both channel counts are >= 16; otherwise direct. Channels: the
// transforms cost O(c + cout) per tile against the O(c * cout) product they shrink, so few
// channels leave little to save.
Algo choose_algorithm(const LayerSpec &spec, const Halide::Target &target) {
    if (spec.algo != Algo::Auto) return spec.algo;
    const Family *f = family_of(target);
    const bool wins = spec.c >= 16 && spec.cout >= 16;
    return winograd_eligible(spec) && f && f->winograd_default && wins ? Algo::Winograd : Algo::Direct;
}

namespace {

const Family &family_for(const LayerSpec &spec, const Halide::Target &target) {
    const Family *f = family_of(target);
    if (!f)
        throw SpecError(std::string("no schedule for target family ") + arch_name(target.arch) +
                        (target.has_gpu_feature() ? " (gpu)" : "") + " (target " + target.to_string() + ")");
    if (spec.algo == Algo::Winograd && !f->winograd_default)
        throw SpecError(std::string("layer: algo=winograd has no schedule for target family ") + f->name +
                        " (target " + target.to_string() + "); use algo=direct or auto");
    return *f;
}

}  // namespace

Choice default_choice(const LayerSpec &spec, const Halide::Target &target, const TargetFacts &facts) {
    const Family &f = family_for(spec, target);
    return spec.algo == Algo::Winograd ? f.winograd_default(spec, facts) : f.defaults[int(spec.kind)](spec, facts);
}

std::vector<Choice> strategy_defaults(const LayerSpec &spec, const Halide::Target &target, const TargetFacts &facts) {
    const Family &f = family_for(spec, target);
    const StrategiesFn strategies = spec.algo == Algo::Winograd ? nullptr : f.strategies[int(spec.kind)];
    return strategies ? strategies(spec, facts) : std::vector<Choice>{default_choice(spec, target, facts)};
}

// Only an override needs the other strategies: a text may name any of them.
Schedule choose_schedule(const LayerSpec &spec, const Halide::Target &target, const TargetFacts &facts,
                         const std::string &override_text, ScheduleSource source) {
    Schedule s{default_choice(spec, target, facts), ScheduleSource::Default};
    if (!override_text.empty()) {
        const Choice c = parse_valid_choice(override_text, strategy_defaults(spec, target, facts), spec);
        if (c != s.choice) s = {c, source};
    }
    return s;
}

std::vector<Choice> model_alternatives(const LayerSpec &spec, const Halide::Target &target, const TargetFacts &facts,
                                       int k) {
    if (!is_cpu(target) || spec.algo == Algo::Winograd) return {};
    return cpu::model_alternatives(spec, facts, default_choice(spec, target, facts), k);
}

int choose_weight_block(const LayerSpec &spec, const Halide::Target &target, const Choice &choice) {
    if (spec.kind != Kind::Pointwise && spec.kind != Kind::Dwsep) return 0;
    const Family *f = family_of(target);
    return f && f->weight_block ? f->weight_block(spec, choice) : 0;
}

void apply_schedule(Algorithm &alg, const Halide::Target &target, const Choice &choice) {
    const Family &f = family_for(alg.spec, target);
    if (alg.spec.algo == Algo::Winograd) f.winograd_apply(alg, choice, target);
    else f.apply[int(alg.spec.kind)](alg, choice, target);
    if (!target.has_gpu_feature() && count(alg.spec).flops < cpu::kMinParallelFlops) run_on_calling_thread(alg.output);
}

}  // namespace convgen
