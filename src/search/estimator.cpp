// The DARTS-family estimators (first-order, second-order, amended) and the
// gradient and second-derivative products they are built from.
#include "adarts/estimator.h"

#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <algorithm>
#include <cmath>

#include "adarts/error.h"
#include "search/darts_estimators.h"

namespace adarts {
namespace {

// d(output)/d(inputs); unused inputs get zeros instead of undefined tensors.
TensorList gradients(const at::Tensor& output, const TensorList& inputs, bool create_graph = false,
                     bool retain_graph = false) {
  TensorList g = torch::autograd::grad({output}, inputs, /*grad_outputs=*/{},
                                       /*retain_graph=*/retain_graph || create_graph, create_graph,
                                       /*allow_unused=*/true);
  for (size_t i = 0; i < g.size(); ++i) {
    if (!g[i].defined()) g[i] = at::zeros_like(inputs[i]);
  }
  return g;
}

TensorList detached_copy(const TensorList& tensors) {
  TensorList out;
  out.reserve(tensors.size());
  for (const auto& t : tensors) out.push_back(t.detach().clone());
  return out;
}

// Sets each weight to base + scale * direction, in place and outside autograd;
// `scale` is a 0-dim tensor on the weights' device (no host read).
void set_weights(TensorList& weights, const TensorList& base, const TensorList& direction, const at::Tensor& scale) {
  at::NoGradGuard no_grad;
  for (size_t i = 0; i < weights.size(); ++i) weights[i].copy_(base[i]).addcmul_(direction[i], scale);
}

// The same with a host scalar (the unrolled SGD step of second-order DARTS).
void set_weights(TensorList& weights, const TensorList& base, const TensorList& direction, double scale) {
  at::NoGradGuard no_grad;
  for (size_t i = 0; i < weights.size(); ++i) {
    weights[i].copy_(base[i]);
    if (scale != 0.0) weights[i].add_(direction[i], scale);
  }
}

void restore_weights(TensorList& weights, const TensorList& saved) {
  at::NoGradGuard no_grad;
  for (size_t i = 0; i < weights.size(); ++i) weights[i].copy_(saved[i]);
}

// ||x|| over every tensor, as a 0-dim double tensor on the tensors' device.
at::Tensor device_norm(const TensorList& x) {
  std::vector<at::Tensor> squares;
  squares.reserve(x.size());
  for (const auto& t : x) squares.push_back(t.to(at::kDouble).square().sum());
  return at::stack(squares).sum().sqrt();
}

// (f(w + r x) - f(w - r x)) / (2 r) with r = fd_scale / ||x||, where f is the
// gradient of L(batch) with respect to `wrt` (weights or arch parameters).
// The weights are restored bit for bit afterwards. r stays on the device, so
// the product needs no host synchronisation; x = 0 gives 0 (w is unchanged
// and both gradients are equal).
TensorList central_difference(BilevelProblem& problem, const Batch& batch, const TensorList& x,
                              bool wrt_arch, double fd_scale) {
  TensorList weights = problem.weights();
  const TensorList targets = wrt_arch ? problem.arch_parameters() : weights;
  const at::Tensor x_norm = device_norm(x);
  const at::ScalarType dtype = weights.front().scalar_type();
  // The floor keeps r finite in float32 (<= 1e28 fd_scale) when x = 0.
  const at::Tensor r_double = fd_scale / x_norm.clamp_min(1e-30);
  const at::Tensor r = r_double.to(dtype);
  const at::Tensor inverse_2r = (0.5 / r_double).to(dtype);
  const TensorList saved = detached_copy(weights);

  set_weights(weights, saved, x, r);
  TensorList plus = gradients(problem.loss(batch), targets);
  set_weights(weights, saved, x, -r);
  TensorList minus = gradients(problem.loss(batch), targets);
  restore_weights(weights, saved);

  for (size_t i = 0; i < plus.size(); ++i) plus[i] = (plus[i] - minus[i]) * inverse_2r.to(plus[i].scalar_type());
  problem.reduce(plus);  // the difference is linear in the loss: one reduction instead of two
  return plus;
}

// grad_w L with a graph kept for a second differentiation.
TensorList weight_gradients_with_graph(BilevelProblem& problem, const Batch& batch) {
  return gradients(problem.loss(batch), problem.weights(), /*create_graph=*/true);
}

at::Tensor graph_dot(const TensorList& with_graph, const TensorList& constant) {
  at::Tensor total = at::zeros({}, with_graph.front().options());
  for (size_t i = 0; i < with_graph.size(); ++i) {
    total = total + (with_graph[i] * constant[i].detach()).sum();
  }
  return total;
}

TensorList detach_all(TensorList tensors) {
  for (auto& t : tensors) t = t.detach();
  return tensors;
}

class FirstOrder : public ArchGradientEstimator {
 public:
  std::string name() const override { return "first_order"; }
  TensorList arch_gradient(BilevelProblem& problem, const Batch&, const Batch& val,
                           const WeightOptimizerState&) override {
    TensorList g = gradients(problem.loss(val), problem.arch_parameters());
    problem.reduce(g);
    return g;
  }
};

class Amended : public ArchGradientEstimator {
 public:
  explicit Amended(EstimatorOptions options) : options_(std::move(options)) {}
  std::string name() const override { return "amended"; }

