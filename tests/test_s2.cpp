// Space s2: per-cell alphas in the supernet and the search, the collapse
// monitor over every normal cell, and the evaluation network and training
// built from a per-cell genotype.
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "adarts/error.h"
#include "adarts/monitor.h"
#include "adarts/network.h"
#include "adarts/search.h"
#include "adarts/supernet.h"
#include "adarts/train.h"
#include "test_util.h"

namespace adarts {
namespace {

using adarts::test::temp_dir;

// An s2 supernet (chain edges, skip_connect and sep_conv_3x3, per-cell alphas).
std::shared_ptr<Supernet> s2_net(int64_t layers, uint64_t seed = 1) {
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(seed);
  SupernetOptions o = supernet_options(make_search_space("s2"));
  o.channels = 4;
  o.layers = layers;
  return std::make_shared<Supernet>(o, g);
}

// Sets every edge of cell `cell` to prefer op column `op` strongly.
void prefer(Supernet& net, int64_t cell, int64_t op) {
  at::NoGradGuard no_grad;
  at::Tensor a = net.arch_parameters()[0];
  a[cell].fill_(0.0);
  a[cell].select(1, op).fill_(5.0);
}

TEST(S2Supernet, OneAlphaSetPerCell) {
  auto net = s2_net(3);
  ASSERT_TRUE(net->per_cell());
  EXPECT_EQ(net->alphas_cells().sizes(), at::IntArrayRef({3, 8, 2}));
  EXPECT_TRUE(net->alphas_cells().requires_grad());
  EXPECT_FALSE(net->alphas_normal().defined());
  ASSERT_EQ(net->arch_parameters().size(), 1u);
  EXPECT_TRUE(net->arch_parameters()[0].is_same(net->alphas_cells()));
  EXPECT_LT(net->alphas_cells().abs().max().item<double>(), 1e-2);
  EXPECT_GT(net->alphas_cells().std().item<double>(), 1e-4);
  EXPECT_EQ(net->forward(at::randn({2, 1, 8, 8})).sizes(), at::IntArrayRef({2, 10}));
  // The loss reaches every cell's alphas.
  net->loss(Batch{at::randn({2, 1, 8, 8}), at::tensor({1, 3}, at::kLong)}).backward();
  const at::Tensor grad = net->alphas_cells().grad();
  ASSERT_TRUE(grad.defined());
  for (int64_t i = 0; i < 3; ++i) EXPECT_GT(grad[i].abs().sum().item<double>(), 0.0) << "cell " << i;
}

TEST(S2Supernet, ChangingOneCellsAlphasChangesOnlyThatCellsGenotype) {
  auto net = s2_net(5);
  for (int64_t c = 0; c < 5; ++c) prefer(*net, c, 1);  // sep_conv_3x3 everywhere
  const Genotype before = net->genotype();
  ASSERT_TRUE(before.per_cell());
  ASSERT_EQ(before.cells.size(), 5u);
  EXPECT_EQ(before.space, "s2");
  EXPECT_EQ(before.reduction, (std::vector<bool>{false, true, false, true, false}));
  validate_genotype(before);
  for (const auto& cell : before.cells) {
    ASSERT_EQ(cell.edges.size(), 8u);  // every fixed edge is kept
    for (const auto& e : cell.edges) EXPECT_EQ(e.op, "sep_conv_3x3");
  }
  // The forward pass uses cell 3's alphas for cell 3 only.
  net->eval();
  const at::Tensor x = at::randn({2, 1, 8, 8});
  const at::Tensor out_before = net->forward(x).detach();
  prefer(*net, 3, 0);  // cell 3: skip_connect
  const Genotype after = net->genotype();
  for (size_t c = 0; c < 5; ++c) {
    if (c == 3) {
      for (const auto& e : after.cells[c].edges) EXPECT_EQ(e.op, "skip_connect");
    } else {
      EXPECT_EQ(after.cells[c], before.cells[c]) << "cell " << c;
    }
  }
  EXPECT_FALSE(at::allclose(net->forward(x), out_before));
  // Only cell 1's edge 5 moves.
  {
    at::NoGradGuard no_grad;
    net->arch_parameters()[0][1][5][0] = 10.0;
  }
  const Genotype one_edge = net->genotype();
  for (size_t c = 0; c < 5; ++c) {
    for (size_t e = 0; e < 8; ++e) {
      const bool moved = c == 1 && e == 5;
      EXPECT_EQ(one_edge.cells[c].edges[e].op == after.cells[c].edges[e].op, !moved) << c << " " << e;
    }
  }
}

TEST(S2Supernet, CollapseMonitorCoversEveryNormalCell) {
  auto net = s2_net(5);  // normal cells 0, 2, 4; reductions 1, 3
  for (int64_t c = 0; c < 5; ++c) prefer(*net, c, 0);  // all skip
  EXPECT_EQ(net->normal_edge_weights().sizes(), at::IntArrayRef({24, 2}));
  EXPECT_EQ(net->reduce_edge_weights().sizes(), at::IntArrayRef({16, 2}));
  CollapseFigures f = collapse_figures(net->normal_edge_weights(), net->reduce_edge_weights(), net->op_names(),
                                       net->genotype());
  EXPECT_DOUBLE_EQ(f.skip_share, 1.0);
  EXPECT_DOUBLE_EQ(f.parameter_free_share, 1.0);
  EXPECT_DOUBLE_EQ(f.none_weight_mean, 0.0);  // no none in s2
  ASSERT_EQ(f.normal_entropy.size(), 24u);
  ASSERT_EQ(f.reduce_entropy.size(), 16u);
  // Entropy of softmax(5, 0): closed form.
  const double p = 1.0 / (1.0 + std::exp(-5.0)), q = 1.0 - p;
  EXPECT_NEAR(f.normal_entropy[0], -(p * std::log(p) + q * std::log(q)), 1e-6);  // float softmax
  // Normal cell 2 turns to sep_conv_3x3: a third of the normal edges; a reduction changes nothing there.
  prefer(*net, 2, 1);
  prefer(*net, 3, 1);
  f = collapse_figures(net->normal_edge_weights(), net->reduce_edge_weights(), net->op_names(), net->genotype());
  EXPECT_NEAR(f.skip_share, 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(f.parameter_free_share, 24.0 / 40.0, 1e-12);  // 3 of 5 cells still all skip
  // Two cells are both reductions (2/3 = 0, 4/3 = 1): no normal edge at all.
  auto two = s2_net(2);
  EXPECT_EQ(two->normal_edge_weights().size(0), 0);
  f = collapse_figures(two->normal_edge_weights(), two->reduce_edge_weights(), two->op_names(), two->genotype());
  EXPECT_EQ(f.skip_share, 0.0);
  EXPECT_TRUE(f.normal_entropy.empty());
}

TEST(S2Search, ShortSearchOnSyntheticData) {
  SearchConfig c;
  c.dataset = "synthetic";
  c.space = "s2";
  c.train_subset = 64;
  c.channels = 4;
  c.layers = 3;
  c.epochs = 1;
  c.batch_size = 8;
  c.threads = 1;
  c.out_dir = temp_dir("search");
  Search search(c, load_search_dataset(c));
  const at::Tensor before = search.alphas_cells();
  EXPECT_EQ(before.sizes(), at::IntArrayRef({3, 8, 2}));
  EXPECT_THROW(search.alphas_normal(), Error);
  EXPECT_THROW(search.alphas_reduce(), Error);
  const EpochSummary s = search.run_epoch();
  ASSERT_TRUE(s.genotype.per_cell());
  EXPECT_EQ(s.genotype.cells.size(), 3u);
  EXPECT_EQ(s.genotype, search.genotype());
  const at::Tensor after = search.alphas_cells();
  for (int64_t i = 0; i < 3; ++i) EXPECT_FALSE(at::equal(before[i], after[i])) << "cell " << i;

  // The metrics line: per-cell alpha softmax, collapse figures over the normal cell (cell 0), genotype v2.
  const boost::json::object line = boost::json::parse(s.json).as_object();
  const auto& alphas = line.at("alpha_softmax").as_object();
  EXPECT_FALSE(alphas.contains("normal"));
  const auto& cells = alphas.at("cells").as_array();
  ASSERT_EQ(cells.size(), 3u);
  ASSERT_EQ(cells[2].as_array().size(), 8u);
  const auto& row = cells[2].as_array()[7].as_array();
  ASSERT_EQ(row.size(), 2u);
  EXPECT_NEAR(row[0].as_double() + row[1].as_double(), 1.0, 1e-6);  // a float softmax
  const at::Tensor softmax = at::softmax(after.to(at::kDouble), -1);
  EXPECT_NEAR(row[1].as_double(), softmax[2][7][1].item<double>(), 1e-6);
  EXPECT_EQ(alphas.at("reduction").as_array(), boost::json::array({false, true, true}));
  EXPECT_EQ(line.at("collapse").as_object().at("normal_entropy").as_array().size(), 8u);
  EXPECT_EQ(line.at("genotype").as_object().at("version").as_int64(), 2);

  // genotype.json is version 2; no genotype.txt (the DARTS text form has shared cells only).
  std::ifstream in(c.out_dir + "/genotype.json");
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(genotype_from_json(text.str()), s.genotype);
  EXPECT_FALSE(std::filesystem::exists(c.out_dir + "/genotype.txt"));
  std::filesystem::remove_all(c.out_dir);
}

TEST(S2Search, SharedSpacesKeepTheirAlphas) {
  SearchConfig c;
  c.dataset = "synthetic";
  c.space = "s1";
  c.train_subset = 32;
  c.channels = 2;
  c.layers = 2;
  c.batch_size = 8;
  c.threads = 1;
  c.out_dir = temp_dir("shared");
  Search search(c, load_search_dataset(c));
  EXPECT_EQ(search.alphas_normal().sizes(), at::IntArrayRef({8, 8}));
  EXPECT_THROW(search.alphas_cells(), Error);
  std::filesystem::remove_all(c.out_dir);
}

// ---------------------------------------------------------------------------
// The evaluation network of a per-cell genotype.

// Two intermediate nodes on the s2 chain; `ops` one letter per edge: s = skip, c = sep_conv_3x3.
CellGenotype chain_cell(const std::string& ops) {
  CellGenotype cell;
  for (size_t k = 0; k < ops.size(); ++k) {
    const int to = 2 + static_cast<int>(k / 2);
    cell.edges.push_back({ops[k] == 's' ? "skip_connect" : "sep_conv_3x3", k % 2 == 0 ? 0 : to - 1, to});
  }
  for (int n = 2; n < 2 + static_cast<int>(ops.size() / 2); ++n) cell.concat.push_back(n);
  return cell;
}

Genotype per_cell(const std::vector<std::string>& cells) {
  Genotype g;
  g.space = "s2";
  for (size_t i = 0; i < cells.size(); ++i) {
    g.cells.push_back(chain_cell(cells[i]));
    g.reduction.push_back(is_reduction_layer(static_cast<int64_t>(i), static_cast<int64_t>(cells.size())));
  }
  return g;
}

NetworkOptions tiny_options() {
  NetworkOptions o;
  o.in_channels = 1;
  o.num_classes = 2;
  o.channels = 2;
  o.layers = 3;
  return o;
}

TEST(S2Network, ParameterCountByHand) {
  // C = 2, 3 cells: cell 0 normal (c = 2), cells 1 and 2 reductions (c = 4, 8).
  // stem: conv 1->6 3x3 (54) + BN (12) = 66.
  // cell 0 "ssss": preprocess 6->2 twice (12 + 4 each) = 32; identities 0.       -> 32, c_out 4
  // cell 1 "cccc": preprocess0 6->4 (24 + 8), preprocess1 4->4 (16 + 8) = 56;
  //   sep_conv_3x3 at c = 4: 2 * (4*9 + 4*4 + 2*4) = 120, four of them = 480.     -> 536, c_out 8
  // cell 2 "scsc": preprocess0 factorized reduce 4->8 (2*4*4 + 16 = 48), preprocess1 8->8 (64 + 16 = 80);
  //   skip at stride 2 = factorized reduce 8->8 (2*8*4 + 16 = 80), twice = 160;
  //   sep_conv_3x3 at c = 8: 2 * (72 + 64 + 16) = 304, twice = 608.               -> 896, c_out 16
  // classifier 16 -> 2: 34.   Total 66 + 32 + 536 + 896 + 34 = 1564.
  const Genotype g = per_cell({"ssss", "cccc", "scsc"});
  Network net(g, tiny_options(), at::make_generator<at::CPUGeneratorImpl>(1));
  EXPECT_EQ(net.parameter_count(), 1564);
  // Swapping cells 1 and 2: cell 1 "scsc" at c = 4: 56 + 2 * (2*4*2 + 8) + 2 * 120 = 56 + 48 + 240 = 344;
  // cell 2 "cccc" at c = 8: 128 + 4 * 304 = 1344.   Total 66 + 32 + 344 + 1344 + 34 = 1820.
  Network swapped(per_cell({"ssss", "scsc", "cccc"}), tiny_options(), at::make_generator<at::CPUGeneratorImpl>(1));
  EXPECT_EQ(swapped.parameter_count(), 1820);
  EXPECT_EQ(net.forward(at::randn({2, 1, 8, 8})).logits.sizes(), at::IntArrayRef({2, 2}));
  // Cell i holds cells[i]'s operations: cell 0 has only identities.
  int64_t cell0 = 0;
  for (const auto& item : net.named_parameters())
    if (item.key().rfind("cell0.op", 0) == 0) cell0 += item.value().numel();
  EXPECT_EQ(cell0, 0);
}

TEST(S2Network, LayerCountMustMatchTheGenotype) {
  const Genotype g = per_cell({"ssss", "cccc", "scsc"});
  NetworkOptions o = tiny_options();
  o.layers = 8;
  try {
    Network net(g, o, at::make_generator<at::CPUGeneratorImpl>(1));
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::invalid_argument);
    const std::string m = e.what();
    EXPECT_NE(m.find("3 cells"), std::string::npos) << m;
    EXPECT_NE(m.find("layers is 8"), std::string::npos) << m;
  }
  EXPECT_THROW(count_multiply_adds(g, o, 8, 8), Error);
}

TEST(S2Network, TrainsThroughTheTrainerAndSavesTheGenotype) {
  TrainConfig c;
  c.dataset = "synthetic";
  c.train_subset = 64;
  c.test_subset = 32;
  c.channels = 4;
  c.layers = 3;
  c.epochs = 1;
  c.batch_size = 16;
  c.threads = 1;
  c.seed = 1;
  c.out_dir = temp_dir("train");
  std::filesystem::create_directories(c.out_dir);
  const Genotype g = per_cell({"cscscscs", "sscccccs", "ccsccssc"});
  Trainer trainer(g, c, load_train_dataset(c, /*train=*/true));
  trainer.run_epoch();
  const EvalResult r = trainer.evaluate(load_train_dataset(c, /*train=*/false));
  EXPECT_EQ(r.samples, 32);
  EXPECT_TRUE(std::isfinite(r.loss));
  const std::string path = c.out_dir + "/model.pt";
  trainer.save(path);
  auto loaded = Trainer::load(path);
  EXPECT_EQ(loaded->genotype(), g);
  EXPECT_EQ(loaded->network().parameter_count(), trainer.network().parameter_count());
  c.layers = 4;
  EXPECT_THROW(Trainer(g, c, load_train_dataset(c, /*train=*/true)), Error);
  std::filesystem::remove_all(c.out_dir);
}

}  // namespace
}  // namespace adarts
