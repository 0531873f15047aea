// The implicit gradient g2 = -M (H + lambda I)^{-1} u against dense solves in
// double precision, the closed form of Appendix A.1, and the solver's reports
// (converged, max_iterations, negative_curvature).
#include <gtest/gtest.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/csrc/autograd/autograd.h>

#include <cmath>

#include "adarts/error.h"
#include "adarts/implicit_gradient.h"
#include "test_problems.h"

namespace adarts {
namespace {

at::Tensor leaf(const at::Tensor& t) { return t.clone().set_requires_grad(true); }

// L2-regularised logistic regression whose features are scaled by the
// architecture: p_i = sigmoid(w . (x_i * 2 sigmoid(a)) + b),
// L = mean BCE(p_i, y_i) + 0.05 ||w||^2. Convex in (w, b), so H is positive
// definite; 6 weights (two tensors) and 5 arch parameters, small enough to form
// H and M entry by entry.
class Logistic : public BilevelProblem {
 public:
  explicit Logistic(at::Generator& g)
      : w_(leaf(at::randn({5}, g, at::kDouble))),
        b_(leaf(0.3 * at::randn({1}, g, at::kDouble))),
        a_(leaf(at::randn({5}, g, at::kDouble))) {}
  TensorList weights() override { return {w_, b_}; }
  TensorList arch_parameters() override { return {a_}; }
  at::Tensor loss(const Batch& batch) override {
    const at::Tensor features = batch.images * (2.0 * at::sigmoid(a_));
    const at::Tensor logits = at::matmul(features, w_) + b_;
    return at::binary_cross_entropy_with_logits(logits, batch.labels) + 0.05 * w_.pow(2).sum();
  }

 private:
  at::Tensor w_, b_, a_;
};

Batch logistic_batch(at::Generator& g, int64_t n) {
  return Batch{at::randn({n, 5}, g, at::kDouble), at::randint(2, {n}, g, at::kLong).to(at::kDouble)};
}

// The flat weight vector's gradient and the dense H (n_w x n_w) and the mixed
// matrix (n_a x n_w), each row by differentiating one gradient entry: an
// independent path from the Hessian-vector products under test.
struct DenseDerivatives {
  at::Tensor grad_w, hessian, mixed;
};

DenseDerivatives dense_derivatives(BilevelProblem& problem, const Batch& batch) {
  TensorList w = problem.weights(), a = problem.arch_parameters();
  TensorList grads = torch::autograd::grad({problem.loss(batch)}, w, {}, true, /*create_graph=*/true);
  TensorList flat_parts;
  for (const auto& g : grads) flat_parts.push_back(g.reshape({-1}));
  const at::Tensor flat = at::cat(flat_parts);
  const int64_t n = flat.numel();
  const int64_t n_a = a.front().numel();
  DenseDerivatives d;
  d.grad_w = flat.detach().clone();
  d.hessian = at::zeros({n, n}, at::kDouble);
  d.mixed = at::zeros({n_a, n}, at::kDouble);
  for (int64_t i = 0; i < n; ++i) {
    TensorList inputs = w;
    inputs.push_back(a.front());
    TensorList row = torch::autograd::grad({flat[i]}, inputs, {}, /*retain_graph=*/true, false, /*allow_unused=*/true);
    TensorList row_w(row.begin(), row.end() - 1);
    TensorList parts;
    for (size_t j = 0; j < row_w.size(); ++j) {
      parts.push_back(row_w[j].defined() ? row_w[j].reshape({-1}) : at::zeros({w[j].numel()}, at::kDouble));
    }
    d.hessian[i] = at::cat(parts);
    if (row.back().defined()) d.mixed.select(1, i).copy_(row.back().reshape({-1}));
  }
  return d;
}

at::Tensor flatten(const TensorList& list) {
  TensorList parts;
  for (const auto& t : list) parts.push_back(t.reshape({-1}));
  return at::cat(parts);
}

double relative_error(const at::Tensor& approx, const at::Tensor& exact) {
  return (approx - exact).norm().item<double>() / exact.norm().item<double>();
}

struct LogisticSetup {
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(5);
  Logistic problem{g};
  Batch train = logistic_batch(g, 24);
  Batch val = logistic_batch(g, 24);

