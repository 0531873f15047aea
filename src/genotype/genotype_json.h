// Internal: what the other genotype files use from the JSON reader and
// writer (genotype_json.cpp).
#pragma once

#include <boost/json.hpp>

#include <string>
#include <string_view>

#include "adarts/genotype.h"

namespace adarts {

namespace genotype_internal {

// `s` as a quoted JSON string; the DOT renderings quote labels the same way.
std::string json_string(std::string_view s);

}  // namespace genotype_internal

}  // namespace adarts
