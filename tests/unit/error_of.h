// The unit tests' helper for bad input: the SpecError message of f(), or "" if f() threw none.
// Every message must be one line (the CLI prints it as one).
#pragma once

#include "generator/spec/layer_spec.h"

#include <gtest/gtest.h>
#include <string>

namespace convgen {

template <class F>
std::string error_of(F f) {
    try {
        f();
    } catch (const SpecError &e) {
        std::string m = e.what();
        EXPECT_EQ(m.find('\n'), std::string::npos) << "message must be one line: " << m;
        return m;
    }
    return "";
}

}  // namespace convgen
