// convgen-mlir-import FILE.mlir [-o layers.json] [--batch N] [--layout nchw|nhwc]: the MLIR side
// of `convgen import` (which runs this program for .mlir files), in a process of its own because
// Halide's wheel carries its own LLVM and this links Debian's MLIR 19 (libMLIR, libLLVM).
//
// The file is read with MLIR's own parser (func, tosa, linalg, tensor, arith dialects); every
// function's ops become a Graph (model.h) in program order and the shared classifier makes them
// layers: the same table and layer file as for ONNX, without parameters (weights stay in the
// MLIR file). Ops (MLIR 19 syntax; TOSA in its pre-1.0 form, 3 operands for the convs):
//   tosa.conv2d             NHWC input, OHWI weight, pad [t, b, l, r], stride, dilation
//   tosa.depthwise_conv2d   NHWC input, HWCM weight (cout = C * M)
//   tosa.clamp              relu6 (0, 6) or relu (0, >= FLT_MAX): the activation; also as the
//                           linalg.generic of arith.minimumf/maximumf that tosa-to-linalg makes
//   linalg.conv_2d_nhwc_hwcf, linalg.conv_2d_nhwc_fhwc, linalg.conv_2d_nchw_fchw,
//   linalg.depthwise_conv_2d_nhwc_hwc, linalg.depthwise_conv_2d_nhwc_hwcm (its collapse_shape
//   to NHWC is part of it), each with the zero tensor.pad before it folded into its padding
//   (what tosa-to-linalg-named emits); an init broadcast from a vector, or a vector added after
//   the conv by a linalg.generic, is its bias.
// 3-D convolutions are listed as not imported. A node is named by its location: loc("name")
// when the file gives one, else "<op>@<line>". Exit status: 0, or 2 with one line on stderr
// naming the file and the node (parse errors: the parser's own message and position).
#include "generator/import/model.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tosa/IR/TosaOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/SourceMgr.h"

#include <fmt/core.h>

#include <cfloat>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>

namespace convgen {
namespace {

[[noreturn]] void fail(const std::string &msg) { throw SpecError(msg); }

class MlirReader {
public:
    MlirReader(const std::string &path, const ImportOptions &o) : path_(path), o_(o) {}

    Graph read() {
        mlir::DialectRegistry registry;
        registry.insert<mlir::func::FuncDialect, mlir::tosa::TosaDialect, mlir::linalg::LinalgDialect,
                        mlir::tensor::TensorDialect, mlir::arith::ArithDialect>();
        ctx_.appendDialectRegistry(registry);
        ctx_.loadAllAvailableDialects();
        std::string diag;
        mlir::ScopedDiagnosticHandler handler(&ctx_, [&](mlir::Diagnostic &d) {
            if (diag.empty()) {
                std::string where;
                if (auto loc = mlir::dyn_cast<mlir::FileLineColLoc>(d.getLocation()))
                    where = ":" + std::to_string(loc.getLine()) + ":" + std::to_string(loc.getColumn());
                diag = path_ + where + ": " + d.str();
            }
            return mlir::success();
        });
        std::ifstream probe(path_);
        if (!probe) fail(path_ + ": cannot open: " + std::strerror(errno));
        mlir::OwningOpRef<mlir::ModuleOp> module = mlir::parseSourceFile<mlir::ModuleOp>(path_, &ctx_);
        if (!module) fail(diag.empty() ? path_ + ": the MLIR file does not parse" : "MLIR does not parse " + diag);

        Graph g;
        g.file = path_;
        module->walk([&](mlir::func::FuncOp f) {
            for (mlir::Operation &op : f.getBody().getOps()) visit(op, g);
        });
        return g;
    }

private:
    std::string path_;
    const ImportOptions &o_;
    mlir::MLIRContext ctx_;
    llvm::DenseMap<mlir::Value, std::string> names_;
    llvm::DenseSet<mlir::Operation *> folded_;  // tensor.pad / collapse_shape made part of a conv

    std::string name(mlir::Value v) {
        auto it = names_.find(v);
        if (it != names_.end()) return it->second;
        return names_[v] = "%" + std::to_string(names_.size());
    }

