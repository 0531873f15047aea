// Genotypes: the discrete architecture a search ends with. The versioned
// JSON form, the original DARTS text form and human-readable inspection.
// Torch-free: derivation from architecture weights is in supernet.h.
#pragma once

#include <cstdint>
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

// A genotype. Shared-cell spaces (darts, s1): one normal and one reduction
// cell used everywhere, `cells` empty (JSON version 1). Per-cell spaces (s2):
// one cell genotype per network cell in `cells`, network order, `reduction[i]`
// saying whether cell i is a reduction cell (at layers/3 and 2*layers/3);
// `normal` and `reduce` stay empty (JSON version 2).
struct Genotype {
  std::string space = "darts";
  CellGenotype normal;
  CellGenotype reduce;
  std::vector<CellGenotype> cells;
  std::vector<bool> reduction;  // one flag per entry of `cells`
  bool per_cell() const { return !cells.empty(); }
  // The genotype network cell `layer` of a `layers`-cell network uses.
  const CellGenotype& cell_for_layer(int64_t layer, int64_t layers) const;
  bool operator==(const Genotype& o) const {
    return space == o.space && normal == o.normal && reduce == o.reduce && cells == o.cells &&
           reduction == o.reduction;
  }
};

// Original DARTS text: Genotype(normal=[('sep_conv_3x3', 0), ...], normal_concat=[2, 3, 4, 5], ...)
// exactly as Python prints the namedtuple. Pair k of a cell is an input of node
// 2 + k / 2. The text form has no `space`; reading it gives "darts". It holds
// one normal and one reduction cell: per-cell genotypes throw
// adarts::Error(unsupported) (write them as JSON).
std::string to_darts_text(const Genotype& genotype);
// Accepts `[2, 3, 4, 5]` and `range(2, 6)` concat forms, either quote style,
// any whitespace, `#` comments, trailing commas, keywords in any order and an
// optional `NAME = Genotype` prefix. The inputs of a node keep their written
// order. Throws adarts::Error(parse_error) naming the position and what is wrong.
Genotype from_darts_text(const std::string& text);

// Versioned JSON document. Shared cells: {"format":"adarts.genotype","version":1,
// "space":..,"normal":[..],"normal_concat":[..],"reduce":[..],"reduce_concat":[..]}.
// Per-cell: {"format":"adarts.genotype","version":2,"space":"s2","cells":[{"reduction":false,
// "edges":[{"op":..,"from":..,"to":..},..],"concat":[2,3,4,5]},..]}. Readers take both.
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
// contiguously from 2, concat entries intermediate and unique; per-cell: a
// per-cell space, empty normal/reduce, one reduction flag per cell and
// reductions exactly at cells n/3 and 2n/3). Throws
// adarts::Error(invalid_argument) naming the field, e.g. "normal[3].from" or
// "cells[4].edges[1].op".
// The writers (to_json, to_darts_text, to_dot) call it first.
void validate_genotype(const Genotype& genotype);

// A readable table of each cell: cell, node, input, op (per-cell genotypes:
// cell index, type normal/reduce, node, input, op).
std::string to_table(const Genotype& genotype);

// One line for logs: the DARTS text of a shared-cell genotype; for a per-cell
// genotype the cell count and how often each op is kept, e.g.
// "s2 per-cell genotype, 20 cells: sep_conv_3x3 x97, skip_connect x63".
std::string summary_line(const Genotype& genotype);

// Graphviz DOT of one cell, `cell` = "normal" or "reduce", in the style of the
// DARTS plots: inputs "c_{k-2}", "c_{k-1}", intermediate nodes "0".."steps-1"
// (genotype node n is drawn as n - 2), output "c_{k}"; one edge per kept input
// labelled with its op, and an edge from every concat node to "c_{k}".
// Per-cell genotypes: `cell` = "cellN" draws cell N that way, and "network"
// the whole network (as the paper's Figure 3): stem, one cluster per cell
// whose inputs are the outputs of the two cells before it, skip_connect edges
// red, sep_conv_3x3 blue, other ops black and labelled.
std::string to_dot(const Genotype& genotype, const std::string& cell);

}  // namespace adarts
