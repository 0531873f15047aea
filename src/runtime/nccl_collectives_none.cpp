// Builds without NCCL (no CUDA in LibTorch, or no nccl.h found): nccl is refused.
#include "adarts/error.h"
#include "runtime/collectives.h"

namespace adarts {

std::unique_ptr<Collectives> make_nccl_collectives(const c10::intrusive_ptr<c10d::Store>&, int, int,
                                                   std::chrono::milliseconds) {
  throw unsupported("dist_backend nccl: this build has no NCCL (LibTorch without CUDA, or nccl.h not found when it "
                    "was configured); use dist_backend gloo");
}

}  // namespace adarts
