// cuda_support.h for a LibTorch without CUDA: nothing to measure.
#include "runtime/cuda_support.h"

#include "adarts/error.h"

namespace adarts::cuda_support {

bool compiled() { return false; }
void synchronize(at::Device) {}
MemoryStats memory_stats(at::Device) { return {}; }
void reset_peak_memory(at::Device) {}
std::string device_name(at::Device device) { return device.str(); }

}  // namespace adarts::cuda_support
