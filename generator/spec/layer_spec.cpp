// LayerSpec: the text grammar, validation, counting, kernel keys and kernel arguments.
// See layer_spec.h for the entry points and README.md ("Layer grammar", "Kernel keys").
#include "generator/spec/layer_spec.h"

#include <fmt/core.h>

#include <algorithm>
#include <cerrno>
#include <cfloat>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <sstream>
#include <tuple>

namespace convgen {

namespace {

[[noreturn]] void fail(const std::string &msg) { throw SpecError(msg); }

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char ch) { return std::tolower(ch); });
    return s;
}

std::string trim(const std::string &s) {
    size_t b = s.find_first_not_of(" \t\r\n"), e = s.find_last_not_of(" \t\r\n");
    return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

std::vector<std::string> split(const std::string &s, char sep) {
    std::vector<std::string> out;
    std::string cur;
    std::istringstream in(s);
    while (std::getline(in, cur, sep)) out.push_back(cur);
    if (!s.empty() && s.back() == sep) out.push_back("");
    return out;
}

// A whole decimal integer in int range, or a SpecError naming the key and the value.
int to_int(const std::string &key, const std::string &value) {
    const std::string v = trim(value);
    char *end = nullptr;
    errno = 0;
    long long x = std::strtoll(v.c_str(), &end, 10);
    if (v.empty() || *end != '\0') fail("layer: " + key + "='" + value + "' is not an integer");
    if (errno == ERANGE || x > INT_MAX || x < INT_MIN) fail("layer: " + key + "=" + value + " is out of range");
    return int(x);
}

// "a" or "a:b" (e.g. k=3 or k=3:5 for kh:kw).
std::pair<int, int> to_pair(const std::string &key, const std::string &value) {
    auto parts = split(value, ':');
    if (parts.size() == 1) {
        int a = to_int(key, parts[0]);
        return {a, a};
    }
    if (parts.size() == 2) return {to_int(key, parts[0]), to_int(key, parts[1])};
    fail("layer: " + key + "='" + value + "' must be N or N:M");
}

const char *kKinds[] = {CONVGEN_KIND_LIST(CONVGEN_ENUM_NAME)};
const char *kActs[] = {CONVGEN_ACT_LIST(CONVGEN_ENUM_NAME)};
const char *kLayouts[] = {CONVGEN_ACTIVATION_LAYOUT_LIST(CONVGEN_ENUM_NAME)};
const char *kAlgos[] = {"auto", "direct", "winograd"};

template <typename E, size_t N>
E to_enum(const std::string &key, const std::string &value, const char *(&names)[N]) {
    const std::string v = lower(trim(value));
    for (size_t i = 0; i < N; i++)
        if (v == names[i]) return E(i);
    std::string all;
    for (size_t i = 0; i < N; i++) all += (i ? " | " : "") + std::string(names[i]);
    fail("layer: " + key + "='" + value + "' is not one of " + all);
}

constexpr int kMaxSize = 1 << 24;  // any size or pad; the 2^31-element buffer check is the real limit

// "same" padding (TensorFlow's convention: the odd pixel goes to the bottom/right), in 64 bits:
// the fields are range-checked (<= kMaxSize) but a dilated kernel may still need more padding
// than an int holds, reported with the values that ask for it.
void same_padding(const char *dim, int in, int k, int stride, int dil, int &lo, int &hi) {
    const int64_t out = (int64_t(in) + stride - 1) / stride;
    const int64_t total = std::max((out - 1) * stride + int64_t(dil) * (k - 1) + 1 - in, int64_t(0));
    if (total - total / 2 > kMaxSize)
        fail(std::string("layer: pad=same needs ") + std::to_string(total) + " rows of padding for " + dim + "=" +
             std::to_string(in) + ", k" + dim + "=" + std::to_string(k) + ", dilation " + std::to_string(dil) +
             " (max " + std::to_string(kMaxSize) + " per side)");
    lo = int(total / 2);
    hi = int(total - lo);
}

// Every field >= 1 (pads >= 0) and <= kMaxSize, so that later int arithmetic cannot overflow.
void check_ranges(const LayerSpec &s) {
    const std::pair<const char *, int> positive[] = {
        {"n", s.n},   {"c", s.c},   {"h", s.h},   {"w", s.w},   {"cout", s.cout}, {"kh", s.kh}, {"kw", s.kw},
        {"stride (sh)", s.sh}, {"stride (sw)", s.sw}, {"dilation (dh)", s.dh}, {"dilation (dw)", s.dw},
        {"groups", s.groups}, {"multiplier", s.multiplier}};
    for (const auto &[field, v] : positive)
        if (v < 1) fail(std::string("layer: ") + field + "=" + std::to_string(v) + " must be >= 1");
    const std::pair<const char *, int> pads[] = {
        {"top", s.pad_t}, {"left", s.pad_l}, {"bottom", s.pad_b}, {"right", s.pad_r}};
    for (const auto &[side, v] : pads)
        if (v < 0) fail("layer: pad " + std::string(side) + "=" + std::to_string(v) + " must be >= 0");
    const std::pair<const char *, int> sizes[] = {{"n", s.n},   {"c", s.c},     {"h", s.h},     {"w", s.w},
                                                  {"cout", s.cout}, {"kh", s.kh}, {"kw", s.kw}, {"sh", s.sh},
                                                  {"sw", s.sw}, {"dh", s.dh},   {"dw", s.dw},   {"groups", s.groups},
                                                  {"multiplier", s.multiplier}, {"pad top", s.pad_t},
                                                  {"pad left", s.pad_l}, {"pad bottom", s.pad_b}, {"pad right", s.pad_r}};
    for (const auto &[field, v] : sizes)
        if (v > kMaxSize)
            fail(std::string("layer: ") + field + "=" + std::to_string(v) + " is too large (max " +
                 std::to_string(kMaxSize) + ")");
}

std::string dims2(int a, int b) { return a == b ? std::to_string(a) : std::to_string(a) + "x" + std::to_string(b); }

}  // namespace

