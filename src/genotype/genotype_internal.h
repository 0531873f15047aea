// Internal: helpers shared by the genotype files (validation, JSON, DARTS
// text, renderings). Defined in genotype.cpp.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "adarts/genotype.h"

namespace adarts::genotype_internal {

// "name[index]", the field name errors use for one entry of a list.
std::string field(const std::string& name, std::size_t index);
// "cells[index]".
std::string cells_field(std::size_t index);

// The ops a genotype may hold: every DARTS op except `none`.
bool is_genotype_op(std::string_view name);
// Why `op` cannot be a kept op, listing the ones that can.
std::string op_problem(const std::string& op);

// "" if `g` is valid (see validate_genotype), otherwise a message that starts
// with the field at fault.
std::string genotype_problem(const Genotype& g);
// Throws adarts::Error(invalid_argument) "<writer>: invalid genotype: ..." if
// `g` is not valid.
void check_for_writer(const Genotype& g, const char* writer);

// Edges grouped by node, keeping the written order of each node's inputs.
std::vector<GenotypeEdge> edges_by_node(const CellGenotype& cell);

// 1-based line and column of a byte offset, for parse errors.
std::string describe_position(const std::string& text, std::size_t offset);

}  // namespace adarts::genotype_internal
