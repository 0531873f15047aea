// The names of the candidate operations (DARTS primitives). Torch-free so that
// genotype parsing and validation do not pull in LibTorch headers.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace adarts {

// The 8 DARTS primitives, in the order of the alpha columns of the `darts` space.
const std::vector<std::string>& darts_op_names();

// True for every name in darts_op_names().
bool is_known_op(std::string_view name);

// Operations without weights (none, pools, skip_connect at stride 1).
bool is_parameter_free_op(std::string_view name);

}  // namespace adarts