std::string one_line(const std::string &text) {
    std::string out;
    for (unsigned char ch : text) {
        if (ch < 0x20 || ch == 0x7f) {
            out += fmt::format("\\x{:02x}", ch);
        } else {
            out.push_back(char(ch));
        }
    }
    return out;
}

const char *to_string(Kind k) { return kKinds[int(k)]; }
const char *to_string(Act a) { return kActs[int(a)]; }
const char *to_string(Layout l) { return kLayouts[int(l)]; }
const char *to_string(Algo a) { return kAlgos[int(a)]; }

bool winograd_eligible(const LayerSpec &s) {
    return s.kind == Kind::Conv && s.kh == 3 && s.kw == 3 && s.sh == 1 && s.sw == 1 && s.dh == 1 && s.dw == 1 &&
           s.groups == 1;
}

bool flat_plane_eligible(const LayerSpec &s) {
    return s.kind == Kind::Pointwise && s.layout == Layout::NCHW && s.sh == 1 && s.sw == 1 && !s.reads_padding();
}

int winograd_tile(const LayerSpec &s) {
    // Transform-domain multiplies per output channel pair: tiles x alpha^2, overhanging tiles
    // included. Ties go to F(2,3), whose rounding error is ~5x smaller.
    auto products = [&](int m) {
        return int64_t((s.out_h() + m - 1) / m) * ((s.out_w() + m - 1) / m) * (m + 2) * (m + 2);
    };
    return products(4) < products(2) ? 4 : 2;
}

