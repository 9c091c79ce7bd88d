// The subcommands of the `convgen` tool (main.cpp parses the command line into these options).
#pragma once

#include <string>
#include <vector>

namespace convgen {

struct LayerSource {
    std::string layer;              // --layer TEXT
    std::string layers_file;        // --layers FILE
    std::vector<std::string> sets;  // --set key=value,... applied to every layer
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
};
struct RunOptions {
    std::string layer, target = "host", input, params, output, cache_dir;
};
struct CheckOptions {
    LayerSource src;
    std::string target = "host", work_dir = "generated/check";
    int iterations = 20;
    unsigned seed = 1;
    bool verbose = false;
};

// Each returns the process exit status: 0 success, 1 a check failed. Bad input throws SpecError
// (exit 2), a failed external tool ToolError (exit 3, process.h).
int cmd_info(const InfoOptions &o);
int cmd_generate(const GenerateCliOptions &o);
int cmd_run(const RunOptions &o);
int cmd_check(const CheckOptions &o);
int cmd_targets();

}  // namespace convgen
