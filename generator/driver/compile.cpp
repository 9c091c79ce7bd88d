// The compile driver (see compile.h): for each (layer, target) build the algorithm, apply the
// schedule, and let Halide emit the object and header; then one runtime per architecture, the
// bundle library, the registry source and the manifest.
#include "generator/driver/compile.h"

#include "generator/algorithms/algorithm.h"
#include "generator/driver/fault.h"
#include "generator/driver/manifest.h"
#include "generator/driver/process.h"

#include <fmt/core.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
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
        return fmt::format("{:016x}", h);
    }();
    return cached;
}

std::string fingerprint(const LayerSpec &s, const ResolvedTarget &t, const Schedule &sc, const GenerateOptions &o) {
    std::ostringstream f;
    f << "convgen " << convgen_version() << " " << self_hash() << "; halide " << halide_version() << "; " << to_text(s)
      << "; " << t.string << "; " << to_text(t.facts) << "; choice " << to_text(sc.choice);
    if (!sc.autoscheduler.empty()) f << "; autoscheduler " << sc.autoscheduler;
    f << "; asm=" << o.assembly
      << " stmt=" << o.stmt;
    return f.str();
}

// A private scratch folder inside the output folder (same file system, so rename() is atomic).
struct ScratchDir {
    static constexpr const char *kPrefix = ".convgen-tmp-";
    fs::path path;
    explicit ScratchDir(const fs::path &parent) : path(parent / (kPrefix + std::to_string(getpid()))) {
        remove_stale(parent);
        fs::remove_all(path);
        fs::create_directories(path);
    }
    // A generate that was killed (SIGKILL, power loss) never ran its destructor: remove the
    // scratch folders of processes that no longer exist. A live process's folder (another
    // generate into the same folder) is kept; kill(pid, 0) fails with ESRCH only for dead ones.
    // (Processes of another PID namespace writing into a shared folder look dead from here.)
    static void remove_stale(const fs::path &parent) {
        std::error_code ec;
        for (fs::directory_iterator it(parent, ec), end; !ec && it != end; it.increment(ec)) {
            const std::string name = it->path().filename().string();
            const std::string digits = name.substr(std::min(name.size(), std::strlen(kPrefix)));
            if (name.rfind(kPrefix, 0) != 0 || digits.empty() || digits.size() > 9 ||
                digits.find_first_not_of("0123456789") != std::string::npos)
                continue;
            const long pid = std::stol(digits);
            std::error_code rm;
            if (pid != long(getpid()) && kill(pid_t(pid), 0) != 0 && errno == ESRCH) fs::remove_all(it->path(), rm);
        }
    }
    ~ScratchDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

// File names relative to the current folder: Halide derives the header's include guard from the
// path it is given, so a relative name keeps headers identical from run to run.
std::map<Halide::OutputFileType, std::string> kernel_outputs(const std::string &key, const GenerateOptions &o) {
    using OT = Halide::OutputFileType;
    std::map<OT, std::string> out{{OT::object, object_file(key)}, {OT::c_header, header_file(key)}};
    if (o.assembly) out[OT::assembly] = key + ".s";
    if (o.stmt) out[OT::stmt] = key + ".stmt";
    return out;
}

// Halide's warnings about the schedules its autoschedulers write (storage folding they did not
// ask for) say nothing to a user comparing them: dropped; errors throw as Halide's own do.
struct QuietWarnings : Halide::CompileTimeErrorReporter {
    void warning(const char *) override {}
    [[noreturn]] void error(const char *msg) override { throw Halide::CompileError(msg); }
};

// Compiles one kernel into the current folder.
void compile_kernel(const KernelRecord &k, const GenerateOptions &o) {
    const LayerSpec &spec = k.spec;
    const ResolvedTarget &target = k.target;
    const std::string &key = k.key;
    if (fault_injected("compile", to_text(k.schedule.choice))) std::abort();
    Algorithm alg = build_algorithm(spec, k.schedule.autoscheduler.empty() && k.schedule.choice.plane);
    if (k.schedule.autoscheduler.empty()) apply_schedule(alg, target.target, k.schedule.choice);
    else {
        static QuietWarnings quiet;
        Halide::set_custom_compile_time_error_reporter(&quiet);
        apply_autoscheduler(alg, target.target, target.facts, k.schedule.autoscheduler);
    }
    std::vector<Halide::Argument> args(alg.params.begin(), alg.params.end());
    // Kernels share one runtime per architecture (emitted separately below).
    Halide::Target t = target.target.with_feature(Halide::Target::NoRuntime);
    alg.output.compile_to(kernel_outputs(key, o), args, key, t);
}

// Compiles kernels in child processes, `jobs` at a time. Each child starts with Halide's global
// name counters untouched, so a kernel's files never depend on what else was compiled (the
// second Func "output" of a process would be renamed), and a crash in one cannot take the tool
// down. A child reports "S" on success, or "E<message>" (bad input, SpecError) / "I<message>"
// (an internal error); a child that dies without a report is a ToolError. With keep_going a
// failure is noted in its KernelRecord::error and the others still compile.
void compile_all(std::vector<KernelRecord> &kernels, const std::vector<size_t> &todo, const fs::path &scratch,
                 const GenerateOptions &o) {
    struct Child {
        size_t index;
        pid_t pid;
        int fd;
        std::chrono::steady_clock::time_point start;
    };
    std::vector<Child> running;
    std::string bad_input, internal, died;
    auto reap = [&](Child c) {
        bool timed_out = false;
        if (o.compile_timeout_s > 0) {  // wait for the report until the child's deadline
            const auto deadline = c.start + std::chrono::duration<double>(o.compile_timeout_s);
            for (;;) {
                const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
                pollfd p{c.fd, POLLIN, 0};
                const int n = poll(&p, 1, int(std::max<int64_t>(0, left.count())));
                if (n > 0) break;
                if (n == 0) {
                    kill(c.pid, SIGKILL);
                    timed_out = true;
                    break;
                }
                if (errno != EINTR) break;
            }
        }
        std::string msg;
        char buf[4096];
        for (ssize_t n; (n = read(c.fd, buf, sizeof buf)) != 0;) {
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) break;
            msg.append(buf, size_t(n));
        }
        close(c.fd);
        int status = 0;
        while (waitpid(c.pid, &status, 0) < 0 && errno == EINTR) {
        }
        KernelRecord &rec = kernels[c.index];
        rec.compile_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - c.start).count();
        if (timed_out) {
            rec.error = "compiling " + rec.key + " took longer than " + std::to_string(int(o.compile_timeout_s)) + " s";
            if (died.empty()) died = rec.error;
        } else if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && !msg.empty() && msg[0] == 'S') {
            if (o.verbose)
                std::cerr << "compiled " << rec.key << " (" << to_string(rec.schedule.source) << " choice "
                          << to_text(rec.schedule.choice) << ", " << int(rec.compile_seconds * 1000) << " ms)\n";
        } else if (!msg.empty() && msg[0] == 'E') {
            rec.error = msg.substr(1);
            if (bad_input.empty()) bad_input = rec.error;
        } else if (msg.size() > 1) {
            rec.error = "compiling " + rec.key + " failed: " + msg.substr(1);
            if (internal.empty()) internal = rec.error;
        } else {
            ProcessResult r;
            r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
            r.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
            rec.error = "compiling " + rec.key + " failed: its compile process " + r.how() + " without a report";
            if (died.empty()) died = rec.error;
        }
    };
    const size_t jobs = size_t(std::max(1, o.jobs));
    for (size_t i = 0; i < todo.size(); i++) {
        if (running.size() >= jobs) {
            reap(running.front());
            running.erase(running.begin());
        }
        if (!o.keep_going && (!bad_input.empty() || !internal.empty() || !died.empty())) break;
        int fds[2];
        if (pipe(fds) != 0) throw std::runtime_error("pipe() failed");
        std::cout.flush();
        std::cerr.flush();
        const auto start = std::chrono::steady_clock::now();
        pid_t pid = fork();
        if (pid < 0) throw std::runtime_error("fork() failed");
        if (pid == 0) {
            close(fds[0]);
            std::string reply;
            try {
                if (chdir(scratch.c_str()) != 0) throw std::runtime_error("cannot enter " + scratch.string());
                compile_kernel(kernels[todo[i]], o);
                reply = "S";
            } catch (const SpecError &e) {
                reply = std::string("E") + e.what();
            } catch (const Halide::Error &e) {
                reply = std::string("I") + e.what();
            } catch (const std::exception &e) {
                reply = std::string("I") + e.what();
            }
            (void)!write(fds[1], reply.data(), reply.size());
            close(fds[1]);
            _exit(reply[0] == 'S' ? 0 : 1);
        }
        close(fds[1]);
        running.push_back({todo[i], pid, fds[0], start});
    }
    for (const Child &c : running) reap(c);
    if (o.keep_going) return;
    if (!bad_input.empty()) throw SpecError(bad_input);
    if (!died.empty()) throw ToolError(died);
    if (!internal.empty()) throw std::runtime_error(internal);
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

