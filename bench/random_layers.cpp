#include "bench/random_layers.h"

#include <string>

namespace convgen {

namespace {

// splitmix64: tiny, and the same sequence everywhere.
struct Rng {
    uint64_t s;
    uint64_t next() {
        uint64_t z = (s += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    int below(int n) { return int(next() % uint64_t(n)); }
    template <size_t N> int pick(const int (&v)[N]) { return v[below(int(N))]; }
};

const int kCommonChannels[] = {16, 24, 32, 40, 48, 64, 80, 96, 112, 128, 160, 192, 256, 320, 384, 512};
const int kOddChannels[] = {3, 8, 12, 18, 20, 36, 44, 60, 72, 100, 120, 144, 200, 240, 480};
const int kSizes[] = {7, 9, 13, 14, 15, 17, 19, 27, 28, 29, 33, 35, 56, 57, 73, 112, 113, 149, 224};

int channels(Rng &r) { return r.below(3) == 0 ? r.pick(kOddChannels) : r.pick(kCommonChannels); }

LayerSpec draw(Rng &r) {
    LayerSpec s;
    s.kind = Kind(r.below(4));
    s.n = r.below(4) == 0 ? 1 + r.below(8) : 1;
    s.h = s.w = r.pick(kSizes);
    if (r.below(5) == 0) s.w = r.pick(kSizes);  // some non-square
    s.c = channels(r);
    const int ks[] = {1, 3, 3, 3, 5, 7};
    s.kh = s.kw = s.kind == Kind::Pointwise ? 1 : ks[r.below(6)];
    if (s.kind != Kind::Pointwise && s.kh == 1) s.kh = s.kw = 3;
    s.sh = s.sw = r.below(3) == 0 ? 2 : 1;
    if (s.kind == Kind::Pointwise) s.sh = s.sw = 1;
    s.dh = s.dw = s.kh > 1 && r.below(5) == 0 ? 2 : 1;
    const int pad = s.dh * (s.kh - 1) / 2;
    s.pad_t = s.pad_l = s.pad_b = s.pad_r = r.below(4) == 0 ? 0 : pad;
    s.cout = s.kind == Kind::Depthwise ? s.c : channels(r);
    if (s.kind == Kind::Depthwise && r.below(6) == 0) s.multiplier = 2, s.cout = 2 * s.c;
    if (s.kind == Kind::Conv && r.below(6) == 0) {
        for (int g : {4, 2})
            if (s.c % g == 0 && s.cout % g == 0 && s.c / g >= 4) {
                s.groups = g;
                break;
            }
    }
    const Act acts[] = {Act::None, Act::Relu, Act::Relu6};
    s.act = s.kind == Kind::Dwsep ? Act::Relu : acts[r.below(3)];
    return s;
}

}  // namespace

std::vector<LayerSpec> random_layers(int n, uint64_t seed) {
    Rng r{seed * 0x2545f4914f6cdd1dull + 1};
    std::vector<LayerSpec> out;
    while (int(out.size()) < n) {
        LayerSpec s = draw(r);
        try {
            validate(s);
        } catch (const SpecError &) {
            continue;
        }
        const double mflop = count(s).flops / 1e6;
        if (mflop < 0.5 || mflop > 400) continue;
        s.name = "r" + std::to_string(out.size() + 1);
        out.push_back(s);
    }
    return out;
}

}  // namespace convgen
