#include "runtime/checkpoint_io.h"

#include <boost/json.hpp>
#include <c10/util/Exception.h>
#include <torch/optim/adam.h>
#include <torch/optim/sgd.h>
#include <torch/version.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iomanip>
#include <sstream>
#include <stdexcept>

namespace adarts::checkpoint_io {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

constexpr const char* kSuffix = ".pt";

// fsync of a file or a directory; false when it cannot be opened or flushed.
bool sync_path(const std::string& path, bool directory) {
  const int fd = ::open(path.c_str(), directory ? O_RDONLY | O_DIRECTORY : O_RDONLY);
  if (fd < 0) return false;
  const bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

std::string shape_string(const at::Tensor& t) {
  std::ostringstream s;
  s << t.sizes();
  return s.str();
}

std::vector<std::pair<std::string, at::Tensor>> named_state(torch::nn::Module& module) {
  std::vector<std::pair<std::string, at::Tensor>> state;
  for (const auto& p : module.named_parameters(/*recurse=*/true)) state.emplace_back(p.key(), p.value());
  for (const auto& b : module.named_buffers(/*recurse=*/true)) state.emplace_back(b.key(), b.value());
  return state;
}

}  // namespace

void save_atomically(OutputArchive& archive, const std::string& path) {
  const fs::path target(path);
  std::error_code ec;
  if (target.has_parent_path()) fs::create_directories(target.parent_path(), ec);
  const std::string tmp = path + ".tmp";
  try {
    archive.save_to(tmp);
  } catch (const c10::Error& e) {
    fs::remove(tmp, ec);
    throw io_error("cannot write '" + tmp + "': " + e.what_without_backtrace());
  }
  if (!sync_path(tmp, false)) {
    fs::remove(tmp, ec);
    throw io_error("cannot flush '" + tmp + "' to disk");
  }
  fs::rename(tmp, path, ec);
  if (ec) throw io_error("cannot rename '" + tmp + "' to '" + path + "': " + ec.message());
  // The rename itself is durable only once the directory is flushed.
  sync_path(target.has_parent_path() ? target.parent_path().string() : ".", true);
}

std::string directory(const std::string& out_dir) { return (fs::path(out_dir) / "checkpoints").string(); }

std::string file_name(int64_t epoch, int64_t step) {
  char name[64];
  std::snprintf(name, sizeof name, "epoch-%06lld-step-%06lld%s", static_cast<long long>(epoch),
                static_cast<long long>(step), kSuffix);
  return name;
}

std::vector<std::string> list(const std::string& dir) {
  std::vector<std::string> files;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return files;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("epoch-", 0) == 0 && entry.path().extension() == kSuffix) files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

void prune(const std::string& dir, int64_t keep) {
  std::vector<std::string> files = list(dir);
  std::error_code ec;
  for (size_t i = 0; i + static_cast<size_t>(std::max<int64_t>(keep, 0)) < files.size(); ++i) fs::remove(files[i], ec);
}

std::string newest_loadable(const std::string& dir, const std::function<void(const std::string&)>& open,
                            std::vector<std::string>* skipped) {
  const std::vector<std::string> files = list(dir);
  for (auto it = files.rbegin(); it != files.rend(); ++it) {
    try {
      open(*it);
      return *it;
    } catch (const Error& e) {
      if (skipped) skipped->push_back(e.what());
    }
  }
  return "";
}

std::string require_newest(const std::string& out_dir, const std::function<void(const std::string&)>& open,
                           std::vector<std::string>* skipped) {
  std::vector<std::string> reasons;
  const std::string path = newest_loadable(directory(out_dir), open, &reasons);
  if (path.empty()) {
    throw io_error("no checkpoint to resume in '" + directory(out_dir) + "'" +
                   (reasons.empty() ? std::string() : " (every file there failed to load)"));
  }
  if (skipped) skipped->insert(skipped->end(), reasons.begin(), reasons.end());
  return path;
}

std::string write_checkpoint(OutputArchive& archive, const std::string& out_dir, int64_t epoch, int64_t step,
                             int64_t keep, bool* clear_stale) {
  const std::string dir = directory(out_dir);
  if (clear_stale && *clear_stale) {
    std::error_code ec;
    for (const auto& old : list(dir)) fs::remove(old, ec);
    *clear_stale = false;
  }
  const std::string path = dir + "/" + file_name(epoch, step);
  save_atomically(archive, path);
  prune(dir, keep);
  return path;
}

void refuse_resume(const std::string& what, const std::vector<std::string>& differences) {
  if (differences.empty()) return;
  std::string list;
  for (const auto& d : differences) list += "\n  " + d;
  throw invalid_argument("cannot resume " + what + ": it differs from the run's configuration (saved -> requested):" +
                         list + "\nDrop these settings to continue the run, or start a new run in another out_dir.");
}

// ---------------------------------------------------------------------------

Reader::Reader(const std::string& path, const std::string& format, int64_t version, const std::string& what)
    : path_(path), what_(what) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw io_error("the " + what + " '" + path + "' does not exist");
  if (fs::is_directory(path, ec)) throw io_error("the " + what + " path '" + path + "' is a directory");
  if (::access(path.c_str(), R_OK) != 0) throw io_error("cannot read the " + what + " '" + path + "'");
  // Every tensor lands on the CPU whatever device wrote it: a checkpoint written
  // on CUDA loads on a machine without one; callers copy into their device's tensors.
  guarded([&] { archive_.load_from(path, at::Device(at::kCPU)); });
  c10::IValue v;
  bool tagged = false;
  guarded([&] { tagged = archive_.try_read("format", v) && v.isString() && v.toStringRef() == format; });
  if (!tagged) throw bad("no '" + format + "' format tag");
  const int64_t saved = read_int("version");
  if (saved != version) {
    throw bad("version " + std::to_string(saved) + " (this build reads version " + std::to_string(version) + ")");
  }
}