    std::string node_name(mlir::Operation &op) const {
        if (auto loc = mlir::dyn_cast<mlir::NameLoc>(op.getLoc())) return loc.getName().str();
        std::string n = op.getName().getStringRef().str();
        if (auto loc = mlir::dyn_cast<mlir::FileLineColLoc>(op.getLoc())) n += "@" + std::to_string(loc.getLine());
        return n;
    }

    std::string where(mlir::Operation &op) const {
        std::string at;
        if (auto loc = mlir::dyn_cast<mlir::FileLineColLoc>(op.getLoc())) at = ":" + std::to_string(loc.getLine());
        return path_ + at + ": node '" + node_name(op) + "' (" + op.getName().getStringRef().str() + ")";
    }

    // A ranked tensor's shape, dimension 0 fixed by --batch; empty (with `problem`) if dynamic.
    std::vector<int64_t> shape(mlir::Operation &op, mlir::Value v, std::string &problem) const {
        auto t = mlir::dyn_cast<mlir::RankedTensorType>(v.getType());
        if (!t) fail(where(op) + ": operand of type " + type_str(v.getType()) + " is not a ranked tensor");
        std::vector<int64_t> s(t.getShape().begin(), t.getShape().end());
        if (o_.batch > 0 && !s.empty()) s[0] = o_.batch;
        for (size_t i = 0; i < s.size(); i++)
            if (mlir::ShapedType::isDynamic(s[i])) {
                problem = "dynamic shape (" + type_str(v.getType()) + ")" + (i == 0 ? "; give --batch N" : "");
                return {};
            }
        return s;
    }

    static std::string type_str(mlir::Type t) {
        std::string s;
        llvm::raw_string_ostream os(s);
        t.print(os);
        return os.str();
    }

    static std::vector<int64_t> ints(mlir::Operation &op, const char *attr, std::vector<int64_t> dflt) {
        mlir::Attribute a = op.getAttr(attr);
        if (!a) return dflt;
        if (auto arr = mlir::dyn_cast<mlir::DenseI64ArrayAttr>(a)) return {arr.asArrayRef().begin(), arr.asArrayRef().end()};
        std::vector<int64_t> out;
        if (auto dense = mlir::dyn_cast<mlir::DenseIntElementsAttr>(a))
            for (const llvm::APInt &v : dense.getValues<llvm::APInt>()) out.push_back(v.getSExtValue());
        return out;
    }

    // The sole user of `v`, or null.
    static mlir::Operation *sole_user(mlir::Value v) {
        return v.hasOneUse() ? *v.getUsers().begin() : nullptr;
    }

    static bool is_conv(mlir::Operation *op) {
        if (!op) return false;
        const llvm::StringRef n = op->getName().getStringRef();
        return n.starts_with("linalg.conv_2d_") || n.starts_with("linalg.depthwise_conv_2d_");
    }

    void visit(mlir::Operation &op, Graph &g) {
        if (folded_.count(&op)) return;
        const std::string n = op.getName().getStringRef().str();
        if (n == "func.return") {
            for (mlir::Value v : op.getOperands()) g.outputs.insert(name(v));
            return;
        }
        // A zero tensor.pad read only by a linalg conv is that conv's padding.
        if (auto pad = mlir::dyn_cast<mlir::tensor::PadOp>(op))
            if (is_conv(sole_user(pad.getResult())) && zero_pad(pad)) {
                folded_.insert(&op);
                return;
            }
        GraphOp out;
        out.name = node_name(op);
        out.op_type = n;
        for (mlir::Value v : op.getOperands()) out.inputs.push_back(name(v));
        for (mlir::Value v : op.getResults()) out.outputs.push_back(name(v));
        if (n == "tosa.conv2d" || n == "tosa.depthwise_conv2d") tosa_conv(op, out);
        else if (is_conv(&op)) linalg_conv(op, out);
        else if (n == "tosa.conv3d" || n.rfind("linalg.conv_3d", 0) == 0 || n.rfind("linalg.depthwise_conv_3d", 0) == 0 ||
                 n.rfind("linalg.conv_1d", 0) == 0 || n.rfind("linalg.depthwise_conv_1d", 0) == 0) {
            out.type = GraphOp::Type::Conv;
            out.inputs.resize(1);
            out.unsupported = std::string(n.find("3d") != std::string::npos ? "3-D" : "1-D") + " convolution";
        } else if (n == "tosa.clamp") clamp(op, out);
        else if (auto gen = mlir::dyn_cast<mlir::linalg::GenericOp>(op)) generic_clamp(gen, out);
        g.ops.push_back(out);
    }