  // -M (H + lambda I)^{-1} u from a dense solve.
  at::Tensor dense_g2(double damping) {
    const DenseDerivatives tr = dense_derivatives(problem, train);
    const at::Tensor u = flatten(loss_gradients(problem, val).weights);
    const at::Tensor a = tr.hessian + damping * at::eye(tr.hessian.size(0), at::kDouble);
    return -at::matmul(tr.mixed, at::linalg_solve(a, u));
  }
};

TEST(ImplicitGradient, DenseHessianIsSymmetricPositiveDefinite) {
  LogisticSetup s;
  const at::Tensor h = dense_derivatives(s.problem, s.train).hessian;
  EXPECT_LT((h - h.t()).abs().max().item<double>(), 1e-12);
  EXPECT_GT(at::linalg_eigvalsh(h).min().item<double>(), 1e-3);  // convex: BCE plus an L2 term
}

TEST(ImplicitGradient, ConjugateGradientMatchesDenseSolve) {
  for (double damping : {0.0, 0.1}) {
    LogisticSetup s;
    EstimatorOptions o;
    o.implicit.inverse = "cg";
    o.implicit.iterations = 50;  // 6 unknowns: CG is exact after 6 steps up to rounding
    o.implicit.tolerance = 1e-12;
    o.implicit.damping = damping;
    const ImplicitGradient g = implicit_gradient(s.problem, s.train, s.val, o);
    EXPECT_TRUE(g.report.converged);
    EXPECT_EQ(g.report.reason, SolveStop::converged);
    EXPECT_LE(g.report.iterations, 12);
    EXPECT_LE(g.report.relative_residual, 1e-12);
    EXPECT_LT(relative_error(flatten(g.g2), s.dense_g2(damping)), 1e-6) << "damping " << damping;
  }
}

TEST(ImplicitGradient, NeumannSeriesMatchesDenseSolve) {
  LogisticSetup s;
  const at::Tensor eig = at::linalg_eigvalsh(dense_derivatives(s.problem, s.train).hessian);
  const double lo = eig.min().item<double>(), hi = eig.max().item<double>();
  EstimatorOptions o;
  o.implicit.inverse = "neumann";
  o.implicit.damping = 0.0;
  o.implicit.neumann_step = 1.0 / hi;  // contraction factor 1 - lo / hi per term
  o.implicit.tolerance = 1e-10;
  o.implicit.iterations = static_cast<int64_t>(std::ceil(std::log(1e-11) / std::log(1.0 - lo / hi))) + 10;
  const ImplicitGradient g = implicit_gradient(s.problem, s.train, s.val, o);
  EXPECT_TRUE(g.report.converged) << "residual " << g.report.relative_residual << " after " << g.report.iterations;
  EXPECT_LT(relative_error(flatten(g.g2), s.dense_g2(0.0)), 1e-6);
}

TEST(ImplicitGradient, EstimatorIsFirstOrderPlusImplicitTerm) {
  LogisticSetup s;
  EstimatorOptions o;
  o.name = "implicit";
  o.implicit.iterations = 50;
  o.implicit.tolerance = 1e-12;
  o.implicit.damping = 0.0;
  auto estimator = make_estimator(o);
  EXPECT_EQ(estimator->name(), "implicit");
  const at::Tensor g = flatten(estimator->arch_gradient(s.problem, s.train, s.val, {}));
  const at::Tensor g1 = flatten(loss_gradients(s.problem, s.val).arch);
  EXPECT_LT(relative_error(g, g1 + s.dense_g2(0.0)), 1e-6);
  auto* implicit = dynamic_cast<ImplicitEstimator*>(estimator.get());
  ASSERT_NE(implicit, nullptr);
  EXPECT_EQ(implicit->solves(), 1);
  EXPECT_EQ(implicit->unconverged_solves(), 0);
}

using test_problems::Toy;
using test_problems::toy_batch;

TEST(ImplicitGradient, AppendixToyGivesFourA) {
  const double a = 0.7;
  for (const char* inverse : {"cg", "neumann"}) {
    Toy toy(a, a);
    EstimatorOptions o;
    o.name = "implicit";
    o.implicit.inverse = inverse;
    o.implicit.damping = 0.0;
    o.implicit.tolerance = 1e-14;
    o.implicit.neumann_step = 0.5;  // 1 / H: the first term of the series is already exact
    const ImplicitGradient g = implicit_gradient(toy, toy_batch(1), toy_batch(2), o);
    EXPECT_TRUE(g.report.converged) << inverse;
    EXPECT_EQ(g.report.iterations, 1) << inverse;
    EXPECT_NEAR(g.g1.at(0).item<double>(), -2 * a, 1e-14) << inverse;
    EXPECT_NEAR(g.g2.at(0).item<double>(), 4 * a, 1e-12) << inverse;
    EXPECT_NEAR(make_estimator(o)->arch_gradient(toy, toy_batch(1), toy_batch(2), {}).at(0).item<double>(), 2 * a,
                1e-12)
        << inverse;
  }
}

LinearOperator matrix_operator(const at::Tensor& m) {
  return [m](const TensorList& x) { return TensorList{at::matmul(m, x.at(0))}; };
}

TEST(ConjugateGradient, StopsOnNegativeCurvature) {
  // Eigenvalues 2 and -1.5; b's Rayleigh quotient is negative at once.
  const at::Tensor a = at::tensor({2.0, 0.0, 0.0, -1.5}, at::kDouble).reshape({2, 2});
  const SolveResult r = conjugate_gradient(matrix_operator(a), {at::tensor({0.5, 1.0}, at::kDouble)}, 10, 1e-10);
  EXPECT_EQ(r.report.reason, SolveStop::negative_curvature);
  EXPECT_FALSE(r.report.converged);
  EXPECT_EQ(r.report.iterations, 1);
  EXPECT_EQ(r.solution.at(0).abs().max().item<double>(), 0.0);  // the iterate reached: x = 0
  EXPECT_EQ(to_string(r.report.reason), "negative_curvature");
}

TEST(ConjugateGradient, StopsOnNegativeCurvatureAfterProgress) {
  // b mostly along the positive eigenvectors: a first step, then p^T A p < 0.
  const at::Tensor a = at::diag(at::tensor({3.0, 1.0, -2.0}, at::kDouble));
  const SolveResult r = conjugate_gradient(matrix_operator(a), {at::tensor({1.0, 1.0, 0.6}, at::kDouble)}, 10, 1e-10);
  EXPECT_EQ(r.report.reason, SolveStop::negative_curvature);
  EXPECT_GE(r.report.iterations, 2);
  EXPECT_GT(r.solution.at(0).abs().max().item<double>(), 0.0);
}

TEST(ConjugateGradient, ReportsMaxIterations) {
  const at::Tensor a = at::diag(at::linspace(1.0, 10.0, 8, at::kDouble));
  const TensorList b = {at::ones({8}, at::kDouble)};
  const SolveResult r = conjugate_gradient(matrix_operator(a), b, 2, 1e-10);
  EXPECT_EQ(r.report.reason, SolveStop::max_iterations);
  EXPECT_FALSE(r.report.converged);
  EXPECT_EQ(r.report.iterations, 2);
  // The reported residual is the true one of the returned x.
  const double true_residual = (b[0] - at::matmul(a, r.solution[0])).norm().item<double>() / b[0].norm().item<double>();
  EXPECT_GT(r.report.relative_residual, 1e-10);
  EXPECT_NEAR(r.report.relative_residual, true_residual, 1e-12);
  // Enough iterations: exact after 8 steps (8 distinct eigenvalues).
  const SolveResult full = conjugate_gradient(matrix_operator(a), b, 8, 1e-10);
  EXPECT_TRUE(full.report.converged);
  EXPECT_LT((at::matmul(a, full.solution[0]) - b[0]).norm().item<double>(), 1e-9);
}

TEST(NeumannSeries, ReportsMaxIterationsAndExactResidual) {
  const at::Tensor a = at::diag(at::linspace(1.0, 10.0, 8, at::kDouble));
  const TensorList b = {at::ones({8}, at::kDouble)};
  const SolveResult r = neumann_series(matrix_operator(a), b, 5, 0.1, 1e-10);
  EXPECT_EQ(r.report.reason, SolveStop::max_iterations);
  EXPECT_EQ(r.report.iterations, 5);
  const double true_residual = (b[0] - at::matmul(a, r.solution[0])).norm().item<double>() / b[0].norm().item<double>();
  EXPECT_NEAR(r.report.relative_residual, true_residual, 1e-12);
}

// L(w, a) = (w1 w2 x - a)^2: at w = (0.1, 0.2), a = 1 the Hessian in w is
// 2 [[w2^2, 2 w1 w2 - a], [2 w1 w2 - a, w1^2]], indefinite, and u is along
// (w2, w1), a direction of negative curvature.
class Saddle : public BilevelProblem {
 public:
  Saddle() : w1_(leaf(at::full({1}, 0.1, at::kDouble))), w2_(leaf(at::full({1}, 0.2, at::kDouble))),
             a_(leaf(at::full({1}, 1.0, at::kDouble))) {}
  TensorList weights() override { return {w1_, w2_}; }
  TensorList arch_parameters() override { return {a_}; }
  at::Tensor loss(const Batch& batch) override { return (w1_ * w2_ * batch.images - a_).pow(2).sum(); }

