// The subcommands of the `convgen` tool (main.cpp parses the command line into these options).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace convgen {

struct LayerSource {
    std::string layer;              // --layer TEXT
    std::string layers_file;        // --layers FILE
    std::string model;              // --model FILE (.onnx, .mlir): its imported layers
    int batch = 0;                  // --batch N for --model (dimension 0 of the graph inputs)
    std::vector<std::string> sets;  // --set key=value,... applied to every layer
};
struct ImportCliOptions {
    std::string model, out_file, layout = "nchw";
    int batch = 0;
};

struct InfoOptions {
    LayerSource src;
    bool json = false;
};
struct GenerateCliOptions {
    LayerSource src;
    std::string targets = "host";
    std::string out_dir = "generated";
    std::string bundle = "convgen_kernels";
    bool assembly = false, stmt = false, verbose = false;
    int jobs = 2;
    std::string choice;  // --choice FIELDS over every kernel's default Choice
    std::string db;      // --db FILE: tuned records (else $CONVGEN_TUNING_DB)
};
struct RunOptions {
    std::string layer, target = "host", input, params, output, cache_dir;
    std::string model, layer_name, layout = "nchw";  // --model M --layer-name NAME: the model's layer and weights
    int batch = 0;
    std::string db;  // as for generate
};
struct CheckOptions {
    LayerSource src;
    std::string target = "host", work_dir = "generated/check";
    std::string choice;  // --choice, as for generate
    std::string db;      // --db, as for generate
    int iterations = 20;
    unsigned seed = 1;
    bool verbose = false;
};

struct TuneCliOptions {
    LayerSource src;
    std::string target = "host", work_dir = "generated/tune";
    std::string db;  // --db FILE (default tuning/<target key>.jsonl)
    double budget = 60, timeout = 20;
    int threads = 2, jobs = 2;
    bool retune = false, compare = false;  // --compare: default, tuned and Halide's autoschedulers side by side
    uint64_t seed = 1;
    std::string export_dir, import_file;  // --export DIR / --import FILE (export.h)
    int candidates = 24;                  // --export: candidates per layer
    std::vector<std::string> merge;  // --merge A B ...: merge databases into merge_out instead
    std::string merge_out;
};

// Each returns the process exit status: 0 success, 1 a check failed. Bad input throws SpecError
// (exit 2), a failed external tool ToolError (exit 3, process.h).
int cmd_info(const InfoOptions &o);
int cmd_generate(const GenerateCliOptions &o);
int cmd_run(const RunOptions &o);
int cmd_check(const CheckOptions &o);
int cmd_targets();
int cmd_import(const ImportCliOptions &o);
// Also 130 when SIGINT or SIGTERM ended it (the records of the layers done are kept).
int cmd_tune(const TuneCliOptions &o);

}  // namespace convgen
