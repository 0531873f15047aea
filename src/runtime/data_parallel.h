// Internal: the ranks of one data-parallel run over LibTorch's c10d
// (docs/distributed.md). Joining checks that every rank runs the same config;
// each collective blocks until every rank made it, and fails with
// communication_error when a rank is gone or dist_timeout passes.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "adarts/bilevel_problem.h"
#include "adarts/data.h"
#include "adarts/run_config.h"

namespace adarts {

class Collectives;

class DataParallel {
 public:
  // Meets the other ranks of `config` (world_size > 1) at its rendezvous,
  // compares `config_json` (the run's config as written to config.json)
  // without per_rank_keys(), and connects the backend (gloo; nccl is not
  // built yet). Errors: communication_error naming what was waited for or the
  // first key that differs; invalid_argument for a malformed rendezvous;
  // unsupported for a tcp:// rendezvous on LibTorch 1.x (its TCPStore listens
  // on every interface).
  DataParallel(const RunConfig& config, const std::string& config_json, at::Device device);
  ~DataParallel();
  DataParallel(const DataParallel&) = delete;
  DataParallel& operator=(const DataParallel&) = delete;

  int64_t rank() const { return rank_; }
  int64_t world_size() const { return world_size_; }

  // In place: each tensor becomes the mean over ranks (one all-reduce per
  // dtype of the list; undefined tensors are skipped). Every rank ends with
  // the same bits.
  void average(const TensorList& tensors);
  // In place: the sum over ranks.
  void sum(const TensorList& tensors);
  // In place: rank 0's values on every rank.
  void broadcast_from_first(const TensorList& tensors);
  // A model's parameters and buffers as rank 0 has them, on every rank (equal
  // seeds make equal replicas already; this makes it so by construction).
  void copy_first_replica(const TensorList& parameters, const TensorList& buffers);
  // The mean over ranks of the floating-point `buffers` (BatchNorm's running
  // statistics), before they are evaluated with or saved.
  void average_statistics(const TensorList& buffers);
  // The weight step of a rank: each parameter's gradient and `figures` (the
  // step's reported losses, then a count last) averaged over the ranks in one
  // all-reduce, the count summed. Returns the whole batch's figures.
  at::Tensor reduce_weight_step(const TensorList& parameters, const at::Tensor& figures);
  // Whether `flag` is true on any rank (the ranks agree to stop together).
  bool any(bool flag);

  // This rank's contiguous part of `batch`: rows [rank n / N, (rank + 1) n / N).
  Batch shard(const Batch& batch) const;

  const CommunicationStats& stats() const { return stats_; }

 private:
  enum class Reduce { sum, max };
  void all_reduce(const TensorList& tensors, Reduce op, bool mean);
  template <class Call>
  void collective(const char* what, int64_t bytes, Call&& call);

  int64_t rank_;
  int64_t world_size_;
  std::string rendezvous_;
  double timeout_seconds_;
  std::unique_ptr<Collectives> backend_;
  at::Device collective_device_ = at::kCPU;  // where host tensors are reduced (the CUDA device for NCCL)
  CommunicationStats stats_;
};

// run_epoch_steps()'s agreement to stop for `group`; none (nullptr) for one process.
std::function<bool(bool)> any_rank(DataParallel* group);

// A model seen by an estimator through one rank of a data-parallel run: its
// loss is that of the rank's shard, and reduce() averages gradients over the
// ranks, so that an estimator computes the gradient of the whole batch's loss
// (docs/distributed.md). `group` null: one process, reduce() does nothing.
class DataParallelProblem : public BilevelProblem {
 public:
  DataParallelProblem(BilevelProblem& inner, DataParallel* group) : inner_(inner), group_(group) {}
  TensorList weights() override { return inner_.weights(); }
  TensorList arch_parameters() override { return inner_.arch_parameters(); }
  at::Tensor loss(const Batch& batch) override { return inner_.loss(batch); }
  TensorList running_statistics() override { return inner_.running_statistics(); }
  void reduce(TensorList& gradients) override {
    if (group_) group_->average(gradients);
  }

 private:
  BilevelProblem& inner_;
  DataParallel* group_;
};

}  // namespace adarts
