// Internal: the JSON form of a struct described by a field visitor
// (`for_each_field(config, visit)` calling visit(key, member) per field).
// Shared by SearchConfig, TrainConfig (and their RunConfig part) and
// NetworkOptions so that all parse and print alike.
#pragma once

#include <boost/json.hpp>

#include <algorithm>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

#include "adarts/error.h"
#include "adarts/run_config.h"

namespace adarts::config_json {

// The keys every run has (RunConfig), in the order of the JSON output: the
// last keys of SearchConfig and TrainConfig.
template <class Config, class Visitor>
void for_each_run_field(Config& c, Visitor&& visit) {
  visit("seed", c.seed);
  visit("device", c.device);
  visit("precision", c.precision);
  visit("threads", c.threads);
  visit("out_dir", c.out_dir);
  visit("log_every", c.log_every);
  visit("checkpoint_every", c.checkpoint_every);
  visit("checkpoint_keep", c.checkpoint_keep);
  visit("nan_policy", c.nan_policy);
  visit("world_size", c.world_size);
  visit("rank", c.rank);
  visit("rendezvous", c.rendezvous);
  visit("dist_backend", c.dist_backend);
  visit("dist_timeout", c.dist_timeout);
}

// How read() treats the document. `noun` names a key in messages ("config
// key 'lr' must be a number"); with `require_every_key` a missing key is an
// error (files the library wrote itself), otherwise it keeps the base value.
struct ReadMode {
  const char* noun = "config key";
  bool require_every_key = false;
};

inline void read_value(const boost::json::value& v, const std::string& name, std::string& out) {
  if (!v.is_string()) throw parse_error(name + " must be a string");
  out = std::string(v.as_string());
}

inline void read_value(const boost::json::value& v, const std::string& name, bool& out) {
  if (!v.is_bool()) throw parse_error(name + " must be true or false");
  out = v.as_bool();
}

inline void read_value(const boost::json::value& v, const std::string& name, double& out) {
  if (!v.is_number()) throw parse_error(name + " must be a number");
  out = v.to_number<double>();
}

template <class Int, std::enable_if_t<std::is_integral_v<Int> && !std::is_same_v<Int, bool>, int> = 0>
void read_value(const boost::json::value& v, const std::string& name, Int& out) {
  try {
    out = v.to_number<Int>();  // rejects fractions and out-of-range values
  } catch (const std::exception&) {
    throw parse_error(name + " must be an integer in range");
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

// "key: saved -> requested" for each key of two flat JSON objects whose values
// differ, except the keys a resumed run may change (resumable_run_keys()).
inline std::vector<std::string> resume_differences(const std::string& saved_json, const std::string& requested_json) {
  const std::vector<std::string>& resumable = resumable_run_keys();
  const std::set<std::string> allowed(resumable.begin(), resumable.end());
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
// unknown keys (and, with mode.require_every_key, missing ones) throw
// adarts::Error(parse_error) naming the key.
template <class Config, class ForEachField>
Config read(const std::string& text, const Config& base, ForEachField for_each_field, const ReadMode& mode = {}) {
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
    const std::string name = std::string(mode.noun) + " '" + key + "'";
    if (const boost::json::value* v = doc.as_object().if_contains(key)) {
      read_value(*v, name, member);
    } else if (mode.require_every_key) {
      throw parse_error(name + " is missing");
    }
  });
  for (const auto& entry : doc.as_object()) {
    const std::string key(entry.key());
    if (known.count(key) == 0) throw parse_error("unknown " + std::string(mode.noun) + " '" + key + "'" + suggestion(key, known));
  }
  return config;
}

}  // namespace adarts::config_json
