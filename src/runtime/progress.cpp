#include "adarts/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cmath>

namespace adarts {

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const auto s = static_cast<int64_t>(std::llround(seconds));
  if (s >= 3600) return fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60);
  if (s >= 60) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}s", s);
}

ProgressBar::ProgressBar(std::string label, int64_t total, int64_t log_every, std::FILE* out)
    : label_(std::move(label)),
      total_(total),
      log_every_(log_every < 1 ? 1 : log_every),
      out_(out),
      terminal_(isatty(fileno(out)) != 0),
      start_(std::chrono::steady_clock::now()) {}

void ProgressBar::update(int64_t step, const std::string& detail) {
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double rate = elapsed > 0 ? static_cast<double>(step) / elapsed : 0.0;
  const double eta = rate > 0 ? static_cast<double>(total_ - step) / rate : NAN;
  const std::string speed = rate >= 1.0 ? fmt::format("{:.2f} step/s", rate)
                                        : fmt::format("{:.2f} s/step", rate > 0 ? 1.0 / rate : 0.0);
  if (terminal_) {
    constexpr int width = 24;
    const int filled = total_ > 0 ? static_cast<int>(width * step / total_) : 0;
    fmt::print(out_, "\r{} [{}{}] {}/{} {} | {} | ETA {}\033[K", label_, std::string(filled, '#'),
               std::string(width - filled, '.'), step, total_, detail, speed, format_duration(eta));
    std::fflush(out_);
    drawn_ = true;
  } else if (step % log_every_ == 0 || step == total_) {
    fmt::print(out_, "{} {}/{} {} | {} | ETA {}\n", label_, step, total_, detail, speed, format_duration(eta));
    std::fflush(out_);
  }
}

void ProgressBar::finish() {
  if (terminal_ && drawn_) {
    fmt::print(out_, "\n");
    std::fflush(out_);
  }
  drawn_ = false;
}

}  // namespace adarts