LayerSpec layer_from_keyvalues(const std::vector<std::pair<std::string, std::string>> &kv) {
    LayerSpec s;
    bool have_kind = false, have_cout = false, have_k = false;
    std::string pad = "0";
    std::vector<std::string> seen;
    for (const auto &[raw_key, value] : kv) {
        const std::string key = lower(trim(raw_key));
        if (std::find(seen.begin(), seen.end(), key) != seen.end()) fail("layer: key '" + key + "' is given twice");
        seen.push_back(key);
        if (key == "kind") s.kind = to_enum<Kind>(key, value, kKinds), have_kind = true;
        else if (key == "name") s.name = trim(value);
        else if (key == "n") s.n = to_int(key, value);
        else if (key == "c") s.c = to_int(key, value);
        else if (key == "h") s.h = to_int(key, value);
        else if (key == "w") s.w = to_int(key, value);
        else if (key == "cout") s.cout = to_int(key, value), have_cout = true;
        else if (key == "k") std::tie(s.kh, s.kw) = to_pair(key, value), have_k = true;
        else if (key == "kh") s.kh = to_int(key, value), have_k = true;
        else if (key == "kw") s.kw = to_int(key, value), have_k = true;
        else if (key == "stride") std::tie(s.sh, s.sw) = to_pair(key, value);
        else if (key == "sh") s.sh = to_int(key, value);
        else if (key == "sw") s.sw = to_int(key, value);
        else if (key == "pad") pad = lower(trim(value));
        else if (key == "dilation") std::tie(s.dh, s.dw) = to_pair(key, value);
        else if (key == "groups") s.groups = to_int(key, value);
        else if (key == "multiplier") s.multiplier = to_int(key, value);
        else if (key == "bias") {
            int b = to_int(key, value);
            if (b != 0 && b != 1) fail("layer: bias=" + value + " must be 0 or 1");
            s.bias = b;
        } else if (key == "act") {
            // "relu6" (every stage) or "relu6:none" (dwsep: depthwise stage, pointwise stage).
            auto parts = split(value, ':');
            if (parts.empty()) parts.push_back(value);  // "act=": to_enum names the empty value
            if (parts.size() > 2) fail("layer: act='" + value + "' must be ACT or DW_ACT:PW_ACT");
            s.act = to_enum<Act>(key, parts.back(), kActs);
            if (parts.size() == 2) s.dw_act = to_enum<Act>(key, parts[0], kActs);
        }
        else if (key == "layout") s.layout = to_enum<Layout>(key, value, kLayouts);
        else if (key == "algo") s.algo = to_enum<Algo>(key, value, kAlgos);
        else if (key == "dtype") {
            if (lower(trim(value)) != "f32") fail("layer: dtype='" + value + "' is not supported (only f32)");
        } else if (key == "eps") {
            // eps is a float in the kernel: 1e300 would become inf and 1e-50 zero.
            const std::string v = trim(value);
            char *end = nullptr;
            const double e = std::strtod(v.c_str(), &end);
            if (v.empty() || *end != '\0' || !(e > 0) || !std::isfinite(e))
                fail("layer: eps='" + value + "' must be a positive number");
            if (e < double(FLT_MIN) || e > double(FLT_MAX))
                fail("layer: eps=" + v + " is outside the float range [1.17549e-38, 3.40282e+38]");
            s.eps = float(e);
        } else {
            fail("layer: unknown key '" + raw_key + "' (keys: kind n c h w cout k kh kw stride sh sw pad dilation "
                 "groups multiplier bias act layout algo dtype eps name)");
        }
    }
    if (!have_kind) fail("layer: missing 'kind' (conv | pointwise | depthwise | dwsep)");
    if (s.kind == Kind::Pointwise && !have_k) s.kh = s.kw = 1;
    if (s.kind == Kind::Depthwise && !have_cout) {
        const int64_t cout = int64_t(s.c) * s.multiplier;
        if (s.c > 0 && s.multiplier > 0 && cout > kMaxSize)
            fail("layer: kind=depthwise has cout = c * multiplier = " + std::to_string(s.c) + " * " +
                 std::to_string(s.multiplier) + " = " + std::to_string(cout) + ", too large (max " +
                 std::to_string(kMaxSize) + ")");
        s.cout = int(std::max<int64_t>(cout, 0));  // a c or multiplier < 1 is reported by validate
    }
    if (s.dw_act == s.act) s.dw_act.reset();  // act=relu:relu is act=relu: one spelling, one key
    if (s.kind != Kind::Depthwise && !have_cout) fail(std::string("layer: missing 'cout' for kind=") + to_string(s.kind));
    if (s.kind != Kind::Pointwise && !have_k) fail(std::string("layer: missing 'k' for kind=") + to_string(s.kind));

    // Padding last: "same" depends on the kernel, stride and dilation.
    if (pad == "valid") {
        s.pad_t = s.pad_l = s.pad_b = s.pad_r = 0;
    } else if (pad == "same") {
        check_ranges(s);  // reports a bad field before "same" uses it (the pads are still 0)
        same_padding("h", s.h, s.kh, s.sh, s.dh, s.pad_t, s.pad_b);
        same_padding("w", s.w, s.kw, s.sw, s.dw, s.pad_l, s.pad_r);
    } else {
        auto parts = split(pad, ':');
        if (parts.size() == 1) {
            s.pad_t = s.pad_l = s.pad_b = s.pad_r = to_int("pad", parts[0]);
        } else if (parts.size() == 4) {
            s.pad_t = to_int("pad", parts[0]);
            s.pad_l = to_int("pad", parts[1]);
            s.pad_b = to_int("pad", parts[2]);
            s.pad_r = to_int("pad", parts[3]);
        } else {
            fail("layer: pad='" + pad + "' must be N, t:l:b:r, same or valid");
        }
    }
    validate(s);
    return s;
}

