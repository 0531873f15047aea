// What every run (a search, a re-training) is configured with besides its
// own maths: seed, device and precision, threads, where it writes, how often
// it logs and checkpoints, what a non-finite value does. SearchConfig and
// TrainConfig embed it (as their base), so the keys read, print, validate
// and resume alike.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace adarts {

// The arithmetic of the forward passes (RunConfig::precision). fp32:
// everything in float32. bf16: convolutions and matrix products in bfloat16
// under autocast (device.h); alphas, their softmax, BatchNorm parameters and
// statistics, losses and every weight and optimizer state stay float32.
enum class Precision { fp32, bf16 };
Precision parse_precision(const std::string& name);  // "fp32" | "bf16"; invalid_argument otherwise
std::string to_string(Precision precision);

struct RunConfig {
  uint64_t seed = 0;
  std::string device = "cpu";      // cpu | cuda | cuda:N
  std::string precision = "fp32";  // fp32 | bf16 (forward passes under autocast; BN, losses, weights in fp32)
  int64_t threads = 0;             // 0 = every core
  std::string out_dir;
  int64_t log_every = 10;          // progress lines every N steps when stderr is not a terminal

  // Checkpoints (out_dir/checkpoints): one at every epoch end, and every N steps when checkpoint_every > 0.
  int64_t checkpoint_every = 0;
  int64_t checkpoint_keep = 2;      // the newest K are kept; 0 = no checkpoints
  std::string nan_policy = "stop";  // stop: a non-finite loss or gradient ends the run; skip: the update is skipped and counted

  // Data-parallel runs (docs/distributed.md): world_size processes (or host
  // threads), each with the same config but its own rank, meet at
  // `rendezvous` and split every batch. world_size 1 is an ordinary run.
  int64_t world_size = 1;
  int64_t rank = 0;               // 0 .. world_size - 1; rank 0 writes every output file
  std::string rendezvous;         // file:///abs/path (FileStore) | tcp://HOST:PORT (TCPStore on HOST only)
  std::string dist_backend = "auto";  // auto (gloo on CPU, nccl on CUDA) | gloo | nccl
  double dist_timeout = 300.0;    // seconds a rendezvous or collective may wait before the run fails

 protected:
  // Each run kind picks its own seed and output directory.
  RunConfig(uint64_t default_seed, std::string default_out_dir)
      : seed(default_seed), out_dir(std::move(default_out_dir)) {}
};

// The keys a resumed run may change: threads, log_every, checkpoint_every,
// checkpoint_keep, device, out_dir, and those of a data-parallel run
// (world_size, rank, rendezvous, dist_backend, dist_timeout). (Another thread
// count, device or world size continues the run correctly, though not bit
// for bit.)
const std::vector<std::string>& resumable_run_keys();

// Throws adarts::Error(invalid_argument) naming the first bad key.
void validate(const RunConfig& config);

// invalid_argument unless `batch_size` splits into world_size equal shards
// (the validation of SearchConfig and TrainConfig, after validate(RunConfig)).
void validate_batch_split(int64_t batch_size, const RunConfig& config);

// What the collectives of a data-parallel run moved so far (zeros for one process).
struct CommunicationStats {
  int64_t calls = 0;     // collectives
  int64_t bytes = 0;     // payload bytes this rank sent into all-reduces and broadcasts
  double seconds = 0.0;  // wall time inside collectives (waiting for slower ranks included)
};

// The keys that differ between the ranks of one data-parallel run (their
// configs are compared without them when the ranks meet): rank, device,
// threads, log_every.
const std::vector<std::string>& per_rank_keys();

// Creates `dir` when missing and checks that a file can be written in it;
// adarts::Error(io_error) naming the directory otherwise. Runs before any work.
void check_writable_directory(const std::string& dir);

}  // namespace adarts
