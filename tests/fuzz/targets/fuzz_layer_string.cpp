// libFuzzer target: the layer grammar (parse_layer). Bad input must be a one-line SpecError;
// anything else escaping, or a sanitizer report, is a finding. A layer that parses must survive
// its canonical text (to_text) unchanged, and counting and kernel arguments must not overflow.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "generator/spec/layer_spec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const std::string text(reinterpret_cast<const char *>(data), size);
    convgen::LayerSpec s;
    try {
        s = convgen::parse_layer(text);
    } catch (const convgen::SpecError &e) {
        if (std::string(e.what()).find('\n') != std::string::npos) std::abort();
        return 0;
    }
    if (convgen::to_text(convgen::parse_layer(convgen::to_text(s))) != convgen::to_text(s)) std::abort();
    const convgen::Counts c = convgen::count(s);
    if (c.macs < 0 || c.bytes <= 0) std::abort();
    convgen::kernel_args(s);
    return 0;
}
