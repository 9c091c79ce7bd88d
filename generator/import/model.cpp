// The classifier of model import (see model.h): every Conv of a graph becomes a layer or a row
// with the reason it is not one.
//
// Rules, applied in graph order:
//  - kind from groups and kernel: groups 1 with a 1x1 kernel is pointwise, groups == c (> 1) with
//    cout a multiple of c is depthwise (multiplier cout / c), anything else conv (with groups);
//  - a conv's output read by exactly one op (and not a graph output) that is a BatchNormalization
//    has it folded into the weights; a Relu or Clip(0, 6) read the same way after that is fused as
//    the activation; an activation convgen lacks (HardSwish, ...) stays a node of its own and is
//    named in the table;
//  - a depthwise conv with multiplier 1 whose (BN, activation) output is read only by a 1x1 conv
//    of stride 1, no padding and groups 1 becomes one dwsep layer with an activation per stage.
// BatchNorm is folded here in double precision; dwsep layers get identity bn1/bn2 parameters,
// since the runtime always folds those (README "Running on your data").
#include "generator/import/model.h"

#include <fmt/core.h>

#include <cmath>
#include <map>
#include <ostream>
#include <sstream>

namespace convgen {

namespace {

std::string dims_str(const std::vector<int64_t> &shape) {
    std::string s;
    for (size_t i = 0; i < shape.size(); i++) s += (i ? "x" : "") + (shape[i] < 0 ? "?" : std::to_string(shape[i]));
    return s.empty() ? "?" : s;
}

// A conv with the BatchNormalization and activation fused after it.
struct Chain {
    int conv = -1, bn = -1, act = -1;
    std::string out;   // the tensor the chain produces
    std::string note;  // an activation after it that is not fused
};

class Classifier {
public:
    Classifier(const Graph &g, const ImportOptions &o) : g_(g), o_(o) {
        for (size_t i = 0; i < g.ops.size(); i++)
            for (const std::string &t : g.ops[i].inputs) readers_[t].push_back(int(i));
    }

    ImportResult run() {
        ImportResult r;
        r.file = g_.file;
        std::vector<bool> fused(g_.ops.size(), false);
        for (size_t i = 0; i < g_.ops.size(); i++) {
            const GraphOp &op = g_.ops[i];
            if (op.type != GraphOp::Type::Conv || fused[i]) continue;
            ImportRow row;
            row.name = op.name;
            row.input = dims_str(op.in_shape);
            if (!op.unsupported.empty() || op.in_shape.empty()) {
                row.kind = "-";
                row.output = "?";
                row.fused = "not imported: " + (op.unsupported.empty() ? op.shape_problem : op.unsupported);
                r.rows.push_back(row);
                continue;
            }
            LayerSpec spec = base_spec(op);
            Chain first = follow(int(i)), second;
            ImportedLayer layer;
            layer.spec = spec;
            if (spec.kind == Kind::Depthwise && spec.multiplier == 1) {
                const int pw = sole_reader(first.out);
                if (pw >= 0 && pointwise_stage(g_.ops[size_t(pw)], spec.cout)) {
                    second = follow(pw);
                    fused[size_t(pw)] = true;
                }
            }
            std::string error;
            try {
                layer = second.conv >= 0 ? dwsep(spec, first, second) : single(spec, first);
                validate(layer.spec);
            } catch (const SpecError &e) {
                error = e.what();
            }
            if (!error.empty()) {  // a shape convgen's grammar rejects (e.g. a kernel larger than the input)
                row.kind = "-";
                row.output = "?";
                row.fused = "not imported: " + error;
                r.rows.push_back(row);
                continue;
            }
            const Counts c = count(layer.spec);
            const auto args = kernel_args(layer.spec);
            row.kind = to_string(layer.spec.kind);
            row.input = dims_str(args.front().shape);
            row.output = dims_str(args.back().shape);
            row.mflop = double(c.flops) / 1e6;
            row.params = c.params_with_bias;
            // "BN+relu6", and for dwsep "BN+relu6 | pw <node> BN+linear"
            row.fused = describe(first, second.conv >= 0);
            if (second.conv >= 0) row.fused += " | pw " + g_.ops[size_t(second.conv)].name + " " + describe(second, true);
            for (const Chain *ch : {&first, &second})
                if (!ch->note.empty()) row.fused += "; " + ch->note;
            r.rows.push_back(row);
            r.layers.push_back(std::move(layer));
        }
        return r;
    }

private:
    const Graph &g_;
    const ImportOptions &o_;
    std::map<std::string, std::vector<int>> readers_;