Specialized specialize(const LayerSpec &s, const ResolvedTarget &t, const std::string &choice, const TuningDb *db) {
    Specialized r{s, {}, ""};
    r.spec.algo = choose_algorithm(s, t.target);
    if (!choice.empty() || !db) {
        r.schedule = choose_schedule(r.spec, t.target, t.facts, choice);
    } else if (const TuningRecord *rec = db->find(record_layer(r.spec), t.string, host_cpu(t.facts.cores));
               rec && rec->default_choice != to_text(default_choice(r.spec, t.target, t.facts))) {
        // Proven against another default (the defaults or the machine facts changed since): the
        // proof says nothing about today's default, so the record is stale and the default stays.
        r.schedule = choose_schedule(r.spec, t.target, t.facts);
        r.stale = rec->where;
    } else if (rec) {
        try {
            r.schedule = choose_schedule(r.spec, t.target, t.facts, rec->choice, ScheduleSource::Tuned);
        } catch (const SpecError &e) {
            throw SpecError(rec->where + ": " + e.what());
        }
        r.record = rec->where;
    } else {
        r.schedule = choose_schedule(r.spec, t.target, t.facts);
    }
    r.spec.pw_block = choose_weight_block(r.spec, t.target, r.schedule.choice);
    return r;
}

GenerateResult generate(const std::vector<LayerSpec> &layers, const std::vector<ResolvedTarget> &targets,
                        const GenerateOptions &o) {
    std::vector<KernelRecord> kernels;
    for (const ResolvedTarget &target : targets)
        for (const LayerSpec &layer : layers) {
            Specialized sp = specialize(layer, target, o.choice, o.db);
            KernelRecord rec;
            rec.spec = sp.spec;
            rec.target = target;
            rec.key = kernel_key(sp.spec, target.key);
            rec.schedule = sp.schedule;
            rec.record = sp.record;
            if (!sp.stale.empty() && o.verbose)
                std::cerr << "stale tuning record " << sp.stale << " left out for " << rec.key
                          << ": proven against another default choice than " << to_text(sp.schedule.choice) << "\n";
            bool dup = false;
            for (const auto &k : kernels) dup |= k.key == rec.key;
            if (!dup) kernels.push_back(rec);  // the same layer twice in a file (names may differ)
        }
    return generate(std::move(kernels), o);
}

