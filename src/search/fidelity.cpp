#include "adarts/fidelity.h"

#include <boost/json.hpp>
#include <fmt/format.h>

#include <chrono>
#include <cmath>

#include "adarts/config.h"
#include "adarts/error.h"

namespace adarts {
namespace {

// The weights and the running statistics (batch norm's, which every
// training-mode forward of the probe would move).
struct SavedState {
  TensorList weights, statistics;
};

SavedState save_state(BilevelProblem& problem) {
  SavedState s;
  for (const auto& w : problem.weights()) s.weights.push_back(w.detach().clone());
  for (const auto& b : problem.running_statistics()) s.statistics.push_back(b.detach().clone());
  return s;
}

void restore_state(BilevelProblem& problem, const SavedState& s) {
  at::NoGradGuard no_grad;
  TensorList weights = problem.weights();
  for (size_t i = 0; i < weights.size(); ++i) weights[i].copy_(s.weights[i]);
  TensorList statistics = problem.running_statistics();
  for (size_t i = 0; i < statistics.size(); ++i) statistics[i].copy_(s.statistics[i]);
}

TensorList scaled(const TensorList& x, double scale) {
  TensorList out;
  out.reserve(x.size());
  for (const auto& t : x) out.push_back(t * scale);
  return out;
}

TensorList sum(const TensorList& a, const TensorList& b) {
  TensorList out;
  out.reserve(a.size());
  for (size_t i = 0; i < a.size(); ++i) out.push_back(a[i] + b[i]);
  return out;
}

// Short labels for the log line.
double figure_value(const std::vector<std::pair<std::string, double>>& figures, const std::string& name) {
  for (const auto& [key, value] : figures) {
    if (key == name) return value;
  }
  return std::nan("");
}

}  // namespace

FidelityOptions fidelity_options(const SearchConfig& config) {
  FidelityOptions o;
  const EstimatorOptions estimator = config.estimator_options();
  o.implicit = estimator.implicit;
  o.eta = config.eta;
  o.fd_scale = estimator.fd_scale;
  return o;
}

std::vector<std::pair<std::string, double>> FidelityProbe::figures() const {
  return {
      {"cos_amended_fd", cos_amended_fd},
      {"cos_amended_exact", cos_amended_exact},
      {"cos_second_order", cos_second_order},
      {"cos_amended_fd_vs_exact", cos_amended_fd_vs_exact},
      {"cos_full_amended_fd", cos_full_amended_fd},
      {"cos_full_amended_exact", cos_full_amended_exact},
      {"cos_full_second_order", cos_full_second_order},
      {"cos_full_first_order", cos_full_first_order},
      {"cos_full_darts_second_order", cos_full_darts_second_order},
      {"norm_g1", norm_g1},
      {"norm_implicit", norm_implicit},
      {"norm_amended_fd", norm_amended_fd},
      {"norm_amended_exact", norm_amended_exact},
      {"norm_second_order", norm_second_order},
      {"implicit_iterations", implicit_iterations},
      {"implicit_residual", implicit_residual},
      {"implicit_converged", implicit_converged},
      {"implicit_negative_curvature", implicit_negative_curvature},
      {"seconds", seconds},
  };
}

FidelityProbe probe_fidelity(BilevelProblem& problem, const Batch& train, const Batch& val,
                             const WeightOptimizerState& optimizer, const FidelityOptions& options) {
  if (!(options.eta >= 0.0) || !std::isfinite(options.eta)) {
    throw invalid_argument("fidelity eta must be a finite number >= 0, got " + std::to_string(options.eta));
  }
  if (!(options.fd_scale > 0.0)) throw invalid_argument("fidelity fd_scale must be > 0");
  const auto start = std::chrono::steady_clock::now();
  const SavedState saved = save_state(problem);
  FidelityProbe p;
  try {
    const LossGradients at_val = loss_gradients(problem, val);
    const TensorList& g1 = at_val.arch;
    const TensorList& u = at_val.weights;

    // g2 = -M (H + lambda I)^{-1} u.
    const SolveResult solve = solve_hessian_system(problem, train, u, options.implicit);
    const TensorList g2 = scaled(mixed_vector_product(problem, train, solve.solution, HvpMode::exact), -1.0);
    // Directions of g2' (eta = 1) and g2'' (xi = 1); the figures scale them.
    const TensorList amended_fd = scaled(
        mixed_vector_product(problem, train,
                             hessian_vector_product(problem, train, u, HvpMode::finite_difference, options.fd_scale),
                             HvpMode::finite_difference, options.fd_scale),
        -1.0);
    const TensorList amended_exact = scaled(
        mixed_vector_product(problem, train, hessian_vector_product(problem, train, u, HvpMode::exact),
                             HvpMode::exact),
        -1.0);
    const TensorList second_order = scaled(mixed_vector_product(problem, train, u, HvpMode::exact), -optimizer.lr);
    EstimatorOptions darts_options;
    darts_options.name = "second_order";
    darts_options.hvp = HvpMode::finite_difference;
    darts_options.fd_scale = options.fd_scale;
    const TensorList darts = make_estimator(darts_options)->arch_gradient(problem, train, val, optimizer);

    const TensorList full = sum(g1, g2);
    p.cos_amended_fd = cosine(amended_fd, g2);
    p.cos_amended_exact = cosine(amended_exact, g2);
    p.cos_second_order = cosine(second_order, g2);
    p.cos_amended_fd_vs_exact = cosine(amended_fd, amended_exact);
    p.cos_full_amended_fd = cosine(sum(g1, scaled(amended_fd, options.eta)), full);
    p.cos_full_amended_exact = cosine(sum(g1, scaled(amended_exact, options.eta)), full);
    p.cos_full_second_order = cosine(sum(g1, second_order), full);
    p.cos_full_first_order = cosine(g1, full);
    p.cos_full_darts_second_order = cosine(darts, full);
    p.norm_g1 = norm(g1);
    p.norm_implicit = norm(g2);
    p.norm_amended_fd = options.eta * norm(amended_fd);
    p.norm_amended_exact = options.eta * norm(amended_exact);
    p.norm_second_order = norm(second_order);
    p.implicit_iterations = static_cast<double>(solve.report.iterations);
    p.implicit_residual = solve.report.relative_residual;
    p.implicit_converged = solve.report.converged ? 1.0 : 0.0;
    p.implicit_negative_curvature = solve.report.reason == SolveStop::negative_curvature ? 1.0 : 0.0;
  } catch (...) {
    restore_state(problem, saved);
    throw;
  }
  restore_state(problem, saved);
  p.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return p;
}

GradientComparison compare_estimators(BilevelProblem& problem, const Batch& train, const Batch& val,
                                      const WeightOptimizerState& optimizer, ArchGradientEstimator& a,
                                      ArchGradientEstimator& b) {
  const SavedState saved = save_state(problem);
  const TensorList ga = a.arch_gradient(problem, train, val, optimizer);
  restore_state(problem, saved);  // b sees exactly what a saw
  const TensorList gb = b.arch_gradient(problem, train, val, optimizer);
  restore_state(problem, saved);
  return {cosine(ga, gb), norm(ga), norm(gb)};
}

void FidelityAccumulator::add(const FidelityProbe& probe) {
  const auto figures = probe.figures();
  if (sums_.empty()) {
    for (const auto& [name, value] : figures) sums_.emplace_back(name, 0.0);
  }
  for (size_t i = 0; i < figures.size(); ++i) sums_[i].second += figures[i].second;
  ++probes_;
}

std::vector<std::pair<std::string, double>> FidelityAccumulator::means() const {
  std::vector<std::pair<std::string, double>> out;
  for (const auto& [name, total] : sums_) out.emplace_back(name, total / static_cast<double>(probes_));
  return out;
}

std::string FidelityAccumulator::to_json() const {
  boost::json::object o;
  for (const auto& [name, mean] : means()) {
    if (std::isfinite(mean)) {
      o[name] = mean;
    } else {
      o[name] = nullptr;  // JSON has no NaN
    }
  }
  o["probes"] = probes_;
  return boost::json::serialize(o);
}

std::string FidelityAccumulator::summary() const {
  if (probes_ == 0) return "no probes this epoch";
  const auto m = means();
  return fmt::format(
      "{} probe(s): cos with g2: amended fd {:.3f} exact {:.3f}, second-order {:.3f} | full gradient: amended fd "
      "{:.3f}, second-order {:.3f}, first-order {:.3f} | |g2| {:.3g} |g1| {:.3g} | solve converged {:.0f}%, "
      "negative curvature {:.0f}%",
      probes_, figure_value(m, "cos_amended_fd"), figure_value(m, "cos_amended_exact"), figure_value(m, "cos_second_order"),
      figure_value(m, "cos_full_amended_fd"), figure_value(m, "cos_full_second_order"), figure_value(m, "cos_full_first_order"),
      figure_value(m, "norm_implicit"), figure_value(m, "norm_g1"), 100.0 * figure_value(m, "implicit_converged"),
      100.0 * figure_value(m, "implicit_negative_curvature"));
}

void FidelityAccumulator::reset() {
  sums_.clear();
  probes_ = 0;
}

FidelityAccumulator::State FidelityAccumulator::state() const {
  State s;
  for (const auto& [name, total] : sums_) {
    s.names.push_back(name);
    s.sums.push_back(total);
  }
  s.probes = probes_;
  return s;
}

void FidelityAccumulator::restore(const State& s) {
  if (s.names.size() != s.sums.size() || s.probes < 0) {
    throw invalid_argument("fidelity accumulator state: " + std::to_string(s.names.size()) + " names for " +
                           std::to_string(s.sums.size()) + " sums, " + std::to_string(s.probes) + " probes");
  }
  sums_.clear();
  for (size_t i = 0; i < s.names.size(); ++i) sums_.emplace_back(s.names[i], s.sums[i]);
  probes_ = s.probes;
}

FidelityHook::FidelityHook(int64_t every, FidelityOptions options) : every_(every), options_(std::move(options)) {
  if (every_ < 1) throw invalid_argument("fidelity_every must be >= 1 for a probe hook, got " + std::to_string(every));
  validate_implicit_options(options_.implicit);
}

void FidelityHook::before_arch_step(int64_t global_step, BilevelProblem& problem, const Batch& train,
                                    const Batch& val, const WeightOptimizerState& optimizer) {
  if (global_step % every_ != 0) return;
  epoch_.add(probe_fidelity(problem, train, val, optimizer, options_));
}

}  // namespace adarts
