// ONNX models -> Graph (model.h), with the ONNX library itself: Debian's libonnx-dev parses the
// protobuf (onnx-ml.pb.h), checks the model (onnx::checker) and infers every intermediate shape
// (onnx::shape_inference; exporters such as torch store none).
//
// Constants are initializers, Constant nodes and Identity nodes of either (torch de-duplicates
// parameters through Identity). Conv: strides, pads (explicit, or auto_pad SAME_UPPER /
// SAME_LOWER / VALID from the inferred input shape), dilations, group; Clip's bounds are inputs
// from opset 11, attributes before. Bad input throws SpecError naming the file and the node.
#include "generator/import/model.h"

#include <fmt/core.h>
#include <onnx/checker.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <set>

namespace convgen {

namespace {

[[noreturn]] void fail(const std::string &msg) { throw SpecError(msg); }

// The ONNX library's multi-line messages as one line.
std::string one_line(std::string s) {
    for (char &ch : s)
        if (ch == '\n' || ch == '\r') ch = ' ';
    while (!s.empty() && s.back() == ' ') s.pop_back();
    return s;
}

// Names go into the layer file: the JSON writer must accept them (valid UTF-8).
bool json_text(const std::string &s) {
    try {
        (void)nlohmann::json(s).dump();
        return true;
    } catch (const nlohmann::json::type_error &) {
        return false;
    }
}

// Shapes of every known tensor; -1 for a dimension that is not a fixed number.
struct Shape {
    std::vector<int64_t> dims;
    std::string symbolic;  // the first symbolic dimension's name, if any
};

class OnnxReader {
public:
    OnnxReader(const std::string &path, const ImportOptions &o) : path_(path), o_(o) {}

    Graph read() {
        load();
        const onnx::GraphProto &gp = model_.graph();
        for (const auto &t : gp.initializer()) constants_[t.name()] = &t;
        for (const auto &v : gp.input()) collect_shape(v, true);
        for (const auto &v : gp.value_info()) collect_shape(v, false);
        for (const auto &v : gp.output()) collect_shape(v, false);

        Graph g;
        g.file = path_;
        for (const auto &v : gp.output()) g.outputs.insert(v.name());
        for (const onnx::NodeProto &node : gp.node()) g.ops.push_back(op_of(node));
        return g;
    }

private:
    std::string path_;
    const ImportOptions &o_;
    onnx::ModelProto model_;
    std::map<std::string, const onnx::TensorProto *> constants_;
    std::map<std::string, Shape> shapes_;
    std::map<std::string, std::string> producers_;  // tensor -> node name
    std::vector<std::string> dynamic_inputs_;        // graph inputs with a symbolic dimension

    void load() {
        const std::string bytes = read_file_bytes(path_);
        if (!model_.ParseFromString(bytes))
            fail(path_ + ": not a valid ONNX model (the protobuf does not parse: truncated or corrupt?)");
        if (!model_.has_graph() || model_.graph().node_size() == 0) fail(path_ + ": the ONNX model has no graph nodes");
        defined_inputs();
        try {
            onnx::checker::check_model(model_);
        } catch (const std::exception &e) {
            fail(path_ + ": invalid ONNX model: " + one_line(e.what()));
        }
        conv_checks();
        // --batch N fixes dimension 0 of every graph input before shapes are inferred.
        std::map<std::string, bool> init;
        for (const auto &t : model_.graph().initializer()) init[t.name()] = true;
        for (auto &v : *model_.mutable_graph()->mutable_input()) {
            if (init.count(v.name()) || !v.type().has_tensor_type() || !v.type().tensor_type().has_shape()) continue;
            auto *shape = v.mutable_type()->mutable_tensor_type()->mutable_shape();
            if (o_.batch > 0 && shape->dim_size() > 0) shape->mutable_dim(0)->set_dim_value(o_.batch);
        }
        // Inferred shapes are only as good as the graph: strict mode reports a node it cannot type.
        try {
            onnx::shape_inference::InferShapes(model_, onnx::OpSchemaRegistry::Instance(),
                                               onnx::ShapeInferenceOptions(false, 1, true));
        } catch (const std::exception &e) {
            fail(path_ + ": shape inference failed: " + one_line(e.what()));
        }
    }