Error Reader::bad(const std::string& detail) const {
  return parse_error("'" + path_ + "' is not a valid " + what_ + ": " + detail);
}

void Reader::guarded(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error&) {
    throw;
  } catch (const c10::Error& e) {
    throw bad(e.what_without_backtrace());
  } catch (const std::exception& e) {
    throw bad(e.what());
  }
}

bool Reader::has(const std::string& key) {
  c10::IValue v;
  bool found = false;
  guarded([&] { found = archive_.try_read(key, v); });
  return found;
}

std::string Reader::read_string(const std::string& key) {
  c10::IValue v;
  bool ok = false;
  guarded([&] { ok = archive_.try_read(key, v) && v.isString(); });
  if (!ok) throw bad("no string entry '" + key + "'");
  return v.toStringRef();
}

int64_t Reader::read_int(const std::string& key) {
  c10::IValue v;
  bool ok = false;
  guarded([&] { ok = archive_.try_read(key, v) && v.isInt(); });
  if (!ok) throw bad("no integer entry '" + key + "'");
  return v.toInt();
}

double Reader::read_double(const std::string& key) {
  c10::IValue v;
  bool ok = false;
  guarded([&] { ok = archive_.try_read(key, v) && v.isDouble(); });
  if (!ok) throw bad("no number entry '" + key + "'");
  return v.toDouble();
}

at::Tensor Reader::read_tensor(const std::string& key) {
  at::Tensor t;
  bool ok = false;
  guarded([&] { ok = archive_.try_read(key, t); });
  if (!ok) throw bad("no tensor entry '" + key + "'");
  return t;
}

InputArchive Reader::read_archive(const std::string& key) {
  InputArchive sub;
  bool ok = false;
  guarded([&] { ok = archive_.try_read(key, sub); });
  if (!ok) throw bad("no entry '" + key + "'");
  return sub;
}

