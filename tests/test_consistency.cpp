// Search/evaluation consistency options (paper 4.1.2): drop-path on the
// supernet's candidate operations, its auxiliary head, cutout during search,
// and the space's default cell count.
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/ops/cross_entropy_loss.h>
#include <gtest/gtest.h>
#include <torch/csrc/autograd/autograd.h>

#include <fstream>

#include <boost/json.hpp>

#include "adarts/config.h"
#include "adarts/search.h"
#include "adarts/supernet.h"
#include "test_util.h"

namespace adarts {
namespace {

using adarts::test::expect_error;
using adarts::test::temp_dir;

std::shared_ptr<Supernet> make_net(const std::string& space_name, int64_t layers, bool auxiliary, uint64_t seed = 1) {
  SupernetOptions o = supernet_options(make_search_space(space_name));
  o.in_channels = 1;
  o.num_classes = 4;
  o.channels = 4;
  o.layers = layers;
  o.auxiliary = auxiliary;
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(seed);
  return std::make_shared<Supernet>(o, g);
}

Batch random_batch(int64_t n, uint64_t seed, uint64_t noise_seed) {
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(seed);
  return Batch{at::randn({n, 1, 12, 12}, g), at::randint(4, {n}, g, at::kLong), noise_seed};
}

// With drop-path, a mixed edge is w_skip x + sum_k m_k w_k op_k(x) / (1 - p)
// with per-sample masks m_k in {0, 1}: the identity is never dropped.
TEST(DropPath, MixedEdgeDropsEachSampleOfEveryOpButTheIdentity) {
  const double p = 0.5;
  MixedOp edge({"skip_connect", "avg_pool_3x3"}, 2, /*stride=*/1);
  const at::Tensor x = at::randn({16, 2, 6, 6}, at::make_generator<at::CPUGeneratorImpl>(4));
  const at::Tensor weights = at::tensor({0.3, 0.7});
  const at::Tensor full = edge.forward(x, weights);  // no generator: nothing dropped
  const at::Tensor pool_term = full - 0.3 * x;       // 0.7 * avg_pool(x), BN on batch statistics
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(11);
  ASSERT_EQ(edge.droppable_count(), 1);  // the pool; never the identity
  DropPathMasks masks(edge.droppable_count(), x.size(0), p, g, x.options());
  const at::Tensor dropped = edge.forward(x, weights, &masks);
  EXPECT_EQ(masks.used(), 1);
  int kept = 0, dropped_samples = 0;
  for (int64_t n = 0; n < x.size(0); ++n) {
    if (at::allclose(dropped[n], 0.3 * x[n] + pool_term[n] / (1 - p), 1e-5, 1e-6)) {
      ++kept;
    } else {
      EXPECT_TRUE(at::allclose(dropped[n], 0.3 * x[n], 1e-5, 1e-6)) << "sample " << n << " is neither kept nor dropped";
      ++dropped_samples;
    }
  }
  EXPECT_GT(kept, 0);
  EXPECT_GT(dropped_samples, 0);

  // At stride 2 skip_connect is a factorized reduce: an operation, dropped like the others.
  MixedOp strided({"skip_connect"}, 2, /*stride=*/2);
  const at::Tensor y = strided.forward(x, at::tensor({1.0}));
  at::Generator g2 = at::make_generator<at::CPUGeneratorImpl>(11);
  ASSERT_EQ(strided.droppable_count(), 1);
  DropPathMasks strided_masks(strided.droppable_count(), x.size(0), p, g2, x.options());
  const at::Tensor y_dropped = strided.forward(x, at::tensor({1.0}), &strided_masks);
  int zeros = 0;
  for (int64_t n = 0; n < x.size(0); ++n) {
    if (y_dropped[n].abs().max().item<double>() == 0.0) {
      ++zeros;
    } else {
      EXPECT_TRUE(at::allclose(y_dropped[n], y[n] / (1 - p), 1e-5, 1e-6)) << "sample " << n;
    }
  }
  EXPECT_GT(zeros, 0);
  EXPECT_LT(zeros, x.size(0));
}

// Every forward of one batch draws the same masks, so the losses an estimator
// compares at perturbed weights are one function; evaluation is never dropped.
TEST(DropPath, MasksAreFixedByTheBatchSeedAndOffInEvaluation) {
  auto net = make_net("s1", 3, /*auxiliary=*/false);
  const Batch batch = random_batch(6, 1, /*noise_seed=*/7);
  const at::Tensor plain = net->loss(batch);
  net->set_drop_path_prob(0.4);
  const at::Tensor a = net->loss(batch), b = net->loss(batch);
  Batch other = batch;
  other.noise_seed = 8;
  EXPECT_TRUE(at::equal(a, b));
  EXPECT_FALSE(at::equal(a, net->loss(other)));
  EXPECT_FALSE(at::equal(a, plain));
  // forward(images) is the evaluation function: no masks, in either mode.
  const at::Tensor logits = net->forward(batch.images);
  net->set_drop_path_prob(0.0);
  EXPECT_TRUE(at::equal(logits, net->forward(batch.images)));
  expect_error([&] { net->set_drop_path_prob(1.0); }, ErrorKind::invalid_argument, {"drop-path", "[0, 1)"});

  // Hence a finite-difference estimator is deterministic under drop-path.
  net->set_drop_path_prob(0.4);
  auto amended = make_estimator(EstimatorOptions{});
  const Batch val = random_batch(6, 2, 9);
  const TensorList g1 = amended->arch_gradient(*net, batch, val, WeightOptimizerState{});
  const TensorList g2 = amended->arch_gradient(*net, batch, val, WeightOptimizerState{});
  Batch val_other = val;
  val_other.noise_seed = 10;
  const TensorList g3 = amended->arch_gradient(*net, batch, val_other, WeightOptimizerState{});
  for (size_t i = 0; i < g1.size(); ++i) EXPECT_TRUE(at::equal(g1[i], g2[i]));
  EXPECT_FALSE(at::equal(g1[0], g3[0]));
}

// The auxiliary head reads cell 2*layers/3: its loss reaches the alphas of
// that cell and the ones before, never the cells after it.
TEST(SupernetAuxiliaryHead, LossAddsTheWeightedHeadAndReachesOnlyEarlierCells) {
  const int64_t layers = 5;  // reductions at 1 and 3, auxiliary head after cell 3
  auto net = make_net("s2", layers, /*auxiliary=*/true);
  bool has_head = false;
  for (const auto& item : net->named_parameters()) has_head = has_head || item.key().rfind("auxiliary_head.", 0) == 0;
  EXPECT_TRUE(has_head);
  for (const auto& item : make_net("s2", layers, false)->named_parameters()) {
    EXPECT_NE(item.key().rfind("auxiliary_head.", 0), 0u) << item.key();
  }

  const Batch batch = random_batch(6, 3, 0);
  const SupernetOutput out = net->forward_batch(batch);
  ASSERT_TRUE(out.aux_logits.defined());
  EXPECT_EQ(out.aux_logits.sizes(), at::IntArrayRef({6, 4}));
  const at::Tensor expected = at::cross_entropy_loss(out.logits, batch.labels) +
                              0.4 * at::cross_entropy_loss(out.aux_logits, batch.labels);
  EXPECT_NEAR(net->loss(batch).item<double>(), expected.item<double>(), 1e-6);

  const at::Tensor grad = torch::autograd::grad({out.aux_logits.sum()}, {net->alphas_cells()})[0];
  for (int64_t cell = 0; cell < layers; ++cell) {
    const double size = grad[cell].abs().sum().item<double>();
    if (cell <= 2 * layers / 3) {
      EXPECT_GT(size, 0.0) << "cell " << cell;
    } else {
      EXPECT_EQ(size, 0.0) << "cell " << cell << " comes after the auxiliary head";
    }
  }

  // In evaluation mode the head is not run and the loss is the main head's.
  net->eval();
  const SupernetOutput eval_out = net->forward_batch(batch);
  EXPECT_FALSE(eval_out.aux_logits.defined());
  EXPECT_NEAR(net->loss(batch).item<double>(), at::cross_entropy_loss(eval_out.logits, batch.labels).item<double>(),
              1e-7);
}

// 48 + 48 synthetic images, batch 8: 6 steps an epoch.
SearchConfig tiny_consistent(const std::string& name) {
  SearchConfig c;
  c.dataset = "synthetic";
  c.train_subset = 96;
  c.channels = 4;
  c.layers = 3;
  c.epochs = 2;
  c.batch_size = 8;
  c.threads = 1;
  c.space = "s1";
  c.cutout = 4;
  c.drop_path_prob = 0.3;
  c.auxiliary = true;
  c.out_dir = temp_dir("consistency_" + name);
  return c;
}

TEST(ConsistentSearch, EachSwitchChangesTheSearchAndTheRampIsRecorded) {
  const SearchConfig c = tiny_consistent("all");
  const Dataset data = load_search_dataset(c);
  Search search(c, data);
  search.advance(c.epochs * search.steps_per_epoch());
  const at::Tensor alphas = search.alphas_normal();

  // Drop-path ramps linearly: 0 in epoch 1, 0.3 * 1/2 in epoch 2.
  std::ifstream metrics(c.out_dir + "/metrics.jsonl");
  std::vector<double> drop;
  for (std::string line; std::getline(metrics, line);) {
    const boost::json::object o = boost::json::parse(line).as_object();
    drop.push_back(o.at("drop_path_prob").to_number<double>());
    EXPECT_TRUE(std::isfinite(o.at("train_loss").to_number<double>()));
  }
  EXPECT_EQ(drop, (std::vector<double>{0.0, 0.15}));

  // Turning any one switch off gives other alphas: each one reaches the search.
  for (const char* off : {"cutout", "drop_path_prob", "auxiliary"}) {
    SearchConfig without = tiny_consistent(std::string("without_") + off);
    if (std::string(off) == "cutout") without.cutout = 0;
    if (std::string(off) == "drop_path_prob") without.drop_path_prob = 0.0;
    if (std::string(off) == "auxiliary") without.auxiliary = false;
    Search other(without, data);
    other.advance(without.epochs * other.steps_per_epoch());
    EXPECT_FALSE(at::equal(other.alphas_normal(), alphas)) << off << " made no difference";
  }
}

// The masks of a step derive from the seed and the global step: a run resumed
// mid-epoch with every switch on ends bit-identical to an uninterrupted one.
TEST(ConsistentSearch, ResumeMidEpochIsBitIdentical) {
  const SearchConfig c = tiny_consistent("reference");
  const Dataset data = load_search_dataset(c);
  Search reference(c, data);
  const int64_t total = c.epochs * reference.steps_per_epoch();
  reference.advance(total);

  SearchConfig interrupted = tiny_consistent("interrupted");
  std::string path;
  {
    Search first(interrupted, data);
    first.advance(total - 2);
    path = first.save_checkpoint();
  }
  Search resumed(interrupted, data);
  resumed.load_checkpoint(path);
  resumed.advance(2);
  EXPECT_TRUE(at::equal(resumed.alphas_normal(), reference.alphas_normal()));
  EXPECT_TRUE(at::equal(resumed.alphas_reduce(), reference.alphas_reduce()));
  const TensorList wa = resumed.supernet().weights(), wb = reference.supernet().weights();
  ASSERT_EQ(wa.size(), wb.size());
  for (size_t i = 0; i < wa.size(); ++i) EXPECT_TRUE(at::equal(wa[i], wb[i])) << "weight " << i;
}

TEST(ConsistentSearch, LayersZeroIsTheSpacesDefaultCellCount) {
  SearchConfig c;
  EXPECT_EQ(c.cell_count(), 8);
  c.space = "s2";
  EXPECT_EQ(c.cell_count(), 20);
  c.layers = 6;
  EXPECT_EQ(c.cell_count(), 6);

  SearchConfig s2 = tiny_consistent("s2_default_layers");
  s2.space = "s2";
  s2.layers = 0;
  Search search(s2, load_search_dataset(s2));
  EXPECT_EQ(search.config().layers, 20);
  EXPECT_EQ(search.alphas_cells().size(0), 20);
  EXPECT_EQ(search.genotype().cells.size(), 20u);
}

TEST(ConsistentSearch, PresetSetsEverySwitch) {
  const SearchConfig c = consistent_search_config();
  EXPECT_EQ(c.space, "s1");
  EXPECT_EQ(c.channels, 36);
  EXPECT_EQ(c.cutout, 16);
  EXPECT_DOUBLE_EQ(c.drop_path_prob, 0.2);
  EXPECT_TRUE(c.auxiliary);
  validate(c);
  // The switches survive the JSON form (checkpoints and the C ABI use it).
  const SearchConfig back = search_config_from_json(to_json(c));
  EXPECT_EQ(back.cutout, 16);
  EXPECT_DOUBLE_EQ(back.drop_path_prob, 0.2);
  EXPECT_TRUE(back.auxiliary);
  EXPECT_DOUBLE_EQ(back.auxiliary_weight, 0.4);
}

}  // namespace
}  // namespace adarts