    // Before the checker, whose messages do not say what is wrong for a user: every node input is
    // an initializer, a graph input or an earlier node's output, and no weight is external.
    void defined_inputs() const {
        const onnx::GraphProto &gp = model_.graph();
        std::map<std::string, const onnx::TensorProto *> init;
        std::set<std::string> known;
        for (const auto &t : gp.initializer()) init[t.name()] = &t, known.insert(t.name());
        for (const auto &v : gp.input()) known.insert(v.name());
        for (int i = 0; i < gp.node_size(); i++) {
            const onnx::NodeProto &node = gp.node(i);
            bool names_ok = json_text(node.name()) && json_text(node.op_type());
            for (const auto *ts : {&node.input(), &node.output()})
                for (const std::string &t : *ts) names_ok = names_ok && json_text(t);
            if (!names_ok)
                fail(path_ + ": node " + std::to_string(i) + ": its name, op type or a tensor name is not valid UTF-8");
            for (const std::string &t : node.input()) {
                if (t.empty()) continue;
                if (!known.count(t))
                    fail(where(node) + ": input '" + t + "' is not an initializer, a graph input or an earlier node's "
                         "output (a missing initializer?)");
                auto it = init.find(t);
                if (it != init.end() && it->second->data_location() == onnx::TensorProto::EXTERNAL)
                    fail(where(node) + ": tensor '" + t + "' is stored in an external data file, which convgen does "
                         "not read (save the model with its weights inside)");
            }
            for (const std::string &t : node.output()) known.insert(t);
        }
    }

    // libonnx 1.12's Conv shape inference indexes the input's dimensions by the weight's (and the
    // reverse with auto_pad), past either's end when their ranks differ, and divides by the
    // strides: segfaults and a division by zero found by tests/fuzz. Refuse those before inferring. Ranks come from the
    // graph inputs, constants and declared shapes, carried through ops that keep their input's rank.
    void conv_checks() const {
        static const std::set<std::string> keeps_rank = {"Identity", "Relu", "Clip", "Sigmoid", "HardSwish",
                                                         "HardSigmoid", "LeakyRelu", "Tanh", "BatchNormalization",
                                                         "Conv"};
        const onnx::GraphProto &gp = model_.graph();
        std::map<std::string, int> rank;
        for (const auto &t : gp.initializer()) rank[t.name()] = t.dims_size();
        for (const auto *vs : {&gp.input(), &gp.value_info()})
            for (const auto &v : *vs)
                if (v.type().has_tensor_type() && v.type().tensor_type().has_shape())
                    rank[v.name()] = v.type().tensor_type().shape().dim_size();
        auto known = [&](const std::string &t) { auto it = rank.find(t); return it == rank.end() ? -1 : it->second; };
        for (const onnx::NodeProto &node : gp.node()) {
            if (node.op_type() == "Conv")
                for (const auto &a : node.attribute())
                    if (a.name() == "strides" || a.name() == "dilations")
                        for (int64_t v : a.ints())
                            if (v < 1) fail(where(node) + ": " + a.name() + " " + std::to_string(v) + " must be >= 1");
            if (node.op_type() == "Conv" && node.input_size() >= 2) {
                const int x = known(node.input(0)), w = known(node.input(1));
                if (x >= 0 && w >= 0 && w != x)
                    fail(where(node) + ": weight '" + node.input(1) + "' has " + std::to_string(w) + " dimensions, its input '" +
                         node.input(0) + "' " + std::to_string(x));
            }
            if (node.output_size() == 0) continue;
            if (node.op_type() == "Constant") {
                for (const auto &a : node.attribute())
                    if (a.name() == "value" && a.has_t()) rank[node.output(0)] = a.t().dims_size();
            } else if (keeps_rank.count(node.op_type()) && node.input_size() >= 1 && known(node.input(0)) >= 0) {
                rank[node.output(0)] = known(node.input(0));
            }
        }
    }

