// Internal: the JSON form of a config struct described by a field visitor
// (`for_each_field(config, visit)` calling visit(key, member) per field).
// Shared by SearchConfig and TrainConfig so that both parse and print alike.
#pragma once

#include <boost/json.hpp>

#include <algorithm>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

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

// The number of single-character edits turning `a` into `b` (Levenshtein).
inline size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t substitution = diagonal + (a[i - 1] == b[j - 1] ? 0 : 1);
      diagonal = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, substitution});
    }
  }
  return row[b.size()];
}

// " (did you mean 'x'?)" for the closest of `candidates` within a third of the
// word's length (at least 2 edits), "" when none is that close.
inline std::string suggestion(const std::string& word, const std::set<std::string>& candidates) {
  std::string best;
  size_t best_distance = std::max<size_t>(2, word.size() / 3) + 1;
  for (const auto& c : candidates) {
    const size_t d = edit_distance(word, c);
    if (d < best_distance) {
      best_distance = d;
      best = c;
    }
  }
  return best.empty() ? "" : " (did you mean '" + best + "'?)";
}

// "key: saved -> requested" for each key of two flat JSON objects whose values differ, except `allowed`.
inline std::vector<std::string> differences(const std::string& saved_json, const std::string& requested_json,
                                            const std::set<std::string>& allowed) {
  const boost::json::object saved = boost::json::parse(saved_json).as_object();
  const boost::json::object requested = boost::json::parse(requested_json).as_object();
  std::vector<std::string> out;
  for (const auto& entry : saved) {
    const std::string key(entry.key());
    if (allowed.count(key)) continue;
    const boost::json::value* other = requested.if_contains(key);
    if (!other || *other != entry.value()) {
      out.push_back(key + ": " + boost::json::serialize(entry.value()) + " -> " +
                    (other ? boost::json::serialize(*other) : std::string("(absent)")));
    }
  }
  return out;
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
    if (known.count(key) == 0) throw parse_error("unknown config key '" + key + "'" + suggestion(key, known));
  }
  return config;
}

}  // namespace adarts::config_json
