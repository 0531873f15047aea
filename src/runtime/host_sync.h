// Step arithmetic that stays on the device, so that a step synchronises with
// the host only where it reads its figures back (read_scalars: one copy).
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

namespace adarts {

// A 0-dim bool tensor: every element of every defined tensor is finite.
at::Tensor all_finite(const std::vector<at::Tensor>& tensors);

// torch::nn::utils::clip_grad_norm_ (L2, the same arithmetic) without its
// host read: scales the gradients by min(1, max_norm / (total + 1e-6)) and
// returns the total norm as a 0-dim tensor on the gradients' device.
at::Tensor clip_grad_norm(const std::vector<at::Tensor>& parameters, double max_norm);

// The values of 0-dim tensors on one device, read in one copy.
std::vector<double> read_scalars(const std::vector<at::Tensor>& scalars);

}  // namespace adarts
