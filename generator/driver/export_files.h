// Files that `convgen tune --export` writes beside exported kernels so that the folder builds
// on its own: the C runtime's sources and headers, Halide's runtime header and the benchmark
// program (generator/driver/tune_bench.c). Embedded at build time from the sources
// (cmake/embed_files.cmake), so there is one copy of each.
#pragma once

#include <string>
#include <vector>

namespace convgen {

struct EmbeddedFile {
    const char *name;     // path inside the exported folder
    const char *content;
};
const std::vector<EmbeddedFile> &export_files();

}  // namespace convgen
