// Genotypes: the discrete architecture a search ends with. Derivation from
// architecture weights, the versioned JSON form, the original DARTS text form
// and human-readable inspection.
#pragma once

#include <ATen/ATen.h>

#include <string>
#include <vector>

namespace adarts {

// One kept edge of a cell: node `to` takes `op(node from)`. Nodes 0 and 1 are
// the cell inputs c_{k-2} and c_{k-1}; intermediate nodes are 2, 3, ...
struct GenotypeEdge {
  std::string op;
  int from = 0;
  int to = 2;
  bool operator==(const GenotypeEdge& o) const { return op == o.op && from == o.from && to == o.to; }
};

struct CellGenotype {
  std::vector<GenotypeEdge> edges;  // sorted by `to`, each intermediate node has its inputs
  std::vector<int> concat;          // nodes concatenated into the cell output
  bool operator==(const CellGenotype& o) const { return edges == o.edges && concat == o.concat; }
};

// The genotype of a shared-cell space (darts, s1): one normal and one reduction
// cell used everywhere. Per-cell spaces will add a list of cells.
struct Genotype {
  std::string space = "darts";
  CellGenotype normal;
  CellGenotype reduce;
  bool operator==(const Genotype& o) const {
    return space == o.space && normal == o.normal && reduce == o.reduce;
  }
};

// DARTS derivation for one cell: `weights` is softmax(alpha) as [edges, ops],
// edges ordered node by node (node 2: from 0, 1; node 3: from 0, 1, 2; ...).
// For each intermediate node keep the `inputs_per_node` incoming edges whose
// strongest op other than `none` is strongest, and on each the strongest op
// other than `none`. `op_names` names the columns.
CellGenotype derive_cell(const at::Tensor& weights, const std::vector<std::string>& op_names,
                         int steps, int inputs_per_node = 2);

// Original DARTS text: Genotype(normal=[('sep_conv_3x3', 0), ...], normal_concat=[2, 3, 4, 5], ...)
std::string to_darts_text(const Genotype& genotype);
// Accepts `[2, 3, 4, 5]` and `range(2, 6)` concat forms, either quote style and
// any whitespace. Throws adarts::Error(parse_error) naming what is wrong.
Genotype from_darts_text(const std::string& text);

// Versioned JSON document {"format":"adarts.genotype","version":1,...}.
std::string to_json(const Genotype& genotype);
// Throws adarts::Error(parse_error) with a message naming the offending field.
Genotype genotype_from_json(const std::string& json);

// A readable table of each cell: node, input, op.
std::string to_table(const Genotype& genotype);

}  // namespace adarts
