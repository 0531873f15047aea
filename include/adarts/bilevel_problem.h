// What an estimator sees of a model: weights, architecture parameters and a
// loss (estimator.h). Its own header so that models (the supernet, the tests'
// closed-form problems) implement it without depending on the estimators.
#pragma once

#include <ATen/ATen.h>

#include <vector>

#include "adarts/data.h"

namespace adarts {

using TensorList = std::vector<at::Tensor>;

// What an estimator needs of a model: two groups of leaf tensors and a loss
// differentiable in both. The supernet and the closed-form toy of the tests
// implement it, so both go through the same estimator code.
class BilevelProblem {
 public:
  virtual ~BilevelProblem() = default;
  virtual TensorList weights() = 0;          // w
  virtual TensorList arch_parameters() = 0;  // a
  virtual at::Tensor loss(const Batch& batch) = 0;
  // What a training-mode loss() changes besides the weights (BatchNorm's
  // running statistics), so that probes can put it back. None by default.
  virtual TensorList running_statistics() { return {}; }
  // Turns derivatives of loss() into derivatives of the loss of the whole
  // batch, in place. One process: nothing to do. A rank of a data-parallel
  // run sees only its shard of the batch and averages over the ranks
  // (DataParallelProblem). Estimators call it on every gradient and
  // second-derivative product as soon as it is computed, before any nonlinear
  // use (docs/distributed.md).
  virtual void reduce(TensorList& gradients) { (void)gradients; }
};

}  // namespace adarts
