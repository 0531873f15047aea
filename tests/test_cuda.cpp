// The CUDA path: every estimator's step, agreement of one step's alpha
// gradient with the CPU, drop-path masks, checkpoints that move between CPU
// and CUDA, re-training and bf16. Each test is skipped, with a message
// saying so, where no CUDA device is present (ctest shows it as skipped).
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>
#include <gtest/gtest.h>
#include <torch/cuda.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "adarts/device.h"
#include "adarts/search.h"
#include "adarts/supernet.h"
#include "adarts/train.h"
#include "runtime/cuda_support.h"
#include "test_problems.h"
#include "test_util.h"

namespace adarts {
namespace {

using adarts::test::temp_dir;

// The device these tests run on: "cuda", or with ADARTS_TEST_CUDA_AS_CPU=1 on
// a machine without one, "cpu" (a dry run of the tests' own logic, so that a
// scarce GPU session does not find a test's bugs; it proves nothing about CUDA).
std::string gpu_name() {
  if (torch::cuda::is_available()) return "cuda";
  const char* dry = std::getenv("ADARTS_TEST_CUDA_AS_CPU");
  return dry != nullptr && std::string(dry) == "1" ? "cpu" : "";
}
at::Device gpu() { return parse_device(gpu_name()); }

#define REQUIRE_CUDA()                                                                                  \
  do {                                                                                                  \
    if (gpu_name().empty()) {                                                                           \
      GTEST_SKIP() << "no CUDA device here (" << (cuda_support::compiled() ? "LibTorch has CUDA" :      \
                                                  "this LibTorch has no CUDA") << "): CUDA test skipped"; \
    }                                                                                                   \
  } while (0)

SearchConfig tiny_search(const std::string& name, const std::string& device) {
  SearchConfig c;
  c.dataset = "synthetic";
  c.train_subset = 64;
  c.channels = 4;
  c.layers = 3;
  c.epochs = 2;
  c.batch_size = 16;
  c.threads = 2;
  c.device = device;
  c.out_dir = temp_dir(name);
  return c;
}

TEST(Cuda, EveryEstimatorStepsOnTheGpu) {
  REQUIRE_CUDA();
  for (const std::string estimator : {"first_order", "second_order", "amended", "implicit"}) {
    for (const std::string hvp : {"finite_difference", "exact"}) {
      if (estimator != "amended" && hvp == "exact") continue;
      SearchConfig c = tiny_search("cuda_" + estimator + "_" + hvp, gpu_name());
      c.estimator = estimator;
      c.hvp = hvp;
      c.drop_path_prob = 0.2;
      c.cutout = 4;
      c.auxiliary = true;
      c.fidelity_every = estimator == "first_order" ? 2 : 0;  // the probe (CG on exact HVPs) on the GPU too
      c.implicit_iterations = 3;
      Search search(c, load_search_dataset(c));
      const at::Tensor before = search.alphas_normal();
      search.advance(5);  // into epoch 2: drop-path on
      const at::Tensor after = search.alphas_normal();
      EXPECT_EQ(search.supernet().arch_parameters().front().device().type(), gpu().type());
      EXPECT_TRUE(at::isfinite(after).all().item<bool>()) << estimator << " " << hvp;
      EXPECT_FALSE(at::equal(before, after)) << estimator << " " << hvp;
    }
  }
}

// One step's alpha gradient on CUDA equals the CPU's. In double precision
// every kernel is IEEE double on both sides, so the only differences are
// summation orders (1e-15 relative per kernel), amplified by the central
// differences of the second-order and amended estimators (the difference of
// two gradients at w +- r u) to 1e-12..1e-10: the bound 1e-7 leaves room for
// that and still catches any real device bug, which shows at 1e-2 or more.
// In float32, cuDNN may use TF32 (10-bit mantissa) on Ampere and later, which
// the CPU never does: there the test asks for cos >= 0.999 only.
TEST(Cuda, AlphaGradientAgreesWithTheCpu) {
  REQUIRE_CUDA();
  for (const std::string estimator : {"first_order", "second_order", "amended"}) {
    for (at::ScalarType dtype : {at::kDouble, at::kFloat}) {
      EstimatorOptions eo;
      eo.name = estimator;
      eo.eta = 1.0;
      auto make = [&](at::Device device) {
        SupernetOptions o;
        o.in_channels = 3;
        o.num_classes = 5;
        o.channels = 4;
        o.layers = 3;
        o.dtype = dtype;
        at::Generator g = at::make_generator<at::CPUGeneratorImpl>(3);
        auto net = std::make_shared<Supernet>(o, g, device);
        net->set_drop_path_prob(0.3);
        return net;
      };
      at::Generator g = at::make_generator<at::CPUGeneratorImpl>(8);
      const Batch train_cpu{at::randn({16, 3, 12, 12}, g, dtype), at::randint(5, {16}, g, at::kLong), 11};
      const Batch val_cpu{at::randn({16, 3, 12, 12}, g, dtype), at::randint(5, {16}, g, at::kLong), 12};
      auto on = [](const Batch& b, at::Device d) { return Batch{b.images.to(d), b.labels.to(d), b.noise_seed}; };
      auto cpu = make(at::kCPU), on_gpu = make(gpu());
      WeightOptimizerState state;
      const TensorList a = make_estimator(eo)->arch_gradient(*cpu, train_cpu, val_cpu, state);
      TensorList b = make_estimator(eo)->arch_gradient(*on_gpu, on(train_cpu, gpu()), on(val_cpu, gpu()), state);
      for (auto& t : b) t = t.cpu();
      const double rel = test_problems::relative_difference(b, a), cos = cosine(a, b);
      std::printf("    %s %s: relative difference %.3g, cos %.8f\n", estimator.c_str(),
                  dtype == at::kDouble ? "fp64" : "fp32", rel, cos);
      if (dtype == at::kDouble) {
        EXPECT_LT(rel, 1e-7) << estimator;
      } else {
        EXPECT_GE(cos, 0.999) << estimator;
      }
    }
  }
}

// A checkpoint written on CUDA resumes on the CPU and the other way round,
// with the alphas and weights it held.
TEST(Cuda, CheckpointsMoveBetweenDevices) {
  REQUIRE_CUDA();
  for (const auto& [from, to] : {std::pair<std::string, std::string>{gpu_name(), "cpu"}, {"cpu", gpu_name()}}) {
    SearchConfig c = tiny_search("cuda_checkpoint_" + from, from);
    c.checkpoint_every = 2;
    Search first(c, load_search_dataset(c));
    first.advance(2);
    const at::Tensor alphas = first.alphas_normal();
    const TensorList weights = first.supernet().weights();
    first.save_checkpoint();
    std::unique_ptr<Search> resumed = Search::resume(c.out_dir, "{\"device\":\"" + to + "\"}");
    EXPECT_TRUE(at::equal(resumed->alphas_normal(), alphas)) << from << " -> " << to;
    const TensorList loaded = resumed->supernet().weights();
    for (size_t i = 0; i < weights.size(); ++i) {
      EXPECT_EQ(loaded[i].device().type(), parse_device(to).type());
      EXPECT_TRUE(at::equal(loaded[i].cpu(), weights[i].cpu())) << i;
    }
    resumed->advance(2);  // the optimizer states moved with it
    EXPECT_TRUE(at::isfinite(resumed->alphas_normal()).all().item<bool>());
  }
}

TEST(Cuda, RetrainingStepsEvaluatesAndResumes) {
  REQUIRE_CUDA();
  TrainConfig t;
  t.dataset = "synthetic";
  t.train_subset = 64;
  t.channels = 4;
  t.layers = 3;
  t.epochs = 2;
  t.batch_size = 16;
  t.drop_path_prob = 0.2;
  t.auxiliary = true;
  t.cutout = 4;
  t.device = gpu_name();
  t.out_dir = temp_dir("cuda_train");
  SearchConfig s = tiny_search("cuda_train_genotype", "cpu");
  const Genotype genotype = Search(s, load_search_dataset(s)).genotype();
  Trainer trainer(genotype, t, load_train_dataset(t, true));
  trainer.step();
  trainer.step();
  trainer.save_checkpoint();
  const EvalResult r = trainer.evaluate(load_train_dataset(t, true));
  EXPECT_TRUE(std::isfinite(r.loss));
  std::unique_ptr<Trainer> resumed = Trainer::resume(t.out_dir, "{\"device\":\"cpu\"}");
  resumed->step();
  const std::string model = t.out_dir + "/model.pt";
  trainer.save(model);
  EXPECT_TRUE(Trainer::load(model, "cpu")->predict(load_train_dataset(t, true)).is_cpu());
}

// bf16 on the GPU: the alpha gradient against fp32's, printed, and bounded
// as on the CPU (tests/test_device.cpp explains the bound): cos >= 0.97.
TEST(Cuda, Bf16AlphaGradientAgreesWithFp32) {
  REQUIRE_CUDA();
  auto make = [&](Precision p) {
    SupernetOptions o;
    o.in_channels = 3;
    o.num_classes = 10;
    o.channels = 16;
    o.layers = 8;
    o.precision = p;
    at::Generator g = at::make_generator<at::CPUGeneratorImpl>(5);
    return std::make_shared<Supernet>(o, g, gpu());
  };
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(6);
  const Batch val{at::randn({64, 3, 32, 32}, g).to(gpu()), at::randint(10, {64}, g, at::kLong).to(gpu()), 1};
  auto fp32 = make(Precision::fp32), bf16 = make(Precision::bf16);
  const TensorList a = torch::autograd::grad({fp32->loss(val)}, fp32->arch_parameters());
  const TensorList b = torch::autograd::grad({bf16->loss(val)}, bf16->arch_parameters());
  const double cos = cosine(a, b), rel = test_problems::relative_difference(b, a);
  std::printf("    bf16 vs fp32 alpha gradient (C=16, 8 cells, batch 64): cos %.5f, relative difference %.4f\n", cos, rel);
  EXPECT_GE(cos, 0.97);
}

TEST(Cuda, MemoryStatisticsSeeTheSearch) {
  REQUIRE_CUDA();
  if (!gpu().is_cuda()) GTEST_SKIP() << "allocator statistics exist only on CUDA";
  cuda_support::reset_peak_memory(gpu());
  SearchConfig c = tiny_search("cuda_memory", gpu_name());
  Search search(c, load_search_dataset(c));
  search.advance(1);
  cuda_support::synchronize(gpu());
  const cuda_support::MemoryStats m = cuda_support::memory_stats(gpu());
  EXPECT_GT(m.peak_allocated_mib, 0.0);
  EXPECT_GE(m.peak_reserved_mib, m.peak_allocated_mib);
  std::printf("    %s: peak %.1f MiB allocated\n", cuda_support::device_name(gpu()).c_str(), m.peak_allocated_mib);
}

// Two ranks of a data-parallel search as two threads (docs/distributed.md),
// on `devices[rank]` with `backend`; their alphas after 3 steps.
std::vector<at::Tensor> two_rank_alphas(const std::string& name, const std::vector<std::string>& devices,
                                        const std::string& backend) {
  const std::string rendezvous = "file://" + temp_dir(name + "_rdv") + "/store";
  std::vector<at::Tensor> alphas(2);
  std::vector<std::string> errors(2);
  auto rank = [&](int r) {
    try {
      SearchConfig c = tiny_search(name, devices[static_cast<size_t>(r)]);
      c.threads = 1;
      c.world_size = 2;
      c.rank = r;
      c.rendezvous = rendezvous;
      c.dist_backend = backend;
      c.dist_timeout = 120;
      Search search(c, load_search_dataset(c));
      search.advance(3);
      alphas[static_cast<size_t>(r)] = search.alphas_normal();
    } catch (const std::exception& e) {
      errors[static_cast<size_t>(r)] = e.what();
    }
  };
  std::thread r0(rank, 0), r1(rank, 1);
  r0.join();
  r1.join();
  for (const auto& e : errors) EXPECT_EQ(e, "");
  return alphas;
}

TEST(Cuda, TwoRanksOnOneGpuOverGlooStayIdentical) {
  REQUIRE_CUDA();
  const auto alphas = two_rank_alphas("cuda_gloo_ranks", {gpu_name(), gpu_name()}, "gloo");
  ASSERT_TRUE(alphas[0].defined() && alphas[1].defined());
  EXPECT_TRUE(at::equal(alphas[0], alphas[1]));
}

TEST(Cuda, NcclRanksOnTwoGpusStayIdentical) {
  REQUIRE_CUDA();
  if (!gpu().is_cuda() || cuda_device_count() < 2) GTEST_SKIP() << "NCCL ranks need one GPU each: 2 GPUs";
  const auto alphas = two_rank_alphas("cuda_nccl_ranks", {"cuda:0", "cuda:1"}, "nccl");
  ASSERT_TRUE(alphas[0].defined() && alphas[1].defined());
  EXPECT_TRUE(at::equal(alphas[0], alphas[1]));
}

}  // namespace
}  // namespace adarts
