#include "adarts/implicit_gradient.h"

#include <spdlog/spdlog.h>

#include <cmath>

#include "adarts/error.h"

namespace adarts {
namespace {

// y += scale * x, outside autograd.
void axpy(TensorList& y, double scale, const TensorList& x) {
  at::NoGradGuard no_grad;
  for (size_t i = 0; i < y.size(); ++i) y[i].add_(x[i], scale);
}

TensorList zeros_like_list(const TensorList& x) {
  TensorList out;
  out.reserve(x.size());
  for (const auto& t : x) out.push_back(at::zeros_like(t));
  return out;
}

TensorList clone_list(const TensorList& x) {
  TensorList out;
  out.reserve(x.size());
  for (const auto& t : x) out.push_back(t.detach().clone());
  return out;
}

void check_iterations_and_tolerance(int64_t iterations, double tolerance) {
  if (iterations < 1) throw invalid_argument("solver iterations must be >= 1, got " + std::to_string(iterations));
  if (!(tolerance >= 0.0)) throw invalid_argument("solver tolerance must be >= 0, got " + std::to_string(tolerance));
}

}  // namespace

std::string to_string(SolveStop reason) {
  switch (reason) {
    case SolveStop::converged: return "converged";
    case SolveStop::max_iterations: return "max_iterations";
    case SolveStop::negative_curvature: return "negative_curvature";
  }
  return "unknown";
}

SolveResult conjugate_gradient(const LinearOperator& apply, const TensorList& b, int64_t max_iterations,
                               double tolerance) {
  check_iterations_and_tolerance(max_iterations, tolerance);
  SolveResult result;
  result.solution = zeros_like_list(b);
  const double b_norm = norm(b);
  if (b_norm == 0.0) {  // x = 0 solves it exactly
    result.report.converged = true;
    result.report.reason = SolveStop::converged;
    return result;
  }
  TensorList& x = result.solution;
  TensorList r = clone_list(b);
  TensorList p = clone_list(b);
  double rs = dot(r, r);
  SolveReport& report = result.report;
  report.relative_residual = 1.0;
  report.reason = SolveStop::max_iterations;
  for (int64_t k = 0; k < max_iterations; ++k) {
    const TensorList ap = apply(p);
    ++report.iterations;
    const double curvature = dot(p, ap);
    if (!(curvature > 0.0)) {  // also catches NaN
      report.reason = SolveStop::negative_curvature;
      break;
    }
    const double step = rs / curvature;
    axpy(x, step, p);
    axpy(r, -step, ap);
    const double rs_next = dot(r, r);
    report.relative_residual = std::sqrt(rs_next) / b_norm;
    if (report.relative_residual <= tolerance) {
      report.reason = SolveStop::converged;
      report.converged = true;
      break;
    }
    const double beta = rs_next / rs;
    rs = rs_next;
    at::NoGradGuard no_grad;
    for (size_t i = 0; i < p.size(); ++i) p[i] = r[i] + beta * p[i];
  }
  return result;
}

SolveResult neumann_series(const LinearOperator& apply, const TensorList& b, int64_t iterations, double step,
                           double tolerance) {
  check_iterations_and_tolerance(iterations, tolerance);
  if (!(step > 0.0) || !std::isfinite(step)) {
    throw invalid_argument("neumann_step must be a finite number > 0, got " + std::to_string(step));
  }
  SolveResult result;
  result.solution = zeros_like_list(b);
  SolveReport& report = result.report;
  const double b_norm = norm(b);
  if (b_norm == 0.0) {
    report.converged = true;
    report.reason = SolveStop::converged;
    return result;
  }
  // term_k = (I - step A)^k b; after adding step * term_k to x, the residual
  // b - A x is exactly term_{k+1}.
  TensorList term = clone_list(b);
  report.relative_residual = 1.0;
  report.reason = SolveStop::max_iterations;
  for (int64_t k = 0; k < iterations; ++k) {
    axpy(result.solution, step, term);
    const TensorList a_term = apply(term);
    ++report.iterations;
    axpy(term, -step, a_term);
    report.relative_residual = norm(term) / b_norm;
    if (report.relative_residual <= tolerance) {
      report.reason = SolveStop::converged;
      report.converged = true;
      break;
    }
    if (!std::isfinite(report.relative_residual)) break;  // diverged: stop, report max_iterations
  }
  return result;
}

void validate_implicit_options(const ImplicitOptions& o) {
  if (o.inverse != "cg" && o.inverse != "neumann") {
    throw invalid_argument("implicit_inverse must be cg or neumann, got '" + o.inverse + "'");
  }
  if (o.iterations < 1) {
    throw invalid_argument("implicit_iterations must be >= 1, got " + std::to_string(o.iterations));
  }
  if (!(o.tolerance >= 0.0) || !std::isfinite(o.tolerance)) {
    throw invalid_argument("implicit_tolerance must be a finite number >= 0, got " + std::to_string(o.tolerance));
  }
  if (!(o.damping >= 0.0) || !std::isfinite(o.damping)) {
    throw invalid_argument("implicit_damping must be a finite number >= 0, got " + std::to_string(o.damping));
  }
  if (!(o.neumann_step > 0.0) || !std::isfinite(o.neumann_step)) {
    throw invalid_argument("neumann_step must be a finite number > 0, got " + std::to_string(o.neumann_step));
  }
}

SolveResult solve_hessian_system(BilevelProblem& problem, const Batch& batch, const TensorList& b,
                                 const ImplicitOptions& options) {
  validate_implicit_options(options);
  const double damping = options.damping;
  const LinearOperator apply = [&](const TensorList& x) {
    TensorList hx = hessian_vector_product(problem, batch, x, HvpMode::exact);
    if (damping != 0.0) axpy(hx, damping, x);
    return hx;
  };
  if (options.inverse == "neumann") {
    return neumann_series(apply, b, options.iterations, options.neumann_step, options.tolerance);
  }
  return conjugate_gradient(apply, b, options.iterations, options.tolerance);
}

ImplicitGradient implicit_gradient(BilevelProblem& problem, const Batch& train, const Batch& val,
                                   const EstimatorOptions& options) {
  LossGradients val_grads = loss_gradients(problem, val);
  SolveResult solve = solve_hessian_system(problem, train, val_grads.weights, options.implicit);
  ImplicitGradient out;
  out.g1 = std::move(val_grads.arch);
  out.g2 = mixed_vector_product(problem, train, solve.solution, HvpMode::exact);
  for (auto& t : out.g2) t = -t;
  out.report = solve.report;
  return out;
}

ImplicitEstimator::ImplicitEstimator(EstimatorOptions options) : options_(std::move(options)) {
  validate_implicit_options(options_.implicit);
}

TensorList ImplicitEstimator::arch_gradient(BilevelProblem& problem, const Batch& train, const Batch& val,
                                            const WeightOptimizerState&) {
  ImplicitGradient g = implicit_gradient(problem, train, val, options_);
  last_report_ = g.report;
  ++solves_;
  if (!g.report.converged) {
    ++unconverged_;
    // Every unconverged solve is counted; the log shows the 1st, 2nd, 4th, 8th, ... of them.
    if ((unconverged_ & (unconverged_ - 1)) == 0) {
      spdlog::warn("implicit gradient: {} stopped ({}) after {} iterations at relative residual {:.3g} "
                   "(tolerance {:.3g}); {} of {} solves so far did not converge",
                   options_.implicit.inverse, to_string(g.report.reason), g.report.iterations,
                   g.report.relative_residual, options_.implicit.tolerance, unconverged_, solves_);
    }
  }
  for (size_t i = 0; i < g.g1.size(); ++i) g.g1[i] = g.g1[i] + g.g2[i];
  return g.g1;
}

}  // namespace adarts
