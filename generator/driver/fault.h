// Fault injection for the tests of `convgen tune`: $CONVGEN_FAULT = "<what>:<choice text>", or
// several such joined by ';', makes the candidate with that Choice fail on purpose. What: compile
// (its compile process dies, compile.cpp), and in the measuring child (measure.cpp) crash, hang,
// wrong (a wrong result) or slow (every timed call runs the kernel twice). Unset, nothing changes.
#pragma once

#include <algorithm>
#include <cstdlib>
#include <string>

namespace convgen {

inline bool fault_injected(const char *what, const std::string &choice) {
    const char *env = std::getenv("CONVGEN_FAULT");
    if (!env) return false;
    const std::string faults = env, wanted = std::string(what) + ":" + choice;
    for (size_t at = 0; at <= faults.size();) {
        const size_t end = std::min(faults.find(';', at), faults.size());
        if (faults.compare(at, end - at, wanted) == 0) return true;
        at = end + 1;
    }
    return false;
}

}  // namespace convgen
