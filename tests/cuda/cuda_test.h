// What test_cuda.cpp and test_cuda_fake.cpp share: a failure counter with a printing EXPECT, and
// a dense tensor descriptor (host or CUDA).
#pragma once

#include <convgen/convgen.h>

#include <cstdio>
#include <vector>

static int failures = 0;
#define EXPECT(cond, ...)                                                  \
    do {                                                                   \
        if (!(cond)) {                                                     \
            std::printf("FAILED %s:%d: %s: ", __FILE__, __LINE__, #cond); \
            std::printf(__VA_ARGS__);                                      \
            std::printf("\n");                                             \
            failures++;                                                    \
        }                                                                  \
    } while (0)

static inline convgen_tensor tensor(void *data, std::vector<int64_t> dims, convgen_layout layout,
                                    convgen_device device = CONVGEN_DEVICE_HOST) {
    convgen_tensor t{};
    t.data = data;
    t.dtype = CONVGEN_F32;
    t.ndim = int(dims.size());
    for (size_t i = 0; i < dims.size(); i++) t.dims[i] = dims[i];
    t.layout = layout;
    t.device = device;
    return t;
}
