// convgen_bench: convgen's kernels beside oneDNN, per layer, in one run, with the machine's
// measured roofline (DESIGN.md, Performance).
//
//   convgen_bench --layers FILE [--target host] [--threads N] [--set key=value,...] [--tsv OUT]
//                 [--png OUT] [--work DIR] [--min-time-ms T] [--rounds R] [--seed S]
//
// Per layer (layout=nhwc unless --set says otherwise): generate (or reuse, in --work) and load
// convgen's kernel, check it against the double reference, build the oneDNN baseline
// (onednn.h) and check it against the same reference, then time both in R interleaved rounds
// (convgen round, oneDNN round, ...). A round is one untimed warm-up call, then calls timed one
// by one until T ms have passed (at least 3); its value is the median per-call time. A layer's
// time is the median of its round values; its spread is the min..max of them. Parameters are
// prepared, and oneDNN's weights and input reordered, once outside the timing.
// Roofline: min(peak FMA GFLOP/s, intensity * DRAM bandwidth), both probed here (peak.h), with
// intensity = count().flops / count().bytes (minimal traffic: input, weights, biases, output).
// Exit status: 0 all checks passed, 1 a check failed (or the plot failed), 2 bad input.
#include "generator/driver/compile.h"
#include "convgen/convgen.h"
#include "generator/spec/layer_spec.h"
#include "generator/driver/loader.h"
#include "generator/driver/manifest.h"
#include "bench/onednn.h"
#include "bench/random_layers.h"
#include "generator/harness/prepared_call.h"
#include "bench/peak.h"
#include "generator/spec/reference.h"
#include "generator/harness/runtime_bridge.h"
#include "generator/harness/timing.h"
#include "generator/driver/targets.h"

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <dlfcn.h>
#include <filesystem>
#include <fstream>
#include <memory>
#include <new>
#include <sstream>
#include <thread>
#include <unistd.h>  // access()

#ifndef CONVGEN_BENCH_WORK_DIR
#define CONVGEN_BENCH_WORK_DIR "bench_kernels"
#endif
#ifndef CONVGEN_BENCH_PLOT_SCRIPT
#define CONVGEN_BENCH_PLOT_SCRIPT "bench/plot_roofline.py"
#endif

namespace fs = std::filesystem;
using namespace convgen;
using convgen_bench::OnednnLayer;
using convgen_bench::PeakResult;

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
    std::string layers, target = "host", tsv, png, work = CONVGEN_BENCH_WORK_DIR;
    std::string save_layers;  // --save-layers FILE: the layers benchmarked, as a JSON layer file
    std::vector<std::string> sets;
    std::string choice;     // --choice: schedule fields over every kernel's default
    std::string db;         // --db: tuning records (else $CONVGEN_TUNING_DB)
    int random = 0;         // --random N: N drawn layers (bench/random_layers.h) instead of --layers
    uint64_t random_seed = 1;
    int threads = 2, rounds = 5, dram_mib = 256;
    double min_time_ms = 200;
    unsigned seed = 1;
    bool verbose = false;
};

void check_status(convgen_status st, const std::string &what) {
    if (st != CONVGEN_OK) throw std::runtime_error(what + ": " + convgen_last_error());
}

struct Timing {
    std::vector<double> rounds;  // per-round medians, microseconds
    double median() const {
        return convgen::median(rounds);
    }
    double min() const { return rounds.empty() ? NAN : *std::min_element(rounds.begin(), rounds.end()); }
    double max() const { return rounds.empty() ? NAN : *std::max_element(rounds.begin(), rounds.end()); }
};

struct Row {
    LayerSpec spec;
    Counts counts{};
    Timing cg, dn, dr;  // convgen, oneDNN, oneDNN with the reorders of input and output
    std::string cg_check = "-", dn_check = "-", dn_impl = "-", note;
    double cg_err = NAN, dn_err = NAN, tol = NAN;
    double roofline_gflops = NAN;
};

double gflops(int64_t flops, double us) { return std::isfinite(us) && us > 0 ? double(flops) / us / 1e3 : NAN; }

// v written with a {fmt} format ("{:.1f}"), "-" when it is not finite.
std::string num_or_dash(fmt::format_string<double> f, double v) {
    if (!std::isfinite(v)) return "-";
    return fmt::format(f, v);
}

