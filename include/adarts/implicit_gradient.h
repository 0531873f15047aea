// The exact implicit gradient (docs/estimators.md, "implicit"):
//   g = g1 + g2,   g2 = -M (H + lambda I)^{-1} u,
// with u = grad_w L_val, H = grad_w^2 L_tr, M x = grad_a (grad_w L_tr . x),
// all at the current w. The inverse is applied by conjugate gradient (or a
// Neumann series) on exact Hessian-vector products (double backward). Every
// solve returns a report; a solve that did not converge is logged (spdlog
// warning) and counted by the estimator, never silently accepted.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "adarts/estimator.h"

namespace adarts {

// Why an iterative solve stopped.
enum class SolveStop {
  converged,           // relative residual <= tolerance
  max_iterations,      // the iteration budget ran out first
  negative_curvature,  // CG met p^T A p <= 0: A is not positive definite along p
};

std::string to_string(SolveStop reason);

struct SolveReport {
  int64_t iterations = 0;          // operator applications (Hessian-vector products)
  double relative_residual = 0.0;  // ||b - A x|| / ||b|| of the returned x (CG: its recursive residual)
  bool converged = false;
  SolveStop reason = SolveStop::max_iterations;
};

struct SolveResult {
  TensorList solution;
  SolveReport report;
};

// x -> A x for a symmetric operator A on tensor lists.
using LinearOperator = std::function<TensorList(const TensorList&)>;

// Conjugate gradient for A x = b from x = 0. On negative curvature it stops and
// returns the iterate reached so far (x = 0 when it happens at once), as
// truncated-Newton methods do. Throws invalid_argument for iterations < 1 or tolerance < 0.
SolveResult conjugate_gradient(const LinearOperator& apply, const TensorList& b, int64_t max_iterations,
                               double tolerance);

// x = step * sum_{k<K} (I - step A)^k b, the truncated Neumann series of A^{-1} b.
// It converges when A is positive definite and step < 2 / lambda_max(A); the
// residual of the partial sum is the next series term, so it is exact and free.
// Never reports negative_curvature (it cannot see it): a diverging series shows
// as max_iterations with a residual above 1. Throws invalid_argument for
// iterations < 1, step <= 0 or tolerance < 0.
SolveResult neumann_series(const LinearOperator& apply, const TensorList& b, int64_t iterations, double step,
                           double tolerance);

// (H + damping I)^{-1} b with H the exact Hessian of L(batch) in w, by the
// method of `options`.
SolveResult solve_hessian_system(BilevelProblem& problem, const Batch& batch, const TensorList& b,
                                 const ImplicitOptions& options);

struct ImplicitGradient {
  TensorList g1;  // grad_a L_val
  TensorList g2;  // -M (H + lambda I)^{-1} u
  SolveReport report;
};

// g1 and g2 at the current weights; leaves the weights as they were.
ImplicitGradient implicit_gradient(BilevelProblem& problem, const Batch& train, const Batch& val,
                                   const EstimatorOptions& options);

// Throws invalid_argument naming the first bad option by its config key (implicit_iterations, ...).
void validate_implicit_options(const ImplicitOptions& options);

// The "implicit" estimator: g1 + g2. make_estimator("implicit") returns one.
class ImplicitEstimator : public ArchGradientEstimator {
 public:
  explicit ImplicitEstimator(EstimatorOptions options);
  std::string name() const override { return "implicit"; }
  TensorList arch_gradient(BilevelProblem& problem, const Batch& train, const Batch& val,
                           const WeightOptimizerState& optimizer) override;

  const SolveReport& last_report() const { return last_report_; }
  int64_t solves() const { return solves_; }
  int64_t unconverged_solves() const { return unconverged_; }  // max_iterations or negative_curvature

 private:
  EstimatorOptions options_;
  SolveReport last_report_;
  int64_t solves_ = 0, unconverged_ = 0;
};

}  // namespace adarts