    void collect_shape(const onnx::ValueInfoProto &v, bool graph_input) {
        if (!v.type().has_tensor_type() || !v.type().tensor_type().has_shape()) return;
        Shape s;
        for (const auto &d : v.type().tensor_type().shape().dim()) {
            s.dims.push_back(d.has_dim_value() ? d.dim_value() : -1);
            if (!d.has_dim_value() && s.symbolic.empty()) s.symbolic = d.has_dim_param() ? d.dim_param() : "?";
        }
        if (graph_input && !constants_.count(v.name()) && !s.symbolic.empty())
            dynamic_inputs_.push_back("'" + v.name() + "' has dimension '" + s.symbolic + "'");
        shapes_[v.name()] = s;
    }

    std::string where(const onnx::NodeProto &node) const {
        const std::string name = node.name().empty() && node.output_size() ? node.output(0) : node.name();
        return path_ + ": node '" + name + "' (" + node.op_type() + ")";
    }

    const onnx::TensorProto *constant(const std::string &name) const {
        auto it = constants_.find(name);
        return it == constants_.end() ? nullptr : it->second;
    }

    Tensor to_tensor(const onnx::NodeProto &node, const onnx::TensorProto &t) const {
        const std::string what = where(node) + ": tensor '" + t.name() + "'";
        if (t.data_location() == onnx::TensorProto::EXTERNAL)
            fail(what + " is stored in an external data file, which convgen does not read (save the model with its weights inside)");
        if (t.data_type() != onnx::TensorProto::FLOAT)
            fail(what + " has ONNX data type " + std::to_string(t.data_type()) + "; only float32 (1) is supported");
        Tensor out;
        for (int64_t d : t.dims()) out.shape.push_back(d);
        const size_t n = size_t(out.numel());
        if (t.has_raw_data()) {
            if (t.raw_data().size() != n * 4)
                fail(what + " holds " + std::to_string(t.raw_data().size()) + " bytes, expected " + std::to_string(n * 4));
            out.data.resize(n);
            std::memcpy(out.data.data(), t.raw_data().data(), n * 4);  // little-endian, as ONNX stores it
        } else {
            if (size_t(t.float_data_size()) != n)
                fail(what + " holds " + std::to_string(t.float_data_size()) + " values, expected " + std::to_string(n));
            out.data.assign(t.float_data().begin(), t.float_data().end());
        }
        return out;
    }

    // A constant input of `node`: an initializer or Constant, else SpecError (a missing initializer).
    Tensor constant_input(const onnx::NodeProto &node, int i, const char *role) const {
        const std::string &name = node.input(i);
        if (const onnx::TensorProto *t = constant(name)) return to_tensor(node, *t);
        fail(where(node) + ": " + role + " '" + name + "' is not an initializer or Constant" +
             (producers_.count(name) ? " (computed by node '" + producers_.at(name) + "')" : ""));
    }

    static const onnx::AttributeProto *attr(const onnx::NodeProto &node, const char *name) {
        for (const auto &a : node.attribute())
            if (a.name() == name) return &a;
        return nullptr;
    }
    // An integer-list attribute; every value must fit a layer's fields (convgen's sizes stay < 2^24).
    std::vector<int64_t> ints(const onnx::NodeProto &node, const char *name, std::vector<int64_t> dflt) const {
        const onnx::AttributeProto *a = attr(node, name);
        if (!a) return dflt;
        std::vector<int64_t> v(a->ints().begin(), a->ints().end());
        for (int64_t x : v)
            if (x < 0 || x > (int64_t(1) << 24)) fail(where(node) + ": " + name + " value " + std::to_string(x) + " is out of range");
        return v;
    }

