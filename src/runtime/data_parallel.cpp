// The ranks of a data-parallel run (data_parallel.h): rendezvous on a c10d
// store, the config check, and Gloo collectives.
#include "runtime/data_parallel.h"

#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO  // LibTorch's header declares ProcessGroupGloo only with it; both LibTorch builds have Gloo
#endif

#include <boost/json.hpp>
#include <torch/csrc/distributed/c10d/FileStore.hpp>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/version.h>

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>

#include "adarts/error.h"
#include "runtime/collectives.h"

namespace adarts {
namespace {

using Clock = std::chrono::steady_clock;

struct TcpAddress {
  std::string host;
  uint16_t port = 0;
};

// "tcp://HOST:PORT" or "tcp://[V6]:PORT".
TcpAddress parse_tcp(const std::string& rendezvous) {
  const std::string rest = rendezvous.substr(6);
  const size_t colon = rest.rfind(':');
  auto bad = [&] {
    return invalid_argument("rendezvous '" + rendezvous + "' must be tcp://HOST:PORT with PORT in 1..65535");
  };
  if (colon == std::string::npos || colon == 0) throw bad();
  TcpAddress address;
  address.host = rest.substr(0, colon);
  if (address.host.front() == '[' && address.host.back() == ']') address.host = address.host.substr(1, address.host.size() - 2);
  const std::string port = rest.substr(colon + 1);
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos) throw bad();
  const long value = std::stol(port);
  if (value < 1 || value > 65535) throw bad();
  address.port = static_cast<uint16_t>(value);
  return address;
}

bool is_loopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

#if TORCH_VERSION_MAJOR >= 2
// A listening socket bound to `host` only (TCPStore binds every interface
// unless given one); TCPStore takes it over.
int listen_on(const TcpAddress& address) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(address.port);
  if (const int rc = getaddrinfo(address.host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    throw communication_error("rendezvous host '" + address.host + "' does not resolve: " + gai_strerror(rc));
  }
  std::string reason = "no address";
  for (addrinfo* a = found; a; a = a->ai_next) {
    const int fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
    if (fd < 0) continue;
    const int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 && listen(fd, SOMAXCONN) == 0) {
      freeaddrinfo(found);
      return fd;
    }
    reason = std::strerror(errno);
    close(fd);
  }
  freeaddrinfo(found);
  throw communication_error("rank 0 cannot listen on " + address.host + ":" + port + " for the rendezvous: " + reason);
}
#endif

c10::intrusive_ptr<c10d::Store> open_store(const RunConfig& config, std::chrono::milliseconds timeout) {
  const std::string& url = config.rendezvous;
  if (url.rfind("file://", 0) == 0) {
    const std::string path = url.substr(7);
    if (path.empty() || path.front() != '/') {
      throw invalid_argument("rendezvous '" + url + "' must be file:///absolute/path (a fresh file for each run)");
    }
    const std::filesystem::path parent = std::filesystem::path(path).parent_path();
    if (!std::filesystem::is_directory(parent)) {
      throw io_error("the directory of rendezvous file '" + path + "' does not exist");
    }
    auto store = c10::make_intrusive<c10d::FileStore>(path, static_cast<int>(config.world_size));
    store->setTimeout(timeout);
    return store;
  }
  const TcpAddress address = parse_tcp(url);
#if TORCH_VERSION_MAJOR >= 2
  c10d::TCPStoreOptions options;
  options.port = address.port;
  options.isServer = config.rank == 0;
  options.numWorkers = static_cast<size_t>(config.world_size);
  options.waitWorkers = false;  // the config exchange below waits, naming who is missing
  options.timeout = timeout;
  if (options.isServer) options.masterListenFd = listen_on(address);
  try {
    return c10::make_intrusive<c10d::TCPStore>(address.host, options);
  } catch (const std::exception& e) {
    throw communication_error("rank " + std::to_string(config.rank) + " cannot reach the rendezvous " + url + ": " +
                              e.what());
  }
#else
  (void)address;
  throw unsupported("rendezvous '" + url + "': LibTorch " + TORCH_VERSION +
                    "'s TCPStore listens on every interface; use a file:///path rendezvous with this build");
#endif
}

// The config without the keys that differ between ranks.
boost::json::object comparable(const std::string& config_json) {
  boost::json::object o = boost::json::parse(config_json).as_object();
  for (const std::string& key : per_rank_keys()) o.erase(key);
  return o;
}

