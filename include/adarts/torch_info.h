// The LibTorch the library runs on, for version reports (`adarts --version`,
// the C ABI's adarts_build_info).
#pragma once

#include <cstdint>
#include <string>

namespace adarts {

struct TorchInfo {
  std::string version;          // LibTorch's TORCH_VERSION, e.g. "1.13.0"
  bool cuda_available = false;  // a CUDA device can be used
  int64_t cuda_devices = 0;
  int threads = 0;              // LibTorch's intra-op threads now
};

TorchInfo torch_info();

}  // namespace adarts
