// Model import: a model's graph as an importer reads it, and the classifier that turns its
// convolutions (with the BatchNormalization and activation after each) into convgen layers.
//
// Entry points:
//   read_onnx(path, options)     the graph of an .onnx model (onnx.cpp)
//   classify(graph, options)     layers with the model's weights (BN folded) and the table rows
//   print_table(result, out)     the table `convgen import` prints
//   layers_json(result)          the layer file (a JSON array that --layers reads, with names)
//
// Pure C++ on top of convgen_spec (no Halide, no ONNX), so the MLIR tool shares it.
#pragma once

#include "generator/spec/layer_spec.h"
#include "generator/spec/npy.h"

#include <nlohmann/json.hpp>
#include <iosfwd>
#include <set>
#include <string>
#include <vector>

namespace convgen {

struct ImportOptions {
    int batch = 0;                 // > 0: dimension 0 of every graph input (needed for a dynamic batch)
    Layout layout = Layout::NCHW;  // of every layer (the model's tensors are NCHW)
};

// One op of the graph, in topological order; tensors are referred to by name.
struct GraphOp {
    enum class Type { Conv, BatchNorm, Act, Other };
    Type type = Type::Other;
    std::string name;     // unique node name (an unnamed node gets its first output's name)
    std::string op_type;  // the model's op: "Conv", "BatchNormalization", "Clip", "tosa.conv2d", ...
    std::vector<std::string> inputs;   // tensors read (Conv, BatchNorm: the activation only)
    std::vector<std::string> outputs;  // tensors written (the first is the data output)

    // Conv, 2-D only. `unsupported` says why it cannot be a layer (a 3-D conv, weights that are
    // not constants); `shape_problem` why its input shape is unknown (a dynamic dimension).
    std::string unsupported, shape_problem;
    std::vector<int64_t> in_shape;  // N, C, H, W; empty when unknown
    int cout = 0, kh = 1, kw = 1, sh = 1, sw = 1, dh = 1, dw = 1, groups = 1;
    int pad_t = 0, pad_l = 0, pad_b = 0, pad_r = 0;
    bool has_bias = false;
    bool has_weights = false;  // false: shapes only (MLIR), the layers get no parameters
    Tensor weight;             // OIHW: (cout, c / groups, kh, kw)
    Tensor bias;               // (cout) when has_bias and has_weights

    // BatchNorm (inference): y = (x - mean) / sqrt(var + eps) * gamma + beta; tensors when has_weights.
    Tensor gamma, beta, mean, var;
    double eps = 1e-5;

    // Act: relu or relu6; `unsupported` names an activation convgen lacks ("HardSwish").
    Act act = Act::None;
};

struct Graph {
    std::string file;
    std::vector<GraphOp> ops;
    std::set<std::string> outputs;  // graph outputs: never fused away
};

struct ImportedLayer {
    LayerSpec spec;                  // spec.name: the (first) conv node's name
    std::vector<std::string> nodes;  // every node fused into the layer, in order
    NamedTensors params;             // PyTorch state_dict names (`convgen run --params`); empty without weights
};

// A row of the table: a layer, or a conv that is not one (kind "-", `fused` gives the reason).
struct ImportRow {
    std::string name, kind, input, output, fused;
    double mflop = 0;
    int64_t params = 0;
};

struct ImportResult {
    std::string file;
    std::vector<ImportedLayer> layers;
    std::vector<ImportRow> rows;
};

ImportResult classify(const Graph &g, const ImportOptions &o);
void print_table(const ImportResult &r, std::ostream &out);
nlohmann::ordered_json layers_json(const ImportResult &r);  // keys in grammar order

// onnx.cpp: the graph of an ONNX model (real schema, checker and shape inference). Bad input
// throws SpecError naming the file and the node.
Graph read_onnx(const std::string &path, const ImportOptions &o);

}  // namespace convgen
