#include "nn/convolution.h"

#include <ATen/ops/convolution.h>
#include <ATen/ops/convolution_backward.h>
#include <torch/csrc/autograd/custom_function.h>

#include <tuple>
#include <variant>
#include <vector>

#include "runtime/torch_compat.h"

namespace adarts {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

struct Geometry {
  std::vector<int64_t> stride, padding, dilation;
  int64_t groups = 1;
};

void save_geometry(AutogradContext* ctx, const Geometry& g) {
  ctx->saved_data["stride"] = g.stride;
  ctx->saved_data["padding"] = g.padding;
  ctx->saved_data["dilation"] = g.dilation;
  ctx->saved_data["groups"] = g.groups;
}

Geometry load_geometry(AutogradContext* ctx) {
  return {ctx->saved_data["stride"].toIntVector(), ctx->saved_data["padding"].toIntVector(),
          ctx->saved_data["dilation"].toIntVector(), ctx->saved_data["groups"].toInt()};
}

at::Tensor convolve(const at::Tensor& x, const at::Tensor& w, const Geometry& g) {
  return at::convolution(x, w, {}, g.stride, g.padding, g.dilation, /*transposed=*/false, {0, 0}, g.groups);
}

// LibTorch's backward kernels: x and w give shapes and layout where their
// values are not needed.
at::Tensor input_gradient(const at::Tensor& gy, const at::Tensor& x, const at::Tensor& w, const Geometry& g) {
  return std::get<0>(at::convolution_backward(gy, x, w, c10::nullopt, g.stride, g.padding, g.dilation, false, {0, 0},
                                              g.groups, {true, false, false}));
}

at::Tensor weight_gradient(const at::Tensor& gy, const at::Tensor& x, const at::Tensor& w, const Geometry& g) {
  return std::get<1>(at::convolution_backward(gy, x, w, c10::nullopt, g.stride, g.padding, g.dilation, false, {0, 0},
                                              g.groups, {false, true, false}));
}

// gx = B_x(gy, w), bilinear. <ggx, gx> = <gy, conv(ggx, w)>, so its
// derivatives are conv(ggx, w) for gy and the weight gradient of that
// convolution for w. x only gives the shape.
struct InputGradient : public torch::autograd::Function<InputGradient> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& gy, const at::Tensor& w, const at::Tensor& x,
                            const Geometry& g) {
    ctx->save_for_backward({gy, w});
    save_geometry(ctx, g);
    return input_gradient(gy, x, w, g);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const variable_list saved = ctx->get_saved_variables();
    const at::Tensor &gy = saved[0], &w = saved[1], &ggx = grads[0];
    const Geometry g = load_geometry(ctx);
    at::Tensor d_gy, d_w;
    if (ctx->needs_input_grad(0)) d_gy = convolve(ggx, w, g);
    if (ctx->needs_input_grad(1)) d_w = weight_gradient(gy, ggx, w, g);
    return {d_gy, d_w, at::Tensor(), at::Tensor()};
  }
};

// gw = B_w(gy, x), bilinear. <ggw, gw> = <gy, conv(x, ggw)>, so its
// derivatives are conv(x, ggw) for gy and the input gradient of that
// convolution for x. w only gives the shape.
struct WeightGradient : public torch::autograd::Function<WeightGradient> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& gy, const at::Tensor& x, const at::Tensor& w,
                            const Geometry& g) {
    ctx->save_for_backward({gy, x});
    save_geometry(ctx, g);
    return weight_gradient(gy, x, w, g);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const variable_list saved = ctx->get_saved_variables();
    const at::Tensor &gy = saved[0], &x = saved[1], &ggw = grads[0];
    const Geometry g = load_geometry(ctx);
    at::Tensor d_gy, d_x;
    if (ctx->needs_input_grad(0)) d_gy = convolve(x, ggw, g);
    if (ctx->needs_input_grad(1)) d_x = input_gradient(gy, x, ggw, g);
    return {d_gy, d_x, at::Tensor(), at::Tensor()};
  }
};

struct Convolution : public torch::autograd::Function<Convolution> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& w, const Geometry& g) {
    ctx->save_for_backward({x, w});
    save_geometry(ctx, g);
    return convolve(x, w, g);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const variable_list saved = ctx->get_saved_variables();
    const at::Tensor &x = saved[0], &w = saved[1], &gy = grads[0];
    const Geometry g = load_geometry(ctx);
    at::Tensor gx, gw;
    if (!at::GradMode::is_enabled()) {
      // No second differentiation: the one call of torch::nn::Conv2d's own backward node.
      std::tie(gx, gw, std::ignore) =
          at::convolution_backward(gy, x, w, c10::nullopt, g.stride, g.padding, g.dilation, false, {0, 0}, g.groups,
                                   {ctx->needs_input_grad(0), ctx->needs_input_grad(1), false});
    } else {
      if (ctx->needs_input_grad(0)) gx = InputGradient::apply(gy, w, x, g);
      if (ctx->needs_input_grad(1)) gw = WeightGradient::apply(gy, x, w, g);
    }
    return {gx, gw, at::Tensor()};
  }
};

std::vector<int64_t> pair(torch::ExpandingArray<2> a) { return {a->at(0), a->at(1)}; }

}  // namespace

at::Tensor twice_differentiable_conv2d(torch::nn::Conv2dImpl& conv, const at::Tensor& x) {
  // Autocast casts inside the convolution, which a custom function would not
  // see; a bias is not in the DARTS operations (they all pad with zeros).
  if (conv.bias.defined() || torch_compat::autocast_enabled(x.device().type()) ||
      x.scalar_type() != conv.weight.scalar_type()) {
    return conv.forward(x);
  }
  const auto& o = conv.options;
  // The padding is a variant: c10's in LibTorch 1.13 (found by argument-dependent lookup), std's in 2.x.
  using std::get_if;
  const auto* padding = get_if<torch::ExpandingArray<2>>(&o.padding());
  if (!padding) return conv.forward(x);  // "same" or "valid"
  const Geometry g{pair(o.stride()), pair(*padding), pair(o.dilation()), o.groups()};
  return Convolution::apply(x, conv.weight, g);
}

}  // namespace adarts