    GraphOp op_of(const onnx::NodeProto &node) {
        GraphOp op;
        op.name = node.name().empty() ? (node.output_size() ? node.output(0) : node.op_type()) : node.name();
        op.op_type = node.op_type();
        for (const std::string &t : node.output()) {
            op.outputs.push_back(t);
            producers_[t] = op.name;
        }
        for (const std::string &t : node.input())
            if (!t.empty() && !constant(t)) op.inputs.push_back(t);
        const std::string &type = node.op_type();
        if (!node.domain().empty() && node.domain() != "ai.onnx") return op;
        if (type == "Constant") {
            const onnx::AttributeProto *v = attr(node, "value");
            if (v && v->has_t() && node.output_size() == 1) constants_[node.output(0)] = &v->t();
        } else if (type == "Identity") {
            if (const onnx::TensorProto *t = constant(node.input(0))) constants_[node.output(0)] = t;
        } else if (type == "Conv") {
            conv(node, op);
        } else if (type == "BatchNormalization") {
            batchnorm(node, op);
        } else if (type == "Relu") {
            op.type = GraphOp::Type::Act, op.act = Act::Relu;
        } else if (type == "Clip") {
            clip(node, op);
        } else if (type == "HardSwish" || type == "HardSigmoid" || type == "Sigmoid" || type == "Tanh" ||
                   type == "LeakyRelu" || type == "PRelu" || type == "Elu" || type == "Selu" || type == "Softplus" ||
                   type == "Gelu" || type == "Mish" || type == "ThresholdedRelu") {
            op.type = GraphOp::Type::Act, op.unsupported = type;
        }
        return op;
    }

    void conv(const onnx::NodeProto &node, GraphOp &op) {
        op.type = GraphOp::Type::Conv;
        op.inputs = {node.input(0)};
        if (node.input_size() < 2) fail(where(node) + ": has no weight input");
        const std::string &wname = node.input(1);
        if (!constant(wname)) {
            if (producers_.count(wname)) op.unsupported = "weight '" + wname + "' is computed by node '" + producers_.at(wname) + "'";
            else if (shapes_.count(wname)) op.unsupported = "weight '" + wname + "' is a graph input";
            else constant_input(node, 1, "weight");  // throws: a missing initializer
            return;
        }
        Tensor w = constant_input(node, 1, "weight");
        if (w.shape.size() != 4) {
            op.unsupported = std::to_string(int(w.shape.size()) - 2) + "-D convolution (weight " + shape_str(w.shape) + ")";
            return;
        }
        op.has_weights = true;
        op.weight = w;
        op.cout = int(w.shape[0]), op.kh = int(w.shape[2]), op.kw = int(w.shape[3]);
        if (node.input_size() > 2 && !node.input(2).empty()) {
            op.has_bias = true;
            op.bias = constant_input(node, 2, "bias");
            if (op.bias.numel() != op.cout) fail(where(node) + ": bias has " + std::to_string(op.bias.numel()) +
                                                 " values for " + std::to_string(op.cout) + " output channels");
        }
        const auto strides = ints(node, "strides", {1, 1}), dil = ints(node, "dilations", {1, 1});
        const auto pads = ints(node, "pads", {0, 0, 0, 0});
        const auto kernel = ints(node, "kernel_shape", {op.kh, op.kw});
        if (strides.size() != 2 || dil.size() != 2 || pads.size() != 4 || kernel.size() != 2)
            fail(where(node) + ": strides, dilations, kernel_shape need 2 values and pads 4");
        if (kernel[0] != op.kh || kernel[1] != op.kw)
            fail(where(node) + ": kernel_shape " + shape_str(kernel) + " disagrees with weight " + shape_str(w.shape));
        op.sh = int(strides[0]), op.sw = int(strides[1]), op.dh = int(dil[0]), op.dw = int(dil[1]);
        op.pad_t = int(pads[0]), op.pad_l = int(pads[1]), op.pad_b = int(pads[2]), op.pad_r = int(pads[3]);
        const onnx::AttributeProto *g = attr(node, "group");
        if (g && (g->i() < 1 || g->i() > (int64_t(1) << 24))) fail(where(node) + ": group " + std::to_string(g->i()) + " is out of range");
        op.groups = g ? int(g->i()) : 1;

        auto it = shapes_.find(node.input(0));
        const bool known = it != shapes_.end() && it->second.dims.size() == 4 && it->second.symbolic.empty();
        if (!known) {
            if (it != shapes_.end() && it->second.dims.size() != 4 && it->second.symbolic.empty())
                fail(where(node) + ": input '" + node.input(0) + "' has shape " + shape_str(it->second.dims) +
                     ", expected N, C, H, W");
            if (dynamic_inputs_.empty())
                fail(where(node) + ": the shape of input '" + node.input(0) + "' cannot be inferred");
            op.shape_problem = "dynamic shape (graph input " + dynamic_inputs_[0] + ")" +
                               (o_.batch > 0 ? "" : "; give --batch N for a dynamic batch");
            return;
        }
        op.in_shape = it->second.dims;
        for (int64_t d : op.in_shape)
            if (d < 1 || d > (int64_t(1) << 24))
                fail(where(node) + ": input '" + node.input(0) + "' has shape " + shape_str(op.in_shape) + ", out of range");
        if (op.in_shape[1] != int64_t(w.shape[1]) * op.groups)
            fail(where(node) + ": input has " + std::to_string(op.in_shape[1]) + " channels but weight " +
                 shape_str(w.shape) + " with group " + std::to_string(op.groups) + " needs " +
                 std::to_string(w.shape[1] * op.groups));
        const onnx::AttributeProto *ap = attr(node, "auto_pad");
        const std::string auto_pad = ap ? ap->s() : "NOTSET";
        if (auto_pad == "VALID") {
            op.pad_t = op.pad_l = op.pad_b = op.pad_r = 0;
        } else if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
            // Output ceil(in / stride); the odd pixel at the end (UPPER) or the beginning (LOWER).
            auto same = [&](int64_t in, int k, int s, int d, int &lo, int &hi) {
                const int64_t out = (in + s - 1) / s;
                const int64_t total = std::max<int64_t>((out - 1) * s + int64_t(d) * (k - 1) + 1 - in, 0);
                const int64_t small = total / 2, large = total - small;
                lo = int(auto_pad == "SAME_UPPER" ? small : large);
                hi = int(auto_pad == "SAME_UPPER" ? large : small);
            };
            same(op.in_shape[2], op.kh, op.sh, op.dh, op.pad_t, op.pad_b);
            same(op.in_shape[3], op.kw, op.sw, op.dw, op.pad_l, op.pad_r);
        } else if (auto_pad != "NOTSET") {
            fail(where(node) + ": auto_pad '" + auto_pad + "' is not NOTSET, SAME_UPPER, SAME_LOWER or VALID");
        }
    }