    // The op reading `tensor` when it is the only one and the tensor is no graph output; else -1.
    int sole_reader(const std::string &tensor) const {
        auto it = readers_.find(tensor);
        if (g_.outputs.count(tensor) || it == readers_.end() || it->second.size() != 1) return -1;
        return it->second[0];
    }

    Chain follow(int conv) const {
        Chain ch;
        ch.conv = conv;
        ch.out = g_.ops[size_t(conv)].outputs.at(0);
        int next = sole_reader(ch.out);
        if (next >= 0 && g_.ops[size_t(next)].type == GraphOp::Type::BatchNorm && bn_fits(g_.ops[size_t(next)], conv)) {
            ch.bn = next;
            ch.out = g_.ops[size_t(next)].outputs.at(0);
            next = sole_reader(ch.out);
        }
        if (next >= 0 && g_.ops[size_t(next)].type == GraphOp::Type::Act) {
            const GraphOp &a = g_.ops[size_t(next)];
            if (a.unsupported.empty()) {
                ch.act = next;
                ch.out = a.outputs.at(0);
            } else {
                ch.note = a.unsupported + " not fused";
            }
        }
        return ch;
    }

    // A BatchNorm whose vectors have one value per output channel of the conv (else it stays a node).
    bool bn_fits(const GraphOp &bn, int conv) const {
        const int64_t c = g_.ops[size_t(conv)].cout;
        if (!bn.has_weights) return true;
        for (const Tensor *t : {&bn.gamma, &bn.beta, &bn.mean, &bn.var})
            if (int64_t(t->data.size()) != c) return false;
        return true;
    }

    Act act_of(const Chain &ch) const { return ch.act >= 0 ? g_.ops[size_t(ch.act)].act : Act::None; }

    // What was fused after a conv; a dwsep stage without an activation says "linear".
    std::string describe(const Chain &ch, bool stage) const {
        std::string s = ch.bn >= 0 ? "BN" : "";
        if (ch.act >= 0 || stage) s += (s.empty() ? "" : "+") + std::string(ch.act >= 0 ? to_string(act_of(ch)) : "linear");
        return s.empty() ? "-" : s;
    }

    // A 1x1 conv that can be dwsep's pointwise stage after a depthwise stage of `c` channels.
    static bool pointwise_stage(const GraphOp &op, int c) {
        return op.type == GraphOp::Type::Conv && op.unsupported.empty() && !op.in_shape.empty() &&
               op.in_shape[1] == c && op.kh == 1 && op.kw == 1 && op.sh == 1 && op.sw == 1 && op.dh == 1 &&
               op.dw == 1 && op.groups == 1 && op.pad_t == 0 && op.pad_l == 0 && op.pad_b == 0 && op.pad_r == 0;
    }

    LayerSpec base_spec(const GraphOp &op) const {
        LayerSpec s;
        s.name = op.name;
        s.n = int(op.in_shape[0]), s.c = int(op.in_shape[1]), s.h = int(op.in_shape[2]), s.w = int(op.in_shape[3]);
        s.cout = op.cout, s.kh = op.kh, s.kw = op.kw, s.sh = op.sh, s.sw = op.sw, s.dh = op.dh, s.dw = op.dw;
        s.pad_t = op.pad_t, s.pad_l = op.pad_l, s.pad_b = op.pad_b, s.pad_r = op.pad_r;
        s.layout = o_.layout;
        if (op.groups == 1 && op.kh == 1 && op.kw == 1) s.kind = Kind::Pointwise;
        else if (op.groups > 1 && op.groups == s.c && op.cout % s.c == 0) s.kind = Kind::Depthwise, s.multiplier = op.cout / s.c;
        else s.kind = Kind::Conv, s.groups = op.groups;
        return s;
    }

    // The chain's weight and bias with BN folded (double precision): w' = w s, b' = (b - mean) s + beta.
    void folded(const Chain &ch, Tensor &w, Tensor &b) const {
        const GraphOp &conv = g_.ops[size_t(ch.conv)];
        w = conv.weight;
        b = Tensor{{conv.cout}, std::vector<float>(size_t(conv.cout), 0.f)};
        if (conv.has_bias) b.data = conv.bias.data;
        if (ch.bn < 0) return;
        const GraphOp &bn = g_.ops[size_t(ch.bn)];
        const size_t per = w.data.size() / size_t(conv.cout);
        for (size_t o = 0; o < size_t(conv.cout); o++) {
            const double s = double(bn.gamma.data[o]) / std::sqrt(double(bn.var.data[o]) + bn.eps);
            for (size_t i = 0; i < per; i++) w.data[o * per + i] = float(double(w.data[o * per + i]) * s);
            b.data[o] = float((double(b.data[o]) - double(bn.mean.data[o])) * s + double(bn.beta.data[o]));
        }
    }

