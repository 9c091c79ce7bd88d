#include "schedules/choice.h"

#include <algorithm>
#include <sstream>
#include <vector>

namespace convgen {

namespace {

struct Field {
    const char *name;
    int Choice::*member;
    int min, max;  // the static range; validate() adds the layer's bounds
    bool enumerated() const { return max <= 5; }  // par, pad, unroll, dw_par, dw_pad, wcopy, plane, dot: named cases
};

const std::vector<Field> &fields() {
    static const std::vector<Field> f = {
        {"v", &Choice::v, 1, 64},        {"cw", &Choice::cw, 1, 8},      {"tx", &Choice::tx, 1, 64},
        {"ty", &Choice::ty, 1, 16},      {"xw", &Choice::xw, 1, 8},      {"tc", &Choice::tc, 1, 64},
        {"rows", &Choice::rows, 1, 1 << 20}, {"par", &Choice::par, 1, 3}, {"pad", &Choice::pad, 1, 5},
        {"unroll", &Choice::unroll, 1, 2}, {"dw_v", &Choice::dw_v, 1, 64}, {"dw_tx", &Choice::dw_tx, 1, 64},
        {"dw_par", &Choice::dw_par, 1, 2}, {"dw_ty", &Choice::dw_ty, 1, 16}, {"dw_xw", &Choice::dw_xw, 1, 8},
        {"dw_pad", &Choice::dw_pad, 1, 5},
        {"in_v", &Choice::in_v, 1, 64},
        {"wcopy", &Choice::wcopy, 1, 2},     {"tasks", &Choice::tasks, 1, 4096}, {"plane", &Choice::plane, 1, 1},
        {"dot", &Choice::dot, 1, 1},
    };
    return f;
}

const char *const kParallelNames[] = {"none", "blocks", "rows", "channels"};

}  // namespace

bool Choice::operator==(const Choice &o) const {
    for (const Field &f : fields())
        if (this->*f.member != o.*f.member) return false;
    return true;
}

std::string to_text(const Choice &c) {
    std::ostringstream o;
    const char *sep = "";
    for (const Field &f : fields()) {
        const int v = c.*f.member;
        if (v == 0) continue;
        o << sep << f.name << "=";
        if (f.member == &Choice::par && v >= 0 && v <= 3) o << kParallelNames[v];
        else o << v;
        sep = ",";
    }
    return o.str();
}

Choice parse_choice(const std::string &text, Choice base) {
    std::stringstream in(text);
    std::string item;
    while (std::getline(in, item, ',')) {
        if (item.empty()) continue;
        const size_t eq = item.find('=');
        const std::string name = item.substr(0, eq), value = eq == std::string::npos ? "" : item.substr(eq + 1);
        auto f = std::find_if(fields().begin(), fields().end(), [&](const Field &x) { return name == x.name; });
        if (f == fields().end()) throw SpecError("choice: unknown field '" + name + "' (in '" + text + "')");
        int v = -1;
        if (f->member == &Choice::par) {
            for (int i = 1; i < 4; i++)
                if (value == kParallelNames[i]) v = i;
        } else {
            size_t used = 0;
            try {
                v = std::stoi(value, &used);
            } catch (const std::exception &) {
                used = 0;
            }
            if (used != value.size() || value.empty()) v = -1;
        }
        if (v < f->min || v > f->max)
            throw SpecError("choice: " + name + "=" + value + " is not " +
                            (f->member == &Choice::par ? std::string("blocks, rows or channels")
                                                       : "an integer in [" + std::to_string(f->min) + ", " +
                                                             std::to_string(f->max) + "]"));
        base.*(f->member) = v;
    }
    return base;
}

void validate(const Choice &c, const Choice &reference, const LayerSpec &s) {
    for (const Field &f : fields()) {
        const int v = c.*f.member;
        if ((v != 0) != (reference.*f.member != 0))
            throw SpecError(std::string("choice: field ") + f.name + (v ? " is not used" : " is required") +
                            " by this layer's schedule (" + to_text(reference) + ")");
        if (v && (v < f.min || v > f.max))
            throw SpecError(std::string("choice: ") + f.name + "=" + std::to_string(v) + " is out of range");
    }
    if (c.par == int(ParallelLoop::RowBlocks) && !c.rows)
        throw SpecError("choice: par=blocks needs rows (output rows per block), which this layer's schedule does "
                        "not use (" + to_text(reference) + ")");
    // Bounds the layer sets: a split wider than its dim would read outside the fixed buffers.
    auto at_most = [&](const char *name, int value, int limit, const char *what) {
        if (value > limit)
            throw SpecError(std::string("choice: ") + name + "=" + std::to_string(value) + " exceeds " + what + " (" +
                            std::to_string(limit) + ")");
    };
    if (s.algo == Algo::Winograd) {  // channels innermost in both layouts; x and rows count tiles
        const int m = winograd_tile(s);
        if (c.cw) at_most("v*cw", c.v * c.cw, s.cout, "the output channels");
        if (c.in_v) at_most("in_v", c.in_v, s.c, "the input channels");
        if (c.tx) at_most("tx", c.tx, (s.out_w() + m - 1) / m, "the tiles along x");
        if (c.rows) at_most("rows", c.rows, (s.out_h() + m - 1) / m, "the tile rows");
        return;
    }
    const bool nhwc = s.layout == Layout::NHWC;
    if (c.dw_pad == 5 && (nhwc || s.sw != 1 || !c.cw || !c.dw_tx))
        throw SpecError("choice: dw_pad=5 (input repacked channels innermost) needs an NCHW layer with stride 1 along x, "
                        "a channel-vector tile (cw) and depthwise columns (dw_tx)");
    if (c.dw_pad && c.dw_pad != 5 && c.dw_tx)
        throw SpecError("choice: dw_pad=" + std::to_string(c.dw_pad) + " needs the x-vector depthwise stage (dw_ty, dw_xw), "
                        "not dw_tx");
    if (c.dw_pad == 4 && (nhwc || s.sw < 2))
        throw SpecError("choice: dw_pad=4 (input copied in stride phases) needs an NCHW layer with stride > 1 along x");
    if (c.pad == 4 && (nhwc || s.sw < 2 || s.kind != Kind::Depthwise))
        throw SpecError("choice: pad=4 (input copied in stride phases) needs an NCHW depthwise layer with stride > 1 "
                        "along x");
    if (c.pad == 5 && (!flat_plane_eligible(s) || !c.xw || c.plane || c.par == int(ParallelLoop::ChannelBlocks)))
        throw SpecError("choice: pad=5 (each column tile's input copied) needs an NCHW pointwise layer with stride 1, "
                        "no padding and an x-vector tile (xw) whose channel blocks are not the parallel loop");
    if (c.dot && (s.groups != 1 || s.c % c.v != 0 || (!nhwc && c.pad != 3) || c.par == int(ParallelLoop::ChannelBlocks)))
        throw SpecError("choice: dot=1 (vectors along the input channels) needs an ungrouped layer whose input channels v=" +
                        std::to_string(c.v) + " divides, channels innermost (NHWC, or NCHW with pad=3) and not par=channels");
    if (c.cw) at_most("v*cw", c.v * c.cw, s.cout, "the output channels");
    else if (c.v && nhwc && !c.dot) at_most("v", c.v, s.cout, "the output channels");
    if (c.xw && c.plane) at_most("v*xw", c.v * c.xw, (c.rows ? c.rows : s.out_h()) * s.out_w(), "the pixels of a row block");
    else if (c.xw) at_most("v*xw", c.v * c.xw, s.out_w(), "the output width");
    if (c.tx) at_most("tx", c.tx, s.out_w(), "the output width");
    if (c.ty) at_most("ty", c.ty, c.rows ? c.rows : s.out_h(), c.rows ? "the rows per block" : "the output height");
    if (c.tc) at_most("tc", c.tc, s.cout, "the output channels");
    if (c.rows) at_most("rows", c.rows, s.out_h(), "the output height");
    const bool dw_channels = nhwc || c.dw_pad == 5;  // the depthwise stage's vectors: channels, else x
    if (c.dw_v) at_most("dw_v", c.dw_v, dw_channels ? s.c : s.out_w(), dw_channels ? "the channels" : "the output width");
    if (c.dw_tx) at_most("dw_tx", c.dw_tx, s.out_w(), "the output width");
    if (c.dw_ty) at_most("dw_ty", c.dw_ty, c.rows ? c.rows : s.out_h(), "the rows per block");
    if (c.dw_xw) at_most("dw_v*dw_xw", c.dw_v * c.dw_xw, s.out_w(), "the output width");
    const bool dw_channels_tile = s.kind == Kind::Depthwise && s.multiplier == 1 && c.tx;
    if (c.pad == 3 && (nhwc || !(c.cw || c.dot || dw_channels_tile)))
        throw SpecError("choice: pad=3 (input copied channels innermost) needs an NCHW layer with a channel-vector "
                        "tile (cw), the dot tile (dot) or, depthwise with multiplier 1, channel vectors of tx columns");
    if (dw_channels_tile && !nhwc && c.pad != 3)
        throw SpecError("choice: an NCHW depthwise layer's channel vectors of tx columns need pad=3 (the input repacked "
                        "channels innermost), not pad=" + std::to_string(c.pad));
    if (c.pad == 3 && dw_channels_tile && (c.v % c.in_v || c.v > s.c))  // each channel vector transposes its own
        throw SpecError("choice: pad=3 needs in_v (" + std::to_string(c.in_v) + ") to divide v (" + std::to_string(c.v) +
                        ") and v at most the channels (" + std::to_string(s.c) + ")");
    if (c.pad == 3 || c.dw_pad == 5)  // in_v x in_v transposed blocks (transpose_input)
        at_most("in_v", c.in_v, std::min(s.c, s.w), "the input channels or width");
    if (c.in_v) at_most("in_v", c.in_v, nhwc ? s.c : s.w, nhwc ? "the input channels" : "the input width");
    if (c.dw_pad == 5 && (!c.in_v || !c.dw_v || c.dw_v % c.in_v))  // each channel vector transposes its own channels
        throw SpecError("choice: dw_pad=5 needs in_v (" + std::to_string(c.in_v) + ") to divide dw_v (" +
                        std::to_string(c.dw_v) + ")");
}

const Choice &strategy_of(const Choice &c, const std::vector<Choice> &strategies) {
    for (const Choice &s : strategies) {
        bool same = true;
        for (const Field &f : fields()) same = same && ((c.*f.member != 0) == (s.*f.member != 0));
        if (same) return s;
    }
    return strategies.at(0);
}

Choice parse_valid_choice(const std::string &text, const std::vector<Choice> &strategies, const LayerSpec &spec) {
    std::string errors;  // the default's, then each other strategy's
    for (size_t i = 0; i < strategies.size(); i++) try {
            const Choice c = parse_choice(text, strategies[i]);
            validate(c, strategies[i], spec);
            return c;
        } catch (const SpecError &e) {
            errors += i == 0 ? std::string(e.what()) : "; as the strategy " + to_text(strategies[i]) + ": " + e.what();
        }
    throw SpecError(errors);
}

std::vector<Choice> neighbors(const Choice &c, const Choice &reference, const LayerSpec &spec) {
    std::vector<Choice> out;
    auto add = [&](Choice n) {
        if (n == c) return;
        for (const Choice &o : out)
            if (o == n) return;
        try {
            validate(n, reference, spec);
        } catch (const SpecError &) {
            return;
        }
        out.push_back(n);
    };
    for (const Field &f : fields()) {
        const int v = c.*f.member;
        if (!v) continue;
        std::vector<int> values;
        if (f.enumerated())
            for (int x = f.min; x <= f.max; x++) values.push_back(x);
        else
            values = {v / 2, v - 1, v + 1, v * 2};
        for (int x : values) {
            if (x < f.min || x > f.max) continue;
            Choice n = c;
            n.*f.member = x;
            add(n);
        }
    }
    return out;
}

}  // namespace convgen