    void batchnorm(const onnx::NodeProto &node, GraphOp &op) {
        const onnx::AttributeProto *training = attr(node, "training_mode");
        if ((training && training->i() != 0) || node.output_size() != 1 || node.input_size() != 5) return;  // stays Other
        for (int i = 1; i < 5; i++)
            if (!constant(node.input(i))) return;
        op.type = GraphOp::Type::BatchNorm;
        op.inputs = {node.input(0)};
        op.gamma = constant_input(node, 1, "scale");
        op.beta = constant_input(node, 2, "B");
        op.mean = constant_input(node, 3, "input_mean");
        op.var = constant_input(node, 4, "input_var");
        const onnx::AttributeProto *eps = attr(node, "epsilon");
        op.eps = eps ? double(eps->f()) : 1e-5;
        op.has_weights = true;
    }

    // Clip(0, 6) is relu6 and Clip(0, +inf) relu; other bounds are an activation convgen lacks.
    void clip(const onnx::NodeProto &node, GraphOp &op) {
        double lo = -std::numeric_limits<double>::infinity(), hi = std::numeric_limits<double>::infinity();
        op.type = GraphOp::Type::Act;
        op.inputs = {node.input(0)};
        for (int i = 1; i < 3 && i < node.input_size(); i++) {
            if (node.input(i).empty()) continue;
            if (!constant(node.input(i))) {
                op.unsupported = "Clip with computed bounds";
                return;
            }
            const Tensor t = constant_input(node, i, i == 1 ? "min" : "max");
            if (t.numel() != 1) fail(where(node) + ": bound '" + node.input(i) + "' is not a scalar");
            (i == 1 ? lo : hi) = t.data[0];
        }
        if (const onnx::AttributeProto *a = attr(node, "min")) lo = a->f();
        if (const onnx::AttributeProto *a = attr(node, "max")) hi = a->f();
        if (lo == 0 && hi == 6) op.act = Act::Relu6;
        else if (lo == 0 && std::isinf(hi)) op.act = Act::Relu;
        else op.unsupported = fmt::format("Clip({:g}, {:g})", lo, hi);
    }
};

}  // namespace

Graph read_onnx(const std::string &path, const ImportOptions &o) { return OnnxReader(path, o).read(); }

}  // namespace convgen
