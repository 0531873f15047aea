// NCCL collectives (collectives.h), compiled where LibTorch has CUDA and
// NCCL's header is found.
#ifndef USE_C10D_NCCL
#define USE_C10D_NCCL  // LibTorch's header declares ProcessGroupNCCL only with it
#endif

#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>

#include "runtime/collectives.h"

namespace adarts {

std::unique_ptr<Collectives> make_nccl_collectives(const c10::intrusive_ptr<c10d::Store>& store, int rank, int size,
                                                   std::chrono::milliseconds timeout) {
  auto options = c10d::ProcessGroupNCCL::Options::create();
  options->timeout = timeout;
  return std::make_unique<GroupCollectives<c10d::ProcessGroupNCCL>>(
      c10::make_intrusive<c10d::ProcessGroupNCCL>(store, rank, size, options));
}

}  // namespace adarts
