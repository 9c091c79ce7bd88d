// build_algorithm: the one dispatch from a layer's kind to the file that builds its math.
#include "generator/algorithms/algorithm.h"

namespace convgen {

Algorithm build_algorithm(const LayerSpec &spec, bool flat_plane) {
    if (flat_plane && !flat_plane_eligible(spec))
        throw SpecError("algorithm: the flattened plane needs an NCHW pointwise layer with stride 1 and no padding");
    switch (spec.kind) {
    case Kind::Conv: return spec.algo == Algo::Winograd ? build_winograd(spec) : build_conv(spec);
    case Kind::Pointwise: return build_pointwise(spec, flat_plane);
    case Kind::Depthwise: return build_depthwise(spec);
    case Kind::Dwsep: return build_dwsep(spec);
    }
    throw SpecError(std::string("algorithm: unknown kind ") + std::to_string(int(spec.kind)));
}

}  // namespace convgen
