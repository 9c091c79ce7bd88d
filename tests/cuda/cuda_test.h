// What test_cuda.cpp and test_cuda_fake.cpp share: a failure counter with a printing EXPECT, and
// the tensor descriptors of generator/runtime_bridge.h (host_tensor, cuda_tensor).
#pragma once

#include <convgen/convgen.h>

#include "generator/harness/runtime_bridge.h"

#include <cstdio>

using convgen::cuda_tensor;
using convgen::host_tensor;

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
