// A progress display for long loops: a redrawn bar on a terminal, one line
// every N steps otherwise (log files, CI).
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace adarts {

class ProgressBar {
 public:
  ProgressBar(std::string label, int64_t total, int64_t log_every = 20, std::FILE* out = stderr);
  // `step` is 1-based; `detail` is shown after the counters (e.g. "loss 1.23").
  void update(int64_t step, const std::string& detail);
  // Ends the bar's line on a terminal.
  void finish();

 private:
  std::string label_;
  int64_t total_, log_every_;
  std::FILE* out_;
  bool terminal_;
  std::chrono::steady_clock::time_point start_;
  bool drawn_ = false;
};

// "1h02m", "3m05s", "12s".
std::string format_duration(double seconds);

}  // namespace adarts
