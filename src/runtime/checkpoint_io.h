// Internal: the pieces that the search and the training checkpoints share —
// atomic archive writes, the checkpoint directory (names, listing, pruning),
// typed reads that fail with a clear error, module and generator state.
#pragma once

#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>
#include <torch/serialize/archive.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "adarts/data.h"
#include "adarts/error.h"

namespace adarts::checkpoint_io {

using torch::serialize::InputArchive;
using torch::serialize::OutputArchive;

// Writes `archive` so that a crash at any moment leaves either the previous
// file or the complete new one: a temporary file beside `path`, flushed to
// disk (fsync), renamed over `path`, then the directory flushed.
void save_atomically(OutputArchive& archive, const std::string& path);

// The checkpoint directory of a run and the file names in it:
// "epoch-000012-step-000034.pt" sorts by (epoch, step) as text.
std::string directory(const std::string& out_dir);
std::string file_name(int64_t epoch, int64_t step);
// The checkpoint files of `dir`, oldest first; temporary files are ignored.
std::vector<std::string> list(const std::string& dir);
// Deletes all but the newest `keep` checkpoint files.
void prune(const std::string& dir, int64_t keep);
// The newest checkpoint of `dir` for which `open` does not throw adarts::Error;
// "" when none. The errors of the files skipped go to `skipped`.
std::string newest_loadable(const std::string& dir, const std::function<void(const std::string&)>& open,
                            std::vector<std::string>* skipped);
// newest_loadable() in out_dir/checkpoints; io_error naming the directory when none loads.
std::string require_newest(const std::string& out_dir, const std::function<void(const std::string&)>& open,
                           std::vector<std::string>* skipped);
// Writes `archive` as out_dir/checkpoints/file_name(epoch, step) (save_atomically) and keeps the newest
// `keep`. With *clear_stale set, first deletes the checkpoints already there (an earlier run's in the
// same out_dir would mix with this one's) and clears the flag. Returns the path.
std::string write_checkpoint(OutputArchive& archive, const std::string& out_dir, int64_t epoch, int64_t step,
                             int64_t keep, bool* clear_stale);
// Moves an optimizer's state (SGD momentum buffers, Adam moments) to `device`:
// archives load onto the CPU, so after Optimizer::load() the state follows the
// parameters to the run's device.
void move_optimizer_state(torch::optim::Optimizer& optimizer, at::Device device);
// Throws invalid_argument listing `differences` (saved -> requested) unless it is empty.
void refuse_resume(const std::string& what, const std::vector<std::string>& differences);

// An opened checkpoint. Every read names what is missing or malformed:
// adarts::Error(parse_error) "'<path>' is not a valid <what>: ...".
class Reader {
 public:
  // io_error when the file is missing or unreadable; parse_error when it is
  // truncated, corrupt, of another format or of a newer version.
  Reader(const std::string& path, const std::string& format, int64_t version, const std::string& what);

  std::string read_string(const std::string& key);
  int64_t read_int(const std::string& key);
  double read_double(const std::string& key);
  at::Tensor read_tensor(const std::string& key);
  InputArchive read_archive(const std::string& key);
  bool has(const std::string& key);

  // Copies a module state written by write_module() into `module`, checking names and shapes.
  void read_module(const std::string& key, torch::nn::Module& module);
  BatchLoader::State read_loader(const std::string& key);

  // A parse_error about this file.
  Error bad(const std::string& detail) const;
  // Runs `f`, turning LibTorch's errors into bad().
  void guarded(const std::function<void()>& f);
  const std::string& path() const { return path_; }

 private:
  std::string path_, what_;
  InputArchive archive_;
};

// Starts an archive with its format tag and version.
void write_header(OutputArchive& archive, const std::string& format, int64_t version);
// Every parameter and buffer of `module` (names in one JSON string, tensors as a CPU list).
void write_module(OutputArchive& archive, const std::string& key, torch::nn::Module& module);
void write_loader(OutputArchive& archive, const std::string& key, const BatchLoader::State& state);

// A cheap fingerprint of a dataset (sizes and sums) so that resuming on other data is refused.
std::string fingerprint(const Dataset& data);

}  // namespace adarts::checkpoint_io
