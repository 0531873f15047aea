#include "nn/weighted_sum.h"

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <ATen/TensorIterator.h>  // at::internal::GRAIN_SIZE
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <atomic>
#include <vector>

namespace adarts {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

std::atomic<bool> fused{true};

// Elements per tile: large enough to stream, small enough for L1 across K inputs.
constexpr int64_t kTile = 2048;
// Tiles per thread at least: ATen's own grain for element-wise work, so small
// tensors stay on the calling thread (a parallel region per edge costs more
// than it saves there, and far more when threads are oversubscribed).
constexpr int64_t kGrainTiles = std::max<int64_t>(1, at::internal::GRAIN_SIZE / kTile);

at::Tensor unfused(at::TensorList ys, at::TensorList scales) {
  at::Tensor sum;
  for (size_t k = 0; k < ys.size(); ++k) {
    const at::Tensor y = ys[k] * scales[k];
    sum = sum.defined() ? sum + y : y;
  }
  return sum;
}

bool dense_per_sample(const at::Tensor& t) {
  return t.dim() == 4 && (t.is_contiguous() || t.is_contiguous(at::MemoryFormat::ChannelsLast));
}

// The fused kernels take CPU float/double operands of one shape and one
// dense layout (so sample n is the n-th block of numel / N elements), and
// 0-dim or per-sample scales of the same dtype.
bool fusable(at::TensorList ys, at::TensorList scales) {
  if (ys.empty() || ys.size() != scales.size()) return false;
  const at::Tensor& first = ys[0];
  if (!first.device().is_cpu() || (first.scalar_type() != at::kFloat && first.scalar_type() != at::kDouble) ||
      !dense_per_sample(first) || first.size(0) == 0) {
    return false;
  }
  for (size_t k = 0; k < ys.size(); ++k) {
    const at::Tensor &y = ys[k], &s = scales[k];
    if (!y.defined() || y.sizes() != first.sizes() || y.strides() != first.strides() ||
        y.scalar_type() != first.scalar_type() || !y.device().is_cpu()) {
      return false;
    }
    if (!s.device().is_cpu() || s.scalar_type() != first.scalar_type() ||
        !(s.dim() == 0 || (s.dim() == first.dim() && s.numel() == first.size(0) && s.size(0) == first.size(0)))) {
      return false;
    }
  }
  return true;
}

// Scale k of sample n, for every k, as a row-major [K][N] table.
template <typename T>
std::vector<T> scale_table(at::TensorList scales, int64_t samples) {
  std::vector<T> table(scales.size() * static_cast<size_t>(samples));
  for (size_t k = 0; k < scales.size(); ++k) {
    const at::Tensor s = scales[k].contiguous();
    const T* p = s.data_ptr<T>();
    for (int64_t n = 0; n < samples; ++n) table[k * static_cast<size_t>(samples) + n] = p[s.dim() == 0 ? 0 : n];
  }
  return table;
}

// sum_i a_i b_i in double over kLanes independent accumulators (so the loop
// vectorises without reassociating anything), then the lanes in order.
constexpr int64_t kLanes = 8;
template <typename T>
double tile_dot(const T* __restrict__ a, const T* __restrict__ b, int64_t n) {
  double lane[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int64_t j = 0; j < kLanes; ++j) lane[j] += static_cast<double>(a[i + j]) * static_cast<double>(b[i + j]);
  }
  for (; i < n; ++i) lane[i % kLanes] += static_cast<double>(a[i]) * static_cast<double>(b[i]);
  double dot = 0.0;
  for (double l : lane) dot += l;
  return dot;
}

// out = y * s and out += y * s over [0, n), without aliasing (vectorised).
template <typename T>
void scaled(T* __restrict__ out, const T* __restrict__ y, T s, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = y[i] * s;
}
template <typename T>
void add_scaled(T* __restrict__ out, const T* __restrict__ y, T s, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = out[i] + y[i] * s;  // rounded as y * s, then the sum
}

// The operands cut into tiles of kTile elements that never cross a sample.
struct Tiles {
  int64_t samples, per_sample, per_sample_tiles;
  explicit Tiles(const at::Tensor& t)
      : samples(t.size(0)), per_sample(t.numel() / t.size(0)), per_sample_tiles((per_sample + kTile - 1) / kTile) {}
  int64_t count() const { return samples * per_sample_tiles; }
  // fn(tile, sample, first element, end element) for every tile, in parallel.
  template <typename Fn>
  void for_each(const Fn& fn) const {
    at::parallel_for(0, count(), kGrainTiles, [&](int64_t begin, int64_t end) {
      for (int64_t tile = begin; tile < end; ++tile) {
        const int64_t n = tile / per_sample_tiles;
        const int64_t from = n * per_sample + (tile % per_sample_tiles) * kTile;
        fn(tile, n, from, std::min(from + kTile, (n + 1) * per_sample));
      }
    });
  }
};

template <typename T>
void forward_kernel(at::TensorList ys, at::TensorList scales, at::Tensor& out) {
  const Tiles tiles(out);
  const int64_t samples = tiles.samples;
  const std::vector<T> table = scale_table<T>(scales, samples);
  std::vector<const T*> in;
  for (const auto& y : ys) in.push_back(y.data_ptr<T>());
  T* o = out.data_ptr<T>();
  const size_t count = ys.size();
  tiles.for_each([&](int64_t, int64_t n, int64_t from, int64_t to) {
    scaled(o + from, in[0] + from, table[static_cast<size_t>(n)], to - from);
    for (size_t k = 1; k < count; ++k) {
      add_scaled(o + from, in[k] + from, table[k * static_cast<size_t>(samples) + n], to - from);
    }
  });
}

