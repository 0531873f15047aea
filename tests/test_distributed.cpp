// Data-parallel runs (docs/distributed.md) with 2 ranks as 2 threads of this
// process on a FileStore: the distributed estimators equal the single-process
// ones on the whole batch, the ranks stay bit-identical step by step, and the
// rendezvous refuses what it must.
#include <gtest/gtest.h>

#include <ATen/CPUGeneratorImpl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <torch/version.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include "adarts/config.h"
#include "adarts/estimator.h"
#include "adarts/search.h"
#include "adarts/supernet.h"
#include "adarts/train.h"
#include "adarts/genotype.h"
#include "adarts/run_progress.h"
#include "runtime/data_parallel.h"
#include "test_problems.h"
#include "test_util.h"

namespace adarts {
namespace {

using test::expect_error;
using test::temp_dir;
using test_problems::estimator_options;
using test_problems::relative_difference;
using test_problems::SmoothConvNet;

// Runs `body(rank)` on `world` threads; rethrows the first failure after all joined.
void on_ranks(int world, const std::function<void(int)>& body) {
  std::vector<std::exception_ptr> errors(static_cast<size_t>(world));
  std::vector<std::thread> threads;
  for (int r = 0; r < world; ++r) {
    threads.emplace_back([&, r] {
      try {
        body(r);
      } catch (...) {
        errors[static_cast<size_t>(r)] = std::current_exception();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
}

// A fresh FileStore path for one run.
std::string fresh_rendezvous(const std::string& name) {
  static int counter = 0;
  return "file://" + temp_dir("rdv_" + name + "_" + std::to_string(counter++)) + "/store";
}

SearchConfig rank_config(int rank, int world, const std::string& rendezvous) {
  SearchConfig c;
  c.world_size = world;
  c.rank = rank;
  c.rendezvous = rendezvous;
  c.dist_timeout = 60;
  return c;
}

Batch images_batch(at::Generator& g, int64_t n) {
  return Batch{at::randn({n, 2, 8, 8}, g, at::kDouble), at::randint(0, 3, {n}, g, at::kLong)};
}

WeightOptimizerState optimizer_state(BilevelProblem& problem, at::Generator& g) {
  WeightOptimizerState s;
  s.lr = 0.1;
  for (const auto& w : problem.weights()) s.momentum_buffers.push_back(0.1 * at::randn(w.sizes(), g, at::kDouble));
  return s;
}

std::vector<EstimatorOptions> every_estimator() {
  std::vector<EstimatorOptions> out = {estimator_options("first_order"), estimator_options("second_order"),
                                       estimator_options("amended", 0.5),
                                       estimator_options("amended", 0.5, HvpMode::exact),
                                       estimator_options("implicit")};
  out.back().implicit.iterations = 5;
  return out;
}

// A one-process problem whose loss is the mean of the losses of the halves of
// a batch: with BatchNorm, what 2 ranks with per-rank statistics compute.
class GhostBatches : public BilevelProblem {
 public:
  GhostBatches(BilevelProblem& inner, int shards) : inner_(inner), shards_(shards) {}
  TensorList weights() override { return inner_.weights(); }
  TensorList arch_parameters() override { return inner_.arch_parameters(); }
  at::Tensor loss(const Batch& batch) override {
    const int64_t n = batch.labels.size(0);
    at::Tensor total;
    for (int s = 0; s < shards_; ++s) {
      Batch part = batch;
      part.images = batch.images.narrow(0, s * n / shards_, n / shards_);
      part.labels = batch.labels.narrow(0, s * n / shards_, n / shards_);
      const at::Tensor l = inner_.loss(part);
      total = total.defined() ? total + l : l;
    }
    return total / shards_;
  }

 private:
  BilevelProblem& inner_;
  int shards_;
};

// Builds the same problem (same weights and alphas) at every call.
using ProblemFactory = std::function<std::shared_ptr<BilevelProblem>()>;

ProblemFactory smooth_conv_net(bool batch_norm) {
  return [batch_norm] {
    at::Generator g = at::make_generator<at::CPUGeneratorImpl>(3);
    return std::make_shared<SmoothConvNet>(g, batch_norm);
  };
}

// The supernet in double precision (BatchNorm in training mode), alphas away from uniform.
std::shared_ptr<BilevelProblem> tiny_supernet() {
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(11);
  SupernetOptions o;
  o.in_channels = 2;
  o.num_classes = 3;
  o.channels = 4;
  o.layers = 2;
  o.dtype = at::kDouble;
  auto net = std::make_shared<Supernet>(o, g);
  at::NoGradGuard no_grad;
  for (auto& a : net->arch_parameters()) a.normal_(0.0, 0.5, g);
  return net;
}

// Each estimator through 2 ranks equals the single-process estimator on the
// whole batch, with BatchNorm over each half of it when the problem has
// BatchNorm (GhostBatches), and both ranks get the very same bits.
void expect_two_ranks_match(const ProblemFactory& make, bool batch_norm, const std::string& name) {
  at::Generator data_gen = at::make_generator<at::CPUGeneratorImpl>(7);
  const Batch train = images_batch(data_gen, 8), val = images_batch(data_gen, 8);
  for (const EstimatorOptions& options : every_estimator()) {
    SCOPED_TRACE(options.name + " hvp " + to_string(options.hvp));
    const std::shared_ptr<BilevelProblem> single = make();
    at::Generator opt_gen = at::make_generator<at::CPUGeneratorImpl>(5);
    const WeightOptimizerState state = optimizer_state(*single, opt_gen);
    GhostBatches ghost(*single, 2);
    BilevelProblem& reference_problem = batch_norm ? static_cast<BilevelProblem&>(ghost) : *single;
    const TensorList reference = make_estimator(options)->arch_gradient(reference_problem, train, val, state);

    std::vector<TensorList> per_rank(2);
    const std::string rendezvous = fresh_rendezvous(name);
    on_ranks(2, [&](int rank) {
      const std::shared_ptr<BilevelProblem> replica_owner = make();
      BilevelProblem& replica = *replica_owner;
      const SearchConfig c = rank_config(rank, 2, rendezvous);
      DataParallel group(c, to_json(c), at::kCPU);
      DataParallelProblem problem(replica, &group);
      per_rank[static_cast<size_t>(rank)] =
          make_estimator(options)->arch_gradient(problem, group.shard(train), group.shard(val), state);
    });
    for (size_t i = 0; i < reference.size(); ++i) {
      EXPECT_TRUE(at::equal(per_rank[0][i], per_rank[1][i])) << "the ranks' gradients differ";
    }
    // Double precision; only the summation order differs (over 2 shards, then
    // across ranks). Central differences divide by 2r = 0.02 / ||x||, which
    // amplifies rounding ~1e2 times: 1e-10 still leaves five orders of margin.
    EXPECT_LT(relative_difference(per_rank[0], reference), 1e-10);
  }
}

TEST(DataParallelEstimators, TwoRanksEqualOneProcessWithoutBatchNorm) {
  expect_two_ranks_match(smooth_conv_net(false), false, "no_bn");
}

TEST(DataParallelEstimators, TwoRanksEqualGhostBatchNormOnOneProcess) {
  expect_two_ranks_match(smooth_conv_net(true), true, "bn");
}

TEST(DataParallelEstimators, TwoRanksOfTheSupernetEqualGhostBatchNormOnOneProcess) {
  expect_two_ranks_match(tiny_supernet, true, "supernet");
}

// ---- A search over 2 ranks -------------------------------------------------

SearchConfig tiny_search(const std::string& out_dir) {
  SearchConfig c;
  c.dataset = "synthetic";
  c.train_subset = 64;
  c.channels = 4;
  c.layers = 2;
  c.epochs = 1;
  c.batch_size = 8;
  c.threads = 1;
  c.out_dir = out_dir;
  c.dist_timeout = 60;
  return c;
}

// Rank `rank` of 2 of a tiny search with `estimator`.
SearchConfig rank_search(const std::string& out_dir, const std::string& estimator, int rank,
                         const std::string& rendezvous) {
  SearchConfig c = tiny_search(out_dir);
  c.estimator = estimator;
  c.world_size = 2;
  c.rank = rank;
  c.rendezvous = rendezvous;
  return c;
}

// A checksum of every weight and alpha, bit for bit.
uint64_t state_checksum(Search& search) {
  uint64_t h = 1469598103934665603ULL;  // FNV-1a
  TensorList all = search.supernet().weights();
  for (const auto& a : search.supernet().arch_parameters()) all.push_back(a);
  for (const auto& t : all) {
    const at::Tensor c = t.detach().contiguous().cpu();
    const auto* bytes = static_cast<const unsigned char*>(c.data_ptr());
    for (size_t i = 0; i < c.nbytes(); ++i) h = (h ^ bytes[i]) * 1099511628211ULL;
  }
  return h;
}

TEST(DataParallelSearch, RanksStayBitIdenticalEveryStepForEveryEstimator) {
  for (const char* estimator : {"first_order", "second_order", "amended", "implicit"}) {
    SCOPED_TRACE(estimator);
    const std::string out = temp_dir(std::string("dp_search_") + estimator);
    const std::string rendezvous = fresh_rendezvous(estimator);
    std::vector<std::vector<uint64_t>> sums(2);
    std::vector<std::string> genotypes(2), checkpoints(2);
    on_ranks(2, [&](int rank) {
      SearchConfig c = rank_search(out, estimator, rank, rendezvous);
      c.implicit_iterations = 3;
      Search search(c, load_search_dataset(c));
      for (int s = 0; s < search.steps_per_epoch(); ++s) {
        search.step();
        sums[static_cast<size_t>(rank)].push_back(state_checksum(search));
      }
      search.finish_epoch();
      genotypes[static_cast<size_t>(rank)] = to_json(search.genotype());
      checkpoints[static_cast<size_t>(rank)] = search.save_checkpoint();
    });
    ASSERT_EQ(sums[0].size(), 4u);
    EXPECT_EQ(sums[0], sums[1]);
    EXPECT_NE(sums[0].front(), sums[0].back());  // the steps changed the state
    EXPECT_EQ(genotypes[0], genotypes[1]);
    EXPECT_FALSE(checkpoints[0].empty());
    EXPECT_TRUE(checkpoints[1].empty()) << "rank 1 wrote " << checkpoints[1];
    std::ifstream metrics(out + "/metrics.jsonl");
    std::string line;
    int lines = 0;
    while (std::getline(metrics, line)) ++lines;
    EXPECT_EQ(lines, 1) << "rank 0 alone writes the metrics";
  }
}

TEST(DataParallelSearch, OneRankStoppingStopsEveryRankAfterTheSameStep) {
  const std::string out = temp_dir("dp_stop");
  const std::string rendezvous = fresh_rendezvous("stop");
  std::vector<int64_t> steps(2);
  std::vector<int> completed(2);
  on_ranks(2, [&](int rank) {
    const SearchConfig c = rank_search(out, "first_order", rank, rendezvous);
    Search search(c, load_search_dataset(c));
    bool done = true;
    // Only rank 1 asks to stop, after its second step.
    search.run_epoch([&](const RunProgress& p) { return !(rank == 1 && p.step == 2); }, &done);
    completed[static_cast<size_t>(rank)] = done;
    steps[static_cast<size_t>(rank)] = search.step_in_epoch();
    search.run_epoch(nullptr, &done);  // both continue together afterwards
    EXPECT_TRUE(done);
  });
  EXPECT_EQ(steps[0], 2);
  EXPECT_EQ(steps[1], 2);
  EXPECT_FALSE(completed[0]);
  EXPECT_FALSE(completed[1]);
}

TEST(DataParallelSearch, ResumesWithAnotherWorldSize) {
  const std::string out = temp_dir("dp_resume_world");
  const std::string rendezvous = fresh_rendezvous("resume_world");
  on_ranks(2, [&](int rank) {
    const SearchConfig c = rank_search(out, "first_order", rank, rendezvous);
    Search search(c, load_search_dataset(c));
    search.step();
    search.save_checkpoint();
  });
  // One process continues the 2-rank run (a checkpoint holds no per-rank state).
  std::unique_ptr<Search> alone = Search::resume(out, R"({"world_size": 1, "rank": 0, "rendezvous": ""})");
  EXPECT_EQ(alone->step_in_epoch(), 1);
  EXPECT_EQ(alone->config().world_size, 1);
  const at::Tensor before = alone->alphas_normal();
  alone->step();
  EXPECT_FALSE(at::equal(before, alone->alphas_normal()));
  // A world size the batch does not split over is still refused.
  expect_error([&] { Search::resume(out, R"({"world_size": 3, "rank": 0, "rendezvous": "file:///tmp/unused"})"); },
               ErrorKind::invalid_argument, {"batch_size 8", "3 ranks"});
}

TEST(DataParallelSearch, BatchThatDoesNotSplitIsRefused) {
  SearchConfig c = tiny_search(temp_dir("dp_odd_batch"));
  c.batch_size = 9;
  c.world_size = 2;
  c.rendezvous = fresh_rendezvous("odd");
  expect_error([&] { Search(c, load_search_dataset(c)); }, ErrorKind::invalid_argument,
               {"batch_size 9", "2 ranks"});
}

// ---- Re-training over 2 ranks ----------------------------------------------

TEST(DataParallelTrain, RanksStayBitIdenticalAndTestIsTheWholeSet) {
  const Genotype genotype = from_darts_text(
      "Genotype(normal=[('sep_conv_3x3', 0), ('skip_connect', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), "
      "('skip_connect', 0), ('dil_conv_3x3', 2), ('skip_connect', 0), ('skip_connect', 1)], normal_concat=[2, 3, 4, 5], "
      "reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), "
      "('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])");
  const std::string out = temp_dir("dp_train");
  const std::string rendezvous = fresh_rendezvous("train");
  std::vector<std::vector<uint64_t>> sums(2);
  std::vector<int64_t> test_samples(2);
  on_ranks(2, [&](int rank) {
    TrainConfig c;
    c.dataset = "synthetic";
    c.train_subset = 32;
    c.test_subset = 13;  // odd: the ranks' parts differ in size
    c.channels = 4;
    c.layers = 2;
    c.epochs = 1;
    c.batch_size = 8;
    c.threads = 1;
    c.out_dir = out;
    c.world_size = 2;
    c.rank = rank;
    c.rendezvous = rendezvous;
    c.dist_timeout = 60;
    Trainer trainer(genotype, c);
    const TrainEpochSummary s = trainer.run_epoch();
    test_samples[static_cast<size_t>(rank)] = s.test.samples;
    uint64_t h = 1469598103934665603ULL;
    for (const auto& p : trainer.network().parameters()) {
      const at::Tensor t = p.detach().contiguous();
      const auto* bytes = static_cast<const unsigned char*>(t.data_ptr());
      for (size_t i = 0; i < t.nbytes(); ++i) h = (h ^ bytes[i]) * 1099511628211ULL;
    }
    sums[static_cast<size_t>(rank)].push_back(h);
  });
  EXPECT_EQ(sums[0], sums[1]);
  EXPECT_EQ(test_samples[0], 13);
  EXPECT_EQ(test_samples[1], 13);
}

// ---- The rendezvous --------------------------------------------------------

TEST(DataParallelRendezvous, DifferentConfigsAreNamed) {
  const std::string rendezvous = fresh_rendezvous("mismatch");
  std::vector<std::string> messages(2);
  on_ranks(2, [&](int rank) {
    SearchConfig c = rank_config(rank, 2, rendezvous);
    if (rank == 1) c.epochs = 7;
    try {
      DataParallel group(c, to_json(c), at::kCPU);
    } catch (const Error& e) {
      EXPECT_EQ(static_cast<int>(e.kind()), static_cast<int>(ErrorKind::communication));
      messages[static_cast<size_t>(rank)] = e.what();
    }
  });
  for (const auto& m : messages) {
    EXPECT_NE(m.find("epochs: "), std::string::npos) << m;
    EXPECT_NE(m.find("7"), std::string::npos) << m;
  }
}

TEST(DataParallelRendezvous, AnotherWorldSizeIsNamedOrTimesOut) {
  const std::string rendezvous = fresh_rendezvous("world_size");
  std::vector<std::string> messages(2);
  on_ranks(2, [&](int rank) {
    SearchConfig c = rank_config(rank, rank == 0 ? 2 : 3, rendezvous);
    c.dist_timeout = 2.0;
    try {
      DataParallel group(c, to_json(c), at::kCPU);
    } catch (const Error& e) {
      messages[static_cast<size_t>(rank)] = e.what();
    }
  });
  // Rank 0 (of 2) sees rank 1's config; rank 1 (of 3) waits in vain for rank 2.
  EXPECT_NE(messages[0].find("world_size: 2 vs 3"), std::string::npos) << messages[0];
  EXPECT_NE(messages[1].find("rank(s) 2"), std::string::npos) << messages[1];
}

TEST(DataParallelRendezvous, AMissingRankTimesOutNamingIt) {
  SearchConfig c = rank_config(0, 3, fresh_rendezvous("missing"));
  c.dist_timeout = 1.0;
  const auto start = std::chrono::steady_clock::now();
  expect_error([&] { DataParallel group(c, to_json(c), at::kCPU); }, ErrorKind::communication,
               {"rank(s) 1, 2", "dist_timeout"});
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 30.0);
}

TEST(DataParallelRendezvous, TwoProcessesWithOneRankAreRefused) {
  const std::string rendezvous = fresh_rendezvous("same_rank");
  SearchConfig c = rank_config(1, 2, rendezvous);
  c.dist_timeout = 1.0;
  // The first claim of rank 1 waits for rank 0 in vain; the second is refused at once.
  expect_error([&] { DataParallel group(c, to_json(c), at::kCPU); }, ErrorKind::communication, {"rank(s) 0"});
  expect_error([&] { DataParallel group(c, to_json(c), at::kCPU); }, ErrorKind::communication,
               {"already joined", "fresh file"});
}

TEST(DataParallelRendezvous, BadRendezvousAndRanksAreInvalid) {
  SearchConfig c = rank_config(0, 2, "file://relative/path");
  expect_error([&] { DataParallel group(c, to_json(c), at::kCPU); }, ErrorKind::invalid_argument, {"absolute"});
  c.rendezvous = "";
  expect_error([&] { validate(c); }, ErrorKind::invalid_argument, {"rendezvous"});
  c = rank_config(2, 2, "file:///tmp/x");
  expect_error([&] { validate(c); }, ErrorKind::invalid_argument, {"rank must be in 0..1"});
  c = rank_config(0, 2, "tcp://127.0.0.1:99999");
  expect_error([&] { DataParallel group(c, to_json(c), at::kCPU); }, ErrorKind::invalid_argument, {"PORT"});
}

#if TORCH_VERSION_MAJOR >= 2
// Whether /proc/net/tcp{,6} lists a listening socket on `port` bound to anything but 127.0.0.1.
bool listens_beyond_loopback(int port, bool* found) {
  char hex_port[8];
  std::snprintf(hex_port, sizeof hex_port, "%04X", port);
  bool beyond = false;
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::string slot, local, remote, state;
      fields >> slot >> local >> remote >> state;
      if (state != "0A" || local.substr(local.find(':') + 1) != hex_port) continue;  // 0A: LISTEN
      *found = true;
      if (local.substr(0, local.find(':')) != "0100007F") beyond = true;
    }
  }
  return beyond;
}

TEST(DataParallelRendezvous, TcpStoreListensOnTheGivenAddressOnly) {
  // A port free a moment ago (the test's only race).
  const int probe = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(probe, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  socklen_t length = sizeof address;
  getsockname(probe, reinterpret_cast<sockaddr*>(&address), &length);
  const int port = ntohs(address.sin_port);
  close(probe);
  const std::string rendezvous = "tcp://127.0.0.1:" + std::to_string(port);
  std::vector<float> results(2);
  bool found = false, beyond = true;
  on_ranks(2, [&](int rank) {
    const SearchConfig c = rank_config(rank, 2, rendezvous);
    DataParallel group(c, to_json(c), at::kCPU);
    at::Tensor t = at::full({3}, static_cast<float>(rank + 1));
    group.sum({t});
    results[static_cast<size_t>(rank)] = t[0].item<float>();
    if (rank == 0) beyond = listens_beyond_loopback(port, &found);
    group.any(false);  // rank 1 stays until rank 0 has looked
  });
  EXPECT_EQ(results[0], 3.0f);
  EXPECT_EQ(results[1], 3.0f);
  EXPECT_TRUE(found) << "no listening socket on port " << port;
  EXPECT_FALSE(beyond) << "the store listens beyond 127.0.0.1";
}
#else
TEST(DataParallelRendezvous, TcpIsRefusedOnLibTorch1) {
  SearchConfig c = rank_config(0, 2, "tcp://127.0.0.1:29999");
  expect_error([&] { DataParallel group(c, to_json(c), at::kCPU); }, ErrorKind::unsupported,
               {"every interface", "file://"});
}
#endif

}  // namespace
}  // namespace adarts
