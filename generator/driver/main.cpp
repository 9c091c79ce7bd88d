// convgen: the command-line tool. Parses arguments (CLI11) into the options of commands.h.
// Exit status: 0 success, 1 a check failed or an internal error, 2 bad input (one line on stderr),
// 3 an external tool failed (the C compiler, the aarch64 toolchain, qemu; or a kernel's compile
// process died): the message names the command and how it ended.
#include "generator/driver/commands.h"
#include "generator/driver/process.h"
#include "generator/spec/layer_spec.h"

#include <CLI/CLI.hpp>
#include <iostream>

namespace {

void add_layer_source(CLI::App *cmd, convgen::LayerSource &src) {
    cmd->add_option("--layer", src.layer, "one layer: key=value,... (see README, Layer grammar)");
    cmd->add_option("--layers", src.layers_file, "a layer file: JSON array of layer objects, or a suite .tsv");
    cmd->add_option("--model", src.model, "the convolutions of a model (.onnx, .mlir; see convgen import)");
    cmd->add_option("--batch", src.batch, "with --model: batch size of the graph inputs");
    cmd->add_option("--set", src.sets, "key=value,... overriding every layer (e.g. layout=nhwc)");
}

}  // namespace

int main(int argc, char **argv) {
    CLI::App app{"convgen: ahead-of-time generator of fixed-shape convolution kernels (Halide)"};
    app.require_subcommand(1);
    app.set_version_flag("--version", std::string("convgen ") + CONVGEN_VERSION);

    convgen::InfoOptions info;
    auto *c_info = app.add_subcommand("info", "print a layer's output shape, parameters, MACs, FLOPs, bytes");
    add_layer_source(c_info, info.src);
    c_info->add_flag("--json", info.json, "print JSON");

    convgen::GenerateCliOptions gen;
    auto *c_gen = app.add_subcommand("generate", "emit kernels (objects, headers, bundle library, manifest)");
    add_layer_source(c_gen, gen.src);
    c_gen->add_option("--target", gen.targets, "Halide target(s), comma-separated (default host)");
    c_gen->add_option("-o,--output", gen.out_dir, "output folder (default generated)");
    c_gen->add_option("--bundle", gen.bundle, "bundle name: lib<name>.a, convgen_register_<name>()");
    c_gen->add_flag("--assembly", gen.assembly, "also write <key>.s");
    c_gen->add_flag("--stmt", gen.stmt, "also write <key>.stmt (Halide's lowered code)");
    c_gen->add_flag("-v,--verbose", gen.verbose, "one line per kernel");
    c_gen->add_option("-j,--jobs", gen.jobs, "kernels compiled at once (default 2)");
    c_gen->add_option("--choice", gen.choice, "schedule fields over each kernel's default, e.g. tx=4,rows=8 (README)");
    c_gen->add_option("--db", gen.db, "tuning records (convgen tune) deciding each kernel's choice; default $CONVGEN_TUNING_DB");

    convgen::RunOptions run;
    auto *c_run = app.add_subcommand("run", "generate (or reuse) one kernel and run it on .npy/.npz data");
    c_run->add_option("--layer", run.layer, "the layer: key=value,...");
    c_run->add_option("--model", run.model, "a model (.onnx): run its layer --layer-name with its weights");
    c_run->add_option("--layer-name", run.layer_name, "with --model: the layer's name (convgen import prints them)");
    c_run->add_option("--batch", run.batch, "with --model: batch size of the graph inputs");
    c_run->add_option("--layout", run.layout, "with --model: nchw | nhwc (default nchw)");
    c_run->add_option("--target", run.target, "Halide target (default host)");
    c_run->add_option("--input", run.input, "input .npy in the layer's layout")->required();
    c_run->add_option("--params", run.params, "parameters .npz with PyTorch state_dict names (not with --model)");
    c_run->add_option("--output", run.output, "output .npy to write")->required();
    c_run->add_option("--cache", run.cache_dir, "where kernels are kept (default ~/.cache/convgen)");
    c_run->add_option("--db", run.db, "tuning records, as for generate");

    convgen::CheckOptions check;
    auto *c_check = app.add_subcommand("check", "generate kernels for layers, run each against the double reference");
    add_layer_source(c_check, check.src);
    c_check->add_option("--target", check.target, "Halide target (default host)");
    c_check->add_option("--work", check.work_dir, "output folder for the kernels (default generated/check)");
    c_check->add_option("--iterations", check.iterations, "timed runs per layer (median reported)");
    c_check->add_option("--seed", check.seed, "seed of the random inputs and parameters");
    c_check->add_option("--choice", check.choice, "schedule fields over each kernel's default, as for generate");
    c_check->add_option("--db", check.db, "tuning records, as for generate");
    c_check->add_flag("-v,--verbose", check.verbose, "one line per kernel compiled");

    convgen::TuneCliOptions tune;
    auto *c_tune = app.add_subcommand("tune", "search each layer's schedule space on this machine; keep what is proven faster");
    add_layer_source(c_tune, tune.src);
    c_tune->add_option("--target", tune.target, "a target this CPU runs (default host)");
    c_tune->add_option("--budget", tune.budget, "search seconds per layer (default 60)");
    c_tune->add_option("--db", tune.db, "the tuning database to append to (default tuning/<target key>.jsonl)");
    c_tune->add_option("--threads", tune.threads, "threads the kernels are timed with (default 2)");
    c_tune->add_option("-j,--jobs", tune.jobs, "candidates compiled at once (default 2)");
    c_tune->add_option("--work", tune.work_dir, "where candidates are compiled (default generated/tune)");
    c_tune->add_option("--timeout", tune.timeout, "seconds without progress after which a candidate counts as hung (default 20)");
    c_tune->add_flag("--retune", tune.retune, "tune layers that already have a record for this CPU");
    c_tune->add_flag("--compare", tune.compare, "time the default, the tuned record and Halide's autoschedulers per layer (no search)");
    c_tune->add_option("--seed", tune.seed, "seed of the search's random restarts");
    c_tune->add_option("--merge", tune.merge, "merge these databases into -o FILE (no tuning)")->expected(1, -1);
    c_tune->add_option("-o,--output", tune.merge_out, "with --merge: the database to write");
    c_tune->add_option("--export", tune.export_dir, "write candidate kernels and a benchmark program for --target into DIR, to run on that machine");
    c_tune->add_option("--candidates", tune.candidates, "with --export: candidates per layer (default 24)");
    c_tune->add_option("--import", tune.import_file, "append the records that an exported benchmark's results file proves (no search)");

    app.add_subcommand("targets", "list the named targets and what host resolves to");

    convgen::ImportCliOptions imp;
    auto *c_imp = app.add_subcommand("import", "list a model's convolutions as layers; write them as a layer file");
    c_imp->add_option("model", imp.model, "the model: .onnx or .mlir")->required();
    c_imp->add_option("-o,--output", imp.out_file, "write the layer file (JSON) here");
    c_imp->add_option("--batch", imp.batch, "batch size of the graph inputs (a dynamic batch needs it)");
    c_imp->add_option("--layout", imp.layout, "layout of every layer: nchw | nhwc (default nchw)");

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError &e) {
        int code = app.exit(e);
        return code == 0 ? 0 : 2;
    }
    try {
        if (*c_info) return convgen::cmd_info(info);
        if (*c_gen) return convgen::cmd_generate(gen);
        if (*c_run) return convgen::cmd_run(run);
        if (*c_imp) return convgen::cmd_import(imp);
        if (*c_tune) return convgen::cmd_tune(tune);
        if (*c_check) {
            if (check.src.layer.empty() && check.src.layers_file.empty() && check.src.model.empty()) check.src.layers_file = CONVGEN_DEFAULT_LAYERS;
            return convgen::cmd_check(check);
        }
        return convgen::cmd_targets();
    } catch (const convgen::SpecError &e) {
        std::cerr << "convgen: error: " << e.what() << "\n";
        return 2;
    } catch (const convgen::ToolError &e) {
        std::cerr << "convgen: tool error: " << e.what() << "\n";
        return 3;
    } catch (const std::exception &e) {
        std::cerr << "convgen: internal error: " << e.what() << "\n";
        return 1;
    } catch (...) {  // e.g. Halide::Error, which is not a std::exception
        std::cerr << "convgen: internal error (unknown exception)\n";
        return 1;
    }
}