// "key: ours vs theirs" for the first key that differs, "" when none does.
std::string first_difference(const boost::json::object& ours, const boost::json::object& theirs) {
  std::set<std::string> keys;
  for (const auto& e : ours) keys.insert(std::string(e.key()));
  for (const auto& e : theirs) keys.insert(std::string(e.key()));
  for (const std::string& key : keys) {
    const boost::json::value* a = ours.if_contains(key);
    const boost::json::value* b = theirs.if_contains(key);
    if (!a || !b || *a != *b) {
      return key + ": " + (a ? boost::json::serialize(*a) : "(absent)") + " vs " +
             (b ? boost::json::serialize(*b) : "(absent)");
    }
  }
  return "";
}

std::vector<uint8_t> bytes_of(const std::string& s) { return std::vector<uint8_t>(s.begin(), s.end()); }

}  // namespace

DataParallel::DataParallel(const RunConfig& config, const std::string& config_json, at::Device device)
    : rank_(config.rank), world_size_(config.world_size), rendezvous_(config.rendezvous),
      timeout_seconds_(config.dist_timeout) {
  validate(config);
  const std::string backend = config.dist_backend == "auto" ? (device.is_cuda() ? "nccl" : "gloo") : config.dist_backend;
  if (backend == "nccl" && !device.is_cuda()) {
    throw invalid_argument("dist_backend nccl needs a CUDA device (device is '" + config.device + "'); use gloo");
  }
  // NCCL reduces device memory only: host tensors (evaluation sums, flags) travel through the device.
  collective_device_ = backend == "nccl" ? device : at::Device(at::kCPU);
  const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(config.dist_timeout * 1000.0));
  const std::string me = "rank " + std::to_string(rank_) + " of " + std::to_string(world_size_);
  c10::intrusive_ptr<c10d::Store> store = open_store(config, timeout);

  // Each rank publishes its config; every rank waits for all and compares.
  const std::string prefix = "adarts/";
  if (store->add(prefix + "claimed/" + std::to_string(rank_), 1) > 1) {
    throw communication_error(me + ": another process already joined " + rendezvous_ +
                              " as this rank (two processes with one rank, or a rendezvous file left by an "
                              "earlier run: use a fresh file)");
  }
  store->set(prefix + "config/" + std::to_string(rank_), bytes_of(config_json));
  std::vector<std::string> keys;
  for (int64_t r = 0; r < world_size_; ++r) keys.push_back(prefix + "config/" + std::to_string(r));
  try {
    store->wait(keys, timeout);
  } catch (const std::exception&) {
    std::string missing;
    for (int64_t r = 0; r < world_size_; ++r) {
      if (!store->check({keys[static_cast<size_t>(r)]})) missing += (missing.empty() ? "" : ", ") + std::to_string(r);
    }
    throw communication_error(me + " waited " + std::to_string(config.dist_timeout) + " s at " + rendezvous_ +
                              " for rank(s) " + missing + " to join (dist_timeout)");
  }
  const boost::json::object ours = comparable(config_json);
  for (int64_t r = 0; r < world_size_; ++r) {
    if (r == rank_) continue;
    const std::vector<uint8_t> theirs = store->get(keys[static_cast<size_t>(r)]);
    const std::string difference = first_difference(ours, comparable(std::string(theirs.begin(), theirs.end())));
    if (!difference.empty()) {
      throw communication_error(me + ": the config differs from rank " + std::to_string(r) + "'s (" + difference +
                                "); every rank must run the same config but for " +
                                "rank, device, threads and log_every");
    }
  }

  const auto group_store = c10::make_intrusive<c10d::PrefixStore>(prefix + backend, store);
  try {
    if (backend == "nccl") {
      backend_ = make_nccl_collectives(group_store, static_cast<int>(rank_), static_cast<int>(world_size_), timeout);
    } else {
      auto options = c10d::ProcessGroupGloo::Options::create(timeout);
      // Loopback rendezvous (every file:// one is local): Gloo listens on the loopback only.
      const bool local = rendezvous_.rfind("file://", 0) == 0 || is_loopback(parse_tcp(rendezvous_).host);
      options->devices.push_back(local ? c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1")
                                       : c10d::ProcessGroupGloo::createDefaultDevice());
      backend_ = std::make_unique<GroupCollectives<c10d::ProcessGroupGloo>>(c10::make_intrusive<c10d::ProcessGroupGloo>(
          group_store, static_cast<int>(rank_), static_cast<int>(world_size_), options));
    }
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw communication_error(me + ": connecting " + backend + " at " + rendezvous_ + " failed: " + e.what());
  }
}