    bool has_bias(const Chain &ch) const { return ch.bn >= 0 || g_.ops[size_t(ch.conv)].has_bias; }

    ImportedLayer single(LayerSpec spec, const Chain &ch) const {
        ImportedLayer l;
        spec.bias = has_bias(ch);
        spec.act = act_of(ch);
        l.spec = spec;
        for (int i : {ch.conv, ch.bn, ch.act})
            if (i >= 0) l.nodes.push_back(g_.ops[size_t(i)].name);
        if (g_.ops[size_t(ch.conv)].has_weights) {
            Tensor w, b;
            folded(ch, w, b);
            l.params["weight"] = w;
            if (spec.bias) l.params["bias"] = b;
        }
        return l;
    }

    ImportedLayer dwsep(LayerSpec spec, const Chain &dw, const Chain &pw) const {
        ImportedLayer l;
        spec.kind = Kind::Dwsep;
        spec.multiplier = 1;
        spec.cout = g_.ops[size_t(pw.conv)].cout;
        spec.bias = has_bias(dw) || has_bias(pw);
        spec.act = act_of(pw);
        if (act_of(dw) != spec.act) spec.dw_act = act_of(dw);
        l.spec = spec;
        for (const Chain *ch : {&dw, &pw})
            for (int i : {ch->conv, ch->bn, ch->act})
                if (i >= 0) l.nodes.push_back(g_.ops[size_t(i)].name);
        if (g_.ops[size_t(dw.conv)].has_weights && g_.ops[size_t(pw.conv)].has_weights) {
            const std::pair<const Chain *, const char *> stages[] = {{&dw, "dw"}, {&pw, "pw"}};
            for (const auto &[ch, stage] : stages) {
                Tensor w, b;
                folded(*ch, w, b);
                const std::string bn = std::string(stage) == "dw" ? "bn1" : "bn2";
                const int64_t n = int64_t(b.data.size());
                l.params[std::string(stage) + ".weight"] = w;
                if (spec.bias) l.params[std::string(stage) + ".bias"] = b;
                // Identity BatchNorm: gamma 1, beta 0, mean 0, var + eps = 1.
                l.params[bn + ".weight"] = Tensor{{n}, std::vector<float>(size_t(n), 1.f)};
                l.params[bn + ".bias"] = Tensor{{n}, std::vector<float>(size_t(n), 0.f)};
                l.params[bn + ".running_mean"] = Tensor{{n}, std::vector<float>(size_t(n), 0.f)};
                l.params[bn + ".running_var"] = Tensor{{n}, std::vector<float>(size_t(n), float(1.0 - double(spec.eps)))};
            }
        }
        return l;
    }
};

}  // namespace

ImportResult classify(const Graph &g, const ImportOptions &o) { return Classifier(g, o).run(); }

void print_table(const ImportResult &r, std::ostream &out) {
    size_t name_w = 4;
    for (const ImportRow &row : r.rows) name_w = std::max(name_w, row.name.size());
    // The name column is padded by bytes, as name_w counts them (fmt's width would count UTF-8 characters);
    // MFLOP is right-aligned explicitly, since fmt 9 left-aligns inf and nan by default.
    auto name_cell = [&](const std::string &name) { return name + std::string(name_w - name.size(), ' '); };
    out << fmt::format("{}  {:<9}  {:<15}  {:<15}  {:>9}  {:>9}  {}\n", name_cell("node"), "kind", "input", "output",
                       "MFLOP", "params", "fused");
    std::map<std::string, int> kinds;
    int skipped = 0;
    for (const ImportRow &row : r.rows) {
        out << fmt::format("{}  {:<9}  {:<15}  {:<15}  {:>9.2f}  {:9}  ", name_cell(row.name), row.kind, row.input,
                           row.output, row.mflop, row.params)
            << row.fused << "\n";
        if (row.kind == "-") skipped++;
        else kinds[row.kind]++;
    }
    out << r.layers.size() << " layer(s)";
    std::string sep = " (";
    for (const char *k : {"conv", "pointwise", "depthwise", "dwsep"})
        if (kinds.count(k)) out << sep << k << " " << kinds[k], sep = ", ";
    out << (r.layers.empty() ? "" : ")") << ", " << skipped << " convolution(s) not imported\n";
}

nlohmann::ordered_json layers_json(const ImportResult &r) {
    std::vector<LayerSpec> specs;
    for (const ImportedLayer &l : r.layers) specs.push_back(l.spec);
    return nlohmann::ordered_json::parse(layers_json_text(specs));
}

}  // namespace convgen
