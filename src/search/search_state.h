// Internal: the parts of a Search that its translation units share
// (search.cpp, search_checkpoint.cpp, search_outputs.cpp).
#pragma once

#include <torch/optim/adam.h>
#include <torch/optim/sgd.h>

#include <string>
#include <vector>

#include "adarts/fidelity.h"
#include "adarts/search.h"
#include "runtime/checkpoint_io.h"
#include "runtime/run_loop.h"

namespace adarts {

struct Search::Optimizers {
  torch::optim::Adam arch;
  torch::optim::SGD weights;
};

// A checkpoint read and checked against this search, not yet applied.
struct Search::SavedState {
  explicit SavedState(const std::string& path);
  checkpoint_io::Reader reader;
  EpochCounters counters;
  std::vector<at::Tensor> alphas;
  std::vector<std::string> metrics_lines;
  EpochSummary last_summary;  // of the last ended epoch (epoch -1 before any)
  BatchLoader::State train_loader, val_loader;
  at::Tensor generator;
  checkpoint_io::InputArchive arch_optimizer, weight_optimizer;
  FidelityAccumulator::State fidelity;
  bool has_fidelity = false;
};

}  // namespace adarts
