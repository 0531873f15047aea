#include "adarts/operations.h"

#include <torch/nn/functional.h>
#include <torch/nn/modules/linear.h>

#include <cmath>
#include <stdexcept>

#include "adarts/device.h"
#include "adarts/error.h"
#include "nn/convolution.h"

namespace adarts {
namespace {

namespace F = torch::nn::functional;

torch::nn::Conv2d conv(int64_t c_in, int64_t c_out, int64_t kernel, int64_t stride, int64_t padding,
                       int64_t dilation = 1, int64_t groups = 1) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(c_in, c_out, kernel)
                               .stride(stride)
                               .padding(padding)
                               .dilation(dilation)
                               .groups(groups)
                               .bias(false));
}

torch::nn::BatchNorm2d batch_norm(int64_t channels, bool affine) {
  return torch::nn::BatchNorm2d(torch::nn::BatchNorm2dOptions(channels).affine(affine));
}

// ReLU -> depthwise (strided, dilated) -> pointwise -> BN.
class DilConv : public Operation {
 public:
  DilConv(int64_t c_in, int64_t c_out, int64_t kernel, int64_t stride, int64_t padding,
          int64_t dilation, bool affine) {
    depthwise_ = register_module("depthwise", conv(c_in, c_in, kernel, stride, padding, dilation, c_in));
    pointwise_ = register_module("pointwise", conv(c_in, c_out, 1, 1, 0));
    bn_ = register_module("bn", batch_norm(c_out, affine));
  }
  at::Tensor forward(const at::Tensor& x) override { return forward_after_relu(at::relu(x)); }
  bool starts_with_relu() const override { return true; }
  at::Tensor forward_after_relu(const at::Tensor& relu_x) override {
    return bn_(twice_differentiable_conv2d(*pointwise_, twice_differentiable_conv2d(*depthwise_, relu_x)));
  }

 private:
  torch::nn::Conv2d depthwise_{nullptr}, pointwise_{nullptr};
  torch::nn::BatchNorm2d bn_{nullptr};
};

// Two stacked DilConv blocks with dilation 1; only the first is strided.
class SepConv : public Operation {
 public:
  SepConv(int64_t c_in, int64_t c_out, int64_t kernel, int64_t stride, int64_t padding, bool affine) {
    first_ = register_module("first", std::make_shared<DilConv>(c_in, c_in, kernel, stride, padding, 1, affine));
    second_ = register_module("second", std::make_shared<DilConv>(c_in, c_out, kernel, 1, padding, 1, affine));
  }
  at::Tensor forward(const at::Tensor& x) override { return forward_after_relu(at::relu(x)); }
  bool starts_with_relu() const override { return true; }
  at::Tensor forward_after_relu(const at::Tensor& relu_x) override {
    return second_->forward(first_->forward_after_relu(relu_x));
  }

 private:
  std::shared_ptr<DilConv> first_, second_;
};

class Identity : public Operation {
 public:
  at::Tensor forward(const at::Tensor& x) override { return x; }
};

// The `none` operation: zeros at the output resolution.
class Zero : public Operation {
 public:
  explicit Zero(int64_t stride) : stride_(stride) {}
  at::Tensor forward(const at::Tensor& x) override {
    if (stride_ == 1) return x.mul(0.0);
    return x.slice(2, 0, c10::nullopt, stride_).slice(3, 0, c10::nullopt, stride_).mul(0.0);
  }

 private:
  int64_t stride_;
};

class Pool : public Operation {
 public:
  Pool(bool max, int64_t channels, int64_t stride, bool bn_after) : max_(max), stride_(stride) {
    if (bn_after) bn_ = register_module("bn", batch_norm(channels, false));
  }
  at::Tensor forward(const at::Tensor& x) override {
    at::Tensor y = max_ ? at::max_pool2d(x, {3, 3}, {stride_, stride_}, {1, 1})
                        : at::avg_pool2d(x, {3, 3}, {stride_, stride_}, {1, 1},
                                         /*ceil_mode=*/false, /*count_include_pad=*/false);
    return bn_ ? bn_(y) : y;
  }

 private:
  bool max_;
  int64_t stride_;
  torch::nn::BatchNorm2d bn_{nullptr};
};

}  // namespace

ReLUConvBN::ReLUConvBN(int64_t c_in, int64_t c_out, int64_t kernel, int64_t stride, int64_t padding,
                       bool affine) {
  conv_ = register_module("conv", conv(c_in, c_out, kernel, stride, padding));
  bn_ = register_module("bn", batch_norm(c_out, affine));
}

at::Tensor ReLUConvBN::forward_after_relu(const at::Tensor& relu_x) {
  return bn_(twice_differentiable_conv2d(*conv_, relu_x));
}

FactorizedReduce::FactorizedReduce(int64_t c_in, int64_t c_out, bool affine) {
  if (c_out % 2 != 0) throw invalid_argument("factorized reduce needs an even channel count, got " + std::to_string(c_out));
  conv1_ = register_module("conv1", conv(c_in, c_out / 2, 1, 2, 0));
  conv2_ = register_module("conv2", conv(c_in, c_out / 2, 1, 2, 0));
  bn_ = register_module("bn", batch_norm(c_out, affine));
}