    static bool zero_pad(mlir::tensor::PadOp pad) {
        mlir::Value v = pad.getConstantPaddingValue();
        if (!v || !pad.getLow().empty() || !pad.getHigh().empty()) return false;  // dynamic pads stay a node
        auto c = v.getDefiningOp<mlir::arith::ConstantOp>();
        auto f = c ? mlir::dyn_cast<mlir::FloatAttr>(c.getValue()) : nullptr;
        return f && f.getValueAsDouble() == 0.0;
    }

    void set_in_shape(mlir::Operation &op, GraphOp &out, mlir::Value in, bool nchw) {
        std::vector<int64_t> s = shape(op, in, out.shape_problem);
        if (s.empty()) return;
        if (s.size() != 4) fail(where(op) + ": input " + type_str(in.getType()) + " is not 4-D");
        out.in_shape = nchw ? s : std::vector<int64_t>{s[0], s[3], s[1], s[2]};
    }

    static void strides_dilations(mlir::Operation &op, GraphOp &out, const char *stride, const char *dilation) {
        const auto st = ints(op, stride, {1, 1}), dl = ints(op, dilation, {1, 1});
        if (st.size() == 2) out.sh = int(st[0]), out.sw = int(st[1]);
        if (dl.size() == 2) out.dh = int(dl[0]), out.dw = int(dl[1]);
    }

    void tosa_conv(mlir::Operation &op, GraphOp &out) {
        out.type = GraphOp::Type::Conv;
        if (op.getNumOperands() != 3)
            fail(where(op) + ": expected 3 operands (input, weight, bias: MLIR 19's TOSA), got " +
                 std::to_string(op.getNumOperands()));
        out.inputs = {name(op.getOperand(0))};
        out.has_bias = true;
        std::string problem;
        const std::vector<int64_t> w = shape(op, op.getOperand(1), problem);
        if (w.size() != 4) fail(where(op) + ": weight " + type_str(op.getOperand(1).getType()) + " is not a static 4-D tensor");
        const bool dw = op.getName().getStringRef() == "tosa.depthwise_conv2d";
        // conv2d OHWI [cout][kh][kw][c]; depthwise HWCM [kh][kw][c][m]
        out.cout = int(dw ? w[2] * w[3] : w[0]);
        out.kh = int(dw ? w[0] : w[1]), out.kw = int(dw ? w[1] : w[2]);
        const auto pad = ints(op, "pad", {0, 0, 0, 0});  // top, bottom, left, right
        if (pad.size() != 4) fail(where(op) + ": pad needs 4 values");
        out.pad_t = int(pad[0]), out.pad_b = int(pad[1]), out.pad_l = int(pad[2]), out.pad_r = int(pad[3]);
        strides_dilations(op, out, "stride", "dilation");
        set_in_shape(op, out, op.getOperand(0), false);
        out.groups = dw ? int(w[2]) : 1;
    }

