// run_under_qemu (see qemu_runner.h).
//
// Files, in the kernel's cache folder DIR:
//   DIR/runner_aarch64        the static aarch64 runner (rebuilt when the bundle is newer)
//   DIR/qemu-<pid>/           one run's exchange folder, removed afterwards:
//     spec.txt                what the runner reads, one item a line:
//                               key <kernel key>
//                               eps <BatchNorm epsilon>
//                               input <file> <ndim> <dims...>
//                               param <name> <file> <ndim> <dims...>    (any number)
//                               output <file> <ndim> <dims...>
//     *.f32                   raw little-endian float32 data, row-major
// The runner exits 0 on success, 2 when a convgen call fails (its message on stderr), else 1.
#include "generator/driver/qemu_runner.h"

#include "generator/driver/compile.h"
#include "generator/driver/process.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <sstream>
#include <vector>
#include <unistd.h>

namespace fs = std::filesystem;

namespace convgen {

namespace {

std::string env_or(const char *name, const std::string &fallback) {
    const char *v = std::getenv(name);
    return v && *v ? std::string(v) : fallback;
}

// The full path of `tool` (a name looked up on PATH, or a path), or "" when it is not there.
std::string find_tool(const std::string &tool) {
    if (tool.find('/') != std::string::npos) return access(tool.c_str(), X_OK) == 0 ? tool : "";
    std::istringstream path(env_or("PATH", "/usr/bin:/bin"));
    for (std::string dir; std::getline(path, dir, ':');) {
        const std::string p = (dir.empty() ? "." : dir) + "/" + tool;
        if (access(p.c_str(), X_OK) == 0) return p;
    }
    return "";
}

std::string need_tool(const char *env, const std::string &name, const char *package) {
    const std::string tool = env_or(env, name);
    const std::string path = find_tool(tool);
    if (path.empty())
        throw ToolError("run: " + tool + " not found (needed to run ARM kernels here; install the Debian package " +
                        package + ", or set " + env + ")");
    return path;
}

#ifndef CONVGEN_AARCH64_BUILD_PREFIX
#define CONVGEN_AARCH64_BUILD_PREFIX ""
#endif
#ifndef CONVGEN_INSTALL_LIBDIR
#define CONVGEN_INSTALL_LIBDIR "lib"
#endif

// The prefix of the aarch64 runtime and runner built with convgen (cmake/convgen_aarch64.cmake):
// $CONVGEN_AARCH64_PREFIX when set, else beside an installed convgen (<bin>/../<libdir>/convgen/aarch64),
// else the build tree's.
fs::path aarch64_prefix() {
    std::vector<fs::path> candidates;
    if (const char *env = std::getenv("CONVGEN_AARCH64_PREFIX"); env && *env) {
        candidates.push_back(env);
    } else {
        std::error_code ec;
        const fs::path self = fs::read_symlink("/proc/self/exe", ec);
        if (!ec) candidates.push_back(self.parent_path().parent_path() / CONVGEN_INSTALL_LIBDIR / "convgen" / "aarch64");
        candidates.push_back(CONVGEN_AARCH64_BUILD_PREFIX);
    }
    std::string tried;
    for (const fs::path &p : candidates) {
        if (p.empty()) continue;
        if (fs::exists(p / "lib" / "libconvgen_runtime.a") && fs::exists(p / "lib" / "libconvgen_arm_runner.a") &&
            fs::exists(p / "include" / "convgen" / "convgen.h"))
            return p;
        tried += (tried.empty() ? "" : ", ") + p.string();
    }
    throw ToolError("run: the aarch64 runtime (lib/libconvgen_runtime.a, lib/libconvgen_arm_runner.a) is in none of " +
                    tried + " (build convgen where aarch64-linux-gnu-gcc is installed, or set CONVGEN_AARCH64_PREFIX)");
}

// Links DIR/runner_aarch64 unless it is newer than the bundle and the aarch64 libraries: the
// prebuilt runner main and runtime, the kernel's bundle and its registry (the one file compiled).
fs::path build_runner(const fs::path &dir, const std::string &cc) {
    const fs::path exe = dir / "runner_aarch64", bundle = dir / "libconvgen_kernels.a";
    const fs::path prefix = aarch64_prefix();
    const fs::path runtime = prefix / "lib" / "libconvgen_runtime.a", runner = prefix / "lib" / "libconvgen_arm_runner.a";
    std::error_code ec;
    if (fs::exists(exe)) {
        const auto built = fs::last_write_time(exe, ec);
        if (fs::last_write_time(bundle, ec) <= built && fs::last_write_time(runtime, ec) <= built &&
            fs::last_write_time(runner, ec) <= built)
            return exe;
    }
    check_process({cc, "-std=c11", "-O2", "-static", "-o", exe.string() + ".tmp", "-I" + (prefix / "include").string(),
                   (dir / "convgen_registry.c").string(), "-Wl,--start-group", runner.string(), bundle.string(),
                   runtime.string(), "-Wl,--end-group", "-lpthread", "-lm", "-ldl"},
                  "run: linking the aarch64 runner");
    fs::rename(exe.string() + ".tmp", exe);
    return exe;
}

void write_f32(const fs::path &file, const Tensor &t) {
    std::ofstream f(file, std::ios::binary);
    f.write(reinterpret_cast<const char *>(t.data.data()), std::streamsize(t.data.size() * sizeof(float)));
    if (!f) throw SpecError("run: cannot write '" + file.string() + "'");
}

std::string dims(const std::vector<int64_t> &shape) {
    std::string s = std::to_string(shape.size());
    for (int64_t d : shape) s += " " + std::to_string(d);
    return s;
}

// A scratch folder removed when the run ends (whatever happens).
struct Exchange {
    fs::path path;
    explicit Exchange(const fs::path &dir) : path(dir / ("qemu-" + std::to_string(getpid()))) {
        fs::remove_all(path);
        fs::create_directories(path);
    }
    ~Exchange() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

}  // namespace

bool needs_emulator(const Halide::Target &t) {
    return t.arch == Halide::Target::ARM && Halide::get_host_target().arch != Halide::Target::ARM;
}

Tensor run_under_qemu(const LayerSpec &spec, const ResolvedTarget &target, const std::string &dir,
                      const Tensor &input, const NamedTensors &params) {
    // Fail fast, before compiling anything, when a tool is missing.
    const std::string cc = need_tool("CONVGEN_AARCH64_CC", "aarch64-linux-gnu-gcc", "gcc-aarch64-linux-gnu");
    const std::string qemu = need_tool("CONVGEN_QEMU_AARCH64", "qemu-aarch64", "qemu-user");

    GenerateOptions g;
    g.out_dir = dir;
    g.bundle = "convgen_kernels";
    generate({spec}, {target}, g);
    const fs::path exe = build_runner(dir, cc);

    Exchange x(dir);
    std::ostringstream s;
    s << std::setprecision(9) << "key " << kernel_key(spec, target.key) << "\neps " << spec.eps << "\n";
    write_f32(x.path / "input.f32", input);
    s << "input " << (x.path / "input.f32").string() << " " << dims(input.shape) << "\n";
    int i = 0;
    for (const auto &[name, t] : params) {
        if (name.empty() || name.size() > 255 || name.find_first_of(" \t\n\r") != std::string::npos)
            throw SpecError("run: parameter name '" + name + "' is empty, too long or has blanks");
        const fs::path file = x.path / ("param" + std::to_string(i++) + ".f32");
        write_f32(file, t);
        s << "param " << name << " " << file.string() << " " << dims(t.shape) << "\n";
    }
    Tensor out{kernel_args(spec).back().shape, {}};
    s << "output " << (x.path / "output.f32").string() << " " << dims(out.shape) << "\n";
    std::ofstream(x.path / "spec.txt") << s.str();

    const std::string sysroot = env_or("CONVGEN_QEMU_LD_PREFIX", "/usr/aarch64-linux-gnu");
    const std::vector<std::string> cmd = {qemu, "-L", sysroot, exe.string(), (x.path / "spec.txt").string()};
    std::fprintf(stderr, "running under qemu-aarch64: %s\n", command_line(cmd).c_str());
    const ProcessResult r = run_process(cmd);
    if (!r.ok()) {
        // Exit 2: a convgen call refused the data (e.g. a parameter's shape): bad input.
        if (r.spawn_errno == 0 && r.signal == 0 && r.exit_code == 2)
            throw SpecError("run: " + r.output.substr(0, r.output.find('\n')));
        throw ToolError(tool_failure(cmd, r, "run: the aarch64 runner"));
    }
    int64_t count = 1;
    for (int64_t d : out.shape) count *= d;
    out.data.resize(size_t(count));
    std::ifstream f(x.path / "output.f32", std::ios::binary);
    f.read(reinterpret_cast<char *>(out.data.data()), std::streamsize(out.data.size() * sizeof(float)));
    if (f.gcount() != std::streamsize(out.data.size() * sizeof(float)))
        throw SpecError("run: the aarch64 runner wrote a short output");
    return out;
}

}  // namespace convgen