LayerSpec parse_layer(const std::string &text) {
    std::vector<std::pair<std::string, std::string>> kv;
    for (const std::string &item : split(text, ',')) {
        if (trim(item).empty()) fail("layer: empty item in '" + text + "'");
        size_t eq = item.find('=');
        if (eq == std::string::npos) fail("layer: '" + trim(item) + "' is not key=value");
        kv.emplace_back(item.substr(0, eq), item.substr(eq + 1));
    }
    return layer_from_keyvalues(kv);
}

void validate(const LayerSpec &s) {
    check_ranges(s);

    if (s.kind != Kind::Conv && s.groups != 1)
        fail(std::string("layer: groups=") + std::to_string(s.groups) + " is only for kind=conv");
    if (s.kind != Kind::Depthwise && s.multiplier != 1)
        fail(std::string("layer: multiplier=") + std::to_string(s.multiplier) + " is only for kind=depthwise");
    if (s.kind != Kind::Dwsep && s.dw_act)
        fail(std::string("layer: act=") + to_string(*s.dw_act) + ":" + to_string(s.act) +
             " (one per stage) is only for kind=dwsep");
    if (s.kind == Kind::Pointwise && (s.kh != 1 || s.kw != 1))
        fail("layer: kind=pointwise needs k=1, got k=" + dims2(s.kh, s.kw));
    if (s.kind == Kind::Conv) {
        if (s.c % s.groups) fail("layer: c=" + std::to_string(s.c) + " is not a multiple of groups=" + std::to_string(s.groups));
        if (s.cout % s.groups)
            fail("layer: cout=" + std::to_string(s.cout) + " is not a multiple of groups=" + std::to_string(s.groups));
    }
    if (s.kind == Kind::Depthwise && s.cout != int64_t(s.c) * s.multiplier)
        fail("layer: kind=depthwise needs cout = c * multiplier = " + std::to_string(int64_t(s.c) * s.multiplier) +
             ", got cout=" + std::to_string(s.cout));

    if (s.algo == Algo::Winograd && !winograd_eligible(s))
        fail(std::string("layer: algo=winograd needs kind=conv with k=3, stride 1, dilation 1, groups 1; got kind=") +
             to_string(s.kind) + " k=" + dims2(s.kh, s.kw) + " stride=" + dims2(s.sh, s.sw) + " dilation=" +
             dims2(s.dh, s.dw) + " groups=" + std::to_string(s.groups));

    // The dilated kernel must fit in the padded input.
    const int64_t ext_h = int64_t(s.dh) * (s.kh - 1) + 1, ext_w = int64_t(s.dw) * (s.kw - 1) + 1;
    const int64_t padded_h = int64_t(s.h) + s.pad_t + s.pad_b, padded_w = int64_t(s.w) + s.pad_l + s.pad_r;
    if (ext_h > padded_h)
        fail("layer: kernel height extent " + std::to_string(ext_h) + " (kh=" + std::to_string(s.kh) + ", dilation " +
             std::to_string(s.dh) + ") exceeds padded input height " + std::to_string(padded_h));
    if (ext_w > padded_w)
        fail("layer: kernel width extent " + std::to_string(ext_w) + " (kw=" + std::to_string(s.kw) + ", dilation " +
             std::to_string(s.dw) + ") exceeds padded input width " + std::to_string(padded_w));

    // Halide indexes buffers with 32-bit integers: every buffer must have < 2^31 elements.
    for (const ArgInfo &a : kernel_args(s)) {
        int64_t elems = 1;
        for (int64_t d : a.shape) {
            elems *= d;
            if (elems >= (int64_t(1) << 31))
                fail("layer: buffer '" + a.name + "' would exceed 2^31 elements (32-bit indexing); shrink the layer");
        }
    }
}

