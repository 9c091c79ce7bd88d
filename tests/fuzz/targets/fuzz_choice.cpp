// libFuzzer target: the schedule Choice text (parse_choice, validate), as `--choice` hands it in.
// The first byte picks one of three fixed layers with a hand-built default Choice (the schedules'
// defaults need Halide's target facts); the rest is the text. Bad input must be a one-line
// SpecError; a Choice that parses must survive its text form (to_text) unchanged, and one that
// validates must keep its rows, columns and channels within the layer's.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "generator/spec/layer_spec.h"
#include "schedules/choice.h"

namespace {

struct Case {
    convgen::LayerSpec spec;
    convgen::Choice reference;
};

convgen::Choice choice(const char *text) { return convgen::parse_choice(text); }

const Case &pick(uint8_t b) {
    static const Case cases[] = {
        {convgen::parse_layer("kind=pointwise,c=64,h=14,w=14,cout=32,layout=nhwc"),
         choice("v=16,cw=2,tx=6,rows=14,par=rows,wcopy=1")},
        {convgen::parse_layer("kind=conv,c=16,h=20,w=20,cout=24,k=3,pad=1,layout=nchw,algo=direct"),
         choice("v=8,xw=2,tc=4,rows=4,par=blocks,pad=1,unroll=1,in_v=8")},
        {convgen::parse_layer("kind=dwsep,c=32,h=28,w=28,cout=64,k=3,pad=1,layout=nhwc,act=relu6"),
         choice("v=16,cw=4,tx=4,rows=7,par=rows,pad=2,dw_v=16,dw_tx=4,dw_par=1")},
        {convgen::parse_layer("kind=conv,c=8,h=16,w=16,cout=16,k=3,pad=1,layout=nhwc,algo=winograd"),
         choice("v=8,cw=2,tx=2,rows=2,par=rows,in_v=8")},
    };
    return cases[b % (sizeof cases / sizeof cases[0])];
}

bool one_line(const convgen::SpecError &e) { return std::string(e.what()).find('\n') == std::string::npos; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    const Case &k = pick(data[0]);
    const std::string text(reinterpret_cast<const char *>(data + 1), size - 1);
    convgen::Choice c;
    try {
        c = convgen::parse_choice(text, k.reference);
    } catch (const convgen::SpecError &e) {
        if (!one_line(e)) std::abort();
        return 0;
    }
    if (convgen::parse_choice(convgen::to_text(c)) != c) std::abort();
    try {
        convgen::validate(c, k.reference, k.spec);
    } catch (const convgen::SpecError &e) {
        if (!one_line(e)) std::abort();
        return 0;
    }
    const convgen::LayerSpec &s = k.spec;
    if (c.rows > s.out_h() || c.tx > s.out_w() || (c.cw && c.v * c.cw > s.cout)) std::abort();
    return 0;
}
