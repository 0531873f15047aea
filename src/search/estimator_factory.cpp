// Estimator construction by name, and the validation of estimator options
// (without building anything).
#include <cmath>

#include "adarts/error.h"
#include "adarts/estimator.h"
#include "adarts/implicit_gradient.h"
#include "search/darts_estimators.h"

namespace adarts {

void validate(const EstimatorOptions& options) {
  if (options.name != "first_order" && options.name != "second_order" && options.name != "amended" &&
      options.name != "implicit") {
    throw invalid_argument("unknown estimator '" + options.name +
                           "' (expected first_order, second_order, amended or implicit)");
  }
  if (!(options.eta >= 0.0) || !std::isfinite(options.eta)) {
    throw invalid_argument("eta must be a finite number >= 0, got " + std::to_string(options.eta));
  }
  if (!(options.fd_scale > 0.0)) throw invalid_argument("fd_scale must be > 0");
  validate_implicit_options(options.implicit);
}

std::unique_ptr<ArchGradientEstimator> make_estimator(const EstimatorOptions& options) {
  validate(options);
  if (options.name == "first_order") return make_first_order();
  if (options.name == "second_order") return make_second_order(options);
  if (options.name == "amended") return make_amended(options);
  return std::make_unique<ImplicitEstimator>(options);
}

}  // namespace adarts
