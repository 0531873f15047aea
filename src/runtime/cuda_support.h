// What needs LibTorch's CUDA backend at compile time (its CUDA headers and
// libc10_cuda): device memory statistics and the device name. CMake compiles
// cuda_support.cpp where the LibTorch found has CUDA and cuda_support_none.cpp
// elsewhere (Debian's CPU-only 1.13), so no other file needs an #if for it.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <string>

namespace adarts::cuda_support {

// True where this build links LibTorch's CUDA backend (whether or not a GPU is present).
bool compiled();

// Waits for the work queued on `device` (nothing on the CPU).
void synchronize(at::Device device);

// The caching allocator's peak bytes on a CUDA device since the last reset, in MiB.
struct MemoryStats {
  double peak_allocated_mib = 0.0;
  double peak_reserved_mib = 0.0;
};
MemoryStats memory_stats(at::Device device);
void reset_peak_memory(at::Device device);
std::string device_name(at::Device device);

}  // namespace adarts::cuda_support
