// The run machinery that a search and a re-training share (run_loop.h).
#include "runtime/run_loop.h"

#include <cmath>

#include "adarts/error.h"

namespace adarts {

at::Device prepare_run(const RunConfig& config) {
  at::Device device = parse_device(config.device);
  // Ranks of a data-parallel run given plain "cuda" take one GPU each, round robin.
  if (device.is_cuda() && !device.has_index() && config.world_size > 1) {
    device = parse_device("cuda:" + std::to_string(config.rank % cuda_device_count()));
  }
  prepare_device(device);
  apply_threads(config.threads);
  return device;
}

double cosine_schedule(double start, double end, int64_t epoch, int64_t epochs) {
  const double progress = static_cast<double>(epoch) / static_cast<double>(epochs);
  return end + 0.5 * (start - end) * (1.0 + std::cos(M_PI * progress));
}

double linear_ramp(double final_value, int64_t epoch, int64_t epochs) {
  return final_value * static_cast<double>(epoch) / static_cast<double>(epochs);
}

void EpochCounters::add_step(double loss, double correct_count, int64_t n, double step_seconds) {
  if (std::isfinite(loss)) loss_sum += loss * static_cast<double>(n);
  correct += correct_count;
  samples += n;
  ++step_in_epoch;
  seconds += step_seconds;
}

double EpochCounters::mean_loss() const { return samples > 0 ? loss_sum / static_cast<double>(samples) : 0.0; }
double EpochCounters::accuracy() const { return samples > 0 ? correct / static_cast<double>(samples) : 0.0; }

RunProgress EpochCounters::progress(int64_t steps_per_epoch) const {
  RunProgress p;
  p.epoch = epoch;
  p.step = step_in_epoch;
  p.steps_per_epoch = steps_per_epoch;
  p.train_loss = mean_loss();
  p.train_accuracy = accuracy();
  p.seconds = seconds;
  return p;
}

void EpochCounters::next_epoch() {
  ++epoch;
  step_in_epoch = 0;
  loss_sum = correct = 0.0;
  samples = 0;
  seconds = 0.0;
  epoch_skipped_steps = 0;
}

void EpochCounters::write(checkpoint_io::OutputArchive& archive) const {
  archive.write("epoch", c10::IValue(epoch));
  archive.write("step_in_epoch", c10::IValue(step_in_epoch));
  archive.write("epoch_loss_sum", c10::IValue(loss_sum));
  archive.write("epoch_correct", c10::IValue(correct));
  archive.write("epoch_samples", c10::IValue(samples));
  archive.write("epoch_seconds", c10::IValue(seconds));
  archive.write("skipped_steps", c10::IValue(skipped_steps));
  archive.write("epoch_skipped_steps", c10::IValue(epoch_skipped_steps));
}

void EpochCounters::read(checkpoint_io::Reader& reader) {
  epoch = reader.read_int("epoch");
  step_in_epoch = reader.read_int("step_in_epoch");
  loss_sum = reader.read_double("epoch_loss_sum");
  correct = reader.read_double("epoch_correct");
  samples = reader.read_int("epoch_samples");
  seconds = reader.read_double("epoch_seconds");
  skipped_steps = reader.has("skipped_steps") ? reader.read_int("skipped_steps") : 0;
  epoch_skipped_steps = reader.has("epoch_skipped_steps") ? reader.read_int("epoch_skipped_steps") : 0;
}

bool run_epoch_steps(const EpochCounters& counters, int64_t steps_per_epoch, std::atomic<bool>& cancel,
                     const std::function<void()>& step, const std::function<void()>& after_step,
                     const RunCallback& callback, const std::function<bool(bool)>& any_rank) {
  auto agreed = [&](bool stop) { return any_rank ? any_rank(stop) : stop; };
  // A cancel that came before this call stops it before its first step.
  if (counters.step_in_epoch < steps_per_epoch && agreed(cancel.exchange(false))) return false;
  while (counters.step_in_epoch < steps_per_epoch) {
    step();
    after_step();
    bool keep_going = !cancel.load();
    if (callback) keep_going = callback(counters.progress(steps_per_epoch)) && keep_going;
    if (agreed(!keep_going || cancel.exchange(false))) return false;
  }
  return true;
}

bool mid_epoch_checkpoint_due(const RunConfig& config, const EpochCounters& counters, int64_t steps_per_epoch) {
  return config.checkpoint_keep > 0 && config.checkpoint_every > 0 && counters.step_in_epoch < steps_per_epoch &&
         counters.global_step(steps_per_epoch) % config.checkpoint_every == 0;
}

bool check_finite(bool finite, const std::string& quantity, const RunConfig& config, const EpochCounters& counters,
                  int64_t steps_per_epoch, const std::string& last_checkpoint) {
  if (finite) return true;
  if (config.nan_policy == "skip") return false;
  const std::string where = "epoch " + std::to_string(counters.epoch + 1) + " step " +
                            std::to_string(counters.step_in_epoch + 1) + " (global step " +
                            std::to_string(counters.global_step(steps_per_epoch) + 1) + ")";
  throw numerical_error("non-finite " + quantity + " at " + where + "; the run stops" +
                        (last_checkpoint.empty() ? std::string(" (no checkpoint written yet)")
                                                 : "; the last good checkpoint is '" + last_checkpoint + "'") +
                        ". Lower the learning rates, or set nan_policy to skip to skip such batches");
}

}  // namespace adarts