std::string to_text(const LayerSpec &s) {
    std::ostringstream o;
    o << "kind=" << to_string(s.kind) << ",n=" << s.n << ",c=" << s.c << ",h=" << s.h << ",w=" << s.w << ",cout=" << s.cout
      << ",k=" << s.kh << ":" << s.kw << ",stride=" << s.sh << ":" << s.sw << ",pad=" << s.pad_t << ":" << s.pad_l << ":"
      << s.pad_b << ":" << s.pad_r << ",dilation=" << s.dh << ":" << s.dw;
    if (s.kind == Kind::Conv) o << ",groups=" << s.groups;
    if (s.kind == Kind::Depthwise) o << ",multiplier=" << s.multiplier;
    o << ",bias=" << int(s.bias) << ",act=";
    if (s.dw_act) o << to_string(*s.dw_act) << ":";
    o << to_string(s.act) << ",layout=" << to_string(s.layout) << ",dtype=f32";
    if (s.eps != 1e-5f) o << ",eps=" << s.eps;
    if (s.algo != Algo::Auto) o << ",algo=" << to_string(s.algo);
    return o.str();
}

Counts count(const LayerSpec &s) {
    Counts k{};
    k.out_n = s.n;
    k.out_c = s.cout;
    k.out_h = s.out_h();
    k.out_w = s.out_w();
    const int64_t taps = int64_t(s.kh) * s.kw, pixels = k.out_n * k.out_h * k.out_w;
    int64_t biases = 0;
    switch (s.kind) {
    case Kind::Conv:
        k.params = int64_t(s.cout) * (s.c / s.groups) * taps;
        k.macs = pixels * s.cout * (s.c / s.groups) * taps;
        biases = s.bias ? s.cout : 0;
        break;
    case Kind::Pointwise:
        k.params = int64_t(s.cout) * s.c;
        k.macs = pixels * s.cout * s.c;
        biases = s.bias ? s.cout : 0;
        break;
    case Kind::Depthwise:
        k.params = int64_t(s.cout) * taps;
        k.macs = pixels * s.cout * taps;
        biases = s.bias ? s.cout : 0;
        break;
    case Kind::Dwsep:
        k.params = int64_t(s.c) * taps + int64_t(s.cout) * s.c;
        k.macs = pixels * s.c * (taps + s.cout);
        biases = s.bias ? int64_t(s.c) + s.cout : 0;
        break;
    }
    k.params_with_bias = k.params + biases;
    k.flops = 2 * k.macs;
    const int64_t in_elems = int64_t(s.n) * s.c * s.h * s.w, out_elems = pixels * s.cout;
    k.bytes = 4 * (in_elems + k.params_with_bias + out_elems);
    k.intensity = double(k.flops) / double(k.bytes);
    return k;
}