 private:
  at::Tensor w1_, w2_, a_;
};

TEST(ImplicitGradient, EstimatorReportsNegativeCurvature) {
  Saddle saddle;
  EstimatorOptions o;
  o.name = "implicit";
  o.implicit.damping = 0.0;
  ImplicitEstimator estimator(o);
  const TensorList g = estimator.arch_gradient(saddle, toy_batch(1), toy_batch(2), {});
  EXPECT_EQ(estimator.last_report().reason, SolveStop::negative_curvature);
  EXPECT_EQ(estimator.solves(), 1);
  EXPECT_EQ(estimator.unconverged_solves(), 1);
  // x = 0, so g2 = 0 and g = g1.
  EXPECT_NEAR(g.at(0).item<double>(), loss_gradients(saddle, toy_batch(2)).arch.at(0).item<double>(), 1e-14);
  // Damping larger than the most negative eigenvalue makes the system positive definite.
  o.implicit.damping = 5.0;
  o.implicit.tolerance = 1e-12;
  ImplicitEstimator damped(o);
  damped.arch_gradient(saddle, toy_batch(1), toy_batch(2), {});
  EXPECT_TRUE(damped.last_report().converged);
  EXPECT_EQ(damped.unconverged_solves(), 0);
}

TEST(ImplicitGradient, RejectsBadOptions) {
  EstimatorOptions o;
  o.name = "implicit";
  o.implicit.inverse = "lu";
  EXPECT_THROW(make_estimator(o), Error);
  o.implicit.inverse = "cg";
  o.implicit.iterations = 0;
  EXPECT_THROW(make_estimator(o), Error);
  o.implicit.iterations = 5;
  o.implicit.damping = -1.0;
  EXPECT_THROW(make_estimator(o), Error);
  o.implicit.damping = 0.0;
  o.implicit.neumann_step = 0.0;
  try {
    make_estimator(o);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("neumann_step"), std::string::npos);
  }
}

}  // namespace
}  // namespace adarts
