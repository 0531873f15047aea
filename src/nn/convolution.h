// The convolution of the DARTS operations, with a backward pass that is
// itself built from first-order convolution kernels.
//
// Why: LibTorch differentiates a convolution's backward pass (the exact
// Hessian-vector products of the amended estimator) with
// _convolution_double_backward, which runs one small convolution per group
// (a depthwise convolution: one per channel) and the slow im2col transposed
// convolution for strided and dilated ones. Here the backward pass is two
// bilinear maps, d/dx = B_x(gy, w) and d/dw = B_w(gy, x), each a custom
// function whose own derivatives are again plain convolutions and
// convolution backward passes. Without a second differentiation the backward
// pass is LibTorch's own single call, so first derivatives are bit for bit
// those of torch::nn::Conv2d.
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/nn/modules/conv.h>

namespace adarts {

// conv(x) with the weights and geometry of `conv` (no bias, explicit padding).
at::Tensor twice_differentiable_conv2d(torch::nn::Conv2dImpl& conv, const at::Tensor& x);

}  // namespace adarts
