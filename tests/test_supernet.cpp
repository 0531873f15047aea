#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include "adarts/error.h"
#include "adarts/op_names.h"
#include "adarts/supernet.h"

namespace adarts {
namespace {

std::shared_ptr<Supernet> make_net(int64_t in_channels, int64_t channels, int64_t layers, uint64_t seed = 1) {
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(seed);
  SupernetOptions o;
  o.in_channels = in_channels;
  o.num_classes = 10;
  o.channels = channels;
  o.layers = layers;
  return std::make_shared<Supernet>(o, g);
}

TEST(Supernet, OutputShapeForFashionMnistAndCifarInputs) {
  auto mnist = make_net(1, 4, 3);
  EXPECT_EQ(mnist->forward(at::randn({2, 1, 28, 28})).sizes(), at::IntArrayRef({2, 10}));
  auto cifar = make_net(3, 4, 3);
  EXPECT_EQ(cifar->forward(at::randn({2, 3, 32, 32})).sizes(), at::IntArrayRef({2, 10}));
  // Odd resolutions after reduction (28 -> 14 -> 7 -> 4) must work too.
  auto deep = make_net(1, 4, 8);
  EXPECT_EQ(deep->forward(at::randn({2, 1, 28, 28})).sizes(), at::IntArrayRef({2, 10}));
}

TEST(Supernet, MultiplyAddsScaleWithTheImageAreaAndCountTheClassifierOnce) {
  auto net = make_net(3, 4, 3);  // reductions at cells 1 and 2: 16 -> 8 -> 4 and 8 -> 4 -> 2, no rounding
  const int64_t classifier = 10 * (4 * 4 * 4);  // 10 classes x (multiplier 4 x 4C after two reductions)
  const int64_t small = net->count_multiply_adds(8, 8), large = net->count_multiply_adds(16, 16);
  EXPECT_EQ(large - classifier, 4 * (small - classifier));
  EXPECT_GT(small, classifier);
  EXPECT_THROW(net->count_multiply_adds(0, 8), Error);
}

TEST(Supernet, AlphasHaveOneRowPerEdgeAndAreNotWeights) {
  auto net = make_net(1, 4, 3);
  EXPECT_EQ(cell_edge_count(4), 14);
  EXPECT_EQ(net->alphas_normal().sizes(), at::IntArrayRef({14, 8}));
  EXPECT_EQ(net->alphas_reduce().sizes(), at::IntArrayRef({14, 8}));
  EXPECT_TRUE(net->alphas_normal().requires_grad());
  for (const auto& w : net->weights()) {
    for (const auto& a : net->arch_parameters()) EXPECT_FALSE(w.is_same(a));
  }
  // 1e-3 * randn: small, not all equal.
  EXPECT_LT(net->alphas_normal().abs().max().item<double>(), 1e-2);
  EXPECT_GT(net->alphas_normal().std().item<double>(), 1e-4);
}

TEST(Supernet, ReductionCellsAtOneThirdAndTwoThirds) {
  std::vector<int64_t> reductions;
  for (int64_t l = 0; l < 8; ++l) {
    if (is_reduction_layer(l, 8)) reductions.push_back(l);
  }
  EXPECT_EQ(reductions, (std::vector<int64_t>{2, 5}));
}

TEST(Supernet, SameSeedSameInitialisation) {
  auto a = make_net(1, 4, 3, 5), b = make_net(1, 4, 3, 5), c = make_net(1, 4, 3, 6);
  const auto wa = a->weights(), wb = b->weights(), wc = c->weights();
  bool any_differs = false;
  for (size_t i = 0; i < wa.size(); ++i) {
    EXPECT_TRUE(at::equal(wa[i], wb[i]));
    any_differs = any_differs || !at::equal(wa[i], wc[i]);
  }
  EXPECT_TRUE(any_differs);
  EXPECT_TRUE(at::equal(a->alphas_normal(), b->alphas_normal()));
}

TEST(Supernet, GenotypeNeverKeepsNoneAndHasTwoInputsPerNode) {
  auto net = make_net(1, 4, 3);
  {
    at::NoGradGuard no_grad;
    net->arch_parameters()[0].zero_().select(1, 0).fill_(5.0);  // none dominates every normal edge
  }
  const Genotype g = net->genotype();
  ASSERT_EQ(g.normal.edges.size(), 8u);
  ASSERT_EQ(g.reduce.edges.size(), 8u);
  for (const auto& e : g.normal.edges) EXPECT_NE(e.op, "none");
  for (int node = 2; node < 6; ++node) {
    int inputs = 0;
    for (const auto& e : g.normal.edges) inputs += e.to == node;
    EXPECT_EQ(inputs, 2) << "node " << node;
  }
}

TEST(Supernet, OutputDependsOnAlphas) {
  auto net = make_net(1, 4, 3);
  net->eval();
  const at::Tensor x = at::randn({2, 1, 16, 16});
  const at::Tensor before = net->forward(x).detach();
  {
    at::NoGradGuard no_grad;
    net->arch_parameters()[0].select(1, 4).fill_(3.0);
  }
  EXPECT_FALSE(at::allclose(before, net->forward(x).detach()));
}

TEST(Supernet, RejectsUnknownOperation) {
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(1);
  SupernetOptions o;
  o.ops = {"sep_conv_3x3", "conv_7x7"};
  EXPECT_THROW(Supernet(o, g), Error);
}

}  // namespace
}  // namespace adarts
