// Collapse monitoring (paper Figure 1): how much of the architecture weight
// goes to `none` and to parameter-free operations as a search goes on.
#pragma once

#include <ATen/ATen.h>

#include <string>
#include <vector>

#include "adarts/genotype.h"

namespace adarts {

struct CollapseFigures {
  double none_weight_mean = 0.0;      // mean softmax weight of `none` over normal edges (0 without none)
  double skip_share = 0.0;            // normal edges whose strongest op other than none is skip_connect
  double parameter_free_share = 0.0;  // kept genotype edges (normal and reduce; per-cell: every cell) with a parameter-free op
  std::vector<double> normal_entropy; // entropy (nats) of each normal edge's softmax
  std::vector<double> reduce_entropy;
};

// `normal` and `reduce` are softmax(alpha) as [edges, ops]; `ops` names the
// columns. Per-cell spaces pass the edges of every normal (reduction) cell,
// cell by cell (Supernet::normal_edge_weights), so the figures and entropies
// cover all normal cells.
CollapseFigures collapse_figures(const at::Tensor& normal, const at::Tensor& reduce,
                                 const std::vector<std::string>& ops, const Genotype& genotype);

}  // namespace adarts