std::string spread_str(const Timing &t) {
    if (t.rounds.empty()) return "-";
    return num_or_dash("{:.1f}", t.min()) + ".." + num_or_dash("{:.1f}", t.max());
}

void write_tsv(const std::string &path, const std::vector<Row> &rows, const PeakResult &peak) {
    std::ostringstream f;
    f << "layer\tkind\tflops\tbytes\tintensity\tconvgen_us\tconvgen_min_us\tconvgen_max_us\tonednn_us\t"
         "onednn_min_us\tonednn_max_us\tratio\tratio_min\tgflops\tonednn_gflops\troofline_gflops\troofline_frac\t"
         "onednn_roofline_frac\tconvgen_check\tconvgen_max_err\tonednn_check\tonednn_max_err\ttol\tonednn_impl\t"
         "threads\tpeak_gflops\tdram_gbs\tl3_gbs\tl2_gbs\tonednn_reorder_us\tspec\n";
    auto num = [](double v) { return std::isfinite(v) ? num_or_dash("{:.6g}", v) : std::string("nan"); };
    for (const Row &r : rows) {
        const double cu = r.cg.median(), du = r.dn.median();
        const double g = gflops(r.counts.flops, cu), dg = gflops(r.counts.flops, du);
        f << (r.spec.name.empty() ? "-" : r.spec.name) << '\t' << to_string(r.spec.kind) << '\t' << r.counts.flops
          << '\t' << r.counts.bytes << '\t' << num(r.counts.intensity) << '\t' << num(cu) << '\t' << num(r.cg.min())
          << '\t' << num(r.cg.max()) << '\t' << num(du) << '\t' << num(r.dn.min()) << '\t' << num(r.dn.max())
          << '\t' << num(du / cu) << '\t' << num(r.dn.min() / r.cg.min()) << '\t' << num(g) << '\t' << num(dg) << '\t' << num(r.roofline_gflops) << '\t'
          << num(g / r.roofline_gflops) << '\t' << num(dg / r.roofline_gflops) << '\t' << r.cg_check << '\t'
          << num(r.cg_err) << '\t' << r.dn_check << '\t' << num(r.dn_err) << '\t' << num(r.tol) << '\t'
          << r.dn_impl << '\t' << peak.threads << '\t' << num(peak.peak_gflops) << '\t' << num(peak.dram_gbs)
          << '\t' << num(peak.l3_gbs) << '\t' << num(peak.l2_gbs) << '\t' << num(r.dr.median()) << '\t' << to_text(r.spec) << '\n';
    }
    write_file_atomic(path, f.str());  // npy.h: temporary + rename
}

// Runs the plot script. Returns 0 on success, 3 when python3 or matplotlib is missing, else 1.
int plot(const std::string &tsv, const std::string &png) {
    std::string script = CONVGEN_BENCH_PLOT_SCRIPT;
    if (const char *s = std::getenv("CONVGEN_BENCH_PLOT"); s && *s) script = s;
    auto quote = [](const std::string &s) {
        std::string q = "'";
        for (char ch : s) q += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
        return q + "'";
    };
    // The system python3 (apt's python3-matplotlib serves it), not whatever python3 comes first
    // on PATH (pyenv, a venv); CONVGEN_BENCH_PYTHON overrides.
    std::string python = access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
    if (const char *p = std::getenv("CONVGEN_BENCH_PYTHON"); p && *p) python = p;
    const std::string cmd = quote(python) + " " + quote(script) + " " + quote(tsv) + " " + quote(png);
    const int st = std::system(cmd.c_str());
    if (st == -1 || !WIFEXITED(st)) return 1;
    const int rc = WEXITSTATUS(st);
    if (rc == 0) return 0;
    if (rc == 3 || rc == 127) return 3;  // the script's "no matplotlib", or the shell's "no python3"
    return 1;
}

struct GenStatus {
    int kernels = 0, reused = 0;
};

