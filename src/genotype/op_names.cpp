#include "adarts/op_names.h"

#include <algorithm>

namespace adarts {

const std::vector<std::string>& darts_op_names() {
  static const std::vector<std::string> names = {
      "none",         "max_pool_3x3", "avg_pool_3x3", "skip_connect",
      "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5"};
  return names;
}

bool is_known_op(std::string_view name) {
  const auto& names = darts_op_names();
  return std::find(names.begin(), names.end(), name) != names.end();
}

bool is_parameter_free_op(std::string_view name) {
  return name == "none" || name == "max_pool_3x3" || name == "avg_pool_3x3" ||
         name == "skip_connect";
}

}  // namespace adarts
