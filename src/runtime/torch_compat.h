// The one place where LibTorch 1.13 (Debian) and 2.x (PyPI wheels, the
// LibTorch zip) differ for this project. Everything else calls these.
//
// - Autocast: 1.13 has one switch and dtype per device type (set_enabled for
//   CUDA, set_cpu_enabled for CPU); 2.x takes the device type as an argument.
// - Optimizer state: 1.13 keys it by the parameter's TensorImpl address
//   printed as a string, 2.x by the address itself.
#pragma once

#include <ATen/autocast_mode.h>
#include <torch/optim/optimizer.h>
#include <torch/version.h>

#include <sstream>
#include <string>
#include <type_traits>

namespace adarts::torch_compat {

inline bool autocast_enabled(at::DeviceType type) {
#if TORCH_VERSION_MAJOR >= 2
  return at::autocast::is_autocast_enabled(type);
#else
  return type == at::kCUDA ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
#endif
}

inline at::ScalarType autocast_dtype(at::DeviceType type) {
#if TORCH_VERSION_MAJOR >= 2
  return at::autocast::get_autocast_dtype(type);
#else
  return type == at::kCUDA ? at::autocast::get_autocast_gpu_dtype() : at::autocast::get_autocast_cpu_dtype();
#endif
}

// Autocast on or off for CPU or CUDA, computing in `dtype` where it is on.
inline void set_autocast(at::DeviceType type, bool enabled, at::ScalarType dtype) {
#if TORCH_VERSION_MAJOR >= 2
  at::autocast::set_autocast_dtype(type, dtype);
  at::autocast::set_autocast_enabled(type, enabled);
#else
  if (type == at::kCUDA) {
    at::autocast::set_autocast_gpu_dtype(dtype);
    at::autocast::set_enabled(enabled);
  } else {
    at::autocast::set_autocast_cpu_dtype(dtype);
    at::autocast::set_cpu_enabled(enabled);
  }
#endif
}

// The optimizer's state of parameter `p` (nullptr before its first step),
// as the concrete state type (SGDParamState, AdamParamState).
template <class ParamState, class Optimizer>
ParamState* param_state(Optimizer& optimizer, const at::Tensor& p) {
  auto& state = optimizer.state();
  using Key = typename std::decay_t<decltype(state)>::key_type;
  void* impl = p.unsafeGetTensorImpl();
  auto it = state.end();
  if constexpr (std::is_same_v<Key, std::string>) {
    std::ostringstream key;  // c10::guts::to_string's form of the address
    key << impl;
    it = state.find(key.str());
  } else {
    it = state.find(impl);
  }
  return it == state.end() ? nullptr : static_cast<ParamState*>(it->second.get());
}

}  // namespace adarts::torch_compat