std::string kernel_key(const LayerSpec &s, const std::string &target_key) {
    if (s.algo == Algo::Auto)
        throw std::logic_error("internal: kernel_key of an algo=auto spec (specialize it for the target first): " +
                               to_text(s));
    std::ostringstream o;
    o << to_string(s.kind) << "_f32_n" << s.n << "c" << s.c << "h" << s.h << "w" << s.w << "_o" << s.cout << "_k"
      << dims2(s.kh, s.kw) << "s" << dims2(s.sh, s.sw) << "p";
    if (s.pad_t == s.pad_l && s.pad_t == s.pad_b && s.pad_t == s.pad_r) o << s.pad_t;
    else o << s.pad_t << "x" << s.pad_l << "x" << s.pad_b << "x" << s.pad_r;
    o << "d" << dims2(s.dh, s.dw);
    if (s.groups != 1) o << "_g" << s.groups;
    if (s.multiplier != 1) o << "_m" << s.multiplier;
    if (!s.bias) o << "_nobias";
    if (s.algo == Algo::Winograd) o << "_wino" << winograd_tile(s);
    if (s.dw_act) o << "_" << to_string(*s.dw_act);  // dwsep with one act per stage: _relu6_none_
    o << "_" << to_string(s.act) << "_" << to_string(s.layout) << "__" << target_key;
    return o.str();
}

// The pointwise weight (pointwise, dwsep's pw stage): IO, or blocked by pw_block.
static ArgInfo pointwise_weight_arg(const LayerSpec &s, const std::string &name) {
    const int64_t c = s.c, co = s.cout, b = s.pw_block;
    if (b <= 0) return {name, "IO", {c, co}};
    if (co % b != 0)
        throw std::logic_error("internal: pw_block " + std::to_string(b) + " does not divide cout " + std::to_string(co));
    return {name, "Oi" + std::to_string(b) + "o", {co / b, c, b}};
}

std::vector<ArgInfo> kernel_args(const LayerSpec &s) {
    const int64_t n = s.n, c = s.c, h = s.h, w = s.w, co = s.cout, kh = s.kh, kw = s.kw;
    const int64_t ho = s.out_h(), wo = s.out_w();
    const bool nchw = s.layout == Layout::NCHW;
    const std::string act_layout = nchw ? "NCHW" : "NHWC";
    std::vector<ArgInfo> a;
    a.push_back({"input", act_layout, nchw ? std::vector<int64_t>{n, c, h, w} : std::vector<int64_t>{n, h, w, c}});
    switch (s.kind) {
    case Kind::Conv:
        if (s.algo == Algo::Winograd) {
            const int64_t alpha = winograd_tile(s) + 2;
            a.push_back({"weight", "WINO" + std::to_string(winograd_tile(s)) + "x3", {alpha, alpha, c, co}});
        } else {
            a.push_back({"weight", "HWIO", {kh, kw, c / s.groups, co}});
        }
        break;
    case Kind::Pointwise: a.push_back(pointwise_weight_arg(s, "weight")); break;
    case Kind::Depthwise: a.push_back({"weight", "HWC", {kh, kw, co}}); break;
    case Kind::Dwsep:
        a.push_back({"dw_weight", "HWC", {kh, kw, c}});
        a.push_back({"dw_bias", "C", {c}});
        a.push_back(pointwise_weight_arg(s, "pw_weight"));
        a.push_back({"pw_bias", "C", {co}});
        break;
    }
    if (s.kind != Kind::Dwsep && s.bias) a.push_back({"bias", "C", {co}});
    a.push_back({"output", act_layout, nchw ? std::vector<int64_t>{n, co, ho, wo} : std::vector<int64_t>{n, ho, wo, co}, true});
    return a;
}

}  // namespace convgen
