// Internal: the JSON form of a config struct described by a field visitor
// (`for_each_field(config, visit)` calling visit(key, member) per field).
// Shared by SearchConfig and TrainConfig so that both parse and print alike.
#pragma once

#include <boost/json.hpp>

#include <set>
#include <string>
#include <type_traits>

#include "adarts/error.h"

namespace adarts::config_json {

inline void read_value(const boost::json::value& v, const std::string& key, std::string& out) {
  if (!v.is_string()) throw parse_error("config key '" + key + "' must be a string");
  out = std::string(v.as_string());
}

inline void read_value(const boost::json::value& v, const std::string& key, bool& out) {
  if (!v.is_bool()) throw parse_error("config key '" + key + "' must be true or false");
  out = v.as_bool();
}

inline void read_value(const boost::json::value& v, const std::string& key, double& out) {
  if (!v.is_number()) throw parse_error("config key '" + key + "' must be a number");
  out = v.to_number<double>();
}

template <class Int, std::enable_if_t<std::is_integral_v<Int> && !std::is_same_v<Int, bool>, int> = 0>
void read_value(const boost::json::value& v, const std::string& key, Int& out) {
  try {
    out = v.to_number<Int>();  // rejects fractions and out-of-range values
  } catch (const std::exception&) {
    throw parse_error("config key '" + key + "' must be an integer in range");
  }
}

// Every field, in the visitor's order.
template <class Config, class ForEachField>
std::string write(const Config& config, ForEachField for_each_field) {
  boost::json::object o;
  for_each_field(config, [&](const char* key, const auto& value) { o[key] = boost::json::value_from(value); });
  return boost::json::serialize(o);
}

// `base` with the keys of `text` applied; malformed JSON, wrong types and
// unknown keys throw adarts::Error(parse_error) naming the key.
template <class Config, class ForEachField>
Config read(const std::string& text, const Config& base, ForEachField for_each_field) {
  boost::json::value doc;
  try {
    doc = boost::json::parse(text);
  } catch (const std::exception& e) {
    throw parse_error(std::string("config is not valid JSON: ") + e.what());
  }
  if (!doc.is_object()) throw parse_error("config must be a JSON object");
  Config config = base;
  std::set<std::string> known;
  for_each_field(config, [&](const char* key, auto& member) {
    known.insert(key);
    if (const boost::json::value* v = doc.as_object().if_contains(key)) read_value(*v, key, member);
  });
  for (const auto& entry : doc.as_object()) {
    const std::string key(entry.key());
    if (known.count(key) == 0) throw parse_error("unknown config key '" + key + "'");
  }
  return config;
}

}  // namespace adarts::config_json
