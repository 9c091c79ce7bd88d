/* convgen's layer vocabulary, listed once for C and C++ as X-macros. Each row is
 *   X(<C enumerator suffix>, <C++ enumerator>, "<name in the layer grammar and manifest.json>")
 * and a row's position is its value: convgen.h builds convgen_kind, convgen_act and the activation
 * layouts of convgen_layout from these lists, generator/spec/layer_spec.h its enum classes and
 * their names, and the generator writes and reads registries and manifests with them. The values
 * are compiled into every generated registry: append rows, never reorder them.
 * Adding a kind: a row here, an algorithm (generator/algorithms/), a schedule per target. */
#ifndef CONVGEN_LAYER_ENUMS_H
#define CONVGEN_LAYER_ENUMS_H

#define CONVGEN_KIND_LIST(X)                                                                      \
    X(CONV, Conv, "conv")                                                                         \
    X(POINTWISE, Pointwise, "pointwise")                                                          \
    X(DEPTHWISE, Depthwise, "depthwise")                                                          \
    X(DWSEP, Dwsep, "dwsep")

#define CONVGEN_ACT_LIST(X)                                                                       \
    X(NONE, None, "none")                                                                         \
    X(RELU, Relu, "relu")                                                                         \
    X(RELU6, Relu6, "relu6")

/* The layouts of a layer's activations (the first values of convgen_layout). */
#define CONVGEN_ACTIVATION_LAYOUT_LIST(X)                                                         \
    X(NCHW, NCHW, "nchw")                                                                         \
    X(NHWC, NHWC, "nhwc")

/* Helpers for the lists: a row's C enumerator, its C++ enumerator, its name, and a count. */
#define CONVGEN_ENUM_CPP(c, cpp, name) cpp,
#define CONVGEN_ENUM_NAME(c, cpp, name) name,
#define CONVGEN_ENUM_COUNT(c, cpp, name) +1

#endif
