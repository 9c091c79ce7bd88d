// libFuzzer target: .npz parsing (minizip underneath), with the expectations `convgen run` gives
// (a few names and element counts: memory must stay within them) and without (bounded by the
// file). Bad input must be a one-line SpecError; what parses must round-trip through
// serialize_npz.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "generator/spec/npy.h"

namespace {

void check_round_trip(const convgen::NamedTensors &ts) {
    const convgen::NamedTensors back = convgen::parse_npz(convgen::serialize_npz(ts));
    if (back.size() != ts.size()) std::abort();
    for (const auto &[name, t] : ts) {
        const auto it = back.find(name);
        if (it == back.end() || it->second.shape != t.shape || it->second.data.size() != t.data.size() ||
            (!t.data.empty() && std::memcmp(it->second.data.data(), t.data.data(), t.data.size() * 4) != 0))
            std::abort();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const std::string bytes(reinterpret_cast<const char *>(data), size);
    const convgen::NpzExpect expect{[](const std::string &n) { return n == "skipped"; },
                                    {{"weight", 64}, {"bias", 8}, {"a", 2}}};
    for (int with_expect = 1; with_expect >= 0; with_expect--) {
        try {
            const convgen::NamedTensors ts = with_expect ? convgen::parse_npz(bytes, "fuzz.npz", expect)
                                                         : convgen::parse_npz(bytes, "fuzz.npz");
            bool empty_name = false;
            for (const auto &kv : ts) empty_name |= kv.first.empty();
            if (!empty_name) check_round_trip(ts);
        } catch (const convgen::SpecError &e) {
            if (std::string(e.what()).find('\n') != std::string::npos) std::abort();
        }
    }
    return 0;
}
