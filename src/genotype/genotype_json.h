// Internal: the versioned genotype JSON document (genotype.h) as a
// boost::json value, for callers that put a genotype inside a larger JSON
// document without writing and re-parsing its text.
#pragma once

#include <boost/json.hpp>

#include <string>
#include <string_view>

#include "adarts/genotype.h"

namespace adarts {

// The document to_json(genotype) writes, as a value: same keys in the same
// order, edges grouped by node, equal to json::parse(to_json(genotype)).
// Throws what to_json throws for an invalid genotype.
boost::json::value genotype_to_value(const Genotype& genotype);

// Reads a document as genotype_from_json reads its text, with the same checks
// and messages, and stores its "metadata" object in `metadata_json` when that
// is not null ("" when the document has none).
Genotype genotype_from_value(const boost::json::value& document, std::string* metadata_json = nullptr);

namespace genotype_internal {

// `s` as a quoted JSON string; the DOT renderings quote labels the same way.
std::string json_string(std::string_view s);

}  // namespace genotype_internal

}  // namespace adarts
