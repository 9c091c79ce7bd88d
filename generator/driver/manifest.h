// manifest.json and convgen_registry.c: what `convgen generate` says about what it emitted.
//
// The manifest lists every kernel (key, spec, target, C symbol, argument order with each
// argument's shape and layout, FLOPs, bytes, files), the shared runtimes and the bundle library.
// The registry source is the table the runtime (runtime/include/convgen/convgen.h) looks kernels
// up in; a program compiles it and links lib<bundle>.a.
#pragma once

#include "generator/driver/compile.h"

#include <nlohmann/json.hpp>
#include <cstdint>
#include <string>
#include <vector>

namespace convgen {

nlohmann::json manifest_json(const GenerateResult &r, const GenerateOptions &o);
std::string registry_source(const GenerateResult &r, const GenerateOptions &o);

// Reads DIR/manifest.json; throws SpecError naming the file and the problem. A missing file is an
// empty manifest (null json) when `missing_ok`.
nlohmann::json read_manifest(const std::string &dir, bool missing_ok = false);

// A target's feature bitmask as the runtime's halide_can_use_target_features takes it (Halide's
// Target::Feature and halide_target_feature_t share their numbering): bit f of word f / 64.
// The registry source and the loader give it to each kernel (convgen_kernel.features).
std::vector<uint64_t> target_feature_words(const Halide::Target &t);

std::string halide_version();   // e.g. "21.0.0"
std::string convgen_version();  // e.g. "0.1.0"

}  // namespace convgen
