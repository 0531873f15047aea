// Datasets named by configs and by JSON specs (the C ABI's form).
#include <boost/json.hpp>

#include <set>

#include "adarts/data.h"
#include "adarts/error.h"

namespace adarts {
namespace {

namespace json = boost::json;

int64_t integer(const json::object& o, const char* key, int64_t fallback) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return fallback;
  try {
    return v->to_number<int64_t>();
  } catch (const std::exception&) {
    throw parse_error(std::string("dataset spec key '") + key + "' must be an integer");
  }
}

std::string text(const json::object& o, const char* key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_string()) throw parse_error(std::string("dataset spec needs a string '") + key + "'");
  return std::string(v->as_string());
}

}  // namespace

void check_dataset_name(const std::string& name) {
  const std::set<std::string> names = {"fashion-mnist", "mnist", "cifar10", "synthetic"};
  if (names.count(name) == 0) {
    throw invalid_argument("dataset must be fashion-mnist, mnist, cifar10 or synthetic, got '" + name + "'");
  }
}

Dataset load_named_split(const std::string& name, const std::string& dir, bool train) {
  check_dataset_name(name);
  if (name == "synthetic") throw invalid_argument("the synthetic dataset is generated, not read from a folder");
  return name == "cifar10" ? load_cifar10(dir, train) : load_idx_dir(dir, train);
}

Dataset load_dataset_from_spec(const std::string& spec_json) {
  json::value doc;
  try {
    doc = json::parse(spec_json);
  } catch (const std::exception& e) {
    throw parse_error(std::string("dataset spec is not valid JSON: ") + e.what());
  }
  if (!doc.is_object()) throw parse_error("dataset spec must be a JSON object");
  const json::object& o = doc.as_object();
  const std::string kind = text(o, "kind");

  std::set<std::string> allowed = {"kind", "subset"};
  if (kind == "idx" || kind == "cifar10") {
    allowed.insert({"dir", "train"});
  } else if (kind == "synthetic") {
    allowed.insert({"size", "channels", "height", "width", "classes", "noise", "seed"});
  } else {
    throw parse_error("dataset spec 'kind' must be idx, cifar10 or synthetic, got '" + kind + "'");
  }
  for (const auto& entry : o) {
    if (allowed.count(std::string(entry.key())) == 0) {
      throw parse_error("unknown dataset spec key '" + std::string(entry.key()) + "' for kind " + kind);
    }
  }
  bool train = true;
  if (const json::value* v = o.if_contains("train")) {
    if (!v->is_bool()) throw parse_error("dataset spec key 'train' must be true or false");
    train = v->as_bool();
  }

  Dataset data;
  if (kind == "idx") {
    data = load_idx_dir(text(o, "dir"), train);
  } else if (kind == "cifar10") {
    data = load_cifar10(text(o, "dir"), train);
  } else {
    SyntheticSpec spec;
    spec.size = integer(o, "size", spec.size);
    spec.channels = integer(o, "channels", spec.channels);
    spec.height = integer(o, "height", spec.height);
    spec.width = integer(o, "width", spec.width);
    spec.num_classes = integer(o, "classes", spec.num_classes);
    if (const json::value* v = o.if_contains("noise")) {
      if (!v->is_number()) throw parse_error("dataset spec key 'noise' must be a number");
      spec.noise = v->to_number<double>();
    }
    data = make_synthetic(spec, static_cast<uint64_t>(integer(o, "seed", 1)));
  }
  const int64_t subset = integer(o, "subset", 0);
  if (subset < 0) throw invalid_argument("dataset spec 'subset' must be >= 0");
  return head(data, subset);
}

}  // namespace adarts
