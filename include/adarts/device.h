// Where a search or a re-training runs, and in which precision: the device
// names of the configs, moving host batches to the device, autocast.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <string>

#include "adarts/data.h"
#include "adarts/run_config.h"  // Precision

namespace adarts {

// Resolves "cpu", "cuda", "cuda:N"; a clear error when CUDA is not available.
at::Device parse_device(const std::string& name);

// Readies a process for runs on `device`: on CUDA, cuDNN's autotuner is
// switched on (process-wide; it times the convolution algorithms once per
// shape and keeps the fastest, which makes CUDA runs non-deterministic).
void prepare_device(at::Device device);

// The thread count of a config: N, or every core when 0; applied to LibTorch's
// intra-op pool (one per process: the last search or trainer created sets it).
int apply_threads(int64_t threads);

// The CUDA devices this process sees (0 on a CPU-only build or machine).
int64_t cuda_device_count();

// A host tensor on `device`. For CUDA the copy is made from pinned host memory
// and does not block the host (the caching host allocator keeps the pinned
// buffer alive until the copy has run); on the CPU the tensor itself.
at::Tensor to_device(const at::Tensor& host, at::Device device);
// A batch's images and labels on `device` the same way (its noise seed kept).
Batch to_device(Batch batch, at::Device device);

// Autocast to bfloat16 on `device`'s type for the life of the scope, when
// `precision` is bf16; nothing otherwise. Nests; the outermost scope clears
// autocast's cache of cast weights, so a weight changed between two forward
// passes (the estimators' finite differences) is cast afresh.
class AutocastScope {
 public:
  AutocastScope(at::Device device, Precision precision);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool active_ = false;
  at::DeviceType type_ = at::kCPU;
  bool was_enabled_ = false;
  at::ScalarType previous_dtype_ = at::kFloat;
};

}  // namespace adarts