// Generates (or reuses) the kernels in o.work.
GenStatus generate_kernels(const std::vector<LayerSpec> &layers, const ResolvedTarget &target, const Options &o,
                           const TuningDb *db) {
    GenerateOptions g;
    g.db = db;
    g.out_dir = o.work;
    g.bundle = "convgen_bench_kernels";
    g.verbose = o.verbose;
    g.choice = o.choice;
    const GenerateResult r = generate(layers, {target}, g);
    GenStatus st;
    st.kernels = int(r.kernels.size());
    for (const auto &k : r.kernels) st.reused += k.reused;
    return st;
}

// "1.23 0.98 0.50" (1, 5, 15 min) from /proc/loadavg: how busy the shared machine was.
std::string loadavg() {
    std::ifstream f("/proc/loadavg");
    std::string a, b, c;
    if (!(f >> a >> b >> c)) return "?";
    return a + " " + b + " " + c;
}

// What the runtime adds to a call (issue 4: "well under 1 us"): convgen_run through a copy of the
// kernel whose pipeline is a no-op, so all that is timed is the registry's checks of the tensors
// and the building of Halide's buffer descriptors. Returns the median in nanoseconds.
double runtime_overhead_ns(const convgen_kernel *k, const LayerSpec &spec, unsigned seed) {
    convgen_kernel nop = *k;
    nop.argv_fn = [](void **) { return 0; };
    PreparedCall call(&nop, spec, seed, "prepare");
    std::vector<double> ns;
    for (int round = 0; round < 21; round++) {
        const int calls = 10000;
        const auto t0 = Clock::now();
        for (int i = 0; i < calls; i++) call.run(&nop);
        ns.push_back(std::chrono::duration<double, std::nano>(Clock::now() - t0).count() / calls);
    }
    std::sort(ns.begin(), ns.end());
    return ns[ns.size() / 2];
}

// Issue 3's bound for layers of < 1 MFLOP: a call costs no more than its arithmetic plus ~1 us.
// Such layers run on the calling thread (schedules/select.cpp, kMinParallelFlops below 0.6
// MFLOP), so their arithmetic is timed against one core's share of the measured roof.
void print_tiny_layers(const std::vector<Row> &rows, double core_gflops) {
    bool header = false;
    for (const Row &r : rows) {
        if (r.counts.flops >= 1000000 || !(r.cg.median() > 0)) continue;
        if (!header)
            std::printf("\ntiny layers (< 1 MFLOP): convgen us per call = arithmetic at one core's roof (%.1f GFLOP/s) "
                        "+ overhead; target: overhead <= 1 us\n",
                        core_gflops);
        header = true;
        const double arith = r.counts.flops / (core_gflops * 1e3), over = r.cg.median() - arith;
        std::printf("  %-6s %-9s %5.2f MFLOP  %6.2f us = %5.2f + %5.2f  %s\n", r.spec.name.c_str(),
                    to_string(r.spec.kind), r.counts.flops / 1e6, r.cg.median(), arith, over,
                    over <= 1.0 ? "ok" : "over");
    }
}

// The five layers with the lowest ratio, with their roofline fraction: where to look next.
void print_worst(const std::vector<Row> &rows) {
    std::vector<const Row *> order;
    for (const Row &r : rows)
        if (std::isfinite(r.dn.median() / r.cg.median())) order.push_back(&r);
    std::sort(order.begin(), order.end(), [](const Row *a, const Row *b) {
        return a->dn.median() / a->cg.median() < b->dn.median() / b->cg.median();
    });
    if (order.size() > 5) order.resize(5);
    std::printf("worst layers (ratio, convgen roofline %%, spec):\n");
    for (const Row *r : order)
        std::printf("  %-6s %5.2f %6.1f%%  %s\n", r->spec.name.c_str(), r->dn.median() / r->cg.median(),
                    100 * gflops(r->counts.flops, r->cg.median()) / r->roofline_gflops, to_text(r->spec).c_str());
}

