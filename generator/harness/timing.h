// How convgen times a kernel, in the benchmark and in `convgen tune` alike: 64-byte aligned
// activations, an untimed warm-up call, then calls timed one by one; a round's value is the
// median per-call time, and rounds of the things compared are interleaved by the caller.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <new>
#include <vector>

namespace convgen {

// One round: a warm-up call, then calls timed one by one for >= min_ms (at least 3); the median
// per-call time in microseconds.
template <class F> double time_round(F &&call, double min_ms) {
    using Clock = std::chrono::steady_clock;
    call();
    std::vector<double> us;
    const auto start = Clock::now();
    for (;;) {
        const auto t0 = Clock::now();
        call();
        const auto t1 = Clock::now();
        us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
        if (us.size() >= 3 && std::chrono::duration<double, std::milli>(t1 - start).count() >= min_ms) break;
    }
    std::sort(us.begin(), us.end());
    return us[us.size() / 2];
}

// The q-quantile (0..1) of `v` by linear interpolation; NAN when empty.
inline double quantile(std::vector<double> v, double q) {
    if (v.empty()) return NAN;
    std::sort(v.begin(), v.end());
    const double at = q * double(v.size() - 1);
    const size_t lo = size_t(at), hi = std::min(lo + 1, v.size() - 1);
    return v[lo] + (at - double(lo)) * (v[hi] - v[lo]);
}
inline double median(const std::vector<double> &v) { return quantile(v, 0.5); }

// Activations in 64-byte aligned memory, as oneDNN allocates its own and as an application that
// cares about speed does. With malloc's 16-byte alignment a 64-byte vector load of a
// channels-innermost tensor straddles two cache lines, and how often depends on the heap's
// state: the same depthwise kernel measured 19.5-35.7 us on D3 from one process to the next.
class AlignedFloats {
public:
    explicit AlignedFloats(const std::vector<float> &v)
        : n_(v.size()), p_(static_cast<float *>(std::aligned_alloc(64, (n_ * sizeof(float) + 63) / 64 * 64 + 64)), std::free) {
        if (!p_) throw std::bad_alloc();
        std::copy(v.begin(), v.end(), p_.get());
    }
    float *data() { return p_.get(); }
    std::vector<float> vector() const { return std::vector<float>(p_.get(), p_.get() + n_); }

private:
    size_t n_;
    std::unique_ptr<float, void (*)(void *)> p_;
};

}  // namespace convgen
