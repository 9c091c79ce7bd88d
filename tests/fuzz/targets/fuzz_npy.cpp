// libFuzzer target: .npy parsing. Bad input must be a one-line SpecError; an array that parses
// must serialize and parse back to the same shape and bits.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "generator/spec/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const std::string bytes(reinterpret_cast<const char *>(data), size);
    convgen::Tensor t;
    try {
        t = convgen::parse_npy(bytes, "fuzz.npy");
    } catch (const convgen::SpecError &e) {
        if (std::string(e.what()).find('\n') != std::string::npos) std::abort();
        return 0;
    }
    if (int64_t(t.data.size()) != t.numel()) std::abort();
    const convgen::Tensor back = convgen::parse_npy(convgen::serialize_npy(t));
    if (back.shape != t.shape || back.data.size() != t.data.size() ||
        (!t.data.empty() && std::memcmp(back.data.data(), t.data.data(), t.data.size() * sizeof(float)) != 0))
        std::abort();
    return 0;
}