void Reader::read_module(const std::string& key, torch::nn::Module& module) {
  const std::string names_json = read_string(key + ".names");
  c10::IValue v;
  bool ok = false;
  guarded([&] { ok = archive_.try_read(key + ".tensors", v) && v.isTensorList(); });
  if (!ok) throw bad("no tensor list '" + key + ".tensors'");
  const c10::List<at::Tensor> tensors = v.toTensorList();
  std::vector<std::string> names;
  try {
    const json::value parsed = json::parse(names_json);
    for (const auto& n : parsed.as_array()) names.emplace_back(n.as_string());
  } catch (const std::exception& e) {
    throw bad("malformed names of '" + key + "': " + e.what());
  }
  auto state = named_state(module);
  if (names.size() != tensors.size() || names.size() != state.size()) {
    throw bad("'" + key + "' holds " + std::to_string(tensors.size()) + " tensors; the network has " +
              std::to_string(state.size()));
  }
  at::NoGradGuard no_grad;
  for (size_t i = 0; i < state.size(); ++i) {
    auto& [name, target] = state[i];
    const at::Tensor source = tensors.get(i);
    if (names[i] != name) throw bad("tensor " + std::to_string(i) + " is '" + names[i] + "', expected '" + name + "'");
    if (!source.sizes().equals(target.sizes()) || source.scalar_type() != target.scalar_type()) {
      throw bad("tensor '" + name + "' has shape " + shape_string(source) + ", expected " + shape_string(target));
    }
    target.copy_(source);
  }
}

BatchLoader::State Reader::read_loader(const std::string& key) {
  BatchLoader::State s;
  s.generator_state = read_tensor(key + ".generator");
  s.position = read_int(key + ".position");
  if (has(key + ".order")) s.order = read_tensor(key + ".order");
  return s;
}

// ---------------------------------------------------------------------------

void write_header(OutputArchive& archive, const std::string& format, int64_t version) {
  archive.write("format", c10::IValue(format));
  archive.write("version", c10::IValue(version));
}

void write_module(OutputArchive& archive, const std::string& key, torch::nn::Module& module) {
  json::array names;
  c10::List<at::Tensor> tensors;
  for (const auto& [name, tensor] : named_state(module)) {
    names.emplace_back(name);
    tensors.push_back(tensor.detach().to(at::kCPU).clone());
  }
  archive.write(key + ".names", c10::IValue(json::serialize(names)));
  archive.write(key + ".tensors", c10::IValue(tensors));
}

void write_loader(OutputArchive& archive, const std::string& key, const BatchLoader::State& state) {
  archive.write(key + ".generator", state.generator_state);
  archive.write(key + ".position", c10::IValue(state.position));
  if (state.order.defined()) archive.write(key + ".order", state.order);
}

std::string fingerprint(const Dataset& data) {
  if (data.size() == 0) return "empty";
  std::ostringstream s;
  s << data.size() << "x" << data.channels() << "x" << data.height() << "x" << data.width() << "/"
    << data.num_classes << "/";
  // Byte images: their exact integer sum, as always; float images (handed over in memory): the double sum, exactly printed.
  if (data.images.scalar_type() == at::kByte) {
    s << data.images.sum().item<int64_t>();
  } else {
    s << std::setprecision(17) << data.images.to(at::kDouble).sum().item<double>();
  }
  s << "/"
    << (data.labels * at::arange(data.size(), at::kLong)).sum().item<int64_t>();
  return s.str();
}

void move_optimizer_state(torch::optim::Optimizer& optimizer, at::Device device) {
  auto move = [&](const at::Tensor& t) { return t.defined() ? t.to(device) : t; };
  for (auto& entry : optimizer.state()) {
    torch::optim::OptimizerParamState* state = entry.second.get();
    if (state == nullptr) {
      // LibTorch 2.x keys optimizer state differently from 1.x and loads a 1.x
      // archive with empty entries: the momentum would be lost silently.
      throw std::runtime_error("its optimizer state did not load into this LibTorch (" TORCH_VERSION
                        "): it was written by another LibTorch major version (1.x and 2.x optimizer archives "
                        "differ); resume it with the LibTorch it was written with");
    }
    if (auto* sgd = dynamic_cast<torch::optim::SGDParamState*>(state)) {
      sgd->momentum_buffer(move(sgd->momentum_buffer()));
    } else if (auto* adam = dynamic_cast<torch::optim::AdamParamState*>(state)) {
      adam->exp_avg(move(adam->exp_avg()));
      adam->exp_avg_sq(move(adam->exp_avg_sq()));
      adam->max_exp_avg_sq(move(adam->max_exp_avg_sq()));
    } else {
      throw std::logic_error("move_optimizer_state: an optimizer state of an unknown type");
    }
  }
}

}  // namespace adarts::checkpoint_io
