// What a search or a re-training run reports after each step, and the
// callback that receives it.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace adarts {

struct RunProgress {
  int64_t epoch = 0;            // 0-based epoch of the step just done
  int64_t step = 0;             // 1-based step within the epoch
  int64_t steps_per_epoch = 0;
  double train_loss = 0.0;      // running mean over the epoch so far (the main head's loss)
  double train_accuracy = 0.0;
  double seconds = 0.0;         // since the epoch started
};

// Returns false to stop the epoch early (the step in progress completes).
using RunCallback = std::function<bool(const RunProgress&)>;

// Receives each ended epoch's metrics line, the JSON line that goes to
// metrics.jsonl, once the epoch's files and checkpoint are written (on every
// rank of a data-parallel run). An exception it throws leaves the run's state
// complete and propagates to the caller of the call that ended the epoch.
using MetricsListener = std::function<void(const std::string& json_line)>;

}  // namespace adarts
