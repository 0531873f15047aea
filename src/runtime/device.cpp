#include "adarts/device.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>
#include <ATen/ops/clamp.h>
#include <ATen/ops/isfinite.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/stack.h>
#include <ATen/ops/zeros.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include <algorithm>
#include <thread>

#include "adarts/error.h"
#include "adarts/torch_info.h"
#include "runtime/host_sync.h"
#include "runtime/torch_compat.h"

namespace adarts {

at::Device parse_device(const std::string& name) {
  if (name == "cpu") return at::Device(at::kCPU);
  if (name.rfind("cuda", 0) == 0) {
    at::Device device(at::kCUDA);
    try {
      device = at::Device(name);
    } catch (const std::exception&) {
      throw invalid_argument("device must be cpu, cuda or cuda:N, got '" + name + "'");
    }
    if (!torch::cuda::is_available()) {
      throw unsupported("device '" + name + "' requested but CUDA is not available in this build or machine");
    }
    if (device.has_index() && device.index() >= static_cast<int>(torch::cuda::device_count())) {
      throw invalid_argument("device '" + name + "' does not exist: " + std::to_string(torch::cuda::device_count()) +
                             " CUDA device(s) found");
    }
    return device;
  }
  throw invalid_argument("device must be cpu, cuda or cuda:N, got '" + name + "'");
}

int64_t cuda_device_count() {
  return torch::cuda::is_available() ? static_cast<int64_t>(torch::cuda::device_count()) : 0;
}

void prepare_device(at::Device device) {
  if (device.is_cuda()) at::globalContext().setBenchmarkCuDNN(true);
}

TorchInfo torch_info() {
  TorchInfo info;
  info.version = TORCH_VERSION;
  info.cuda_available = torch::cuda::is_available();
  info.cuda_devices = static_cast<int64_t>(torch::cuda::device_count());
  info.threads = at::get_num_threads();
  return info;
}

int apply_threads(int64_t threads) {
  const int n = threads > 0 ? static_cast<int>(threads)
                            : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (at::get_num_threads() != n) at::set_num_threads(n);
  return n;
}

at::Tensor to_device(const at::Tensor& host, at::Device device) {
  if (host.device() == device) return host;
  if (device.is_cuda() && host.is_cpu()) return host.pin_memory().to(device, /*non_blocking=*/true);
  return host.to(device);
}

Batch to_device(Batch batch, at::Device device) {
  batch.images = to_device(batch.images, device);
  batch.labels = to_device(batch.labels, device);
  return batch;
}

AutocastScope::AutocastScope(at::Device device, Precision precision) {
  if (precision != Precision::bf16) return;
  active_ = true;
  type_ = device.is_cuda() ? at::kCUDA : at::kCPU;
  was_enabled_ = torch_compat::autocast_enabled(type_);
  previous_dtype_ = torch_compat::autocast_dtype(type_);
  torch_compat::set_autocast(type_, true, at::kBFloat16);
  at::autocast::increment_nesting();
}

AutocastScope::~AutocastScope() {
  if (!active_) return;
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  torch_compat::set_autocast(type_, was_enabled_, previous_dtype_);
}

}  // namespace adarts

// ---------------------------------------------------------------------------
// host_sync.h

namespace adarts {

at::Tensor all_finite(const std::vector<at::Tensor>& tensors) {
  std::vector<at::Tensor> flags;
  for (const auto& t : tensors) {
    if (t.defined()) flags.push_back(at::isfinite(t).all());
  }
  if (flags.empty()) return at::ones({}, at::kBool);  // nothing to check (no tensor to take a device from)
  return flags.size() == 1 ? flags.front() : at::stack(flags).all();
}

at::Tensor clip_grad_norm(const std::vector<at::Tensor>& parameters, double max_norm) {
  std::vector<at::Tensor> grads;
  for (const auto& p : parameters) {
    if (p.grad().defined()) grads.push_back(p.grad());
  }
  if (grads.empty()) {
    return parameters.empty() ? at::zeros({}) : at::zeros({}, parameters.front().options().requires_grad(false));
  }
  std::vector<at::Tensor> norms;
  norms.reserve(grads.size());
  for (const auto& g : grads) norms.push_back(g.norm(2));
  const at::Tensor total = norms.size() == 1 ? norms.front() : at::stack(norms).norm(2);
  const at::Tensor coefficient = at::clamp(max_norm / (total + 1e-6), c10::nullopt, 1.0);
  for (auto& g : grads) g.mul_(coefficient);
  return total;
}

std::vector<double> read_scalars(const std::vector<at::Tensor>& scalars) {
  std::vector<at::Tensor> values;
  values.reserve(scalars.size());
  for (const auto& s : scalars) values.push_back(s.detach().reshape({}).to(at::kDouble));
  const at::Tensor host = at::stack(values).cpu().contiguous();
  return std::vector<double>(host.data_ptr<double>(), host.data_ptr<double>() + host.numel());
}

}  // namespace adarts
