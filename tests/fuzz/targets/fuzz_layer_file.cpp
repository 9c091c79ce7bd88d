// libFuzzer targets: the two layer file formats, one binary each (FUZZ_JSON chooses). Bad input
// must be a one-line SpecError (nlohmann's own exceptions included); any layer returned must be
// valid and survive its canonical text.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "generator/spec/layer_spec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const std::string text(reinterpret_cast<const char *>(data), size);
    try {
#if FUZZ_JSON
        const auto layers = convgen::parse_layers_json(text, "fuzz.json");
#else
        const auto layers = convgen::parse_layers_tsv(text, "fuzz.tsv");
#endif
        for (const convgen::LayerSpec &s : layers) {
            convgen::validate(s);
            if (convgen::to_text(convgen::parse_layer(convgen::to_text(s))) != convgen::to_text(s)) std::abort();
        }
    } catch (const convgen::SpecError &e) {
        if (std::string(e.what()).find('\n') != std::string::npos) std::abort();
    }
    return 0;
}