// d/dy_k = s_k g where wanted; <g, y_k> per sample (partial sums per tile in
// double, then summed tile by tile in order) for the scales that want one.
template <typename T>
void backward_kernel(const at::Tensor& g, at::TensorList ys, at::TensorList scales, const std::vector<bool>& want_y,
                     const std::vector<bool>& want_s, std::vector<at::Tensor>& grad_y, std::vector<at::Tensor>& grad_s) {
  const Tiles tiles(g);
  const int64_t samples = tiles.samples;
  const size_t count = ys.size();
  const std::vector<T> table = scale_table<T>(scales, samples);
  std::vector<const T*> in(count, nullptr);
  std::vector<T*> out(count, nullptr);
  for (size_t k = 0; k < count; ++k) {
    if (want_s[k]) in[k] = ys[k].data_ptr<T>();
    if (want_y[k]) out[k] = grad_y[k].data_ptr<T>();
  }
  std::vector<double> partial(static_cast<size_t>(tiles.count()) * count, 0.0);
  const T* gp = g.data_ptr<T>();
  tiles.for_each([&](int64_t tile, int64_t n, int64_t from, int64_t to) {
    for (size_t k = 0; k < count; ++k) {
      if (out[k]) scaled(out[k] + from, gp + from, table[k * static_cast<size_t>(samples) + n], to - from);
      if (in[k]) partial[static_cast<size_t>(tile) * count + k] = tile_dot(gp + from, in[k] + from, to - from);
    }
  });
  for (size_t k = 0; k < count; ++k) {
    if (!want_s[k]) continue;
    std::vector<double> per_sample_dot(static_cast<size_t>(samples), 0.0);
    for (int64_t tile = 0; tile < tiles.count(); ++tile) {
      per_sample_dot[static_cast<size_t>(tile / tiles.per_sample_tiles)] += partial[static_cast<size_t>(tile) * count + k];
    }
    at::Tensor s = at::empty(scales[k].sizes(), scales[k].options());
    T* sp = s.data_ptr<T>();
    if (s.dim() == 0) {
      double total = 0.0;
      for (double d : per_sample_dot) total += d;
      sp[0] = static_cast<T>(total);
    } else {
      for (int64_t n = 0; n < samples; ++n) sp[n] = static_cast<T>(per_sample_dot[static_cast<size_t>(n)]);
    }
    grad_s[k] = s;
  }
}

struct WeightedSum : public torch::autograd::Function<WeightedSum> {
  static at::Tensor forward(AutogradContext* ctx, at::TensorList ys, at::TensorList scales) {
    std::vector<at::Tensor> saved(ys.begin(), ys.end());
    saved.insert(saved.end(), scales.begin(), scales.end());
    ctx->save_for_backward(saved);
    at::Tensor out = at::empty_like(ys[0]);
    AT_DISPATCH_FLOATING_TYPES(out.scalar_type(), "adarts_weighted_sum", [&] { forward_kernel<scalar_t>(ys, scales, out); });
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const variable_list saved = ctx->get_saved_variables();
    const size_t count = saved.size() / 2;
    const std::vector<at::Tensor> ys(saved.begin(), saved.begin() + static_cast<std::ptrdiff_t>(count));
    const std::vector<at::Tensor> scales(saved.begin() + static_cast<std::ptrdiff_t>(count), saved.end());
    std::vector<bool> want_y(count), want_s(count);
    for (size_t k = 0; k < count; ++k) {
      want_y[k] = ctx->needs_input_grad(k);
      want_s[k] = ctx->needs_input_grad(count + k);
    }
    std::vector<at::Tensor> grad_y(count), grad_s(count);
    if (at::GradMode::is_enabled()) {
      // A second differentiation follows: the unfused derivatives, with their graph.
      for (size_t k = 0; k < count; ++k) {
        if (want_y[k]) grad_y[k] = grads[0] * scales[k];
        if (want_s[k]) grad_s[k] = (grads[0] * ys[k]).sum_to_size(scales[k].sizes());
      }
    } else {
      // The incoming gradient in the operands' layout (a channel slice of a
      // concatenation's gradient is not dense).
      const at::Tensor g = grads[0].strides() == ys[0].strides() ? grads[0] : grads[0].contiguous(ys[0].suggest_memory_format());
      for (size_t k = 0; k < count; ++k) {
        if (want_y[k]) grad_y[k] = at::empty_like(ys[k]);
      }
      AT_DISPATCH_FLOATING_TYPES(g.scalar_type(), "adarts_weighted_sum_backward",
                                 [&] { backward_kernel<scalar_t>(g, ys, scales, want_y, want_s, grad_y, grad_s); });
    }
    variable_list out(grad_y.begin(), grad_y.end());
    out.insert(out.end(), grad_s.begin(), grad_s.end());
    return out;
  }
};

}  // namespace

void set_fused_weighted_sum(bool on) { fused = on; }
bool fused_weighted_sum() { return fused; }

at::Tensor weighted_sum(at::TensorList ys, at::TensorList scales) {
  if (!fused || !fusable(ys, scales)) return unfused(ys, scales);
  return WeightedSum::apply(ys, scales);
}

}  // namespace adarts
