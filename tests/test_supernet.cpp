#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/csrc/autograd/autograd.h>

#include "adarts/error.h"
#include "adarts/op_names.h"
#include "adarts/supernet.h"
#include "nn/convolution.h"
#include "nn/weighted_sum.h"

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

// The geometries of the DARTS operations: depthwise 3x3 and 5x5 (strided in
// reduction cells), dilated depthwise, strided 1x1 (factorized reduce), 1x1.
struct ConvCase {
  int64_t c_in, c_out, kernel, stride, padding, dilation, groups;
};
const ConvCase kConvCases[] = {{3, 3, 3, 1, 1, 1, 3}, {3, 3, 5, 2, 2, 1, 3}, {3, 3, 3, 2, 2, 2, 3},
                               {3, 3, 5, 1, 4, 2, 3}, {3, 2, 1, 2, 0, 1, 1}, {3, 4, 1, 1, 0, 1, 1}};

std::string describe(const ConvCase& c) {
  return "kernel " + std::to_string(c.kernel) + " stride " + std::to_string(c.stride) + " dilation " +
         std::to_string(c.dilation) + " groups " + std::to_string(c.groups);
}

torch::nn::Conv2d make_conv(const ConvCase& c, at::ScalarType dtype) {
  torch::nn::Conv2d conv(torch::nn::Conv2dOptions(c.c_in, c.c_out, c.kernel)
                             .stride(c.stride)
                             .padding(c.padding)
                             .dilation(c.dilation)
                             .groups(c.groups)
                             .bias(false));
  conv->to(dtype);
  return conv;
}

// Without a second differentiation the backward pass is LibTorch's own call:
// the same bits as torch::nn::Conv2d, in float, channels-last like the supernet.
TEST(TwiceDifferentiableConv, FirstDerivativesAreBitIdenticalToConv2d) {
  for (const ConvCase& c : kConvCases) {
    SCOPED_TRACE(describe(c));
    at::Generator g = at::make_generator<at::CPUGeneratorImpl>(5);
    torch::nn::Conv2d conv = make_conv(c, at::kFloat);
    const at::Tensor x = at::randn({2, c.c_in, 9, 9}, g, at::kFloat)
                             .contiguous(at::MemoryFormat::ChannelsLast)
                             .set_requires_grad(true);
    const at::Tensor y_ours = twice_differentiable_conv2d(*conv, x), y_ref = conv(x);
    ASSERT_TRUE(at::equal(y_ours, y_ref));
    const at::Tensor gy = at::randn(y_ref.sizes(), g, at::kFloat);
    const auto ours = torch::autograd::grad({y_ours}, {x, conv->weight}, {gy});
    const auto ref = torch::autograd::grad({y_ref}, {x, conv->weight}, {gy});
    EXPECT_TRUE(at::equal(ours[0], ref[0]));
    EXPECT_TRUE(at::equal(ours[1], ref[1]));
  }
}

// Second derivatives: d/d(x, w, gy) of <a, dL/dx> + <b, dL/dw> for
// L = <gy, conv(x, w)>, against LibTorch's _convolution_double_backward, in
// double. Both are exact; they differ only in the order of the sums, so
// relative 1e-12 bounds the difference with room.
TEST(TwiceDifferentiableConv, SecondDerivativesMatchLibTorchsDoubleBackward) {
  for (const ConvCase& c : kConvCases) {
    SCOPED_TRACE(describe(c));
    at::Generator g = at::make_generator<at::CPUGeneratorImpl>(6);
    torch::nn::Conv2d conv = make_conv(c, at::kDouble);
    const at::Tensor x = at::randn({2, c.c_in, 9, 9}, g, at::kDouble).set_requires_grad(true);
    auto second = [&](bool ours) {
      const at::Tensor y = ours ? twice_differentiable_conv2d(*conv, x) : conv(x);
      at::Generator h = at::make_generator<at::CPUGeneratorImpl>(7);
      const at::Tensor gy = at::randn(y.sizes(), h, at::kDouble).set_requires_grad(true);
      const auto first = torch::autograd::grad({y}, {x, conv->weight}, {gy}, /*retain_graph=*/true,
                                               /*create_graph=*/true);
      const at::Tensor a = at::randn(first[0].sizes(), h, at::kDouble), b = at::randn(first[1].sizes(), h, at::kDouble);
      const at::Tensor probe = (first[0] * a).sum() + (first[1] * b).sum();
      return torch::autograd::grad({probe}, {x, conv->weight, gy}, {}, false, false, /*allow_unused=*/true);
    };
    const auto ours = second(true), ref = second(false);
    for (size_t i = 0; i < ref.size(); ++i) {
      ASSERT_TRUE(ours[i].defined() && ref[i].defined()) << "input " << i;
      const double scale = ref[i].abs().max().item<double>();
      EXPECT_GT(scale, 0.0) << "input " << i;
      EXPECT_LT((ours[i] - ref[i]).abs().max().item<double>(), 1e-12 * scale) << "input " << i;
    }
  }
}


// The operands of one mixed edge: K outputs in channels-last layout and a
// 0-dim or per-sample ([N, 1, 1, 1], drop-path) scale each.
struct EdgeSumCase {
  std::vector<at::Tensor> ys, scales;
};

