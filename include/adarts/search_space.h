// Search spaces as data (docs/search-spaces.md, paper section 4.1.3): which
// edges a cell has, which operations each edge mixes, whether alphas are
// shared by all normal (reduction) cells or owned by each cell, and how many
// inputs per node a derived genotype keeps.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace adarts {

struct CellEdge {
  int from = 0;  // 0 = c_{k-2}, 1 = c_{k-1}, 2.. = intermediate nodes
  int to = 2;
};

struct SearchSpace {
  std::string name = "darts";
  std::vector<std::string> ops;  // the alpha columns
  int steps = 4;                 // intermediate nodes per cell
  std::vector<CellEdge> edges;   // per cell, node by node, `from` ascending
  bool per_cell_alphas = false;  // s2: one alpha set per cell
  int inputs_per_node = 2;       // inputs each node keeps in the genotype
  int64_t default_layers = 8;    // cells of the search network
};

// darts: every earlier node feeds each node (14 edges), 8 ops, top-2 kept.
// s1: node i takes node i-1 and c_{k-2} (8 fixed edges), 8 ops, shared alphas.
// s2: the edges of s1, ops {skip_connect, sep_conv_3x3}, one alpha set per cell, 20 cells.
// `ops`, when not empty, replaces the space's op list (a user-defined subset).
// Throws adarts::Error(invalid_argument) for unknown names or ops.
SearchSpace make_search_space(const std::string& name, const std::vector<std::string>& ops = {},
                              int steps = 4);

// A comma-separated op list as written in configs and options
// ("sep_conv_3x3, skip_connect"): spaces and tabs around each name are
// dropped and empty items skipped. Names are checked by make_search_space.
std::vector<std::string> parse_op_list(const std::string& text);

// Every earlier node into every intermediate node, and the s1/s2 chain.
std::vector<CellEdge> dense_edges(int steps);
std::vector<CellEdge> chain_edges(int steps);

// The cell indices that reduce resolution: layers/3 and 2*layers/3.
bool is_reduction_layer(int64_t layer, int64_t layers);

// log10 of the number of distinct genotypes of a space with `layers` cells:
// per cell, the choice of kept inputs per node times (ops other than none)^inputs;
// shared spaces count a normal and a reduction cell, per-cell spaces every cell.
double log10_architecture_count(const SearchSpace& space, int64_t layers);

}  // namespace adarts
