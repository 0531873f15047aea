// The DARTS search network: cells of mixed operations weighted by
// softmax(alpha), reduction cells at layers/3 and 2*layers/3, a stem and a
// classifier. Alphas are kept apart from the network weights.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include <string>
#include <vector>

#include "adarts/estimator.h"
#include "adarts/genotype.h"
#include "adarts/operations.h"
#include "adarts/search_space.h"

namespace adarts {

struct SupernetOptions {
  int64_t in_channels = 1;
  int64_t num_classes = 10;
  int64_t channels = 16;  // C of the first cells
  int64_t layers = 8;     // number of cells
  int64_t steps = 4;      // intermediate nodes per cell
  int64_t multiplier = 4; // intermediate nodes concatenated into the output
  int64_t stem_multiplier = 3;
  std::vector<std::string> ops;  // candidate operations; empty = darts_op_names()
  std::vector<CellEdge> edges;   // the edges of a cell; empty = every earlier node (darts)
  int inputs_per_node = 2;       // inputs each node keeps in the derived genotype
  std::string space = "darts";   // the name written into derived genotypes
  bool per_cell_alphas = false;  // s2: one alpha set per cell instead of a shared normal and reduce set
  at::ScalarType dtype = at::kFloat;  // kDouble for numerical checks
  bool channels_last = true;          // NHWC activations and weights (faster CPU convolutions)
};

// Number of edges of a dense (darts) cell with `steps` intermediate nodes (14 for 4).
int64_t cell_edge_count(int64_t steps);

// One edge: the weighted sum of every candidate operation.
class MixedOp : public torch::nn::Module {
 public:
  MixedOp(const std::vector<std::string>& ops, int64_t channels, int64_t stride);
  // `weights` is the edge's softmax row.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& weights);

 private:
  std::vector<std::shared_ptr<Operation>> ops_;  // nullptr for `none`: it adds nothing
};

class SearchCell : public torch::nn::Module {
 public:
  SearchCell(const SupernetOptions& options, int64_t c_prev_prev, int64_t c_prev, int64_t c,
             bool reduction, bool reduction_prev);
  at::Tensor forward(const at::Tensor& s0, const at::Tensor& s1, const at::Tensor& weights);
  bool reduction() const { return reduction_; }

 private:
  bool reduction_;
  int64_t steps_, multiplier_;
  std::vector<CellEdge> edge_list_;
  std::shared_ptr<Operation> preprocess0_, preprocess1_;
  std::vector<std::shared_ptr<MixedOp>> edges_;
};

class Supernet : public torch::nn::Module, public BilevelProblem {
 public:
  // Weights and alphas are drawn from `generator` (on the CPU) and then moved to `device`.
  Supernet(SupernetOptions options, at::Generator& generator, at::Device device = at::kCPU);

  at::Tensor forward(const at::Tensor& images);

  // BilevelProblem: w = every module parameter, a = {alphas_normal, alphas_reduce}
  // for shared alphas, {alphas_cells} for per-cell alphas.
  TensorList weights() override { return parameters(); }
  TensorList arch_parameters() override;
  at::Tensor loss(const Batch& batch) override;

  bool per_cell() const { return options_.per_cell_alphas; }
  // Shared alphas, [edges, ops] each; undefined tensors when per_cell().
  const at::Tensor& alphas_normal() const { return alphas_normal_; }
  const at::Tensor& alphas_reduce() const { return alphas_reduce_; }
  // Per-cell alphas, [layers, edges, ops]: row i belongs to cell i; undefined unless per_cell().
  const at::Tensor& alphas_cells() const { return alphas_cells_; }
  // softmax(alpha) of every normal (reduction) edge as [rows, ops]: the shared
  // set, or for per-cell alphas the edges of every normal (reduction) cell,
  // cell by cell ([0, ops] when there is no such cell). No gradient.
  at::Tensor normal_edge_weights() const;
  at::Tensor reduce_edge_weights() const;
  const SupernetOptions& options() const { return options_; }
  const std::vector<std::string>& op_names() const { return options_.ops; }
  at::Device device() const { return device_; }

  // The genotype derived from the current alphas (top-2 inputs per node, never
  // none); per-cell alphas give a per-cell genotype, one cell per layer.
  Genotype genotype() const;

 private:
  SupernetOptions options_;
  at::Device device_;
  torch::nn::Conv2d stem_conv_{nullptr};
  torch::nn::BatchNorm2d stem_bn_{nullptr};
  std::vector<std::shared_ptr<SearchCell>> cells_;
  torch::nn::Linear classifier_{nullptr};
  at::Tensor alphas_normal_, alphas_reduce_;
  at::Tensor alphas_cells_;
};

}  // namespace adarts
