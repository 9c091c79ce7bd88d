// convgen_gpu_check: runs every CUDA kernel linked in (the suite, both layouts; CMakeLists.txt)
// against the double reference and times it. Without a GPU it prints the runtime's
// CONVGEN_ERROR_NO_DEVICE message and exits 3.
//
//   convgen_gpu_check [--iterations N] [--csv FILE]
//
// Per kernel:
//   gpu_us   GPU time per call: N launches back to back on buffers already on the device (no
//            copies: Halide copies only when the host side is dirty), then one halide_device_sync;
//            total / N. Launch overhead hides behind the queued kernels, so this is the kernels'
//            own time (what cuDNN's CUDA-graph timing in cudnn.py measures).
//   call_us  median wall time of one convgen_run on host tensors: copy input and weights to the
//            device, run, copy the output back, free (the runtime's only GPU path today).
#include "convgen/convgen.h"
#include "internal.h"  // convgen_params: the packed weights, to call the pipeline directly
#include "reference.h"
#include "runtime_bridge.h"

#include <HalideRuntime.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

using namespace convgen;

namespace {

// A dense f32 halide_buffer_t over `data` with `shape` (outermost first), like runtime/src/run.c.
struct Buf {
    halide_buffer_t b{};
    halide_dimension_t dim[4]{};
    Buf(float *data, const std::vector<int64_t> &shape) {
        int32_t stride = 1;
        const int nd = int(shape.size());
        for (int d = 0; d < nd; d++) {
            dim[d] = {0, int32_t(shape[nd - 1 - d]), stride, 0};
            stride *= int32_t(shape[nd - 1 - d]);
        }
        b.host = reinterpret_cast<uint8_t *>(data);
        b.type = {halide_type_float, 32, 1};
        b.dimensions = nd;
        b.dim = dim;
    }
};

double now_us() {
    return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

int main(int argc, char **argv) {
    int iterations = 200;
    const char *csv_path = nullptr;
    for (int i = 1; i < argc; i++) {
        if (!std::strcmp(argv[i], "--iterations") && i + 1 < argc) iterations = std::max(1, std::atoi(argv[++i]));
        else if (!std::strcmp(argv[i], "--csv") && i + 1 < argc) csv_path = argv[++i];
        else {
            std::fprintf(stderr, "usage: %s [--iterations N] [--csv FILE]\n", argv[0]);
            return 2;
        }
    }
    FILE *csv = csv_path ? std::fopen(csv_path, "w") : nullptr;
    if (csv) std::fprintf(csv, "key,kind,layout,n,c,h,w,cout,k,stride,pad,dilation,flops,gpu_us,call_us,max_err,ok\n");
    std::printf("%-64s %8s %10s %10s %9s %10s %s\n", "kernel", "MFLOP", "gpu_us", "call_us", "TFLOP/s", "max_err",
                "result");
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
            std::printf("%-64s prepare failed: %s\n", k->key, convgen_last_error());
            failed++;
            continue;
        }
        const auto args = kernel_args(s);
        std::vector<float> out(size_t(s.n) * s.cout * s.out_h() * s.out_w());
        const convgen_layout layout = layout_of(s);
        convgen_tensor in_t = host_tensor(const_cast<float *>(input.data.data()), input.shape, layout);
        convgen_tensor out_t = host_tensor(out.data(), args.back().shape, layout);

        convgen_status st = convgen_run(k, p, &in_t, &out_t);
        if (st == CONVGEN_ERROR_NO_DEVICE) {
            std::printf("%s: %s\nno GPU: nothing to check (exit 3)\n", convgen_status_string(st), convgen_last_error());
            return 3;
        }
        Comparison cmp{};
        std::string result;
        if (st != CONVGEN_OK) {
            result = std::string("[FAIL] ") + convgen_status_string(st) + ": " + convgen_last_error();
        } else {
            cmp = compare(out, reference_forward(s, input, params), tolerance(s));
            result = cmp.ok ? "[OK]" : "[FAIL] error above tolerance";
        }
        double gpu_us = 0, call_us = 0;
        if (st == CONVGEN_OK) {
            std::vector<double> times;
            for (int it = 0; it < std::min(iterations, 50); it++) {
                const double t0 = now_us();
                convgen_run(k, p, &in_t, &out_t);
                times.push_back(now_us() - t0);
            }
            std::sort(times.begin(), times.end());
            call_us = times[times.size() / 2];

            // The pipeline itself on device-resident buffers (see the header comment).
            std::vector<Buf> bufs;
            bufs.reserve(size_t(k->num_args));
            for (int a = 0; a < k->num_args; a++) {
                float *data = a == 0 ? const_cast<float *>(input.data.data()) : a == k->num_args - 1 ? out.data() : p->data[a];
                std::vector<int64_t> shape(k->args[a].shape, k->args[a].shape + k->args[a].ndim);
                bufs.emplace_back(data, shape);
            }
            std::vector<void *> argv_(bufs.size());
            for (size_t a = 0; a < bufs.size(); a++) argv_[a] = &bufs[a].b;
            halide_buffer_t *o = &bufs.back().b;
            int rc = k->argv_fn(argv_.data());  // warm up: copies in, loads the module
            rc |= halide_device_sync(nullptr, o);
            const double t0 = now_us();
            for (int it = 0; it < iterations && rc == 0; it++) rc |= k->argv_fn(argv_.data());
            rc |= halide_device_sync(nullptr, o);
            gpu_us = (now_us() - t0) / iterations;
            for (Buf &b : bufs) halide_device_free(nullptr, &b.b);
            if (rc != 0) result = "[FAIL] timing run returned " + std::to_string(rc);
        }
        convgen_params_free(p);
        const double flops = double(count(s).flops);
        failed += result.rfind("[OK]", 0) != 0;
        std::printf("%-64s %8.1f %10.2f %10.1f %9.2f %10.2e %s\n", k->key, flops / 1e6, gpu_us, call_us,
                    gpu_us > 0 ? flops / gpu_us / 1e6 : 0.0, cmp.max_abs_err, result.c_str());
        if (csv)
            std::fprintf(csv, "%s,%s,%s,%d,%d,%d,%d,%d,%d,%d,%d,%d,%.0f,%.3f,%.3f,%.3g,%d\n", k->key, to_string(s.kind),
                         to_string(s.layout), s.n, s.c, s.h, s.w, s.cout, s.kh, s.sh, s.pad_t, s.dh, flops, gpu_us,
                         call_us, cmp.max_abs_err, result.rfind("[OK]", 0) == 0);
        std::fflush(stdout);
    }
    if (csv) std::fclose(csv);
    std::printf("%s\n", failed ? "SOME KERNELS FAILED" : "all kernels match the reference");
    return failed ? 1 : 0;
}