GenerateResult generate(std::vector<KernelRecord> kernels, const GenerateOptions &o) {
    const fs::path out(o.out_dir);
    std::error_code ec;
    fs::create_directories(out, ec);
    if (ec || !fs::is_directory(out)) throw SpecError("output: cannot create folder '" + o.out_dir + "': " + ec.message());

    // Kernels and runtimes the previous run made with the same fingerprint are reused.
    std::map<std::string, std::string> previous;  // key or runtime object -> fingerprint
    nlohmann::json old = read_manifest(o.out_dir, /*missing_ok=*/true);
    if (old.is_object() && old.contains("kernels"))
        for (const auto &k : old["kernels"])
            if (k.contains("key") && k.contains("fingerprint")) previous[k["key"]] = k["fingerprint"];
    if (old.is_object() && old.contains("runtimes"))
        for (const auto &r : old["runtimes"])
            if (r.contains("object") && r.contains("fingerprint")) previous[r["object"]] = r["fingerprint"];
    // `id`: a kernel's key or a runtime's object file, as the manifest names them.
    auto reuse = [&](const std::string &id, const std::string &file, const std::string &fp, const fs::path &scratch) {
        auto prev = previous.find(id);
        if (prev == previous.end() || prev->second != fp || !fs::exists(out / file)) return false;
        // Every member of the bundle must sit in one folder (create_static_library).
        fs::copy_file(out / file, scratch / file);
        return true;
    };

    GenerateResult result;
    std::vector<size_t> todo;  // indices of kernels to compile
    ScratchDir scratch(out);
    std::map<std::string, Halide::Target> runtimes;  // runtime key -> target (union of GPU features)
    for (KernelRecord &rec : kernels) {
        const Halide::Target rt = runtime_target(rec.target.target);
        const std::string rkey = runtime_key(Halide::Target(rt.os, rt.arch, rt.bits));
        auto it = runtimes.find(rkey);
        if (it == runtimes.end()) runtimes[rkey] = rt;
        else
            for (auto f : {Halide::Target::CUDA, Halide::Target::OpenCL})
                if (rt.has_feature(f)) it->second = it->second.with_feature(f);
        rec.fingerprint = fingerprint(rec.spec, rec.target, rec.schedule, o);
        if (fs::exists(out / header_file(rec.key)) && reuse(rec.key, object_file(rec.key), rec.fingerprint, scratch.path)) {
            rec.reused = true;
            if (o.verbose) std::cerr << "reused   " << rec.key << "\n";
        } else {
            todo.push_back(result.kernels.size());
        }
        result.kernels.push_back(rec);
    }
    if (result.kernels.empty()) throw SpecError("generate: no kernels to compile");
    compile_all(result.kernels, todo, scratch.path, o);
    for (auto it = result.kernels.begin(); it != result.kernels.end();) {  // keep_going's failures
        if (it->error.empty()) {
            ++it;
            continue;
        }
        result.failed.push_back(*it);
        it = result.kernels.erase(it);
    }
    if (result.kernels.empty()) throw ToolError("generate: every kernel failed to compile; the first: " + result.failed[0].error);

    // One runtime per architecture, then the bundle of everything.
    std::vector<std::string> members;
    for (const auto &k : result.kernels) members.push_back((scratch.path / object_file(k.key)).string());
    try {
        for (const auto &[key, rt] : runtimes) {
            const std::string file = "halide_runtime__" + key + ".o";
            const std::string fp = "convgen " + self_hash() + "; halide " + halide_version() + "; " + rt.to_string();
            if (!reuse(file, file, fp, scratch.path)) Halide::compile_standalone_runtime((scratch.path / file).string(), rt);
            else if (o.verbose) std::cerr << "reused   " << file << "\n";
            members.push_back((scratch.path / file).string());
            result.runtimes.push_back({rt.to_string(), file, fp});
        }
        const std::string library = "lib" + o.bundle + ".a";
        Halide::create_static_library(members, result.kernels.front().target.target, (scratch.path / library).string());
    } catch (const Halide::Error &e) {
        throw std::runtime_error(std::string("halide: ") + e.what());
    }
    write_file(scratch.path / "convgen_registry.c", registry_source(result, o));
    write_file(scratch.path / "manifest.json", manifest_json(result, o).dump(2) + "\n");
    move_into(scratch.path, out, "manifest.json");
    return result;
}

}  // namespace convgen