  TensorList arch_gradient(BilevelProblem& problem, const Batch& train, const Batch& val,
                           const WeightOptimizerState&) override {
    LossGradients g = loss_gradients(problem, val);
    if (options_.eta == 0.0) return g.arch;
    TensorList correction;
    if (options_.hvp == HvpMode::exact) {
      // One graph of grad_w L_tr serves both H u and M (H u).
      TensorList grad_w = weight_gradients_with_graph(problem, train);
      TensorList hu = detach_all(gradients(graph_dot(grad_w, g.weights), problem.weights(),
                                           /*create_graph=*/false, /*retain_graph=*/true));
      problem.reduce(hu);  // H u over the whole batch before M applies to it
      correction = gradients(graph_dot(grad_w, hu), problem.arch_parameters());
      problem.reduce(correction);
    } else {
      TensorList hu = hessian_vector_product(problem, train, g.weights, options_.hvp, options_.fd_scale);
      correction = mixed_vector_product(problem, train, hu, options_.hvp, options_.fd_scale);
    }
    for (size_t i = 0; i < g.arch.size(); ++i) g.arch[i] = g.arch[i] - options_.eta * correction[i];
    return g.arch;
  }

 private:
  EstimatorOptions options_;
};

class SecondOrder : public ArchGradientEstimator {
 public:
  explicit SecondOrder(EstimatorOptions options) : options_(std::move(options)) {}
  std::string name() const override { return "second_order"; }

  TensorList arch_gradient(BilevelProblem& problem, const Batch& train, const Batch& val,
                           const WeightOptimizerState& opt) override {
    TensorList weights = problem.weights();
    const TensorList saved = detached_copy(weights);

    // The virtual SGD step w' = w - xi (momentum buf + grad_w L_tr + wd w).
    TensorList step = gradients(problem.loss(train), weights);
    problem.reduce(step);  // w' must be the same point on every rank of a data-parallel run
    for (size_t i = 0; i < step.size(); ++i) {
      step[i] = step[i] + opt.weight_decay * saved[i];
      if (i < opt.momentum_buffers.size() && opt.momentum_buffers[i].defined()) {
        step[i] = step[i] + opt.momentum * opt.momentum_buffers[i];
      }
    }
    set_weights(weights, saved, step, -opt.lr);
    LossGradients unrolled = loss_gradients(problem, val);
    restore_weights(weights, saved);

    // M u' at the original weights, by central differences as in DARTS.
    TensorList mu = mixed_vector_product(problem, train, unrolled.weights, options_.hvp, options_.fd_scale);
    for (size_t i = 0; i < mu.size(); ++i) unrolled.arch[i] = unrolled.arch[i] - opt.lr * mu[i];
    return unrolled.arch;
  }

 private:
  EstimatorOptions options_;
};

}  // namespace

HvpMode parse_hvp_mode(const std::string& name) {
  if (name == "finite_difference") return HvpMode::finite_difference;
  if (name == "exact") return HvpMode::exact;
  throw invalid_argument("unknown hvp mode '" + name + "' (expected finite_difference or exact)");
}

std::string to_string(HvpMode mode) {
  return mode == HvpMode::exact ? "exact" : "finite_difference";
}

std::unique_ptr<ArchGradientEstimator> make_first_order() { return std::make_unique<FirstOrder>(); }
std::unique_ptr<ArchGradientEstimator> make_second_order(const EstimatorOptions& options) {
  return std::make_unique<SecondOrder>(options);
}
std::unique_ptr<ArchGradientEstimator> make_amended(const EstimatorOptions& options) {
  return std::make_unique<Amended>(options);
}

LossGradients loss_gradients(BilevelProblem& problem, const Batch& batch) {
  TensorList arch = problem.arch_parameters();
  TensorList weights = problem.weights();
  TensorList inputs = arch;
  inputs.insert(inputs.end(), weights.begin(), weights.end());
  at::Tensor loss = problem.loss(batch);
  TensorList g = gradients(loss, inputs);
  g.push_back(loss.detach().reshape({1}).clone());  // reduced with the gradients: one collective
  problem.reduce(g);
  LossGradients out;
  out.loss = g.back().reshape({});
  g.pop_back();
  out.arch.assign(g.begin(), g.begin() + static_cast<std::ptrdiff_t>(arch.size()));
  out.weights.assign(g.begin() + static_cast<std::ptrdiff_t>(arch.size()), g.end());
  return out;
}

TensorList hessian_vector_product(BilevelProblem& problem, const Batch& batch, const TensorList& x,
                                  HvpMode mode, double fd_scale) {
  if (mode == HvpMode::finite_difference) return central_difference(problem, batch, x, false, fd_scale);
  TensorList grad_w = weight_gradients_with_graph(problem, batch);
  TensorList hx = detach_all(gradients(graph_dot(grad_w, x), problem.weights()));
  problem.reduce(hx);
  return hx;
}

TensorList mixed_vector_product(BilevelProblem& problem, const Batch& batch, const TensorList& x,
                                HvpMode mode, double fd_scale) {
  if (mode == HvpMode::finite_difference) return central_difference(problem, batch, x, true, fd_scale);
  TensorList grad_w = weight_gradients_with_graph(problem, batch);
  TensorList mx = detach_all(gradients(graph_dot(grad_w, x), problem.arch_parameters()));
  problem.reduce(mx);
  return mx;
}

double dot(const TensorList& a, const TensorList& b) {
  double total = 0.0;
  for (size_t i = 0; i < a.size(); ++i) total += (a[i].to(at::kDouble) * b[i].to(at::kDouble)).sum().item<double>();
  return total;
}

double norm(const TensorList& a) { return std::sqrt(dot(a, a)); }

double cosine(const TensorList& a, const TensorList& b) {
  const double na = norm(a), nb = norm(b);
  if (na == 0.0 || nb == 0.0) return 0.0;
  return std::clamp(dot(a, b) / (na * nb), -1.0, 1.0);  // rounding can step just outside [-1, 1]
}

}  // namespace adarts
