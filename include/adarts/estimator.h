// Estimators of the architecture gradient (docs/estimators.md).
//
// w: network weights, a: architecture parameters, L_tr / L_val: loss on a
// training / validation batch, all at the current w.
//   g1 = grad_a L_val,   u = grad_w L_val,   H = grad_w^2 L_tr,
//   M x = grad_a (grad_w L_tr . x)   (mixed second derivative applied to x)
// first_order:  g = g1
// second_order: g = g1(w') - xi M u(w'),  w' = w - xi (momentum buf + grad_w L_tr + wd w)
// amended:      g = g1 - eta M (H u)      (the paper's eq. 6)
// implicit:     g = g1 - M (H + lambda I)^{-1} u   (the exact g2; implicit_gradient.h)
#pragma once

#include <ATen/ATen.h>

#include <memory>
#include <string>
#include <vector>

#include "adarts/bilevel_problem.h"
#include "adarts/data.h"

namespace adarts {

// How a second derivative applied to a vector is computed.
enum class HvpMode { finite_difference, exact };

HvpMode parse_hvp_mode(const std::string& name);  // "finite_difference" | "exact"
std::string to_string(HvpMode mode);

// How the implicit estimator (and the fidelity probe) applies
// (H + damping I)^{-1} u, always with exact Hessian-vector products. The
// config keys are implicit_inverse, implicit_iterations, implicit_tolerance,
// implicit_damping, neumann_step. The defaults suit the probe on small
// supernets: 20 CG steps, a relative residual of 1e-2, and damping 0.1 that
// bounds the amplification of near-flat directions of H by 10 (H of a trained
// supernet has many eigenvalues near 0 and some negative).
struct ImplicitOptions {
  std::string inverse = "cg";  // cg | neumann
  int64_t iterations = 20;     // Hessian-vector products at most
  double tolerance = 1e-2;     // stop at ||b - A x|| <= tolerance ||b||
  double damping = 0.1;        // lambda >= 0
  double neumann_step = 0.01;  // Neumann series step, < 2 / lambda_max(H + lambda I)
};

struct EstimatorOptions {
  std::string name = "amended";  // first_order | second_order | amended | implicit
  double eta = 0.1;              // amending coefficient (amended)
  HvpMode hvp = HvpMode::finite_difference;
  double fd_scale = 0.01;        // central differences use r = fd_scale / ||x||
  ImplicitOptions implicit;      // implicit only
};

// The state of the weight optimizer that second-order DARTS unrolls.
struct WeightOptimizerState {
  double lr = 0.025;
  double momentum = 0.9;
  double weight_decay = 3e-4;
  TensorList momentum_buffers;  // one per weight, or empty / undefined entries before the first step
};

class ArchGradientEstimator {
 public:
  virtual ~ArchGradientEstimator() = default;
  virtual std::string name() const = 0;
  // The gradient for each arch parameter. Leaves the weights as they were.
  virtual TensorList arch_gradient(BilevelProblem& problem, const Batch& train, const Batch& val,
                                   const WeightOptimizerState& optimizer) = 0;
};

// Throws adarts::Error(invalid_argument) naming the first bad option: an
// unknown name, eta < 0, fd_scale <= 0, a bad implicit option (checked for
// every estimator: the fidelity probe uses them too).
void validate(const EstimatorOptions& options);

// validate(), then the estimator `options.name` (estimator_factory.cpp).
std::unique_ptr<ArchGradientEstimator> make_estimator(const EstimatorOptions& options);

// ---- Building blocks, exposed for tests, probes and new estimators ----

struct LossGradients {
  at::Tensor loss;     // 0-dim, detached, on the problem's device: no host read unless asked
  TensorList arch;     // grad_a L
  TensorList weights;  // grad_w L
};

// One forward and backward giving both gradients.
LossGradients loss_gradients(BilevelProblem& problem, const Batch& batch);

// H x = grad_w^2 L(batch) x.
TensorList hessian_vector_product(BilevelProblem& problem, const Batch& batch, const TensorList& x,
                                  HvpMode mode, double fd_scale = 0.01);

// M x = grad_a (grad_w L(batch) . x).
TensorList mixed_vector_product(BilevelProblem& problem, const Batch& batch, const TensorList& x,
                                HvpMode mode, double fd_scale = 0.01);

// Vector helpers over tensor lists.
double dot(const TensorList& a, const TensorList& b);
double norm(const TensorList& a);
double cosine(const TensorList& a, const TensorList& b);

}  // namespace adarts
