// The CUDA path of convgen_run through a real generated bundle (see CMakeLists.txt). Exit 0 on
// success; prints what failed otherwise.
#include <convgen/convgen.h>

#include "cuda_test.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>


// Runs kernel k on fixed data; returns its status, output in `out`.
static convgen_status run(const convgen_kernel *k, std::vector<float> &out) {
    std::vector<float> w(8 * 4 * 3 * 3), b(8), x(1 * 4 * 9 * 11);
    for (size_t i = 0; i < w.size(); i++) w[i] = float(int(i * 7 % 13) - 6) / 8;
    for (size_t i = 0; i < b.size(); i++) b[i] = float(i) / 4;
    for (size_t i = 0; i < x.size(); i++) x[i] = float(int(i * 5 % 11) - 5) / 4;
    convgen_named_tensor named[] = {{"weight", host_tensor(w.data(), {8, 4, 3, 3}, CONVGEN_LAYOUT_OIHW)},
                                    {"bias", host_tensor(b.data(), {8}, CONVGEN_LAYOUT_X)}};
    convgen_params *p = nullptr;
    convgen_status st = convgen_prepare_params(k, named, 2, 1e-5f, &p);
    if (st != CONVGEN_OK) return st;
    out.assign(8 * 9 * 11, -1.f);
    convgen_tensor in = host_tensor(x.data(), {1, 4, 9, 11}, CONVGEN_LAYOUT_NCHW);
    convgen_tensor o = host_tensor(out.data(), {1, 8, 9, 11}, CONVGEN_LAYOUT_NCHW);
    st = convgen_run(k, p, &in, &o);
    convgen_params_free(p);
    return st;
}

int main() {
    const char *cuda_key = "conv_f32_n1c4h9w11_o8_k3s1p1d1_none_nchw__cuda";
    const char *cpu_key = "conv_f32_n1c4h9w11_o8_k3s1p1d1_none_nchw__x86_sse41";
    const convgen_kernel *gpu = convgen_find_kernel(cuda_key), *cpu = convgen_find_kernel(cpu_key);
    EXPECT(gpu && cpu, "both kernels registered: %s", convgen_last_error());
    if (!gpu || !cpu) return 1;
    EXPECT(gpu->copy_to_host && gpu->device_free, "the registry fills the device functions");
    EXPECT(convgen_kernel_supported(gpu), "a CUDA kernel needs no CPU feature");

    // The same layer in one registry for both targets: the CUDA kernel where a GPU is present,
    // else the CPU kernel (checked below, once the run says which case this machine is).
    const convgen_kernel *best = convgen_find_kernel_for_layer(&gpu->layer);

    std::vector<float> want, got;
    EXPECT(run(cpu, want) == CONVGEN_OK, "%s", convgen_last_error());
    const convgen_status st = run(gpu, got);
    EXPECT(best == (st == CONVGEN_ERROR_NO_DEVICE ? cpu : gpu), "find_kernel_for_layer chose %s",
           best ? best->key : "nothing");
    if (st == CONVGEN_ERROR_NO_DEVICE) {
        const char *msg = convgen_last_error();
        EXPECT(std::strstr(msg, "CUDA") != nullptr && std::strstr(msg, cuda_key) != nullptr, "message: %s", msg);
        std::printf("no CUDA here, as expected: %s\n", msg);
        // A second call takes the same path (the driver is looked up once) and still does not abort.
        EXPECT(run(gpu, got) == CONVGEN_ERROR_NO_DEVICE, "%s", convgen_last_error());
    } else {
        EXPECT(st == CONVGEN_OK, "status %s: %s", convgen_status_string(st), convgen_last_error());
        double worst = 0;
        for (size_t i = 0; i < want.size() && st == CONVGEN_OK; i++) worst = std::fmax(worst, std::fabs(want[i] - got[i]));
        EXPECT(worst < 1e-4, "GPU and CPU kernels differ by %g", worst);
        if (st == CONVGEN_OK) std::printf("ran on a CUDA device: max |gpu - cpu| = %g\n", worst);
    }
    if (failures == 0) std::printf("PASSED\n");
    return failures ? 1 : 0;
}
