// The fidelity probe: how well each estimator's second-order term points along
// the exact implicit one (the paper's claim: <g2', g2> >= 0, while <g2'', g2>
// can be negative), on one pair of batches at the current weights.
//
//   g1   = grad_a L_val
//   g2   = -M (H + lambda I)^{-1} u          implicit, exact HVPs (implicit_gradient.h)
//   g2'  = -eta M H u                        amended term, central differences (fd) and exact
//   g2'' = -xi M u                           the second-order DARTS term (paper, section 3), xi = weight lr, exact
// Figures: cosines of each term with g2, their norms, the cosines of the full
// gradients g1 + g2', g1 + g2'', g1 with g1 + g2, and the cosine of the actual
// second-order DARTS estimator (unrolled, central differences) with g1 + g2.
// The weights and the batch-norm running statistics are left bit for bit as
// they were.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "adarts/estimator.h"
#include "adarts/implicit_gradient.h"

namespace adarts {

struct SearchConfig;

struct FidelityOptions {
  double eta = 0.1;          // scale of g2' in g1 + g2' (the cosines of the terms do not depend on it)
  double fd_scale = 0.01;    // central-difference step r = fd_scale / ||x||
  ImplicitOptions implicit;  // how g2 is solved
};

// The probe options a search uses: eta, fd_scale and implicit_* from its config.
FidelityOptions fidelity_options(const SearchConfig& config);

// One probe. Field names are the figure names of the metrics file.
struct FidelityProbe {
  double cos_amended_fd = 0, cos_amended_exact = 0, cos_second_order = 0;  // term vs g2
  double cos_amended_fd_vs_exact = 0;  // g2' by central differences vs by double backward
  double cos_full_amended_fd = 0, cos_full_amended_exact = 0, cos_full_second_order = 0;
  double cos_full_first_order = 0;          // g1 vs g1 + g2: what dropping g2 costs
  double cos_full_darts_second_order = 0;   // the unrolled second-order DARTS estimator vs g1 + g2
  double norm_g1 = 0, norm_implicit = 0, norm_amended_fd = 0, norm_amended_exact = 0, norm_second_order = 0;
  // The solve of g2: iterations, relative residual, converged (1/0), stopped on negative curvature (1/0).
  // When CG stops on negative curvature after one step, g2 is parallel to -M u (= g2''): cos_second_order
  // is then 1 by construction, not a finding.
  double implicit_iterations = 0, implicit_residual = 0, implicit_converged = 0, implicit_negative_curvature = 0;
  double seconds = 0;

  // (name, value) in a fixed order: the keys of the metrics file.
  std::vector<std::pair<std::string, double>> figures() const;
};

// Runs the probe. `optimizer` gives xi (lr) and the momentum buffers of the unrolled step.
FidelityProbe probe_fidelity(BilevelProblem& problem, const Batch& train, const Batch& val,
                             const WeightOptimizerState& optimizer, const FidelityOptions& options);

// Two estimators on the same batches and weights: the cosine of their
// gradients and both norms (the weights are restored between the two).
struct GradientComparison {
  double cosine = 0, norm_a = 0, norm_b = 0;
};
GradientComparison compare_estimators(BilevelProblem& problem, const Batch& train, const Batch& val,
                                      const WeightOptimizerState& optimizer, ArchGradientEstimator& a,
                                      ArchGradientEstimator& b);

// The mean of each figure over the probes of an epoch.
class FidelityAccumulator {
 public:
  void add(const FidelityProbe& probe);
  int64_t probes() const { return probes_; }
  std::vector<std::pair<std::string, double>> means() const;
  // {"cos_amended_fd": mean, ..., "probes": n}: a flat numeric JSON object.
  std::string to_json() const;
  // A short line for the epoch log, e.g. "3 probes: cos(g2', g2) fd 0.41 exact 0.45 | ...".
  std::string summary() const;
  void reset();

  // The running sums, for checkpoints: a run resumed mid-epoch reports the
  // means over all of that epoch's probes.
  struct State {
    std::vector<std::string> names;
    std::vector<double> sums;
    int64_t probes = 0;
  };
  State state() const;
  void restore(const State& state);  // adarts::Error(invalid_argument) when names and sums differ in length

 private:
  std::vector<std::pair<std::string, double>> sums_;
  int64_t probes_ = 0;
};

// What a search calls: a probe every `every` global steps, before the
// architecture step, on the step's batches; the figures accumulate per epoch.
class FidelityHook {
 public:
  FidelityHook(int64_t every, FidelityOptions options);
  // `global_step` counts from 0 over the whole search; probes when global_step % every == 0.
  void before_arch_step(int64_t global_step, BilevelProblem& problem, const Batch& train, const Batch& val,
                        const WeightOptimizerState& optimizer);
  // The epoch's figures; end_epoch() then starts the next epoch's.
  const FidelityAccumulator& epoch() const { return epoch_; }
  FidelityAccumulator& epoch() { return epoch_; }
  void end_epoch() { epoch_.reset(); }

 private:
  int64_t every_;
  FidelityOptions options_;
  FidelityAccumulator epoch_;
};

}  // namespace adarts
