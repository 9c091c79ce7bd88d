// The compile driver (see compile.h): for each (layer, target) build the algorithm, apply the
// schedule, and let Halide emit the object and header; then one runtime per architecture, the
// bundle library, the registry source and the manifest.
#include "compile.h"

#include "algorithms/algorithm.h"
#include "manifest.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <unistd.h>

namespace fs = std::filesystem;

namespace convgen {

namespace {

// FNV-1a of this convgen binary: a kernel made by another build of convgen is never reused.
std::string self_hash() {
    static std::string cached = [] {
        std::ifstream f("/proc/self/exe", std::ios::binary);
        uint64_t h = 1469598103934665603ull;
        char buf[1 << 16];
        while (f.read(buf, sizeof buf) || f.gcount() > 0) {
            for (std::streamsize i = 0; i < f.gcount(); i++) h = (h ^ uint8_t(buf[i])) * 1099511628211ull;
            if (!f) break;
        }
        char out[17];
        std::snprintf(out, sizeof out, "%016llx", (unsigned long long)h);
        return std::string(out);
    }();
    return cached;
}

std::string fingerprint(const LayerSpec &s, const ResolvedTarget &t, const GenerateOptions &o) {
    std::ostringstream f;
    f << "convgen " << convgen_version() << " " << self_hash() << "; halide " << halide_version() << "; " << to_text(s)
      << "; " << t.string << "; asm=" << o.assembly << " stmt=" << o.stmt;
    return f.str();
}

// A private scratch folder inside the output folder (same file system, so rename() is atomic).
struct ScratchDir {
    fs::path path;
    explicit ScratchDir(const fs::path &parent)
        : path(parent / (".convgen-tmp-" + std::to_string(getpid()))) {
        fs::remove_all(path);
        fs::create_directories(path);
    }
    ~ScratchDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

std::map<Halide::OutputFileType, std::string> kernel_outputs(const fs::path &dir, const std::string &key,
                                                             const GenerateOptions &o) {
    using OT = Halide::OutputFileType;
    std::map<OT, std::string> out{{OT::object, (dir / object_file(key)).string()},
                                  {OT::c_header, (dir / header_file(key)).string()}};
    if (o.assembly) out[OT::assembly] = (dir / (key + ".s")).string();
    if (o.stmt) out[OT::stmt] = (dir / (key + ".stmt")).string();
    return out;
}

// Compiles one kernel into `scratch`; returns its schedule source.
std::string compile_kernel(const LayerSpec &spec, const ResolvedTarget &target, const std::string &key,
                           const fs::path &scratch, const GenerateOptions &o) {
    Algorithm alg = build_algorithm(spec);
    ScheduleSource source = apply_schedule(alg, target.target);
    std::vector<Halide::Argument> args(alg.params.begin(), alg.params.end());
    // Kernels share one runtime per architecture (emitted separately below).
    Halide::Target t = target.target.with_feature(Halide::Target::NoRuntime);
    alg.output.compile_to(kernel_outputs(scratch, key, o), args, key, t);
    return to_string(source);
}

// Renames every file of from_dir into to_dir, `last` after all others (so a reader never sees a
// manifest that names files not yet in place).
void move_into(const fs::path &from_dir, const fs::path &to_dir, const std::string &last) {
    for (const auto &entry : fs::directory_iterator(from_dir))
        if (entry.path().filename() != last) fs::rename(entry.path(), to_dir / entry.path().filename());
    fs::rename(from_dir / last, to_dir / last);
}

void write_file(const fs::path &path, const std::string &content) {
    std::ofstream f(path, std::ios::binary);
    f << content;
    f.close();
    if (!f) throw SpecError("output: cannot write '" + path.string() + "'");
}

}  // namespace

GenerateResult generate(const std::vector<LayerSpec> &layers, const std::vector<ResolvedTarget> &targets,
                        const GenerateOptions &o) {
    const fs::path out(o.out_dir);
    std::error_code ec;
    fs::create_directories(out, ec);
    if (ec || !fs::is_directory(out)) throw SpecError("output: cannot create folder '" + o.out_dir + "': " + ec.message());

    // Kernels the previous run made with the same fingerprint are reused.
    std::map<std::string, std::string> previous;  // key -> fingerprint
    nlohmann::json old = read_manifest(o.out_dir, /*missing_ok=*/true);
    if (old.is_object() && old.contains("kernels"))
        for (const auto &k : old["kernels"])
            if (k.contains("key") && k.contains("fingerprint")) previous[k["key"]] = k["fingerprint"];

    GenerateResult result;
    ScratchDir scratch(out);
    std::map<std::string, Halide::Target> runtimes;  // runtime key -> target (union of GPU features)
    for (const ResolvedTarget &target : targets) {
        Halide::Target rt = runtime_target(target.target);
        auto it = runtimes.find(runtime_key(Halide::Target(rt.os, rt.arch, rt.bits)));
        if (it == runtimes.end()) runtimes[runtime_key(Halide::Target(rt.os, rt.arch, rt.bits))] = rt;
        else
            for (auto f : {Halide::Target::CUDA, Halide::Target::OpenCL})
                if (rt.has_feature(f)) it->second = it->second.with_feature(f);
        for (const LayerSpec &spec : layers) {
            KernelRecord rec{spec, target, kernel_key(spec, target.key), "", fingerprint(spec, target, o)};
            bool dup = false;
            for (const auto &k : result.kernels) dup |= k.key == rec.key;
            if (dup) continue;  // the same layer twice in a file (names may differ)
            auto prev = previous.find(rec.key);
            auto t0 = std::chrono::steady_clock::now();
            if (prev != previous.end() && prev->second == rec.fingerprint && fs::exists(out / object_file(rec.key)) &&
                fs::exists(out / header_file(rec.key))) {
                rec.reused = true;
                for (const auto &k : old["kernels"])
                    if (k["key"] == rec.key) rec.schedule = k.value("schedule", "hand");
            } else {
                try {
                    rec.schedule = compile_kernel(spec, target, rec.key, scratch.path, o);
                } catch (const Halide::Error &e) {
                    throw SpecError("halide: compiling " + rec.key + " failed: " + e.what());
                }
            }
            rec.compile_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            if (o.verbose)
                std::cerr << (rec.reused ? "reused   " : "compiled ") << rec.key << " (" << rec.schedule << ", "
                          << int(rec.compile_seconds * 1000) << " ms)\n";
            result.kernels.push_back(rec);
        }
    }

    // One runtime per architecture, then the bundle of everything.
    std::vector<std::string> members;
    for (const auto &k : result.kernels)
        members.push_back((fs::exists(scratch.path / object_file(k.key)) ? scratch.path : out) / object_file(k.key));
    for (const auto &[key, rt] : runtimes) {
        std::string file = "halide_runtime__" + key + ".o";
        Halide::compile_standalone_runtime((scratch.path / file).string(), rt);
        members.push_back((scratch.path / file).string());
        result.runtimes.emplace_back(rt.to_string(), file);
    }
    const std::string library = "lib" + o.bundle + ".a";
    Halide::create_static_library(members, targets.front().target, (scratch.path / library).string());
    write_file(scratch.path / "convgen_registry.c", registry_source(result, o));
    write_file(scratch.path / "manifest.json", manifest_json(result, o).dump(2) + "\n");
    move_into(scratch.path, out, "manifest.json");
    return result;
}

}  // namespace convgen
