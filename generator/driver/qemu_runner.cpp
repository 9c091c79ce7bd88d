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
#include <sys/wait.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace convgen {

namespace {

// The runner's main: plain C against the runtime's public API and the generated registry.
const char *const kRunnerMain = R"C(/* convgen's aarch64 runner (written by generator/qemu_runner.cpp). */
#include <convgen/convgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_PARAMS = 32 };

static int read_tensor(FILE *spec, char *file, convgen_tensor *t) {
    memset(t, 0, sizeof *t);
    if (fscanf(spec, "%1023s %d", file, &t->ndim) != 2 || t->ndim < 0 || t->ndim > CONVGEN_MAX_DIMS) return 0;
    long long count = 1;
    for (int i = 0; i < t->ndim; i++) {
        long long d;
        if (fscanf(spec, "%lld", &d) != 1) return 0;
        t->dims[i] = d;
        count *= d;
    }
    t->dtype = CONVGEN_F32;
    t->layout = t->ndim == 4 ? CONVGEN_LAYOUT_OIHW : CONVGEN_LAYOUT_X;
    t->data = calloc((size_t)(count > 0 ? count : 1), sizeof(float));
    return t->data != NULL;
}

static int load(const char *file, convgen_tensor *t, int write) {
    size_t count = 1;
    for (int i = 0; i < t->ndim; i++) count *= (size_t)t->dims[i];
    FILE *f = fopen(file, write ? "wb" : "rb");
    if (!f) return 0;
    size_t done = write ? fwrite(t->data, sizeof(float), count, f) : fread(t->data, sizeof(float), count, f);
    return (fclose(f) == 0) & (done == count);
}

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: %s SPEC\n", argv[0]); return 1; }
    FILE *spec = fopen(argv[1], "r");
    if (!spec) { perror(argv[1]); return 1; }
    char word[64], key[1024], file[1024], out_file[1024] = "";
    char names[MAX_PARAMS][256];
    float eps = 1e-5f;
    convgen_tensor input, output;
    convgen_named_tensor params[MAX_PARAMS];
    int nparams = 0, ok = 1;
    while (ok && fscanf(spec, "%63s", word) == 1) {
        if (!strcmp(word, "key")) ok = fscanf(spec, "%1023s", key) == 1;
        else if (!strcmp(word, "eps")) ok = fscanf(spec, "%f", &eps) == 1;
        else if (!strcmp(word, "input")) ok = read_tensor(spec, file, &input) && load(file, &input, 0);
        else if (!strcmp(word, "output")) ok = read_tensor(spec, out_file, &output);
        else if (!strcmp(word, "param") && nparams < MAX_PARAMS) {
            ok = fscanf(spec, "%255s", names[nparams]) == 1 && read_tensor(spec, file, &params[nparams].tensor) &&
                 load(file, &params[nparams].tensor, 0);
            params[nparams].name = names[nparams];
            nparams++;
        } else ok = 0;
    }
    fclose(spec);
    if (!ok || !out_file[0]) { fprintf(stderr, "runner: bad spec or data file near '%s'\n", word); return 1; }

    const convgen_kernel *k = convgen_find_kernel(key);
    convgen_params *p = NULL;
    convgen_status st = k ? convgen_prepare_params(k, params, nparams, eps, &p) : CONVGEN_ERROR_NOT_FOUND;
    if (st == CONVGEN_OK) {
        input.layout = output.layout = k->layer.layout;
        st = convgen_run(k, p, &input, &output);
        convgen_params_free(p);
    }
    if (st != CONVGEN_OK) { fprintf(stderr, "%s\n", convgen_last_error()); return 2; }
    if (!load(out_file, &output, 1)) { perror(out_file); return 1; }
    return 0;
}
)C";

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

#ifndef CONVGEN_RUNTIME_SOURCE_DIR
#define CONVGEN_RUNTIME_SOURCE_DIR ""
#endif
#ifndef CONVGEN_HALIDE_INCLUDE_DIR
#define CONVGEN_HALIDE_INCLUDE_DIR ""
#endif

// Builds DIR/runner_aarch64 unless it is newer than the bundle.
fs::path build_runner(const fs::path &dir, const std::string &cc) {
    const fs::path exe = dir / "runner_aarch64", lib = dir / "libconvgen_kernels.a";
    std::error_code ec;
    if (fs::exists(exe) && fs::last_write_time(lib, ec) <= fs::last_write_time(exe, ec)) return exe;

    const fs::path rt = env_or("CONVGEN_RUNTIME_SRC", CONVGEN_RUNTIME_SOURCE_DIR);
    const fs::path halide_inc = env_or("CONVGEN_HALIDE_INCLUDE", CONVGEN_HALIDE_INCLUDE_DIR);
    if (rt.empty() || !fs::exists(rt / "include" / "convgen" / "convgen.h") || !fs::is_directory(rt / "src"))
        throw SpecError("run: the convgen runtime sources are not at '" + rt.string() +
                        "' (set CONVGEN_RUNTIME_SRC to the runtime/ folder of convgen's source tree)");
    if (!fs::exists(halide_inc / "HalideRuntime.h"))
        throw SpecError("run: HalideRuntime.h is not in '" + halide_inc.string() +
                        "' (set CONVGEN_HALIDE_INCLUDE to the include folder of Halide)");
    std::ofstream(dir / "runner_main.c") << kRunnerMain;

    std::vector<std::string> cmd = {cc, "-std=c11", "-O2", "-static", "-o", exe.string() + ".tmp",
                                    "-I" + (rt / "include").string(), "-I" + halide_inc.string(),
                                    (dir / "runner_main.c").string(), (dir / "convgen_registry.c").string()};
    for (const auto &e : fs::directory_iterator(rt / "src"))
        if (e.path().extension() == ".c") cmd.push_back(e.path().string());
    cmd.insert(cmd.end(), {lib.string(), "-lpthread", "-lm", "-ldl"});
    check_process(cmd, "run: linking the aarch64 runner");
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