EdgeSumCase edge_sum_case(at::ScalarType dtype, bool per_sample, uint64_t seed) {
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(seed);
  EdgeSumCase c;
  for (int k = 0; k < 6; ++k) {
    c.ys.push_back(at::randn({3, 5, 9, 11}, g, dtype).contiguous(at::MemoryFormat::ChannelsLast).set_requires_grad(true));
    const at::Tensor s = per_sample && k % 2 ? at::rand({3, 1, 1, 1}, g, dtype) : at::rand({}, g, dtype);
    c.scales.push_back(s.set_requires_grad(true));
  }
  return c;
}

at::Tensor unfused_edge_sum(const EdgeSumCase& c) {
  at::Tensor sum;
  for (size_t k = 0; k < c.ys.size(); ++k) {
    const at::Tensor y = c.ys[k] * c.scales[k];
    sum = sum.defined() ? sum + y : y;
  }
  return sum;
}

std::vector<at::Tensor> edge_sum_inputs(const EdgeSumCase& c) {
  std::vector<at::Tensor> all(c.ys);
  all.insert(all.end(), c.scales.begin(), c.scales.end());
  return all;
}

// Forward: the same bits as the unfused expression, in float. Backward: the
// operations' gradients are one multiplication each (the same bits); the
// scales' gradients <g, y_k> are summed in double, so in float they are the
// correctly rounded sums (the unfused float sum is within 1e-5 of them),
// and in double both are exact up to the order of the sums (1e-12).
TEST(FusedEdgeSum, ForwardIsBitIdenticalAndGradientsMatchTheUnfusedExpression) {
  for (const at::ScalarType dtype : {at::kFloat, at::kDouble}) {
    for (const bool per_sample : {false, true}) {
      SCOPED_TRACE(std::string(at::toString(dtype)) + (per_sample ? " per-sample scales" : " 0-dim scales"));
      const EdgeSumCase c = edge_sum_case(dtype, per_sample, 8);
      const at::Tensor fused = weighted_sum(c.ys, c.scales), reference = unfused_edge_sum(c);
      EXPECT_TRUE(at::equal(fused, reference));
      at::Generator h = at::make_generator<at::CPUGeneratorImpl>(9);
      const at::Tensor g = at::randn(fused.sizes(), h, dtype);
      const auto a = torch::autograd::grad({fused}, edge_sum_inputs(c), {g});
      const auto b = torch::autograd::grad({reference}, edge_sum_inputs(c), {g});
      for (size_t k = 0; k < c.ys.size(); ++k) EXPECT_TRUE(at::equal(a[k], b[k])) << "d/dy " << k;
      const double tolerance = dtype == at::kFloat ? 1e-5 : 1e-12;
      for (size_t k = c.ys.size(); k < a.size(); ++k) {
        const double scale = b[k].abs().max().item<double>();
        EXPECT_LT((a[k] - b[k]).abs().max().item<double>(), tolerance * scale) << "d/ds " << k - c.ys.size();
      }
    }
  }
}

// Tiles of fixed size, summed in order: the same bits for any thread count.
TEST(FusedEdgeSum, GradientsDoNotDependOnTheThreadCount) {
  const int threads = at::get_num_threads();
  std::vector<std::vector<at::Tensor>> runs;
  for (const int n : {1, 2, 3}) {
    at::set_num_threads(n);
    const EdgeSumCase c = edge_sum_case(at::kFloat, true, 10);
    const at::Tensor y = weighted_sum(c.ys, c.scales);
    runs.push_back(torch::autograd::grad({y.square().sum()}, edge_sum_inputs(c)));
  }
  at::set_num_threads(threads);
  for (size_t r = 1; r < runs.size(); ++r) {
    for (size_t i = 0; i < runs[0].size(); ++i) EXPECT_TRUE(at::equal(runs[r][i], runs[0][i])) << "run " << r << " input " << i;
  }
}

// Second derivatives go through the unfused derivatives: the Hessian of a
// smooth function of the sum matches the unfused expression's (double).
TEST(FusedEdgeSum, TwiceDifferentiable) {
  const EdgeSumCase c = edge_sum_case(at::kDouble, true, 11);
  auto hessian_probe = [&](bool fused) {
    set_fused_weighted_sum(fused);
    const at::Tensor y = weighted_sum(c.ys, c.scales);
    const auto first = torch::autograd::grad({y.tanh().sum()}, edge_sum_inputs(c), {}, true, true);
    at::Tensor probe = at::zeros({}, at::kDouble);
    for (const auto& d : first) probe = probe + d.sum();
    return torch::autograd::grad({probe}, edge_sum_inputs(c), {}, false, false, /*allow_unused=*/true);
  };
  const auto a = hessian_probe(true), b = hessian_probe(false);
  set_fused_weighted_sum(true);
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_TRUE(a[i].defined() && b[i].defined()) << "input " << i;
    EXPECT_LT((a[i] - b[i]).abs().max().item<double>(), 1e-12 * (1.0 + b[i].abs().max().item<double>())) << "input " << i;
  }
}

}  // namespace
}  // namespace adarts
