// A point of a CPU schedule space: the plain numbers a schedule is made from.
//
// Each CPU kind (schedules/cpu/<kind>.cpp) has two functions over it:
//   Choice default_<kind>(spec, facts)    the hand heuristic: a function of the layer and the
//                                         machine facts (schedules/target_facts.h), valid by
//                                         construction;
//   void   apply_<kind>(alg, choice)      the Halide directives that realise a Choice, no
//                                         decisions of its own.
// A kind uses a subset of the fields; the others stay 0 (unused) and are left out of the text
// form. The text form ("v=16,cw=4,tx=6,rows=56,par=rows") is what manifests, fingerprints and
// `--choice` overrides use; validate() checks a Choice from outside against the layer and names
// the field it rejects.
#pragma once

#include "generator/spec/layer_spec.h"

#include <string>
#include <vector>

namespace convgen {

// Which loop of a register-blocked sweep runs in parallel.
enum class ParallelLoop { None = 0, RowBlocks = 1, Rows = 2, ChannelBlocks = 3 };

struct Choice {
    int v = 0;     // vector lanes of the register tile's vectors
    int cw = 0;    // NHWC: channel vectors per register tile
    int tx = 0;    // NHWC: output columns per register tile (Winograd: tiles along x)
    int ty = 0;    // output rows per register tile (NCHW GEMM, depthwise)
    int xw = 0;    // NCHW: vectors along x per register tile
    int tc = 0;    // NCHW: output channels per register tile
    int rows = 0;  // output rows per block (Winograd: tile rows); blocks are the parallel tasks
    int par = 0;   // ParallelLoop of the output sweep
    int pad = 0;   // input: 1 zero-padded copy in the layout's order; 2 read in place, padding inline;
                   // 3 (NCHW, channel tile) copied channels innermost; 4 (NCHW, stride > 1) copied
                   // split into its stride phases; 5 (NCHW pointwise, x-vector tile) each column
                   // tile's input copied for the channel tiles that share it (0: read in place,
                   // no padding)
    int unroll = 0;   // 1: the innermost reduction loop is unrolled whole; 2: it stays a loop
    int dw_v = 0;     // dwsep: vector lanes of the depthwise stage
    int dw_tx = 0;    // dwsep (NHWC, NCHW dw_pad=5): columns per depthwise tile
    int dw_par = 0;   // dwsep: 1 the depthwise rows of a block run in parallel, 2 serial
    int dw_ty = 0;    // dwsep (NCHW): rows per depthwise register tile
    int dw_xw = 0;    // dwsep (NCHW): x-vectors (of dw_v lanes) per depthwise register tile
    int dw_pad = 0;   // dwsep (NCHW): the depthwise stage's padded input: 1 copied per row block and
                      // channel, 2 padding inline, 3 copied once for the whole input, 4 as 1 split
                      // into its stride phases (stride > 1); 5 each row block's input repacked
                      // channels innermost, both stages then as NHWC (dw_v channels, dw_tx columns)
    int in_v = 0;     // vector lanes of the padded-input copy (NCHW: along x; NHWC: channels)
    int wcopy = 0;    // conv/pointwise: 1 a channel block's weights are copied contiguous first, 2 not;
                      // depthwise (channel vectors): 1 copied once, each tap's channels padded by a vector
    int tasks = 0;    // CPU: the most tasks a parallel loop is cut into (runs of consecutive iterations)
    int plane = 0;    // NCHW pointwise, stride 1, no padding: 1 the tile runs over the flattened plane
                      // (xw vectors of pixels across rows, rows per block), stored through a copy
    int dot = 0;      // conv/pointwise with fewer output channels than a vector's lanes: 1 the tile's
                      // vectors run along the input channels (v of them), a partial sum per lane,
                      // summed per output; tc channels x tx columns (NCHW: over the pad=3 copy)

    bool operator==(const Choice &o) const;
    bool operator!=(const Choice &o) const { return !(*this == o); }
};

// "v=16,cw=4,tx=6" (fields in declaration order, unused ones omitted; "" for the empty Choice).
std::string to_text(const Choice &c);
// Sets the fields named in `text` ("k=v,k=v", names as in to_text, par as none|blocks|rows|
// channels) on top of `base`. Throws SpecError naming the field or value.
Choice parse_choice(const std::string &text, Choice base = {});
// Checks a Choice against the layer and the kind's fields (`reference`: the default Choice of
// this layer, whose used fields are the only ones allowed). Throws SpecError naming the field.
void validate(const Choice &c, const Choice &reference, const LayerSpec &spec);

// A layer's schedule may have several strategies, each a default point using its own fields
// (strategy_defaults, schedules/schedule.h; the default first). strategy_of: the one whose fields
// `c` uses, else the first. parse_valid_choice: `text` set on top of each strategy's point in
// turn, the first that validates; the default's SpecError when none does.
const Choice &strategy_of(const Choice &c, const std::vector<Choice> &strategies);
Choice parse_valid_choice(const std::string &text, const std::vector<Choice> &strategies, const LayerSpec &spec);

// The version of the space: bumped when a field's meaning changes, so that tuning records
// (generator/driver/tuning_db.h) made for another space are not applied.
constexpr int kChoiceSpaceVersion = 3;

// The valid Choices one step from `c` (one field changed: a numeric field halved, doubled or
// moved by one, an enumerated field (par, pad, unroll, dw_par, dw_pad, wcopy) set to each other value),
// in field order, over the fields `reference` (the layer's default) uses. `convgen tune`
// searches the space by these steps.
std::vector<Choice> neighbors(const Choice &c, const Choice &reference, const LayerSpec &spec);

}  // namespace convgen