DataParallel::~DataParallel() = default;

template <class Call>
void DataParallel::collective(const char* what, int64_t bytes, Call&& call) {
  const auto start = Clock::now();
  try {
    call();
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw communication_error("rank " + std::to_string(rank_) + " of " + std::to_string(world_size_) + ": " + what +
                              " failed (a rank stopped, or none answered within dist_timeout " +
                              std::to_string(timeout_seconds_) + " s): " + e.what());
  }
  ++stats_.calls;
  stats_.bytes += bytes;
  stats_.seconds += std::chrono::duration<double>(Clock::now() - start).count();
}

void DataParallel::all_reduce(const TensorList& tensors, Reduce op, bool mean) {
  // One flat buffer per dtype and device: one collective instead of one per tensor.
  std::map<std::pair<int, std::string>, std::vector<at::Tensor>> groups;
  for (const auto& t : tensors) {
    if (t.defined()) groups[{static_cast<int>(t.scalar_type()), t.device().str()}].push_back(t);
  }
  for (auto& [key, group] : groups) {
    std::vector<at::Tensor> flat_parts;
    flat_parts.reserve(group.size());
    for (const auto& t : group) flat_parts.push_back(t.detach().reshape({-1}));
    at::Tensor flat = at::cat(flat_parts).to(collective_device_);
    collective("all-reduce", static_cast<int64_t>(flat.numel() * flat.element_size()),
               [&] { backend_->all_reduce(flat, op == Reduce::max); });
    if (mean) flat.div_(static_cast<double>(world_size_));
    at::NoGradGuard no_grad;
    int64_t offset = 0;
    for (const auto& t : group) {
      t.detach().copy_(flat.narrow(0, offset, t.numel()).view(t.sizes()));
      offset += t.numel();
    }
  }
}

void DataParallel::average(const TensorList& tensors) { all_reduce(tensors, Reduce::sum, true); }
void DataParallel::sum(const TensorList& tensors) { all_reduce(tensors, Reduce::sum, false); }

void DataParallel::broadcast_from_first(const TensorList& tensors) {
  at::NoGradGuard no_grad;
  for (const auto& t : tensors) {
    if (!t.defined()) continue;
    at::Tensor buffer = t.detach().contiguous().to(collective_device_);
    collective("broadcast", static_cast<int64_t>(buffer.numel() * buffer.element_size()),
               [&] { backend_->broadcast(buffer); });
    if (!buffer.is_same(t)) t.detach().copy_(buffer);  // a copy: contiguous() or to() made one
  }
}

void DataParallel::copy_first_replica(const TensorList& parameters, const TensorList& buffers) {
  broadcast_from_first(parameters);
  broadcast_from_first(buffers);
}

void DataParallel::average_statistics(const TensorList& buffers) {
  TensorList statistics;
  for (const auto& b : buffers) {
    if (b.is_floating_point()) statistics.push_back(b);
  }
  average(statistics);
}

at::Tensor DataParallel::reduce_weight_step(const TensorList& parameters, const at::Tensor& figures) {
  TensorList reduced;
  for (const auto& p : parameters) reduced.push_back(p.grad());  // undefined ones alike on every rank
  const at::Tensor whole = figures.clone();
  reduced.push_back(whole);
  average(reduced);
  at::Tensor scale = at::ones_like(whole);
  scale[-1].fill_(static_cast<double>(world_size_));  // the count: the mean times the ranks is the sum
  return whole * scale;
}

std::function<bool(bool)> any_rank(DataParallel* group) {
  if (!group) return nullptr;
  return [group](bool stop) { return group->any(stop); };
}

bool DataParallel::any(bool flag) {
  at::Tensor t = at::full({1}, flag ? 1 : 0, at::TensorOptions(collective_device_).dtype(at::kInt));
  collective("agreement", 4, [&] { backend_->all_reduce(t, true); });
  return t.item<int>() != 0;
}

Batch DataParallel::shard(const Batch& batch) const {
  const int64_t n = batch.labels.defined() ? batch.labels.size(0) : batch.images.size(0);
  const int64_t begin = rank_ * n / world_size_;
  const int64_t end = (rank_ + 1) * n / world_size_;
  Batch out = batch;
  out.images = batch.images.narrow(0, begin, end - begin);
  if (batch.labels.defined()) out.labels = batch.labels.narrow(0, begin, end - begin);
  return out;
}

}  // namespace adarts
