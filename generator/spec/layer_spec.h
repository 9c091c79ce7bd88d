// LayerSpec: one convolution layer, validated once, and everything derived from it.
//
// Entry points:
//   parse_layer(text)            "kind=conv,c=3,h=8,..." (the CLI's --layer grammar, README)
//   parse_layer_file(path)       a JSON array of such objects, or a suite.tsv file
//   validate(spec)               throws SpecError naming the field and the value
//   count(spec)                  output shape, params, MACs, FLOPs, bytes (DESIGN.md formulas)
//   kernel_key(spec, target_key) the one name of a kernel: file stem, C symbol, registry key
//
// Every function here is pure C++ (no Halide), so the runtime, the tests and the CLI share it.
#pragma once

#include "runtime/include/convgen/layer_enums.h"

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace convgen {

// The kinds, activations and layouts are listed once, for this and the C runtime, in
// runtime/include/convgen/layer_enums.h: Kind::Conv == CONVGEN_KIND_CONV and so on.
enum class Kind { CONVGEN_KIND_LIST(CONVGEN_ENUM_CPP) };
enum class Act { CONVGEN_ACT_LIST(CONVGEN_ENUM_CPP) };
enum class Layout { CONVGEN_ACTIVATION_LAYOUT_LIST(CONVGEN_ENUM_CPP) };
// How a conv is computed. Auto is resolved per target by specialize() (generator/compile.h, rule
// in schedules/select.cpp choose_algorithm); keys and kernel arguments need a resolved spec.
enum class Algo { Auto, Direct, Winograd };

const char *to_string(Kind k);    // "conv", "pointwise", "depthwise", "dwsep"
const char *to_string(Act a);     // "none", "relu", "relu6"
const char *to_string(Layout l);  // "nchw", "nhwc"
const char *to_string(Algo a);    // "auto", "direct", "winograd"

// Thrown for any invalid input; what() is one line naming the field and the value.
// `text` with every control character (newline, tab, escape ...) written as \xNN: an error
// message echoes values from the user's files and stays one line whatever they hold.
std::string one_line(const std::string &text);

// Bad input. The message is made one line (one_line) here, once for every thrower.
struct SpecError : std::runtime_error {
    explicit SpecError(const std::string &message) : std::runtime_error(one_line(message)) {}
};

struct LayerSpec {
    std::string name;  // optional label from a layer file; not part of the key
    Kind kind = Kind::Conv;
    int n = 1, c = 0, h = 0, w = 0;  // input
    int cout = 0;                    // output channels (depthwise: c * multiplier)
    int kh = 1, kw = 1;
    int sh = 1, sw = 1;
    int pad_t = 0, pad_l = 0, pad_b = 0, pad_r = 0;
    int dh = 1, dw = 1;  // dilation
    int groups = 1;      // conv only
    int multiplier = 1;  // depthwise only
    bool bias = true;    // conv/pointwise/depthwise: a bias argument; dwsep: dw.bias/pw.bias given
    Act act = Act::None; // after the output stage (dwsep: the pointwise stage's)
    // dwsep only: the depthwise stage's activation when it differs from act (grammar act=relu6:none,
    // depthwise stage first); unset means act applies to both stages.
    std::optional<Act> dw_act;
    Layout layout = Layout::NCHW;
    float eps = 1e-5f;   // dwsep BatchNorm epsilon (used when folding, not in the kernel)
    Algo algo = Algo::Auto;  // conv: direct or Winograd F(m,3) (winograd_eligible shapes only)
    // Pointwise weights (pointwise, dwsep's pw stage) in blocks of this many output channels,
    // [cout/B][c][B] (layout "Oi<B>o"), so that a register tile's weights are one contiguous
    // stream; 0: plain [c][cout] ("IO"). Not part of the grammar or the key: specialize() sets it
    // from the target's schedule (schedules/select.cpp, choose_weight_block), and it divides cout.
    int pw_block = 0;

    int out_c() const { return cout; }
    int out_h() const { return (h + pad_t + pad_b - (dh * (kh - 1) + 1)) / sh + 1; }
    int out_w() const { return (w + pad_l + pad_r - (dw * (kw - 1) + 1)) / sw + 1; }
    // The last input column / row any output reads (may lie in the padding: >= w / >= h).
    int last_input_x() const { return (out_w() - 1) * sw + (kw - 1) * dw - pad_l; }
    int last_input_y() const { return (out_h() - 1) * sh + (kh - 1) * dh - pad_t; }
    // Whether some output reads outside the image (the zero padding).
    bool reads_padding() const { return pad_l > 0 || pad_t > 0 || last_input_x() >= w || last_input_y() >= h; }
    // Channels of the depthwise stage (dwsep) or of the input (others).
    int mid_c() const { return c * (kind == Kind::Depthwise ? multiplier : 1); }
    // The activation after dwsep's depthwise stage.
    Act dw_stage_act() const { return dw_act.value_or(act); }
};

// --- parsing (each validates and throws SpecError) ---
LayerSpec parse_layer(const std::string &text);
std::vector<LayerSpec> parse_layer_file(const std::string &path);
// The two formats of a layer file from its text (`path` names it in messages); parse_layer_file
// picks JSON when the first non-blank character is '['. Either may return no layers.
std::vector<LayerSpec> parse_layers_json(const std::string &text, const std::string &path);
std::vector<LayerSpec> parse_layers_tsv(const std::string &text, const std::string &path);
// The JSON layer file of `layers` (an array of objects: "name" when the layer has one, then the
// grammar's keys in canonical order; integers as numbers), which parse_layers_json reads back.
std::string layers_json_text(const std::vector<LayerSpec> &layers);
// One JSON object's keys are the same as the text grammar's; values may be numbers or strings.
LayerSpec layer_from_keyvalues(const std::vector<std::pair<std::string, std::string>> &kv);
void validate(const LayerSpec &s);
// Applies "key=value,..." overrides (the CLI's --set) by rewriting the canonical text; keeps the name.
LayerSpec with_overrides(const LayerSpec &s, const std::vector<std::string> &sets);
// The canonical text form: parse_layer(to_text(s)) == s.
std::string to_text(const LayerSpec &s);

// Winograd: a regular 3x3 conv with stride 1, dilation 1 and groups 1.
bool winograd_eligible(const LayerSpec &s);
// An NCHW pointwise layer with stride 1 and no padding: each image's output is one GEMM over the
// pixels of its plane, and the plane (H x W pixels) is as contiguous in the input as in the
// output, so a kernel may treat it as one row of H * W pixels (the Choice field plane).
bool flat_plane_eligible(const LayerSpec &s);
// The output tile m of Winograd F(m, 3) (alpha = m + 2 input points per tile side): 4 or 2,
// whichever needs fewer transform-domain products for the layer's output (F(4,3) unless the
// output is so small that its overhanging tiles waste the saving). Both stay within
// tolerance() (see generator/algorithms/winograd.cpp for the points and the error margins).
int winograd_tile(const LayerSpec &s);

// --- counting (DESIGN.md) ---
struct Counts {
    int64_t out_n, out_c, out_h, out_w;
    int64_t params;            // weights only (dwsep: dw + pw weights)
    int64_t params_with_bias;  // plus the kernel's bias vectors
    int64_t macs;
    int64_t flops;             // 2 * macs
    int64_t bytes;             // minimal: input + weights + biases + output, 4 bytes each (f32)
    double intensity;          // flops / bytes
};
Counts count(const LayerSpec &s);

// --- names ---
// e.g. dwsep_f32_n1c32h112w112_o64_k3s1p1d1_relu_nhwc__x86_avx512 (grammar in README.md); a
// Winograd spec adds _wino<m> before _<act>. Throws std::logic_error for algo=auto (specialize
// the spec for its target first).
std::string kernel_key(const LayerSpec &s, const std::string &target_key);

// --- kernel arguments: one place that says what a kernel of this spec takes ---
struct ArgInfo {
    std::string name;            // "input", "weight", "bias", "dw_weight", ..., "output"
    std::string layout;          // memory layout, outermost first: "NCHW", "HWIO", "C", ...
    std::vector<int64_t> shape;  // in that layout's order, outermost first
    bool is_output = false;
};
// A Winograd conv's weight is U = G g G^T, layout "WINO<m>x3", shape [alpha][alpha][c][cout].
// A pointwise weight with pw_block B > 0 is "Oi<B>o", shape [cout/B][c][B] (else "IO", [c][cout]).
// algo=auto is treated as direct (validation's size checks run before specialization).
std::vector<ArgInfo> kernel_args(const LayerSpec &s);

}  // namespace convgen
