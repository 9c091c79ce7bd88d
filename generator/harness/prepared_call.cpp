#include "generator/harness/prepared_call.h"

#include "generator/spec/reference.h"
#include "generator/harness/runtime_bridge.h"

#include <stdexcept>

namespace convgen {

PreparedCall::PreparedCall(const convgen_kernel *k, const LayerSpec &spec, uint64_t seed, const std::string &what)
    : input(random_input(spec, seed)), params(random_params(spec, seed + 1)), in_buf(input.data),
      out_buf(std::vector<float>(size_t(Tensor{kernel_args(spec).back().shape, {}}.numel()), 0.f)) {
    std::vector<convgen_named_tensor> named = named_tensors(params);
    const convgen_status st = convgen_prepare_params(k, named.data(), int(named.size()), spec.eps, &prepared);
    if (st != CONVGEN_OK) throw std::runtime_error(what + ": " + convgen_last_error());
    const std::vector<int64_t> out_shape = kernel_args(spec).back().shape;
    in_t = host_tensor(in_buf.data(), input.shape, layout_of(spec));
    out_t = host_tensor(out_buf.data(), out_shape, layout_of(spec));
}

}  // namespace convgen
