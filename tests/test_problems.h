// Small BilevelProblems in double precision shared by the implicit-gradient and
// fidelity tests and the estimator tests.
#pragma once

#include <ATen/ATen.h>

#include <string>
#include <utility>

#include "adarts/estimator.h"

namespace adarts::test_problems {

// ||a - reference|| / ||reference|| over tensor lists (gradients compared across devices or precisions).
inline double relative_difference(const TensorList& a, const TensorList& reference) {
  TensorList d;
  for (size_t i = 0; i < a.size(); ++i) d.push_back(a[i] - reference[i]);
  return norm(d) / norm(reference);
}

// Estimator options by name and leading fields, the others at their defaults
// (brace initialisation would leave `implicit` to -Wextra's missing-initializer warning).
inline EstimatorOptions estimator_options(std::string name, double eta = EstimatorOptions{}.eta,
                                          HvpMode hvp = EstimatorOptions{}.hvp, double fd_scale = EstimatorOptions{}.fd_scale) {
  EstimatorOptions o;
  o.name = std::move(name);
  o.eta = eta;
  o.hvp = hvp;
  o.fd_scale = fd_scale;
  return o;
}

inline at::Tensor scalar_leaf(double v) { return at::full({1}, v, at::kDouble).set_requires_grad(true); }

// Appendix A.1: L(w, a; x) = (w x - a)^2 with x_train = 1, x_val = 2; at
// w = w*(a) = a: g1 = -2a, u = 4a, H = 2, M = -2, g2 = 4a, g = 2a.
class Toy : public BilevelProblem {
 public:
  Toy(double w, double a) : w_(scalar_leaf(w)), a_(scalar_leaf(a)) {}
  TensorList weights() override { return {w_}; }
  TensorList arch_parameters() override { return {a_}; }
  at::Tensor loss(const Batch& batch) override { return (w_ * batch.images - a_).pow(2).sum(); }

 private:
  at::Tensor w_, a_;
};

inline Batch toy_batch(double x) { return Batch{at::full({1}, x, at::kDouble), at::Tensor()}; }

// A small smooth conv net with batch norm (training-mode statistics) and an
// architecture-like mixture of two branches, s = softmax(a):
// x -> s0 tanh(BN(conv3x3 x)) + s1 tanh(BN(conv5x5 x)) -> conv3x3 -> BN -> tanh
// -> global pool -> linear. Smooth, so central differences converge to the
// exact second derivatives (the supernet's ReLUs and max pools do not).
// Without batch norm (`batch_norm` false) each image's loss depends on that
// image alone, so the loss of a batch is the mean over any split of it.
class SmoothConvNet : public BilevelProblem {
 public:
  explicit SmoothConvNet(at::Generator& g, bool batch_norm = true) : batch_norm_(batch_norm) {
    auto param = [&](at::IntArrayRef shape, double scale) {
      return (scale * at::randn(shape, g, at::kDouble)).set_requires_grad(true);
    };
    k3_ = param({4, 2, 3, 3}, 0.3);
    k5_ = param({4, 2, 5, 5}, 0.2);
    k_ = param({4, 4, 3, 3}, 0.2);
    gamma_ = (1.0 + 0.1 * at::randn({4}, g, at::kDouble)).set_requires_grad(true);
    beta_ = param({4}, 0.1);
    fc_ = param({3, 4}, 0.5);
    a_ = param({2}, 0.5);
  }
  TensorList weights() override { return {k3_, k5_, k_, gamma_, beta_, fc_}; }
  TensorList arch_parameters() override { return {a_}; }
  at::Tensor loss(const Batch& b) override {
    const at::Tensor s = at::softmax(a_, 0);
    auto bn = [this](const at::Tensor& x, const at::Tensor& w, const at::Tensor& bias) {
      if (!batch_norm_) return w.defined() ? x * w.view({1, -1, 1, 1}) + bias.view({1, -1, 1, 1}) : x;
      return at::batch_norm(x, w, bias, {}, {}, /*training=*/true, 0.1, 1e-5, false);
    };
    const at::Tensor h = s[0] * at::tanh(bn(at::conv2d(b.images, k3_, {}, 1, 1), {}, {})) +
                         s[1] * at::tanh(bn(at::conv2d(b.images, k5_, {}, 1, 2), {}, {}));
    const at::Tensor y = at::tanh(bn(at::conv2d(h, k_, {}, 1, 1), gamma_, beta_));
    return at::cross_entropy_loss(at::matmul(y.mean({2, 3}), fc_.t()), b.labels);
  }

 private:
  bool batch_norm_;
  at::Tensor k3_, k5_, k_, gamma_, beta_, fc_, a_;
};

}  // namespace adarts::test_problems
