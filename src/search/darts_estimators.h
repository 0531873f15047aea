// Internal: the estimators of estimator.cpp, for the factory (estimator_factory.cpp).
#pragma once

#include <memory>

#include "adarts/estimator.h"

namespace adarts {

std::unique_ptr<ArchGradientEstimator> make_first_order();
std::unique_ptr<ArchGradientEstimator> make_second_order(const EstimatorOptions& options);
std::unique_ptr<ArchGradientEstimator> make_amended(const EstimatorOptions& options);

}  // namespace adarts
