// Target table and resolution (see targets.h).
#include "generator/driver/targets.h"

#include "generator/spec/layer_spec.h"
#include "schedules/schedule.h"

#include <algorithm>

namespace convgen {

const std::vector<TargetRow> &target_table() {
    // Best first: `host` takes the first row whose features this machine has.
    static const std::vector<TargetRow> rows = {
        {"x86_avx512", "x86-64-linux-avx512_skylake", "x86-64 with AVX-512 (F, CD, BW, DQ, VL) and FMA"},
        {"x86_avx2", "x86-64-linux-avx2-fma", "x86-64 with AVX2 and FMA"},
        {"x86_sse41", "x86-64-linux-sse41", "x86-64 baseline with SSE4.1"},
        {"cuda", "x86-64-linux-cuda-cuda_capability_80", "NVIDIA GPU (sm_80+, PTX JIT-compiled on newer) with an x86-64 host"},
        {"arm64", "arm-64-linux", "AArch64 with NEON (runs under qemu-aarch64 here)"},
        {"arm64_dotprod", "arm-64-linux-arm_dot_prod", "AArch64 with NEON and the dot-product extension"},
    };
    return rows;
}

namespace {

// 64-bit Linux, with schedules for the family (schedules/select.cpp).
bool supported_family(const Halide::Target &t) {
    return t.bits == 64 && t.os == Halide::Target::Linux && has_schedules(t);
}

std::string key_from_string(std::string s) {
    std::replace(s.begin(), s.end(), '-', '_');
    const std::string prefix = "x86_64_linux";
    if (s.rfind(prefix, 0) == 0) s = "x86" + s.substr(prefix.size());
    return s;
}

std::string supported_list() {
    std::string s;
    for (const TargetRow &row : target_table()) s += (s.empty() ? "" : ", ") + std::string(row.halide);
    return s + ", or variants of them";
}

ResolvedTarget make(const Halide::Target &t) {
    ResolvedTarget r{t, t.to_string(), "", default_facts(t)};
    for (const TargetRow &row : target_table())
        if (Halide::Target(row.halide) == t) r.key = row.key;
    if (r.key.empty()) r.key = key_from_string(r.string);
    return r;
}

}  // namespace

ResolvedTarget resolve_target(const std::string &text) {
    if (text == "host") {
        const Halide::Target host = Halide::get_host_target();
        for (const TargetRow &row : target_table()) {
            Halide::Target t(row.halide);
            bool ok = t.arch == host.arch && t.os == host.os && t.bits == host.bits;
            for (int f = 0; ok && f < Halide::Target::FeatureEnd; f++)
                if (t.has_feature(Halide::Target::Feature(f)) && !host.has_feature(Halide::Target::Feature(f))) ok = false;
            if (!ok) continue;
            ResolvedTarget r = make(t);
            r.facts = host_facts(t);
            return r;
        }
        throw SpecError("target: host (" + host.to_string() + ") matches no supported target");
    }
    for (const TargetRow &row : target_table())
        if (text == row.key) return make(Halide::Target(row.halide));
    if (!Halide::Target::validate_target_string(text))
        throw SpecError("target: '" + text + "' is not a valid Halide target string (e.g. host, x86-64-linux-avx2-fma)");
    Halide::Target t(text);
    if (t.has_feature(Halide::Target::NoRuntime)) t = t.without_feature(Halide::Target::NoRuntime);
    if (!supported_family(t))
        throw SpecError("target: '" + text + "' is not supported (supported: " + supported_list() + ")");
    return make(t);
}

std::vector<ResolvedTarget> resolve_targets(const std::string &list) {
    std::vector<ResolvedTarget> out;
    size_t start = 0;
    while (start <= list.size()) {
        size_t comma = list.find(',', start);
        std::string item = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        if (item.empty()) throw SpecError("target: empty entry in '" + list + "'");
        ResolvedTarget r = resolve_target(item);
        bool dup = std::any_of(out.begin(), out.end(), [&](const ResolvedTarget &o) { return o.key == r.key; });
        if (!dup) out.push_back(r);
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    return out;
}

Halide::Target runtime_target(const Halide::Target &t) {
    Halide::Target r(t.os, t.arch, t.bits);
    // GPU runtimes are part of the host runtime: keep those features, drop ISA ones.
    for (auto f : {Halide::Target::CUDA, Halide::Target::OpenCL})
        if (t.has_feature(f)) r = r.with_feature(f);
    return r;
}

std::string runtime_key(const Halide::Target &runtime) {
    std::string s = runtime.to_string();
    std::replace(s.begin(), s.end(), '-', '_');
    return s;
}

}  // namespace convgen
