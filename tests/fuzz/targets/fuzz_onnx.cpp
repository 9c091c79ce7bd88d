// libFuzzer target: ONNX model files, through the entry point `convgen import` uses for .onnx
// (read_onnx, then classify; generator/driver/commands.cpp), with and without --batch, and the
// table and layer file it writes. libonnx and protobuf are Debian's (not instrumented: the
// coverage is convgen's side). Bad input must be a one-line SpecError; any other exception, a
// crash, a leak or a sanitizer report is a finding.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "generator/import/model.h"

namespace {

// read_onnx takes a path: the input goes to a file of this process's own, removed at exit.
struct ModelFile {
    const std::string path =
        (std::filesystem::temp_directory_path() / ("fuzz_onnx_" + std::to_string(getpid()) + ".onnx")).string();
    ~ModelFile() {
        std::error_code ignored;
        std::filesystem::remove(path, ignored);
    }
};

const std::string &model_path() {
    static const ModelFile file;
    return file.path;
}

void import_once(int batch) {
    convgen::ImportOptions o;
    o.batch = batch;
    try {
        const convgen::ImportResult r = convgen::classify(convgen::read_onnx(model_path(), o), o);
        std::ostringstream table;
        convgen::print_table(r, table);
        (void)convgen::layers_json(r).dump();
    } catch (const convgen::SpecError &e) {
        if (std::string(e.what()).find('\n') != std::string::npos) std::abort();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    {
        std::ofstream out(model_path(), std::ios::binary | std::ios::trunc);
        out.write(reinterpret_cast<const char *>(data), std::streamsize(size));
        if (!out) std::abort();
    }
    import_once(0);
    import_once(2);
    return 0;
}
