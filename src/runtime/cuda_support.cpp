// cuda_support.h for a LibTorch with CUDA (compiled only there).
#include "runtime/cuda_support.h"

#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#include <cuda_runtime_api.h>

#include "adarts/error.h"

namespace adarts::cuda_support {
namespace {

constexpr double kMiB = 1024.0 * 1024.0;

c10::DeviceIndex index_of(at::Device device) {
  return device.has_index() ? device.index() : c10::cuda::current_device();
}

}  // namespace

bool compiled() { return true; }

void synchronize(at::Device device) {
  if (device.is_cuda()) c10::cuda::device_synchronize();
}

MemoryStats memory_stats(at::Device device) {
  if (!device.is_cuda()) return {};
  const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(index_of(device));
  const auto aggregate = static_cast<size_t>(c10::CachingAllocator::StatType::AGGREGATE);
  MemoryStats m;
  m.peak_allocated_mib = static_cast<double>(stats.allocated_bytes[aggregate].peak) / kMiB;
  m.peak_reserved_mib = static_cast<double>(stats.reserved_bytes[aggregate].peak) / kMiB;
  return m;
}

void reset_peak_memory(at::Device device) {
  if (device.is_cuda()) c10::cuda::CUDACachingAllocator::resetPeakStats(index_of(device));
}

std::string device_name(at::Device device) {
  if (!device.is_cuda()) return device.str();
  cudaDeviceProp properties{};
  if (cudaGetDeviceProperties(&properties, index_of(device)) != cudaSuccess) return device.str();
  return properties.name;
}

}  // namespace adarts::cuda_support
