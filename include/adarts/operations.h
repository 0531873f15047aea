// The candidate operations of the DARTS cell space as LibTorch modules, with
// DARTS semantics: ReLU-Conv-BN order, separable convolutions stacked twice,
// dilated convolutions with dilation 2, factorized reduce for strided skips.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include <memory>
#include <string>

namespace adarts {

// Base of every candidate operation: one input, one output.
class Operation : public torch::nn::Module {
 public:
  virtual at::Tensor forward(const at::Tensor& x) = 0;
  // Operations that begin with ReLU can take relu(x) computed once and shared
  // by every such operation of a mixed edge (less time and activation memory).
  virtual bool starts_with_relu() const { return false; }
  virtual at::Tensor forward_after_relu(const at::Tensor& relu_x) { return forward(relu_x); }
};

// ReLU -> Conv -> BN.
class ReLUConvBN : public Operation {
 public:
  ReLUConvBN(int64_t c_in, int64_t c_out, int64_t kernel, int64_t stride, int64_t padding, bool affine);
  at::Tensor forward(const at::Tensor& x) override { return forward_after_relu(at::relu(x)); }
  bool starts_with_relu() const override { return true; }
  at::Tensor forward_after_relu(const at::Tensor& relu_x) override;

 private:
  torch::nn::Conv2d conv_{nullptr};
  torch::nn::BatchNorm2d bn_{nullptr};
};

// Halves the resolution with two 1x1 stride-2 convolutions on offset grids.
// Odd sizes are padded so that both halves agree (the original assumes even sizes).
class FactorizedReduce : public Operation {
 public:
  FactorizedReduce(int64_t c_in, int64_t c_out, bool affine);
  at::Tensor forward(const at::Tensor& x) override { return forward_after_relu(at::relu(x)); }
  bool starts_with_relu() const override { return true; }
  at::Tensor forward_after_relu(const at::Tensor& relu_x) override;

 private:
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr};
  torch::nn::BatchNorm2d bn_{nullptr};
};

// DARTS's auxiliary classifier on the output of cell 2*layers/3: ReLU, 5x5
// average pooling (stride 3 on CIFAR, 2 on ImageNet), 1x1 conv to 128, BN,
// ReLU, 2x2 conv to 768, BN (CIFAR only, as in the original), ReLU, linear.
// Used by the evaluation network and, as a consistency option, by the supernet.
class AuxiliaryHead : public torch::nn::Module {
 public:
  AuxiliaryHead(int64_t c, int64_t num_classes, bool imagenet);
  at::Tensor forward(const at::Tensor& input);

 private:
  int64_t pool_stride_;
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr};
  torch::nn::BatchNorm2d bn1_{nullptr}, bn2_{nullptr};
  torch::nn::Linear classifier_{nullptr};
};

// DARTS's drop_path masks for one forward pass: `count` per-sample
// Bernoulli(1 - p) draws scaled by 1 / (1 - p), each shaped [batch, 1, 1, 1].
// They are drawn together on the host from `generator`, in the order next()
// hands them out, and reach `options`' device in one copy (non-blocking from
// pinned memory on CUDA): one transfer per forward pass instead of one per
// edge, and the same masks on every device for the same generator state.
class DropPathMasks {
 public:
  DropPathMasks(int64_t count, int64_t batch, double p, at::Generator& generator, const at::TensorOptions& options);
  // The next mask; an internal error when the forward pass asks for more than `count`.
  at::Tensor next();
  int64_t used() const { return next_; }

 private:
  at::Tensor masks_;  // [count, batch, 1, 1, 1] on the device
  int64_t next_ = 0;
};

// Builds the operation `name` (one of darts_op_names()) on `channels` channels.
// `bn_after_pool` adds a non-affine BN after pooling, as DARTS's search does.
std::shared_ptr<Operation> make_operation(const std::string& name, int64_t channels, int64_t stride,
                                          bool affine, bool bn_after_pool = false);

// PyTorch's default initialisation (uniform +-1/sqrt(fan_in) for convolutions
// and linear layers, BN to identity) drawn from `generator`, so that a model's
// initial weights depend only on the seed and not on the global generator.
void initialize_parameters(torch::nn::Module& module, at::Generator& generator);

}  // namespace adarts