at::Tensor FactorizedReduce::forward_after_relu(const at::Tensor& y) {
  at::Tensor shifted = y.slice(2, 1).slice(3, 1);
  // For odd sizes the shifted grid is one short; pad it so both halves match.
  const int64_t pad_h = y.size(2) % 2, pad_w = y.size(3) % 2;
  if (pad_h || pad_w) shifted = at::constant_pad_nd(shifted, {0, pad_w, 0, pad_h}, 0.0);
  return bn_(at::cat({twice_differentiable_conv2d(*conv1_, y), twice_differentiable_conv2d(*conv2_, shifted)}, 1));
}

// On the standard inputs (8x8 on CIFAR, 7x7 on ImageNet) the pooling gives
// 2x2 and the 2x2 conv 1x1, exactly as in DARTS. Other input sizes, which the
// original cannot take, are adapted: inputs too small for a 2x2 pooled map are
// average-pooled adaptively to 2x2, and conv outputs larger than 1x1 are
// averaged to 1x1 before the classifier.
AuxiliaryHead::AuxiliaryHead(int64_t c, int64_t num_classes, bool imagenet) : pool_stride_(imagenet ? 2 : 3) {
  conv1_ = register_module("conv1", conv(c, 128, 1, 1, 0));
  bn1_ = register_module("bn1", torch::nn::BatchNorm2d(128));
  conv2_ = register_module("conv2", conv(128, 768, 2, 1, 0));
  if (!imagenet) bn2_ = register_module("bn2", torch::nn::BatchNorm2d(768));
  classifier_ = register_module("classifier", torch::nn::Linear(768, num_classes));
}

at::Tensor AuxiliaryHead::forward(const at::Tensor& input) {
  at::Tensor x = at::relu(input);
  auto pooled_size = [&](int64_t n) { return n < 5 ? 0 : (n - 5) / pool_stride_ + 1; };
  if (pooled_size(x.size(2)) >= 2 && pooled_size(x.size(3)) >= 2) {
    x = at::avg_pool2d(x, {5, 5}, {pool_stride_, pool_stride_}, {0, 0}, /*ceil_mode=*/false,
                       /*count_include_pad=*/false);
  } else {
    x = at::adaptive_avg_pool2d(x, {2, 2});
  }
  x = at::relu(bn1_(conv1_(x)));
  x = conv2_(x);
  if (bn2_) x = bn2_(x);
  x = at::relu(x);
  if (x.size(2) != 1 || x.size(3) != 1) x = at::adaptive_avg_pool2d(x, {1, 1});
  return classifier_(x.flatten(1));
}

DropPathMasks::DropPathMasks(int64_t count, int64_t batch, double p, at::Generator& generator,
                             const at::TensorOptions& options) {
  const double keep = 1.0 - p;
  at::Tensor host = at::empty({count, batch, 1, 1, 1}, options.device(at::kCPU)).bernoulli_(keep, generator);
  masks_ = to_device(host.div_(keep), options.device());
}

at::Tensor DropPathMasks::next() {
  if (next_ >= masks_.size(0)) {
    throw std::logic_error("drop-path: the forward pass asked for more than the " + std::to_string(masks_.size(0)) +
                         " masks drawn for it");
  }
  return masks_[next_++];
}

std::shared_ptr<Operation> make_operation(const std::string& name, int64_t channels, int64_t stride,
                                          bool affine, bool bn_after_pool) {
  const int64_t c = channels;
  if (name == "none") return std::make_shared<Zero>(stride);
  if (name == "max_pool_3x3") return std::make_shared<Pool>(true, c, stride, bn_after_pool);
  if (name == "avg_pool_3x3") return std::make_shared<Pool>(false, c, stride, bn_after_pool);
  if (name == "skip_connect") {
    if (stride == 1) return std::make_shared<Identity>();
    return std::make_shared<FactorizedReduce>(c, c, affine);
  }
  if (name == "sep_conv_3x3") return std::make_shared<SepConv>(c, c, 3, stride, 1, affine);
  if (name == "sep_conv_5x5") return std::make_shared<SepConv>(c, c, 5, stride, 2, affine);
  if (name == "dil_conv_3x3") return std::make_shared<DilConv>(c, c, 3, stride, 2, 2, affine);
  if (name == "dil_conv_5x5") return std::make_shared<DilConv>(c, c, 5, stride, 4, 2, affine);
  throw invalid_argument("unknown operation '" + name + "'");
}

void initialize_parameters(torch::nn::Module& module, at::Generator& generator) {
  at::NoGradGuard no_grad;
  auto uniform = [&](at::Tensor& t, double fan_in) {
    const double bound = 1.0 / std::sqrt(fan_in);
    t.uniform_(-bound, bound, generator);
  };
  auto initialize = [&](torch::nn::Module& m) {
    if (auto* c = m.as<torch::nn::Conv2dImpl>()) {
      const double fan_in = static_cast<double>(c->weight[0].numel());
      uniform(c->weight, fan_in);
      if (c->bias.defined()) uniform(c->bias, fan_in);
    } else if (auto* l = m.as<torch::nn::LinearImpl>()) {
      const double fan_in = static_cast<double>(l->weight.size(1));
      uniform(l->weight, fan_in);
      if (l->bias.defined()) uniform(l->bias, fan_in);
    } else if (auto* b = m.as<torch::nn::BatchNorm2dImpl>()) {
      if (b->weight.defined()) b->weight.fill_(1.0);
      if (b->bias.defined()) b->bias.fill_(0.0);
    }
  };
  // include_self=false: the caller may be a module's constructor, not yet in a shared_ptr.
  initialize(module);
  for (const auto& child : module.modules(/*include_self=*/false)) initialize(*child);
}

}  // namespace adarts
