// convgen_gpu_check: runs every CUDA kernel linked in (the suite, both layouts; CMakeLists.txt)
// against the double reference through the runtime's three CUDA paths, and times them. Without a
// GPU it prints the runtime's CONVGEN_ERROR_NO_DEVICE message and exits 3.
//
//   convgen_gpu_check [--iterations N] [--csv FILE] [--no-reference]
//
// --no-reference skips the comparisons (tests/cuda runs the plumbing against a fake driver).
//
// Checked against the reference: a run on host tensors, a run on device tensors, a graph replay.
// Timed, per kernel (all through the public API of convgen.h; device buffers come from the driver,
// looked up with dlsym like the runtime does, in the primary context of device 0):
//   gpu_us    GPU time per call: a graph of kGraphRuns recorded runs replayed back to back, then
//             one synchronize; total / runs. The launch of each graph is spread over its runs,
//             so this is the kernels' own time (what cudnn.py measures for cuDNN the same way).
//   host_us   median wall time of one convgen_run on host tensors (copy in, run, copy out).
//   dev_us    wall time per convgen_run on device tensors with resident parameters: N runs back
//             to back, then one synchronize; total / N.
//   graph_us  wall time per convgen_graph_launch of a one-run graph: N launches, one synchronize.
// A kernel that allocates a device buffer at every run cannot be recorded (convgen.h): it gets no
// graph_us ("nan"), and its gpu_us is dev_us, an upper bound.
// dev_us - gpu_us and graph_us - gpu_us are what a call costs beyond the GPU's own work (issue 5
// asks for <= 2 us).
#include "convgen/convgen.h"
#include "generator/spec/reference.h"
#include "generator/harness/runtime_bridge.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <string>
#include <vector>

using namespace convgen;