    void linalg_conv(mlir::Operation &op, GraphOp &out) {
        out.type = GraphOp::Type::Conv;
        const std::string n = op.getName().getStringRef().str();
        auto lop = mlir::cast<mlir::linalg::LinalgOp>(op);
        mlir::Value in = lop.getDpsInputOperand(0)->get(), filter = lop.getDpsInputOperand(1)->get();
        mlir::Value init = lop.getDpsInitOperand(0)->get();
        // Bias: an init broadcast from a vector by a linalg.generic (tosa-to-linalg-named's form);
        // any other init (a linalg.fill, an argument) is taken as zeros.
        auto bcast = init.getDefiningOp<mlir::linalg::GenericOp>();
        out.has_bias = bcast && bcast.getNumDpsInputs() == 1 &&
                       mlir::cast<mlir::RankedTensorType>(bcast.getDpsInputOperand(0)->get().getType()).getRank() == 1;
        const bool nchw = n == "linalg.conv_2d_nchw_fchw";
        mlir::Value result = op.getResult(0);  // the conv's output, after what is folded into it
        if (auto pad = in.getDefiningOp<mlir::tensor::PadOp>(); pad && folded_.count(pad.getOperation())) {
            const auto lo = pad.getStaticLow(), hi = pad.getStaticHigh();
            const int h = nchw ? 2 : 1, w = nchw ? 3 : 2;
            if (lo[0] || hi[0] || lo[nchw ? 1 : 3] || hi[nchw ? 1 : 3])
                fail(where(op) + ": its tensor.pad pads the batch or channel dimension");
            out.pad_t = int(lo[h]), out.pad_b = int(hi[h]), out.pad_l = int(lo[w]), out.pad_r = int(hi[w]);
            in = pad.getSource();
        }
        out.inputs = {name(in)};
        std::string problem;
        const std::vector<int64_t> f = shape(op, filter, problem);
        if (f.empty()) fail(where(op) + ": filter " + type_str(filter.getType()) + " is not static");
        if (n == "linalg.conv_2d_nhwc_hwcf") out.kh = int(f[0]), out.kw = int(f[1]), out.cout = int(f[3]);
        else if (n == "linalg.conv_2d_nhwc_fhwc") out.kh = int(f[1]), out.kw = int(f[2]), out.cout = int(f[0]);
        else if (n == "linalg.conv_2d_nchw_fchw") out.kh = int(f[2]), out.kw = int(f[3]), out.cout = int(f[0]);
        else if (n == "linalg.depthwise_conv_2d_nhwc_hwc") out.kh = int(f[0]), out.kw = int(f[1]), out.cout = int(f[2]), out.groups = int(f[2]);
        else if (n == "linalg.depthwise_conv_2d_nhwc_hwcm") {
            out.kh = int(f[0]), out.kw = int(f[1]), out.cout = int(f[2] * f[3]), out.groups = int(f[2]);
            // Its [n][h][w][c][m] result collapses to NHWC: that collapse is the conv's output.
            if (auto *c = sole_user(op.getResult(0)); c && mlir::isa<mlir::tensor::CollapseShapeOp>(c)) {
                folded_.insert(c);
                result = c->getResult(0);
            }
        } else {
            out.unsupported = "convolution form " + n + " (convgen reads nhwc_hwcf, nhwc_fhwc, nchw_fchw, depthwise nhwc_hwc(m))";
            return;
        }
        // tosa-to-linalg-named adds a depthwise conv's bias after it: a linalg.generic of a
        // vector and the conv's result whose body is one arith.addf. It is the conv's bias.
        if (auto gen = mlir::dyn_cast_or_null<mlir::linalg::GenericOp>(sole_user(result)); gen && bias_add(gen)) {
            folded_.insert(gen.getOperation());
            result = gen.getResult(0);
            out.has_bias = true;
        }
        out.outputs = {name(result)};
        strides_dilations(op, out, "strides", "dilations");
        set_in_shape(op, out, in, nchw);
    }

    static bool bias_add(mlir::linalg::GenericOp gen) {
        if (gen.getNumDpsInputs() != 2 || gen.getNumResults() != 1) return false;
        bool vector = false;
        for (mlir::OpOperand *in : gen.getDpsInputOperands())
            if (auto t = mlir::dyn_cast<mlir::RankedTensorType>(in->get().getType())) vector |= t.getRank() == 1;
        auto &body = gen.getRegion().front();
        return vector && body.getOperations().size() == 2 && mlir::isa<mlir::arith::AddFOp>(body.front());
    }