int bench(const Options &o) {
    // Layers: NHWC for convgen unless --set overrides.
    std::vector<std::string> sets{"layout=nhwc"};
    sets.insert(sets.end(), o.sets.begin(), o.sets.end());
    if (o.layers.empty() == (o.random == 0)) throw SpecError("give either --layers FILE or --random N");
    if (o.random < 0) throw SpecError("--random: must be >= 1, got " + std::to_string(o.random));
    std::vector<LayerSpec> layers = o.random ? random_layers(o.random, o.random_seed) : parse_layer_file(o.layers);
    if (o.random)
        std::printf("random layers: --random %d --random-seed %llu\n", o.random, (unsigned long long)o.random_seed);
    const ResolvedTarget target = resolve_target(o.target);
    const std::optional<TuningDb> db = TuningDb::from_option(o.db);
    for (LayerSpec &s : layers) s = with_overrides(s, sets);
    if (!o.save_layers.empty()) {
        write_file_atomic(o.save_layers, layers_json_text(layers));
        std::printf("wrote the %zu layer(s) to %s\n", layers.size(), o.save_layers.c_str());
    }
    for (LayerSpec &s : layers) s = specialize(s, target, o.choice, db ? &*db : nullptr).spec;
    if (o.threads < 1) throw SpecError("--threads: must be >= 1, got " + std::to_string(o.threads));
    if (o.rounds < 1) throw SpecError("--rounds: must be >= 1, got " + std::to_string(o.rounds));

    // Kernels: generated (or reused when unchanged) in the work folder, then loaded.
    const auto g0 = Clock::now();
    const GenStatus gen = generate_kernels(layers, target, o, db ? &*db : nullptr);
    LoadedBundle bundle(o.work);
    const double gen_s = std::chrono::duration<double>(Clock::now() - g0).count();
    using set_threads_fn = int (*)(int);
    auto set_threads = reinterpret_cast<set_threads_fn>(dlsym(bundle.handle(), "halide_set_num_threads"));
    if (!set_threads) throw std::runtime_error("the kernel bundle has no halide_set_num_threads");
    set_threads(o.threads);

    const std::string load_start = loadavg();
    const PeakResult peak_start = convgen_bench::probe_peak(o.threads, o.dram_mib);
    std::fprintf(stderr, "convgen_bench: peak %.1f GFLOP/s, DRAM %.1f GB/s; timing %zu layer(s)...\n",
                 peak_start.peak_gflops, peak_start.dram_gbs, layers.size());

    std::vector<Row> rows;
    int failed = 0;
    for (const LayerSpec &spec : layers) {
        Row r;
        r.spec = spec;
        r.counts = count(spec);
        r.tol = tolerance(spec);
        const std::string key = kernel_key(spec, target.key);
        const convgen_kernel *k = bundle.find(key);
        Tensor input = random_input(spec, o.seed);
        NamedTensors params = random_params(spec, o.seed + 1);
        const std::vector<double> ref = reference_forward(spec, input, params);
        const auto args = kernel_args(spec);
        const std::vector<int64_t> out_shape = args.back().shape;

        // convgen, on 64-byte aligned activations (see AlignedFloats)
        convgen_params *prepared = nullptr;
        AlignedFloats in_buf(input.data), out_buf(std::vector<float>(ref.size(), NAN));
        const convgen_layout layout = layout_of(spec);
        convgen_tensor in_t = host_tensor(in_buf.data(), input.shape, layout);
        convgen_tensor out_t = host_tensor(out_buf.data(), out_shape, layout);
        if (!k || !convgen_kernel_supported(k)) {
            r.cg_check = "SKIP";
            r.note = "convgen: CPU lacks " + target.string;
        } else {
            try {
                std::vector<convgen_named_tensor> named = named_tensors(params);
                check_status(convgen_prepare_params(k, named.data(), int(named.size()), spec.eps, &prepared),
                             "prepare " + key);
                check_status(convgen_run(k, prepared, &in_t, &out_t), "run " + key);
                const Comparison c = compare(out_buf.vector(), ref, r.tol);
                r.cg_err = c.max_abs_err;
                r.cg_check = c.ok ? "PASS" : "FAIL";
            } catch (const std::exception &e) {
                r.cg_check = "ERROR";
                r.note += std::string(" convgen: ") + e.what();
                if (prepared) convgen_params_free(prepared);
                prepared = nullptr;
            }
        }
        // oneDNN
        std::unique_ptr<OnednnLayer> dnn;
        try {
            dnn = std::make_unique<OnednnLayer>(spec, input, params, o.threads);
            r.dn_impl = dnn->impl();
            dnn->run();
            const Comparison c = compare(dnn->output(), ref, r.tol);
            r.dn_err = c.max_abs_err;
            r.dn_check = c.ok ? "PASS" : "FAIL";
        } catch (const std::exception &e) {
            r.dn_check = "ERROR";
            r.note += std::string(" oneDNN: ") + e.what();
            dnn.reset();
        }
        // Timing: interleaved rounds, so slow drifts of a shared machine hit both alike.
        for (int round = 0; round < o.rounds; round++) {
            if (prepared)
                r.cg.rounds.push_back(time_round([&] { convgen_run(k, prepared, &in_t, &out_t); }, o.min_time_ms));
            if (dnn) r.dn.rounds.push_back(time_round([&] { dnn->run(); }, o.min_time_ms));
            if (dnn) r.dr.rounds.push_back(time_round([&] { dnn->run_with_reorders(); }, o.min_time_ms));
        }
        if (prepared) convgen_params_free(prepared);
        failed += r.cg_check == "FAIL" || r.cg_check == "ERROR" || r.dn_check == "FAIL" || r.dn_check == "ERROR";

        std::fprintf(stderr, "  %-6s convgen %s us (%s), oneDNN %s us (%s)%s\n", spec.name.c_str(),
                     num_or_dash("{:.1f}", r.cg.median()).c_str(), r.cg_check.c_str(),
                     num_or_dash("{:.1f}", r.dn.median()).c_str(), r.dn_check.c_str(), r.note.c_str());
        rows.push_back(std::move(r));
    }

    double overhead_ns = -1;
    for (const Row &r : rows)
        if (const convgen_kernel *k = bundle.find(kernel_key(r.spec, target.key)); k && convgen_kernel_supported(k)) {
            overhead_ns = runtime_overhead_ns(k, r.spec, o.seed);
            break;
        }

    // The probe again at the end: on a shared machine either run may catch a busy moment, and the
    // roof is what the machine gave at its best.
    const PeakResult peak_end = convgen_bench::probe_peak(o.threads, o.dram_mib);
    PeakResult peak = peak_start;
    peak.fma256_gflops = std::max(peak_start.fma256_gflops, peak_end.fma256_gflops);
    peak.fma512_gflops = std::max(peak_start.fma512_gflops, peak_end.fma512_gflops);
    peak.peak_gflops = std::max(peak_start.peak_gflops, peak_end.peak_gflops);
    peak.l2_gbs = std::max(peak_start.l2_gbs, peak_end.l2_gbs);
    peak.l3_gbs = std::max(peak_start.l3_gbs, peak_end.l3_gbs);
    peak.dram_gbs = std::max(peak_start.dram_gbs, peak_end.dram_gbs);
    for (Row &r : rows)
        r.roofline_gflops = std::min(peak.peak_gflops > 0 ? peak.peak_gflops : INFINITY, r.counts.intensity * peak.dram_gbs);

    std::printf("convgen_bench: %zu layer(s) from %s, target %s (%s), Halide %s, oneDNN %s, %d thread(s)\n",
                layers.size(), o.layers.c_str(), target.key.c_str(), target.string.c_str(), halide_version().c_str(),
                convgen_bench::onednn_version().c_str(), o.threads);
    std::printf("kernels: %d in %s (%d reused), %.1f s\n", gen.kernels, o.work.c_str(), gen.reused, gen_s);
    std::printf("peak probe (%d thread(s), %s; best of a probe before and after the layers):\n", peak.threads,
                peak.isa.c_str());
    std::printf("  FMA fp32: 256-bit %.1f GFLOP/s, 512-bit %.1f GFLOP/s -> compute roof %.1f GFLOP/s "
                "(before %.1f, after %.1f)\n",
                peak.fma256_gflops, peak.fma512_gflops, peak.peak_gflops, peak_start.peak_gflops, peak_end.peak_gflops);
    std::printf("  read bandwidth: L2 (512 KiB/thread) %.1f GB/s, L3 (16 MiB) %.1f GB/s, DRAM (%d MiB) %.1f GB/s "
                "(DRAM before %.1f, after %.1f)\n",
                peak.l2_gbs, peak.l3_gbs, o.dram_mib, peak.dram_gbs, peak_start.dram_gbs, peak_end.dram_gbs);
    if (overhead_ns >= 0)
        std::printf("runtime overhead per convgen_run (tensor checks + buffer descriptors, no-op pipeline): %.0f ns "
                    "(median of 21 x 10000 calls)\n",
                    overhead_ns);
    std::printf("roofline per layer = min(compute roof, intensity x DRAM bandwidth), intensity = FLOPs / minimal bytes "
                "(input+weights+biases+output); layers whose data fit in cache can exceed 100%%\n");
    std::printf("times: median of %d interleaved rounds (each: median per-call time over >= %.0f ms); spread = min..max "
                "of the round medians (us); ratio = onednn_us / convgen_us (> 1: convgen faster), ratio_min = the same "
                "for the fastest rounds, ratio_ro = oneDNN with the reorders of input and output from and to the layer's "
                "layout (what a framework caller pays) / convgen_us\n",
                o.rounds, o.min_time_ms);
    const char *wait_policy = std::getenv("OMP_WAIT_POLICY");
    std::printf("oneDNN: convolution_forward, format_tag::any (its layout), weights and input reordered outside the "
                "timing, bias + activation post-op fused, dwsep = dw + pw primitives; OpenMP threads, OMP_WAIT_POLICY=%s\n",
                wait_policy ? wait_policy : "(unset)");
    std::printf("load average: %s at start, %s at end (%u CPUs online)\n\n", load_start.c_str(), loadavg().c_str(),
                std::thread::hardware_concurrency());
    std::printf("%-6s %-9s %8s %6s %10s %-19s %10s %-19s %6s %6s %7s %6s %7s %6s %-5s %9s %-5s %9s %8s  %s\n",
                "layer", "kind", "MFLOP", "AI", "convgen_us", "spread", "onednn_us", "spread", "ratio", "r_min", "gflops",
                "roof%", "dnnl_gf", "dnnl%", "cg", "cg_err", "dnnl", "dnnl_err", "ratio_ro", "onednn_impl");
    for (const Row &r : rows) {
        const double cu = r.cg.median(), du = r.dn.median();
        const double g = gflops(r.counts.flops, cu), dg = gflops(r.counts.flops, du);
        std::printf("%-6s %-9s %8.1f %6.1f %10s %-19s %10s %-19s %6s %6s %7s %6s %7s %6s %-5s %9s %-5s %9s %8s  %s\n",
                    r.spec.name.empty() ? "-" : r.spec.name.c_str(), to_string(r.spec.kind), r.counts.flops / 1e6,
                    r.counts.intensity, num_or_dash("{:.1f}", cu).c_str(), spread_str(r.cg).c_str(),
                    num_or_dash("{:.1f}", du).c_str(), spread_str(r.dn).c_str(), num_or_dash("{:.2f}", du / cu).c_str(),
                    num_or_dash("{:.2f}", r.dn.min() / r.cg.min()).c_str(), num_or_dash("{:.1f}", g).c_str(),
                    num_or_dash("{:.1f}", 100 * g / r.roofline_gflops).c_str(), num_or_dash("{:.1f}", dg).c_str(),
                    num_or_dash("{:.1f}", 100 * dg / r.roofline_gflops).c_str(), r.cg_check.c_str(),
                    num_or_dash("{:.1e}", r.cg_err).c_str(), r.dn_check.c_str(),
                    num_or_dash("{:.1e}", r.dn_err).c_str(), num_or_dash("{:.2f}", r.dr.median() / cu).c_str(),
                    r.dn_impl.c_str());
        if (!r.note.empty()) std::printf("       note:%s\n", r.note.c_str());
    }

    double log_sum = 0, log_roof = 0, log_min = 0, log_ro = 0;
    int n_min = 0, n_ro = 0;
    int n = 0, n_roof = 0;
    for (const Row &r : rows) {
        const double ratio = r.dn.median() / r.cg.median();
        if (std::isfinite(ratio) && ratio > 0) log_sum += std::log(ratio), n++;
        const double rmin = r.dn.min() / r.cg.min(), rro = r.dr.median() / r.cg.median();
        if (std::isfinite(rro) && rro > 0) log_ro += std::log(rro), n_ro++;
        if (std::isfinite(rmin) && rmin > 0) log_min += std::log(rmin), n_min++;
        const double frac = gflops(r.counts.flops, r.cg.median()) / r.roofline_gflops;
        if (std::isfinite(frac) && frac > 0) log_roof += std::log(frac), n_roof++;
    }
    std::printf("\ngeomean ratio (onednn_us / convgen_us, > 1: convgen faster): %s over %d layer(s)\n",
                n ? num_or_dash("{:.3f}", std::exp(log_sum / n)).c_str() : "-", n);
    std::printf("geomean ratio_min (fastest rounds): %s\n",
                n_min ? num_or_dash("{:.3f}", std::exp(log_min / n_min)).c_str() : "-");
    std::printf("geomean ratio_ro (oneDNN with reorders): %s\n",
                n_ro ? num_or_dash("{:.3f}", std::exp(log_ro / n_ro)).c_str() : "-");
    std::printf("geomean convgen roofline fraction: %s\n",
                n_roof ? num_or_dash("{:.3f}", std::exp(log_roof / n_roof)).c_str() : "-");
    std::printf("checks: %d layer(s) with a failed check\n", failed);
    print_worst(rows);
    print_tiny_layers(rows, peak.peak_gflops / o.threads);

    int status = failed ? 1 : 0;
    std::string tsv = o.tsv;
    if (tsv.empty() && !o.png.empty()) tsv = o.png + ".tsv";
    if (!tsv.empty()) {
        write_tsv(tsv, rows, peak);
        std::printf("wrote %s\n", tsv.c_str());
    }
    if (!o.png.empty()) {
        const int rc = plot(tsv, o.png);
        if (rc == 0) std::printf("wrote %s\n", o.png.c_str());
        else if (rc == 3)
            std::printf("--png skipped: python3 with matplotlib is needed (apt-get install python3-matplotlib); "
                        "the TSV %s is written\n",
                        tsv.c_str());
        else {
            std::fprintf(stderr, "convgen_bench: plotting %s failed (%s)\n", o.png.c_str(), CONVGEN_BENCH_PLOT_SCRIPT);
            status = 1;
        }
        if (o.tsv.empty() && rc == 0) fs::remove(tsv);  // kept (and named above) when there is no chart
    }
    return status;
}

}  // namespace

