// A reproducible draw of realistic layers that no file of the project lists, so the benchmark
// cannot be fitted to a fixed set (convgen_bench --random N --seed S).
#pragma once

#include "generator/spec/layer_spec.h"

#include <cstdint>
#include <vector>

namespace convgen {

// N valid layers from `seed`: all four kinds; channels from common widths and odd ones; sizes
// 7-224, odd ones included; k 1/3/5/7; stride 1/2; dilation 1/2; groups; batch 1-8. Each is kept
// between 0.5 and 400 MFLOP so a run stays minutes long. Named r1..rN. The same seed gives the
// same layers on every machine (own generator, no std:: distributions).
std::vector<LayerSpec> random_layers(int n, uint64_t seed);

}  // namespace convgen
