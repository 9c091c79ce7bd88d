// The convgen subcommands: info, generate, run, check, targets (see README.md, "Command line").
// Bad input throws SpecError; main.cpp prints its one line and exits with status 2.
#include "generator/driver/commands.h"

#include "generator/driver/compile.h"
#include "generator/import/model.h"
#include "convgen/convgen.h"
#include "generator/spec/layer_spec.h"
#include "generator/driver/loader.h"
#include "generator/driver/manifest.h"
#include "generator/spec/npy.h"
#include "generator/harness/prepared_call.h"
#include "generator/driver/qemu_runner.h"
#include "generator/spec/reference.h"
#include "generator/harness/runtime_bridge.h"
#include "generator/driver/targets.h"
#include "generator/driver/measure.h"
#include "generator/driver/tune.h"
#include "generator/driver/export.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>
#include <fmt/core.h>
#include <nlohmann/json.hpp>
#include <sstream>

namespace fs = std::filesystem;
extern char **environ;

namespace convgen {

namespace {

Layout layout_option(const std::string &value) {
    if (value == "nchw") return Layout::NCHW;
    if (value == "nhwc") return Layout::NHWC;
    throw SpecError("--layout: '" + value + "' is not nchw or nhwc");
}

// Runs convgen-mlir-import (MLIR lives in a program of its own: generator/import/mlir_main.cpp),
// from $CONVGEN_MLIR_IMPORT or convgen's own folder, with `args`; its stdout goes to `out_path`
// ("" keeps ours). Its one-line error becomes ours.
void run_mlir_import(const std::vector<std::string> &args, const std::string &out_path) {
    std::string tool;
    if (const char *t = std::getenv("CONVGEN_MLIR_IMPORT"); t && *t) tool = t;
    else tool = (fs::read_symlink("/proc/self/exe").parent_path() / "convgen-mlir-import").string();
    if (!fs::exists(tool))
        throw SpecError(args.at(0) + ": .mlir import needs " + tool + " (built when libmlir-19-dev and llvm-19-dev are found)");
    const std::string err = (fs::temp_directory_path() / ("convgen-mlir-" + std::to_string(getpid()) + ".err")).string();
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    if (!out_path.empty()) posix_spawn_file_actions_addopen(&fa, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    std::vector<char *> argv{const_cast<char *>(tool.c_str())};
    for (const std::string &a : args) argv.push_back(const_cast<char *>(a.c_str()));
    argv.push_back(nullptr);
    std::cout.flush();
    pid_t pid = 0;
    const int rc = posix_spawn(&pid, tool.c_str(), &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    int status = 0;
    if (rc != 0 || waitpid(pid, &status, 0) < 0) {
        fs::remove(err);
        throw std::runtime_error("cannot run " + tool + ": " + std::strerror(rc ? rc : errno));
    }
    std::ifstream in(err);
    std::string msg;
    std::getline(in, msg);
    fs::remove(err);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return;
    const std::string prefix = "convgen-mlir-import: error: ";
    if (WIFEXITED(status) && WEXITSTATUS(status) == 2 && msg.rfind(prefix, 0) == 0) throw SpecError(msg.substr(prefix.size()));
    throw std::runtime_error(tool + " failed (status " + std::to_string(status) + "): " + msg);
}

// The layers of a model file (generator/import/model.h), by its extension. MLIR files carry no
// parameters convgen reads: their layers come without.
ImportResult import_model(const std::string &path, int batch, Layout layout) {
    if (batch < 0) throw SpecError("--batch: " + std::to_string(batch) + " must be >= 1");
    ImportOptions o;
    o.batch = batch;
    o.layout = layout;
    const std::string ext = fs::path(path).extension().string();
    if (ext == ".onnx") return classify(read_onnx(path, o), o);
    if (ext == ".mlir") {
        const std::string json = (fs::temp_directory_path() / ("convgen-mlir-" + std::to_string(getpid()) + ".json")).string();
        std::vector<std::string> args{path, "-o", json, "--layout", to_string(layout)};
        if (batch > 0) args.insert(args.end(), {"--batch", std::to_string(batch)});
        ImportResult r;
        r.file = path;
        try {
            run_mlir_import(args, "/dev/null");
            for (const LayerSpec &s : parse_layer_file(json)) r.layers.push_back({s, {s.name}, {}});
        } catch (...) {
            fs::remove(json);
            throw;
        }
        fs::remove(json);
        return r;
    }
    throw SpecError(path + ": unknown model format '" + ext + "' (expected .onnx or .mlir)");
}

std::vector<LayerSpec> load_layers(const LayerSource &src) {
    if (int(!src.layer.empty()) + int(!src.layers_file.empty()) + int(!src.model.empty()) != 1)
        throw SpecError("give exactly one of --layer, --layers or --model");
    if (src.batch != 0 && src.model.empty()) throw SpecError("--batch is only for --model");
    std::vector<LayerSpec> layers;
    if (!src.model.empty()) {
        for (const ImportedLayer &l : import_model(src.model, src.batch, Layout::NCHW).layers) layers.push_back(l.spec);
        if (layers.empty()) throw SpecError(src.model + ": the model has no convolution convgen imports (see convgen import)");
    } else {
        layers = src.layer.empty() ? parse_layer_file(src.layers_file) : std::vector<LayerSpec>{parse_layer(src.layer)};
    }
    for (LayerSpec &s : layers) s = with_overrides(s, src.sets);
    return layers;
}

// A layer name as a file name: letters, digits, '.', '-' kept, anything else '_'.
std::string file_stem(const std::string &name) {
    std::string s;
    for (char ch : name) s += std::isalnum((unsigned char)ch) || ch == '.' || ch == '-' ? ch : '_';
    const size_t b = s.find_first_not_of('_');
    return b == std::string::npos ? "layer" : s.substr(b);
}

std::string dims_str(const std::vector<int64_t> &shape) {
    std::string s;
    for (size_t i = 0; i < shape.size(); i++) s += (i ? "x" : "") + std::to_string(shape[i]);
    return s;
}

nlohmann::json info_json(const LayerSpec &s) {
    const Counts c = count(s);
    const auto args = kernel_args(s);
    return {{"name", s.name},
            {"spec", to_text(s)},
            {"input", {{"shape", args.front().shape}, {"layout", args.front().layout}}},
            {"output", {{"shape", args.back().shape}, {"layout", args.back().layout}}},
            {"params", c.params},
            {"params_with_bias", c.params_with_bias},
            {"macs", c.macs},
            {"flops", c.flops},
            {"bytes", c.bytes},
            {"intensity", c.intensity}};
}

void check_status(convgen_status st, const std::string &what) {
    if (st != CONVGEN_OK) throw SpecError(what + ": " + convgen_last_error());
}

// Generates (or reuses) the kernels of `layers` for one target in `dir` and loads them.
std::unique_ptr<LoadedBundle> build_and_load(const std::vector<LayerSpec> &layers, const ResolvedTarget &target,
                                             const std::string &dir, bool verbose, const std::string &choice,
                                             const TuningDb *db) {
    GenerateOptions g;
    g.choice = choice;
    g.db = db;
    g.out_dir = dir;
    g.bundle = "convgen_kernels";
    g.verbose = verbose;
    generate(layers, {target}, g);
    return std::make_unique<LoadedBundle>(dir);
}

std::string default_cache_dir() {
    if (const char *x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/convgen";
    if (const char *h = std::getenv("HOME"); h && *h) return std::string(h) + "/.cache/convgen";
    return "/tmp/convgen-cache";
}

}  // namespace

int cmd_info(const InfoOptions &o) {
    const std::vector<LayerSpec> layers = load_layers(o.src);
    if (o.json) {
        nlohmann::json out = nlohmann::json::array();
        for (const LayerSpec &s : layers) out.push_back(info_json(s));
        std::cout << (o.src.layer.empty() ? out : out[0]).dump(2) << "\n";
        return 0;
    }
    for (const LayerSpec &s : layers) {
        const Counts c = count(s);
        const auto args = kernel_args(s);
        if (!s.name.empty()) std::cout << "name:      " << s.name << "\n";
        std::cout << "layer:     " << to_text(s) << "\n"
                  << "input:     " << dims_str(args.front().shape) << " (" << args.front().layout << ")\n"
                  << "output:    " << dims_str(args.back().shape) << " (" << args.back().layout << ")\n"
                  << "params:    " << c.params << " (with bias " << c.params_with_bias << ")\n"
                  << "MACs:      " << c.macs << "\n"
                  << "FLOPs:     " << c.flops << "\n"
                  << "bytes:     " << c.bytes << " (minimal: input, weights, biases, output)\n";
        std::cout << "intensity: " << fmt::format("{:.3f}", c.intensity) << " FLOP/byte\n\n";
    }
    return 0;
}

int cmd_generate(const GenerateCliOptions &o) {
    const std::vector<LayerSpec> layers = load_layers(o.src);
    const std::vector<ResolvedTarget> targets = resolve_targets(o.targets);
    GenerateOptions g;
    g.out_dir = o.out_dir;
    g.bundle = o.bundle;
    g.assembly = o.assembly;
    g.stmt = o.stmt;
    g.verbose = o.verbose;
    g.jobs = o.jobs;
    g.choice = o.choice;
    const std::optional<TuningDb> db = TuningDb::from_option(o.db);
    g.db = db ? &*db : nullptr;
    if (g.jobs < 1) throw SpecError("--jobs: " + std::to_string(g.jobs) + " must be >= 1");
    bool identifier = !g.bundle.empty() && !std::isdigit((unsigned char)g.bundle[0]);
    for (char ch : g.bundle) identifier &= std::isalnum((unsigned char)ch) || ch == '_';
    if (!identifier) throw SpecError("--bundle: '" + g.bundle + "' must be a C identifier (letters, digits, _)");
    const GenerateResult r = generate(layers, targets, g);
    int reused = 0;
    for (const auto &k : r.kernels) reused += k.reused;
    std::cout << "generated " << r.kernels.size() << " kernel(s) (" << reused << " reused) for " << targets.size()
              << " target(s) into " << o.out_dir << " (manifest.json, lib" << g.bundle << ".a, convgen_registry.c)\n";
    if (!o.src.model.empty()) {
        // The model's weights beside the kernels: params/<layer>.npz (convgen run --params) and
        // the imported layer file (--layers), both under the layers' names.
        ImportResult imp = import_model(o.src.model, o.src.batch, Layout::NCHW);
        for (ImportedLayer &l : imp.layers) l.spec = with_overrides(l.spec, o.src.sets);
        fs::create_directories(fs::path(o.out_dir) / "params");
        int written = 0;
        for (const ImportedLayer &l : imp.layers) {
            if (l.params.empty()) continue;
            write_npz((fs::path(o.out_dir) / "params" / (file_stem(l.spec.name) + ".npz")).string(), l.params);
            written++;
        }
        write_file_atomic((fs::path(o.out_dir) / "layers.json").string(), layers_json(imp).dump(2) + "\n");
        std::cout << "wrote " << written << " parameter file(s) into " << (fs::path(o.out_dir) / "params").string()
                  << " and the layer file " << (fs::path(o.out_dir) / "layers.json").string() << "\n";
    }
    return 0;
}

int cmd_run(const RunOptions &o) {
    const ResolvedTarget target = resolve_target(o.target);
    LayerSpec layer;
    NamedTensors params;
    if (!o.model.empty()) {  // the model's layer and its weights
        if (!o.layer.empty() || !o.params.empty()) throw SpecError("run: --model takes --layer-name, not --layer or --params");
        if (o.layer_name.empty()) throw SpecError("run: --model needs --layer-name (convgen import lists the names)");
        const ImportResult imp = import_model(o.model, o.batch, layout_option(o.layout));
        const ImportedLayer *found = nullptr;
        std::string names;
        for (const ImportedLayer &l : imp.layers) {
            if (l.spec.name == o.layer_name && !found) found = &l;
            if (names.size() < 200) names += (names.empty() ? "" : ", ") + l.spec.name;
        }
        if (!found) throw SpecError("run: --layer-name '" + o.layer_name + "' is no layer of " + o.model + " (layers: " + names + ")");
        if (found->params.empty()) throw SpecError("run: " + o.model + " carries no weights for layer '" + o.layer_name + "'");
        layer = found->spec;
        params = found->params;
    } else {
        if (o.layer.empty() || o.params.empty()) throw SpecError("run: give --layer and --params, or --model and --layer-name");
        if (!o.layer_name.empty() || o.batch != 0) throw SpecError("run: --layer-name and --batch are only for --model");
        layer = parse_layer(o.layer);
        // A PyTorch state_dict also holds BatchNorm's int64 step counters: bookkeeping, not parameters.
        // Only the layer's parameters, each no larger than the layer needs, are read (npy.h).
        NpzExpect expect;
        expect.skip = [](const std::string &name) {
            const std::string suffix = "num_batches_tracked";
            return name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
        };
        for (const auto &[name, shape] : expected_params(layer)) expect.numel[name] = Tensor{shape, {}}.numel();
        params = read_npz(o.params, expect);
    }
    const std::optional<TuningDb> db = TuningDb::from_option(o.db);
    const LayerSpec spec = specialize(layer, target, "", db ? &*db : nullptr).spec;
    // Read the user's data before compiling, so bad files fail fast.
    Tensor input = read_npy(o.input);

    const std::string key = kernel_key(spec, target.key);
    const std::string dir = (o.cache_dir.empty() ? default_cache_dir() : o.cache_dir) + "/" + key;
    if (needs_emulator(target.target)) {  // ARM kernels on this x86 machine (qemu_runner.h)
        write_npy(o.output, run_under_qemu(spec, target, dir, input, params));
        std::cerr << "ran " << key << ": " << o.input << " -> " << o.output << " ("
                  << dims_str(kernel_args(spec).back().shape) << ")\n";
        return 0;
    }
    auto bundle = build_and_load({spec}, target, dir, false, "", db ? &*db : nullptr);
    const convgen_kernel *k = bundle->find(key);
    if (!k) throw SpecError("run: kernel " + key + " missing from " + dir);
    if (!convgen_kernel_supported(k)) throw SpecError("run: this CPU cannot run target " + target.string);

    std::vector<convgen_named_tensor> named = named_tensors(params);
    convgen_params *prepared = nullptr;
    check_status(convgen_prepare_params(k, named.data(), int(named.size()), spec.eps, &prepared),
                 o.model.empty() ? o.params : o.model);
    const auto args = kernel_args(spec);
    Tensor out{args.back().shape, {}};
    int64_t elems = 1;
    for (int64_t d : out.shape) elems *= d;
    out.data.assign(size_t(elems), 0.f);
    const convgen_layout layout = layout_of(spec);
    convgen_tensor in_t = host_tensor(input.data.data(), input.shape, layout);
    convgen_tensor out_t = host_tensor(out.data.data(), out.shape, layout);
    convgen_status st = convgen_run(k, prepared, &in_t, &out_t);
    convgen_params_free(prepared);
    check_status(st, o.input);
    write_npy(o.output, out);
    std::cerr << "ran " << key << ": " << o.input << " -> " << o.output << " (" << dims_str(out.shape) << ")\n";
    return 0;
}

int cmd_check(const CheckOptions &o) {
    const ResolvedTarget target = resolve_target(o.target);
    std::vector<LayerSpec> layers = load_layers(o.src);
    const std::optional<TuningDb> db = TuningDb::from_option(o.db);
    for (LayerSpec &s : layers) s = specialize(s, target, o.choice, db ? &*db : nullptr).spec;
    auto bundle = build_and_load(layers, target, o.work_dir, o.verbose, o.choice, db ? &*db : nullptr);

    std::printf("convgen check: %zu layer(s), target %s (%s), Halide %s\n", layers.size(), target.key.c_str(),
                target.string.c_str(), halide_version().c_str());
    std::printf("%-6s %-9s %-16s %-16s %9s %10s %9s %10s %10s  %s\n", "layer", "kind", "input", "output", "MFLOP",
                "median_us", "GFLOP/s", "max_err", "tol", "result");
    int failed = 0, passed = 0;
    for (const LayerSpec &spec : layers) {
        const std::string key = kernel_key(spec, target.key);
        const convgen_kernel *k = bundle->find(key);
        const auto args = kernel_args(spec);
        const Counts c = count(spec);
        std::string result;
        double median_us = 0;
        Comparison cmp{};
        if (!k || !convgen_kernel_supported(k)) {
            result = "[SKIP] CPU lacks " + target.string;
        } else {
            PreparedCall call(k, spec, o.seed, key);
            std::vector<double> times;
            for (int i = 0; i < std::max(1, o.iterations); i++) {
                auto t0 = std::chrono::steady_clock::now();
                convgen_status st = call.run(k);
                times.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
                check_status(st, key);
            }
            std::sort(times.begin(), times.end());
            median_us = times[times.size() / 2];
            cmp = compare(call.output(), reference_forward(spec, call.input, call.params), tolerance(spec));
            result = cmp.ok ? "PASS" : "FAIL";
        }
        (result == "FAIL" ? failed : passed) += result == "PASS" || result == "FAIL";
        std::printf("%-6s %-9s %-16s %-16s %9.2f %10.1f %9.1f %10.2e %10.2e  %s\n",
                    spec.name.empty() ? "-" : spec.name.c_str(), to_string(spec.kind), dims_str(args.front().shape).c_str(),
                    dims_str(args.back().shape).c_str(), c.flops / 1e6, median_us,
                    median_us > 0 ? c.flops / median_us / 1e3 : 0.0, cmp.max_abs_err, cmp.tol, result.c_str());
    }
    std::printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

int cmd_import(const ImportCliOptions &o) {
    if (fs::path(o.model).extension() == ".mlir") {  // the MLIR tool prints the table itself
        layout_option(o.layout);
        if (o.batch < 0) throw SpecError("--batch: " + std::to_string(o.batch) + " must be >= 1");
        std::vector<std::string> args{o.model, "--layout", o.layout};
        if (!o.out_file.empty()) args.insert(args.end(), {"-o", o.out_file});
        if (o.batch > 0) args.insert(args.end(), {"--batch", std::to_string(o.batch)});
        run_mlir_import(args, "");
        return 0;
    }
    const ImportResult r = import_model(o.model, o.batch, layout_option(o.layout));
    print_table(r, std::cout);
    if (!o.out_file.empty()) {
        write_file_atomic(o.out_file, layers_json(r).dump(2) + "\n");
        std::cout << "wrote " << r.layers.size() << " layer(s) to " << o.out_file << "\n";
    }
    return 0;
}

namespace {

// `convgen tune --compare`: one row per layer, then the geomeans of the ratios.
int tune_compare(const std::vector<LayerSpec> &layers, const ResolvedTarget &target, const TuneOptions &t) {
    std::printf("convgen tune --compare: %zu layer(s), target %s (%s), %d thread(s), records: %s\n", layers.size(),
                target.key.c_str(), target.string.c_str(), t.threads, t.db.c_str());
    std::printf("times in us (search seconds); ratios: the best autoscheduler's time / tuned (default where no record)\n");
    std::printf("%-8s %-9s %18s %18s %18s %18s %18s %8s\n", "layer", "kind", "default", "tuned", "Adams2019",
                "Mullapudi2016", "Li2018", "ratio");
    std::fflush(stdout);
    double log_sum = 0;
    int counted = 0;
    std::vector<std::string> errors;
    auto row = [&](const CompareRow &r) {
        const std::string name = r.spec.name.empty() ? "-" : r.spec.name;
        std::printf("%-8s %-9s", name.c_str(), to_string(r.spec.kind));
        double ours = r.entries[1].us > 0 ? r.entries[1].us : r.entries[0].us, best_auto = 0;
        for (size_t i = 0; i < r.entries.size(); i++) {
            const CompareEntry &e = r.entries[i];
            std::string cell;
            if (e.us > 0 && i > 0) cell = fmt::format("{:.1f} ({:.1f} s)", e.us, e.search_s);
            else if (e.us > 0) cell = fmt::format("{:.1f}", e.us);
            else cell = e.error == "no record" ? "-" : "failed";
            std::printf(" %18s", cell.c_str());
            if (i >= 2 && e.us > 0 && (best_auto == 0 || e.us < best_auto)) best_auto = e.us;
            if (!e.error.empty() && e.error != "no record") errors.push_back(name + " " + e.name + ": " + e.error);
        }
        if (ours > 0 && best_auto > 0) {
            std::printf(" %7.2fx\n", best_auto / ours);
            log_sum += std::log(best_auto / ours);
            counted++;
        } else {
            std::printf(" %8s\n", "-");
        }
        std::fflush(stdout);
    };
    install_interrupt_handler();
    try {
        compare(layers, target, t, row);
    } catch (const Interrupted &) {
        std::fprintf(stderr, "\nconvgen tune --compare: interrupted\n");
        return 130;
    }
    if (counted) std::printf("geomean: tuned %.2fx the best autoscheduler over %d layer(s)\n", std::exp(log_sum / counted), counted);
    for (const std::string &e : errors) std::printf("failed: %s\n", e.c_str());
    return 0;
}

}  // namespace

int cmd_tune(const TuneCliOptions &o) {
    if (!o.merge.empty()) {
        if (o.merge_out.empty()) throw SpecError("tune --merge: give the output database with -o FILE");
        const size_t n = merge_tuning_dbs(o.merge, o.merge_out);
        std::printf("merged %zu record(s) from %zu database(s) into %s\n", n, o.merge.size(), o.merge_out.c_str());
        return 0;
    }
    if (!o.merge_out.empty()) throw SpecError("tune: -o is only for --merge");
    const ResolvedTarget target = resolve_target(o.target);
    if (!o.import_file.empty() && o.db.empty()) throw SpecError("tune --import: give the database to append to with --db FILE");
    TuneOptions t;
    t.budget_s = o.budget;
    t.threads = o.threads;
    t.jobs = o.jobs;
    t.db = o.db.empty() ? default_tuning_db(target) : o.db;
    t.work_dir = o.work_dir;
    t.timeout_s = o.timeout;
    t.retune = o.retune;
    t.seed = o.seed;
    t.bar = isatty(2);
    if (o.import_file.empty() && o.src.layer.empty() && o.src.layers_file.empty() && o.src.model.empty())
        throw SpecError("tune: give the layers with --layer, --layers or --model (or --import, --merge)");
    if (!o.import_file.empty() && !o.export_dir.empty()) throw SpecError("tune: --import and --export exclude each other");
    if (!o.export_dir.empty()) {
        const int n = export_tuning(load_layers(o.src), target, t, o.export_dir, o.candidates);
        std::printf("exported %d candidate kernel(s) for %s into %s\n"
                    "on that machine: cd into it, make (CC=... for a cross compiler), ./tune_bench plan.txt results.txt "
                    "[THREADS [ROUNDS]]; then here: convgen tune --import results.txt --db FILE\n",
                    n, target.string.c_str(), o.export_dir.c_str());
        return 0;
    }
    const std::vector<LayerSpec> layers = o.import_file.empty() ? load_layers(o.src) : std::vector<LayerSpec>{};
    if (o.compare) return tune_compare(layers, target, t);
    if (o.import_file.empty())
        std::printf("convgen tune: %zu layer(s), target %s (%s), %d thread(s), budget %.0f s per layer, records: %s\n",
                    layers.size(), target.key.c_str(), target.string.c_str(), t.threads, t.budget_s, t.db.c_str());
    else
        std::printf("convgen tune --import %s: records: %s\n", o.import_file.c_str(), t.db.c_str());
    std::printf("%-8s %-9s %11s %11s %8s %6s %6s %8s  %-8s %s\n", "layer", "kind", "default_us", "tuned_us", "speedup",
                "wins", "tried", "search_s", "result", "choice (default -> tuned) / note");
    std::fflush(stdout);
    int kept = 0, done = 0;
    auto row = [&](const TuneOutcome &r) {
        static const char *results[] = {"kept", "default", "skipped"};
        kept += r.result == TuneOutcome::Kept;
        done++;
        const std::string wins = r.rounds ? fmt::format("{}/{}", r.wins, r.rounds) : "-";
        std::printf("%-8s %-9s %11.1f %11.1f %7.3fx %6s %6d %8.1f  %-8s %s -> %s; %s\n",
                    r.spec.name.empty() ? "-" : r.spec.name.c_str(), to_string(r.spec.kind), r.default_us, r.best_us,
                    r.best_us > 0 ? r.default_us / r.best_us : 0.0, wins.c_str(), r.candidates, r.search_s,
                    results[r.result], r.default_choice.c_str(), r.best_choice.c_str(), r.note.c_str());
        std::fflush(stdout);
    };
    if (!o.import_file.empty()) {
        for (const TuneOutcome &r : import_tuning(o.import_file, t)) row(r);
        std::printf("%d of %d layer(s) got a tuned record in %s\n", kept, done, t.db.c_str());
        return 0;
    }
    install_interrupt_handler();
    try {
        tune(layers, target, t, row);
    } catch (const Interrupted &) {
        std::fprintf(stderr, "\nconvgen tune: interrupted after %d of %zu layer(s); the %d record(s) kept are in %s\n",
                     done, layers.size(), kept, t.db.c_str());
        return 130;
    }
    std::printf("%d of %zu layer(s) got a tuned record in %s\n", kept, layers.size(), t.db.c_str());
    return 0;
}

int cmd_targets() {
    std::printf("%-14s %-34s %s\n", "key", "Halide target", "description");
    for (const TargetRow &row : target_table()) std::printf("%-14s %-34s %s\n", row.key, row.halide, row.description);
    std::printf("host resolves to: %s\n", resolve_target("host").key.c_str());
    return 0;
}

}  // namespace convgen
