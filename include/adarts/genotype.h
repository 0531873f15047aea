// Genotypes: the discrete architecture a search ends with. Derivation from
// architecture weights, the versioned JSON form, the original DARTS text form
// and human-readable inspection.
#pragma once

#include <ATen/ATen.h>

#include <string>
#include <vector>

#include "adarts/search_space.h"

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

// The same for any edge list (e.g. the fixed edges of s1/s2): `weights` has one
// row per entry of `edges`; each node keeps its `inputs_per_node` strongest inputs.
CellGenotype derive_cell_on_edges(const at::Tensor& weights, const std::vector<std::string>& op_names,
                                  const std::vector<CellEdge>& edges, int steps, int inputs_per_node = 2);

// Original DARTS text: Genotype(normal=[('sep_conv_3x3', 0), ...], normal_concat=[2, 3, 4, 5], ...)
// exactly as Python prints the namedtuple. Pair k of a cell is an input of node
// 2 + k / 2. The text form has no `space`; reading it gives "darts".
std::string to_darts_text(const Genotype& genotype);
// Accepts `[2, 3, 4, 5]` and `range(2, 6)` concat forms, either quote style,
// any whitespace, `#` comments, trailing commas, keywords in any order and an
// optional `NAME = Genotype` prefix. The inputs of a node keep their written
// order. Throws adarts::Error(parse_error) naming the position and what is wrong.
Genotype from_darts_text(const std::string& text);

// Versioned JSON document {"format":"adarts.genotype","version":1,...}.
std::string to_json(const Genotype& genotype);
// Throws adarts::Error(parse_error) with a message naming the offending field.
Genotype genotype_from_json(const std::string& json);

// The same document with a free-form "metadata" object appended (search
// settings, seed, accuracy, ...). `metadata_json` is the text of a JSON object;
// empty writes no metadata. Throws adarts::Error(invalid_argument) if it is not
// a JSON object.
std::string to_json(const Genotype& genotype, const std::string& metadata_json);
// Reads a document as genotype_from_json does and, when `metadata_json` is not
// null, stores its "metadata" object there as compact JSON text ("" when the
// document has none). to_json(genotype, *metadata_json) then writes the input
// document back byte for byte if to_json wrote it.
Genotype genotype_from_json(const std::string& json, std::string* metadata_json);

// Checks what the JSON reader checks (known space and ops, no `none`, edges
// pointing backwards, exactly two inputs per intermediate node, nodes numbered
// contiguously from 2, concat entries intermediate and unique). Throws
// adarts::Error(invalid_argument) naming the field, e.g. "normal[3].from".
// The writers (to_json, to_darts_text, to_dot) call it first.
void validate_genotype(const Genotype& genotype);

// A readable table of each cell: node, input, op.
std::string to_table(const Genotype& genotype);

// Graphviz DOT of one cell, `cell` = "normal" or "reduce", in the style of the
// DARTS plots: inputs "c_{k-2}", "c_{k-1}", intermediate nodes "0".."steps-1"
// (genotype node n is drawn as n - 2), output "c_{k}"; one edge per kept input
// labelled with its op, and an edge from every concat node to "c_{k}".
std::string to_dot(const Genotype& genotype, const std::string& cell);

}  // namespace adarts