namespace {

constexpr int kGraphRuns = 10;

double now_us() {
    return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// The driver calls this program makes itself: device buffers for the device-tensor runs.
struct Driver {
    int (*retain)(void **, int) = nullptr;
    int (*push)(void *) = nullptr;
    int (*alloc)(uint64_t *, size_t) = nullptr;
    int (*free_)(uint64_t) = nullptr;
    int (*htod)(uint64_t, const void *, size_t) = nullptr;
    int (*dtoh)(void *, uint64_t, size_t) = nullptr;
    bool load() {  // after the runtime found a device: the driver is loaded already
        void *lib = dlopen("libcuda.so.1", RTLD_NOW);
        if (!lib) lib = dlopen("libcuda.so", RTLD_NOW);
        if (!lib) return false;
        retain = reinterpret_cast<int (*)(void **, int)>(dlsym(lib, "cuDevicePrimaryCtxRetain"));
        push = reinterpret_cast<int (*)(void *)>(dlsym(lib, "cuCtxPushCurrent_v2"));
        alloc = reinterpret_cast<int (*)(uint64_t *, size_t)>(dlsym(lib, "cuMemAlloc_v2"));
        free_ = reinterpret_cast<int (*)(uint64_t)>(dlsym(lib, "cuMemFree_v2"));
        htod = reinterpret_cast<int (*)(uint64_t, const void *, size_t)>(dlsym(lib, "cuMemcpyHtoD_v2"));
        dtoh = reinterpret_cast<int (*)(void *, uint64_t, size_t)>(dlsym(lib, "cuMemcpyDtoH_v2"));
        void *ctx = nullptr;
        return retain && push && alloc && free_ && htod && dtoh && retain(&ctx, 0) == 0 && push(ctx) == 0;
    }
};

// A device buffer of n floats.
struct DeviceBuffer {
    const Driver &cu;
    uint64_t ptr = 0;
    size_t bytes;
    DeviceBuffer(const Driver &d, size_t n) : cu(d), bytes(n * sizeof(float)) {
        if (cu.alloc(&ptr, bytes) != 0) ptr = 0;
    }
    ~DeviceBuffer() {
        if (ptr) cu.free_(ptr);
    }
    convgen_tensor tensor(const std::vector<int64_t> &shape, convgen_layout layout) const {
        return cuda_tensor(ptr, shape, layout);
    }
};

// "" when every call returned OK, else the first failure.
std::string failure(convgen_status st, const char *what) {
    return st == CONVGEN_OK ? "" : std::string(what) + ": " + convgen_status_string(st) + ": " + convgen_last_error();
}

}  // namespace

int main(int argc, char **argv) {
    int iterations = 200;
    const char *csv_path = nullptr;
    bool reference = true;
    for (int i = 1; i < argc; i++) {
        if (!std::strcmp(argv[i], "--iterations") && i + 1 < argc) iterations = std::max(kGraphRuns, std::atoi(argv[++i]));
        else if (!std::strcmp(argv[i], "--csv") && i + 1 < argc) csv_path = argv[++i];
        else if (!std::strcmp(argv[i], "--no-reference")) reference = false;
        else {
            std::fprintf(stderr, "usage: %s [--iterations N] [--csv FILE] [--no-reference]\n", argv[0]);
            return 2;
        }
    }
    FILE *csv = csv_path ? std::fopen(csv_path, "w") : nullptr;
    if (csv)
        std::fprintf(csv, "key,kind,layout,n,c,h,w,cout,k,stride,pad,dilation,flops,gpu_us,host_us,dev_us,graph_us,"
                          "max_err,ok\n");
    std::printf("%-58s %7s %8s %9s %8s %8s %8s %8s %9s %s\n", "kernel", "MFLOP", "gpu_us", "host_us", "dev_us", "graph_us",
                "dev-gpu", "grph-gpu", "max_err", "result");
    Driver cu;
    bool driver_loaded = false;
    int failed = 0;
    for (int i = 0; i < convgen_kernel_count(); i++) {
        const convgen_kernel *k = convgen_kernel_at(i);
        if (!std::strstr(k->target, "cuda")) continue;
        const LayerSpec s = spec_of(k->layer);
        const Tensor input = random_input(s, 1);
        NamedTensors params = random_params(s, 2);
        std::vector<convgen_named_tensor> named = named_tensors(params);
        convgen_params *p = nullptr;
        if (convgen_prepare_params(k, named.data(), int(named.size()), s.eps, &p) != CONVGEN_OK) {
            std::printf("%-58s prepare failed: %s\n", k->key, convgen_last_error());
            failed++;
            continue;
        }
        const auto args = kernel_args(s);
        const std::vector<int64_t> &out_shape = args.back().shape;
        std::vector<float> out(size_t(s.n) * s.cout * s.out_h() * s.out_w());
        const convgen_layout layout = layout_of(s);
        convgen_tensor in_t = host_tensor(const_cast<float *>(input.data.data()), input.shape, layout);
        convgen_tensor out_t = host_tensor(out.data(), out_shape, layout);

        // (a) host tensors: also the first use (parameters uploaded, module loaded).
        convgen_status st = convgen_run(k, p, &in_t, &out_t);
        if (st == CONVGEN_ERROR_NO_DEVICE) {
            std::printf("%s: %s\nno GPU: nothing to check (exit 3)\n", convgen_status_string(st), convgen_last_error());
            return 3;
        }
        if (!driver_loaded && !(driver_loaded = cu.load())) {
            std::printf("cannot reach the CUDA driver's memory functions (libcuda): nothing to time (exit 3)\n");
            return 3;
        }
        const std::vector<double> ref = reference ? reference_forward(s, input, params) : std::vector<double>();
        const double tol = tolerance(s);
        std::string why = failure(st, "host run");
        Comparison cmp{};
        auto check = [&](const char *what) {  // `out` against the reference
            if (!reference) return;
            Comparison c = compare(out, ref, tol);
            cmp.max_abs_err = std::max(cmp.max_abs_err, c.max_abs_err);
            if (!c.ok && why.empty()) why = std::string(what) + ": error above tolerance";
        };
        if (why.empty()) check("host run");

        // (b), (c): device tensors, then graphs over them.
        DeviceBuffer din(cu, input.data.size()), dout(cu, out.size());
        convgen_tensor din_t = din.tensor(input.shape, layout), dout_t = dout.tensor(out_shape, layout);
        double host_us = 0, dev_us = 0, graph_us = 0, gpu_us = 0;
        convgen_graph *one = nullptr, *many = nullptr;
        if (why.empty() && (!din.ptr || !dout.ptr)) why = "cuMemAlloc failed";
        if (why.empty() && cu.htod(din.ptr, input.data.data(), din.bytes) != 0) why = "cuMemcpyHtoD failed";
        auto fetch = [&](const char *what) {  // the device output into `out`, then checked
            std::fill(out.begin(), out.end(), -1.f);
            if (cu.dtoh(out.data(), dout.ptr, dout.bytes) != 0) why = std::string(what) + ": cuMemcpyDtoH failed";
            else check(what);
        };
        auto clear = [&] {  // so that a replay that does nothing cannot pass
            std::vector<float> junk(out.size(), 12345.f);
            cu.htod(dout.ptr, junk.data(), dout.bytes);
        };
        // Each step runs only while everything before it passed.
        auto step = [&](convgen_status status, const char *what) {
            if (why.empty()) why = failure(status, what);
        };
        std::string no_graph;  // why this kernel cannot be recorded, if it cannot
        auto record = [&](int runs, convgen_graph **g) {
            if (!why.empty() || !no_graph.empty()) return;
            step(convgen_graph_begin(), "graph begin");
            if (!why.empty()) return;
            for (int r = 0; r < runs; r++) step(convgen_run(k, p, &din_t, &dout_t), "recording");
            convgen_status end = convgen_graph_end(g);  // ends the recording whatever happened
            step(end, "graph end");
            if (why.find("allocates a device buffer") != std::string::npos) no_graph = why, why.clear();
        };
        if (why.empty()) {
            clear();
            step(convgen_run(k, p, &din_t, &dout_t), "device run");
            step(convgen_cuda_synchronize(), "device run (synchronize)");
            if (why.empty()) fetch("device run");
        }
        record(1, &one);
        record(kGraphRuns, &many);
        if (why.empty() && no_graph.empty()) {
            clear();
            step(convgen_graph_launch(one), "graph launch");
            step(convgen_cuda_synchronize(), "graph (synchronize)");
            if (why.empty()) fetch("graph replay");
        }
        if (why.empty()) {
            std::vector<double> times;
            for (int it = 0; it < std::min(iterations, 50); it++) {
                const double t0 = now_us();
                convgen_run(k, p, &in_t, &out_t);
                times.push_back(now_us() - t0);
            }
            std::sort(times.begin(), times.end());
            host_us = times[times.size() / 2];

            convgen_status bad = CONVGEN_OK;
            auto per_call = [&](int n, auto &&call) {  // wall time of n calls and one synchronize, / n
                call();                               // warm
                convgen_cuda_synchronize();
                const double t0 = now_us();
                for (int it = 0; it < n; it++)
                    if (convgen_status c = call(); c != CONVGEN_OK) bad = c;
                if (convgen_status c = convgen_cuda_synchronize(); c != CONVGEN_OK) bad = c;
                return (now_us() - t0) / n;
            };
            dev_us = per_call(iterations, [&] { return convgen_run(k, p, &din_t, &dout_t); });
            if (no_graph.empty()) {
                graph_us = per_call(iterations, [&] { return convgen_graph_launch(one); });
                gpu_us = per_call(iterations / kGraphRuns, [&] { return convgen_graph_launch(many); }) / kGraphRuns;
            } else {
                graph_us = NAN;
                gpu_us = dev_us;  // the best available: back-to-back runs (an upper bound on GPU time)
            }
            if (bad != CONVGEN_OK) why = failure(bad, "timing");
        }
        convgen_graph_free(one);
        convgen_graph_free(many);
        convgen_params_free(p);
        const bool ok = why.empty();
        const std::string result = !ok ? "[FAIL] " + why
                                   : no_graph.empty() ? "[OK]"
                                                      : "[OK] no graph (allocates per run: gpu_us = dev_us, an upper bound)";
        failed += !ok;
        const double flops = double(count(s).flops);
        std::printf("%-58s %7.1f %8.2f %9.1f %8.2f %8.2f %8.2f %8.2f %9.2e %s\n", k->key, flops / 1e6, gpu_us, host_us,
                    dev_us, graph_us, dev_us - gpu_us, graph_us - gpu_us, cmp.max_abs_err, result.c_str());
        if (csv)
            std::fprintf(csv, "%s,%s,%s,%d,%d,%d,%d,%d,%d,%d,%d,%d,%.0f,%.3f,%.3f,%.3f,%.3f,%.3g,%d\n", k->key,
                         to_string(s.kind), to_string(s.layout), s.n, s.c, s.h, s.w, s.cout, s.kh, s.sh, s.pad_t, s.dh,
                         flops, gpu_us, host_us, dev_us, graph_us, cmp.max_abs_err, ok);
        std::fflush(stdout);
    }
    if (csv) std::fclose(csv);
    std::printf("gpu_us: GPU time per call (replays of a %d-run graph); host_us: one run on host tensors; dev_us, "
                "graph_us: wall time per call back to back on device tensors, by convgen_run and by replaying a "
                "one-run graph; dev-gpu, grph-gpu: their cost beyond the GPU time (goal <= 2 us)\n",
                kGraphRuns);
    std::printf("%s\n", failed      ? "SOME KERNELS FAILED"
                        : reference ? "all kernels match the reference"
                                    : "all kernels ran (no reference comparisons)");
    return failed ? 1 : 0;
}