int main(int argc, char **argv) {
    Options o;
    CLI::App app{"convgen_bench: convgen kernels beside oneDNN, with the measured roofline"};
    app.add_option("--layers", o.layers, "layer file (suite.tsv format or JSON)");
    app.add_option("--random", o.random, "benchmark N randomly drawn layers instead of a file");
    app.add_option("--random-seed", o.random_seed, "seed of the --random draw (printed with the table)");
    app.add_option("--choice", o.choice, "schedule fields over every kernel's default (README, Schedules)");
    app.add_option("--db", o.db, "tuning records (convgen tune) for convgen's kernels; default $CONVGEN_TUNING_DB");
    app.add_option("--target", o.target, "convgen target (host, x86_avx2, x86_avx512, Halide string)");
    app.add_option("--threads", o.threads, "threads for convgen (Halide), oneDNN (OpenMP) and the probe");
    app.add_option("--set", o.sets, "key=value,... applied to every layer after layout=nhwc (repeatable)");
    app.add_option("--tsv", o.tsv, "write the results as TSV");
    app.add_option("--save-layers", o.save_layers,
                   "write the layers benchmarked (after --set) as a JSON layer file, e.g. a --random draw for convgen tune");
    app.add_option("--png", o.png, "draw the roofline chart (python3 + matplotlib)");
    app.add_option("--work", o.work, "folder for the generated kernels (reused across runs)");
    app.add_option("--min-time-ms", o.min_time_ms, "minimum time of one timing round");
    app.add_option("--rounds", o.rounds, "timing rounds per implementation");
    app.add_option("--seed", o.seed, "seed of the random input and parameters");
    app.add_option("--dram-mib", o.dram_mib, "buffer size of the DRAM bandwidth probe");
    app.add_flag("-v,--verbose", o.verbose, "one line per generated kernel on stderr");
    CLI11_PARSE(app, argc, argv);
    try {
        return bench(o);
    } catch (const SpecError &e) {
        std::fprintf(stderr, "convgen_bench: %s\n", e.what());
        return 2;
    } catch (const std::exception &e) {
        std::fprintf(stderr, "convgen_bench: %s\n", e.what());
        return 1;
    }
}
