// The weighted sum of a mixed edge's operations, sum_k s_k * y_k, as one
// pass over memory instead of a multiplication and an addition per operation.
//
// s_k is a 0-dim weight or one weight per sample (shape [N, 1, 1, 1], the
// drop-path mask folded in). On CPU, for float and double tensors of one
// shape and layout, the forward pass adds the products in the order of k,
// rounding as the unfused expression does, so its result is bit for bit
// s_0 y_0 + s_1 y_1 + ... evaluated left to right. The backward pass gives
// every d/dy_k in the same pass that forms the weights' gradients <g, y_k>,
// which it sums in double in tiles of fixed size (the same result for any
// thread count; it differs from LibTorch's float sum in the last bits).
// Anything else (CUDA, bf16 under autocast, mixed layouts, a second
// differentiation) takes the unfused expression.
#pragma once

#include <ATen/core/Tensor.h>

namespace adarts {

at::Tensor weighted_sum(at::TensorList ys, at::TensorList scales);

// Process-wide switch to the unfused expression (default: fused), for the
// benchmark's side-by-side runs and the tests that bound the difference.
void set_fused_weighted_sum(bool fused);
bool fused_weighted_sum();

}  // namespace adarts