    // tosa-to-linalg's tosa.clamp: a linalg.generic of one tensor whose body is arith.minimumf /
    // arith.maximumf with constants. Any other generic stays an op of its own.
    void generic_clamp(mlir::linalg::GenericOp gen, GraphOp &out) {
        if (gen.getNumDpsInputs() != 1 || gen.getNumResults() != 1) return;
        double lo = -INFINITY, hi = INFINITY;
        for (mlir::Operation &b : gen.getRegion().front()) {
            if (mlir::isa<mlir::arith::ConstantOp, mlir::linalg::YieldOp>(b)) continue;
            const bool max = mlir::isa<mlir::arith::MaximumFOp>(b), min = mlir::isa<mlir::arith::MinimumFOp>(b);
            if (!max && !min) return;
            mlir::FloatAttr c;
            for (mlir::Value v : b.getOperands())
                if (auto k = v.getDefiningOp<mlir::arith::ConstantOp>()) c = mlir::dyn_cast<mlir::FloatAttr>(k.getValue());
            if (!c) return;
            (max ? lo : hi) = c.getValueAsDouble();
        }
        out.type = GraphOp::Type::Act;
        out.inputs = {name(gen.getDpsInputOperand(0)->get())};
        if (lo == 0 && hi == 6) out.act = Act::Relu6;
        else if (lo == 0 && std::isinf(hi)) out.act = Act::Relu;
        else out.unsupported = fmt::format("clamp({:g}, {:g}) as linalg.generic", lo, hi);
    }

    void clamp(mlir::Operation &op, GraphOp &out) {
        out.type = GraphOp::Type::Act;
        out.inputs = {name(op.getOperand(0))};
        auto lo = op.getAttrOfType<mlir::FloatAttr>("min_fp"), hi = op.getAttrOfType<mlir::FloatAttr>("max_fp");
        const double l = lo ? lo.getValueAsDouble() : -1, h = hi ? hi.getValueAsDouble() : 0;
        if (l == 0 && h == 6) out.act = Act::Relu6;
        else if (l == 0 && h >= double(FLT_MAX)) out.act = Act::Relu;
        else out.unsupported = fmt::format("tosa.clamp({:g}, {:g})", l, h);
    }
};

int run(int argc, char **argv) {
    std::string path, out_file, layout = "nchw";
    ImportOptions o;
    for (int i = 1; i < argc; i++) {
        const std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) fail(a + " needs a value");
            return argv[++i];
        };
        if (a == "-o" || a == "--output") out_file = value();
        else if (a == "--batch") {
            const std::string v = value();
            char *end = nullptr;
            const long b = std::strtol(v.c_str(), &end, 10);
            if (v.empty() || *end || b < 1 || b > (1 << 24)) fail("--batch: '" + v + "' must be an integer >= 1");
            o.batch = int(b);
        } else if (a == "--layout") layout = value();
        else if (!a.empty() && a[0] == '-') fail("unknown option " + a);
        else if (path.empty()) path = a;
        else fail("more than one model given: " + path + ", " + a);
    }
    if (path.empty()) fail("usage: convgen-mlir-import FILE.mlir [-o layers.json] [--batch N] [--layout nchw|nhwc]");
    if (layout != "nchw" && layout != "nhwc") fail("--layout: '" + layout + "' is not nchw or nhwc");
    o.layout = layout == "nchw" ? Layout::NCHW : Layout::NHWC;
    const ImportResult r = classify(MlirReader(path, o).read(), o);
    print_table(r, std::cout);
    if (!out_file.empty()) {
        write_file_atomic(out_file, layers_json(r).dump(2) + "\n");
        std::cout << "wrote " << r.layers.size() << " layer(s) to " << out_file << "\n";
    }
    return 0;
}

}  // namespace
}  // namespace convgen

int main(int argc, char **argv) {
    try {
        return convgen::run(argc, argv);
    } catch (const convgen::SpecError &e) {
        std::string msg = e.what();
        for (char &ch : msg)
            if (ch == '\n') ch = ' ';
        std::cerr << "convgen-mlir-import: error: " << msg << "\n";
        return 2;
    }
}
