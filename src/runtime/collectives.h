// Internal: a c10d process group behind the two collectives a data-parallel
// run needs (data_parallel.cpp). Gloo is built everywhere; NCCL where
// LibTorch has CUDA and NCCL's header is found (nccl_collectives.cpp, else
// nccl_collectives_none.cpp).
#pragma once

#include <torch/csrc/distributed/c10d/Store.hpp>
#include <torch/csrc/distributed/c10d/Types.hpp>

#include <chrono>
#include <memory>
#include <vector>

namespace adarts {

class Collectives {
 public:
  virtual ~Collectives() = default;
  // In place, blocking: the sum (or the maximum) over the ranks.
  virtual void all_reduce(at::Tensor& tensor, bool max) = 0;
  // In place, blocking: rank 0's values.
  virtual void broadcast(at::Tensor& tensor) = 0;
};

// Any c10d group (ProcessGroupGloo, ProcessGroupNCCL; LibTorch 1.x and 2.x name their base classes differently).
template <class Group>
class GroupCollectives : public Collectives {
 public:
  explicit GroupCollectives(c10::intrusive_ptr<Group> group) : group_(std::move(group)) {}
  void all_reduce(at::Tensor& tensor, bool max) override {
    std::vector<at::Tensor> tensors{tensor};
    c10d::AllreduceOptions options;
    options.reduceOp = max ? c10d::ReduceOp::MAX : c10d::ReduceOp::SUM;
    group_->allreduce(tensors, options)->wait();
  }
  void broadcast(at::Tensor& tensor) override {
    std::vector<at::Tensor> tensors{tensor};
    c10d::BroadcastOptions options;
    options.rootRank = 0;
    group_->broadcast(tensors, options)->wait();
  }

 private:
  c10::intrusive_ptr<Group> group_;
};

// NCCL on the current CUDA device; adarts::Error(unsupported) on builds without it.
std::unique_ptr<Collectives> make_nccl_collectives(const c10::intrusive_ptr<c10d::Store>& store, int rank, int size,
                                                   std::chrono::milliseconds timeout);

}  // namespace adarts
