/* conv_demo: runs one convgen kernel, a 3x3 conv 4 -> 8 channels on 9x10 NCHW with pad 1, bias
 * and ReLU6, and checks it against the direct double-precision loop below.
 *
 * KERNEL_KEY (from the Makefile) names the kernel; the generated registry, linked in as an
 * object, has registered it before main() starts. Exit status: 0 pass, 1 fail, 77 skipped (this
 * CPU cannot run the kernel's target).
 */
#include <convgen/convgen.h>

#include <math.h>
#include <stdio.h>

#ifndef KERNEL_KEY
#error "build with -DKERNEL_KEY='\"conv_f32_n1c4h9w10_o8_k3s1p1d1_relu6_nchw__<target>\"' (see Makefile)"
#endif

enum { C = 4, H = 9, W = 10, CO = 8, K = 3, PAD = 1 };

/* Deterministic data: multiples of 1/16 in [-0.5, 0.5], exact in float. */
static float value(int id, int i) { return (float)((i * 5 + id * 3) % 17 - 8) / 16.0f; }

int main(void) {
    static float input[1][C][H][W], weight[CO][C][K][K], bias[CO], output[1][CO][H][W];
    float *in = &input[0][0][0][0], *wt = &weight[0][0][0][0];
    for (int i = 0; i < C * H * W; i++) in[i] = value(1, i);
    for (int i = 0; i < CO * C * K * K; i++) wt[i] = value(2, i);
    for (int i = 0; i < CO; i++) bias[i] = value(3, i);

    const convgen_kernel *k = convgen_find_kernel(KERNEL_KEY);
    if (k == NULL) {
        fprintf(stderr, "%s\n", convgen_last_error());
        return 1;
    }
    if (!convgen_kernel_supported(k)) {
        printf("[SKIP] this CPU cannot run target %s\n", k->target);
        return 77;
    }

    /* PyTorch layouts: weight OIHW, bias a vector; activations NCHW; zero strides mean dense. */
    convgen_named_tensor params_in[2] = {
        {"weight", {.data = wt, .dtype = CONVGEN_F32, .ndim = 4, .dims = {CO, C, K, K}, .layout = CONVGEN_LAYOUT_OIHW}},
        {"bias", {.data = bias, .dtype = CONVGEN_F32, .ndim = 1, .dims = {CO}, .layout = CONVGEN_LAYOUT_X}},
    };
    convgen_tensor x = {.data = in, .dtype = CONVGEN_F32, .ndim = 4, .dims = {1, C, H, W}, .layout = CONVGEN_LAYOUT_NCHW};
    convgen_tensor y = {.data = output, .dtype = CONVGEN_F32, .ndim = 4, .dims = {1, CO, H, W}, .layout = CONVGEN_LAYOUT_NCHW};
    convgen_params *params;
    convgen_status st = convgen_prepare_params(k, params_in, 2, 0.0f, &params);
    if (st == CONVGEN_OK) st = convgen_run(k, params, &x, &y);
    if (st != CONVGEN_OK) {
        fprintf(stderr, "%s: %s\n", convgen_status_string(st), convgen_last_error());
        return 1;
    }
    convgen_params_free(params);

    /* The reference: out[o][y][x] = relu6(bias[o] + sum in[i][y+ky-1][x+kx-1] * w[o][i][ky][kx]). */
    double max_err = 0;
    for (int o = 0; o < CO; o++)
        for (int oy = 0; oy < H; oy++)
            for (int ox = 0; ox < W; ox++) {
                double acc = bias[o];
                for (int i = 0; i < C; i++)
                    for (int ky = 0; ky < K; ky++)
                        for (int kx = 0; kx < K; kx++) {
                            int iy = oy + ky - PAD, ix = ox + kx - PAD;
                            if (iy >= 0 && iy < H && ix >= 0 && ix < W) acc += (double)input[0][i][iy][ix] * weight[o][i][ky][kx];
                        }
                double ref = fmin(fmax(acc, 0.0), 6.0);
                double err = fabs(output[0][o][oy][ox] - ref) / (1 + fabs(ref));
                if (!(err <= max_err)) max_err = err; /* also keeps a NaN */
            }
    int pass = max_err <= 1e-5;
    printf("%s: max error %.2e: %s\n", k->key, max_err, pass ? "PASS" : "FAIL");
    return pass ? 0 : 1;
}
