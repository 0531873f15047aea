#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "adarts/config.h"
#include "adarts/error.h"
#include "adarts/monitor.h"
#include "adarts/op_names.h"
#include "adarts/search.h"
#include "adarts/search_space.h"
#include "adarts/supernet.h"

namespace adarts {
namespace {

std::vector<std::pair<int, int>> pairs(const std::vector<CellEdge>& edges) {
  std::vector<std::pair<int, int>> out;
  for (const auto& e : edges) out.emplace_back(e.from, e.to);
  return out;
}

TEST(SearchSpace, EdgeListsAndOps) {
  const SearchSpace darts = make_search_space("darts");
  EXPECT_EQ(darts.edges.size(), 14u);
  EXPECT_EQ(darts.ops, darts_op_names());
  EXPECT_FALSE(darts.per_cell_alphas);
  const SearchSpace s1 = make_search_space("s1");
  // Node i takes c_{k-2} (0) and node i-1; the first node's i-1 is c_{k-1}.
  EXPECT_EQ(pairs(s1.edges), (std::vector<std::pair<int, int>>{{0, 2}, {1, 2}, {0, 3}, {2, 3}, {0, 4}, {3, 4}, {0, 5}, {4, 5}}));
  EXPECT_EQ(s1.ops.size(), 8u);
  const SearchSpace s2 = make_search_space("s2");
  EXPECT_EQ(pairs(s2.edges), pairs(s1.edges));
  EXPECT_EQ(s2.ops, (std::vector<std::string>{"skip_connect", "sep_conv_3x3"}));
  EXPECT_TRUE(s2.per_cell_alphas);
  EXPECT_EQ(s2.default_layers, 20);
  EXPECT_EQ(make_search_space("darts", {"none", "sep_conv_3x3"}).ops.size(), 2u);
  EXPECT_THROW(make_search_space("s3"), Error);
  EXPECT_THROW(make_search_space("darts", {"conv_9x9"}), Error);
  EXPECT_THROW(make_search_space("darts", {"none"}), Error);
}

TEST(SearchSpace, CardinalitiesOfThePaper) {
  // darts: per cell prod_j C(j, 2) * 7^2 over j = 2..5 = 180 * 7^8; two cells.
  EXPECT_NEAR(log10_architecture_count(make_search_space("darts"), 8), 2 * (std::log10(180.0) + 8 * std::log10(7.0)), 1e-9);
  EXPECT_NEAR(log10_architecture_count(make_search_space("darts"), 8), std::log10(1.1e18), 0.02);
  EXPECT_NEAR(log10_architecture_count(make_search_space("s1"), 8), 16 * std::log10(7.0), 1e-9);  // 7^16 ~ 3.3e13
  EXPECT_NEAR(log10_architecture_count(make_search_space("s2"), 20), 160 * std::log10(2.0), 1e-9);  // 2^160 ~ 1.5e48
}

TEST(SearchSpace, S1SupernetKeepsItsFixedEdges) {
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(1);
  const SearchSpace s1 = make_search_space("s1");
  SupernetOptions o;
  o.channels = 4;
  o.layers = 3;
  o.edges = s1.edges;
  o.space = "s1";
  Supernet net(o, g);
  EXPECT_EQ(net.alphas_normal().sizes(), at::IntArrayRef({8, 8}));
  EXPECT_EQ(net.forward(at::randn({2, 1, 12, 12})).sizes(), at::IntArrayRef({2, 10}));
  {
    at::NoGradGuard no_grad;
    net.arch_parameters()[0].select(1, 0).fill_(4.0);  // none dominates: never kept
  }
  const Genotype genotype = net.genotype();
  EXPECT_EQ(genotype.space, "s1");
  ASSERT_EQ(genotype.normal.edges.size(), 8u);
  for (size_t i = 0; i < 8; ++i) {
    EXPECT_EQ(genotype.normal.edges[i].from, s1.edges[i].from);
    EXPECT_EQ(genotype.normal.edges[i].to, s1.edges[i].to);
    EXPECT_NE(genotype.normal.edges[i].op, "none");
  }
}

at::Tensor one_hot_rows(int64_t edges, const std::vector<std::string>& ops, const std::string& op) {
  at::Tensor w = at::zeros({edges, static_cast<int64_t>(ops.size())}, at::kDouble);
  const auto col = std::find(ops.begin(), ops.end(), op) - ops.begin();
  w.select(1, col).fill_(1.0);
  return w;
}

TEST(CollapseMonitor, FiguresOnHandSetWeights) {
  const auto& ops = darts_op_names();
  Genotype all_skip;
  for (int node = 2; node < 6; ++node) {
    all_skip.normal.edges.push_back({"skip_connect", 0, node});
    all_skip.normal.edges.push_back({"sep_conv_3x3", 1, node});
    all_skip.reduce.edges.push_back({"max_pool_3x3", 0, node});
    all_skip.reduce.edges.push_back({"max_pool_3x3", 1, node});
  }
  const at::Tensor skip = one_hot_rows(14, ops, "skip_connect");
  const CollapseFigures f = collapse_figures(skip, skip, ops, all_skip);
  EXPECT_DOUBLE_EQ(f.skip_share, 1.0);
  EXPECT_DOUBLE_EQ(f.none_weight_mean, 0.0);
  EXPECT_DOUBLE_EQ(f.parameter_free_share, 12.0 / 16.0);
  ASSERT_EQ(f.normal_entropy.size(), 14u);
  EXPECT_NEAR(f.normal_entropy[0], 0.0, 1e-12);

  // Uniform weights: none holds 1/8, entropy log(8); with none strongest, skip is judged without it.
  const at::Tensor uniform = at::full({14, 8}, 1.0 / 8, at::kDouble);
  const CollapseFigures u = collapse_figures(uniform, uniform, ops, all_skip);
  EXPECT_NEAR(u.none_weight_mean, 0.125, 1e-12);
  EXPECT_NEAR(u.normal_entropy[5], std::log(8.0), 1e-12);
  at::Tensor none_then_skip = one_hot_rows(14, ops, "none") * 0.7 + one_hot_rows(14, ops, "skip_connect") * 0.3;
  EXPECT_DOUBLE_EQ(collapse_figures(none_then_skip, uniform, ops, all_skip).skip_share, 1.0);
  EXPECT_NEAR(collapse_figures(none_then_skip, uniform, ops, all_skip).none_weight_mean, 0.7, 1e-12);
}

TEST(SearchSpace, ShortS1SearchWritesCollapseFigures) {
  SearchConfig c;
  c.dataset = "synthetic";
  c.space = "s1";
  c.train_subset = 64;
  c.channels = 4;
  c.layers = 2;
  c.epochs = 1;
  c.batch_size = 8;
  c.threads = 1;
  c.out_dir = (std::filesystem::temp_directory_path() / ("adarts_s1_" + std::to_string(::getpid()))).string();
  Search search(c, load_search_dataset(c));
  const EpochSummary s = search.run_epoch();
  EXPECT_EQ(s.genotype.space, "s1");
  EXPECT_NE(s.json.find("\"collapse\""), std::string::npos);
  EXPECT_GT(s.collapse.none_weight_mean, 0.0);
  EXPECT_LT(s.collapse.none_weight_mean, 1.0);
  c.space = "s2";
  validate(c);  // per-cell alphas are supported (tests/test_s2.cpp)
}

TEST(SearchSpace, OpListsAreCommaSeparatedWithBlanksAroundNames) {
  EXPECT_EQ(parse_op_list("sep_conv_3x3, skip_connect"), (std::vector<std::string>{"sep_conv_3x3", "skip_connect"}));
  EXPECT_EQ(parse_op_list(" none ,\tmax_pool_3x3,, "), (std::vector<std::string>{"none", "max_pool_3x3"}));
  EXPECT_TRUE(parse_op_list("").empty());
  EXPECT_TRUE(parse_op_list(" , ").empty());
}

}  // namespace
}  // namespace adarts
