// The part of a config every run shares: its validation, the keys a resume
// may change, and the check that the output directory is writable.
#include "adarts/run_config.h"

#include <filesystem>
#include <fstream>

#include "adarts/error.h"

namespace adarts {

Precision parse_precision(const std::string& name) {
  if (name == "fp32") return Precision::fp32;
  if (name == "bf16") return Precision::bf16;
  throw invalid_argument("precision must be fp32 or bf16, got '" + name + "'");
}

std::string to_string(Precision precision) { return precision == Precision::bf16 ? "bf16" : "fp32"; }

const std::vector<std::string>& resumable_run_keys() {
  static const std::vector<std::string> keys = {"threads", "log_every", "checkpoint_every", "checkpoint_keep",
                                                "device", "out_dir", "world_size", "rank", "rendezvous",
                                                "dist_backend", "dist_timeout",
                                                "recompute_edges"};  // a search's: memory, not maths
  return keys;
}

const std::vector<std::string>& per_rank_keys() {
  static const std::vector<std::string> keys = {"rank", "device", "threads", "log_every"};
  return keys;
}

void validate(const RunConfig& c) {
  auto require = [](bool ok, const std::string& message) {
    if (!ok) throw invalid_argument(message);
  };
  require(c.device == "cpu" || c.device.rfind("cuda", 0) == 0,
          "device must be cpu, cuda or cuda:N, got '" + c.device + "'");
  parse_precision(c.precision);  // fp32 | bf16, naming the key when neither
  require(c.threads >= 0, "threads must be >= 0 (0 = every core)");
  require(!c.out_dir.empty(), "out_dir must not be empty");
  require(c.log_every >= 1, "log_every must be >= 1");
  require(c.checkpoint_every >= 0, "checkpoint_every must be >= 0 (0 = only at epoch ends)");
  require(c.checkpoint_keep >= 0, "checkpoint_keep must be >= 0 (0 = no checkpoints)");
  require(c.nan_policy == "stop" || c.nan_policy == "skip",
          "nan_policy must be stop or skip, got '" + c.nan_policy + "'");
  require(c.world_size >= 1, "world_size must be >= 1, got " + std::to_string(c.world_size));
  require(c.rank >= 0 && c.rank < c.world_size, "rank must be in 0.." + std::to_string(c.world_size - 1) +
                                                    " (world_size " + std::to_string(c.world_size) + "), got " +
                                                    std::to_string(c.rank));
  require(c.world_size == 1 || c.rendezvous.rfind("file://", 0) == 0 || c.rendezvous.rfind("tcp://", 0) == 0,
          "a run with world_size " + std::to_string(c.world_size) +
              " needs rendezvous file:///abs/path or tcp://HOST:PORT, got '" + c.rendezvous + "'");
  require(c.dist_backend == "auto" || c.dist_backend == "gloo" || c.dist_backend == "nccl",
          "dist_backend must be auto, gloo or nccl, got '" + c.dist_backend + "'");
  require(c.dist_timeout > 0.0, "dist_timeout must be > 0 seconds");
}

void validate_batch_split(int64_t batch_size, const RunConfig& c) {
  if (batch_size % c.world_size != 0) {
    throw invalid_argument("batch_size " + std::to_string(batch_size) + " does not split evenly over " +
                           std::to_string(c.world_size) + " ranks (world_size); choose a multiple");
  }
}

void check_writable_directory(const std::string& dir) {
  if (dir.empty()) throw invalid_argument("the output directory must not be empty");
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (!std::filesystem::is_directory(dir, ec)) {
    throw io_error("cannot create the output directory '" + dir + "'" + (ec ? ": " + ec.message() : std::string()));
  }
  const std::string probe = dir + "/.adarts-write-test";
  const bool ok = static_cast<bool>(std::ofstream(probe) << "ok");
  std::filesystem::remove(probe, ec);
  if (!ok) throw io_error("the output directory '" + dir + "' is not writable");
}

}  // namespace adarts
