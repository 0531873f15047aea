// The evaluation network's tensors under the original DARTS names, written in
// torch.save's format (darts_state_dict.h).
//
// The names are built from the genotype and the options as DARTS's
// NetworkCIFAR / NetworkImageNet build their modules: a map from each of our
// modules holding tensors to its DARTS module. Every tensor of the network is
// then looked up in it, so a module added later without a DARTS name fails
// loudly instead of being dropped.
#include "adarts/darts_state_dict.h"

#include <caffe2/serialize/inline_container.h>
#include <torch/csrc/jit/serialization/pickler.h>

#include <algorithm>
#include <map>
#include <set>

#include "adarts/error.h"
#include "adarts/network.h"
#include "adarts/search_space.h"
#include "runtime/output_files.h"

namespace adarts {
namespace {

// Our module names inside one operation -> DARTS's (operations.py): ReLUConvBN
// and DilConv are Sequential(ReLU, Conv, [Conv,] BN), SepConv two of those
// stacked in one Sequential, FactorizedReduce named members.
using ModuleNames = std::vector<std::pair<std::string, std::string>>;

const ModuleNames kReluConvBn = {{"conv", "op.1"}, {"bn", "op.2"}};
const ModuleNames kFactorizedReduce = {{"conv1", "conv_1"}, {"conv2", "conv_2"}, {"bn", "bn"}};
const ModuleNames kDilConv = {{"depthwise", "op.1"}, {"pointwise", "op.2"}, {"bn", "op.3"}};
const ModuleNames kSepConv = {{"first.depthwise", "op.1"},  {"first.pointwise", "op.2"},
                              {"first.bn", "op.3"},         {"second.depthwise", "op.5"},
                              {"second.pointwise", "op.6"}, {"second.bn", "op.7"}};
const ModuleNames kNoTensors = {};

Error internal_error(const std::string& message) { return Error(ErrorKind::internal, "darts_state_dict: " + message); }

// The modules of DARTS's OPS[name](C, stride, affine=True) in the evaluation
// network (pooling there has no BN after it; a strided skip is a FactorizedReduce).
const ModuleNames& operation_modules(const std::string& op, int64_t stride) {
  if (op == "skip_connect") return stride == 1 ? kNoTensors : kFactorizedReduce;
  if (op == "max_pool_3x3" || op == "avg_pool_3x3" || op == "none") return kNoTensors;
  if (op == "sep_conv_3x3" || op == "sep_conv_5x5") return kSepConv;
  if (op == "dil_conv_3x3" || op == "dil_conv_5x5") return kDilConv;
  throw unsupported("operation '" + op + "' has no DARTS module to name its weights after");
}

// Our module path -> DARTS module path, for every module of `network` that holds tensors.
std::map<std::string, std::string> darts_module_names(const Network& network) {
  const NetworkOptions& o = network.options();
  const Genotype& genotype = network.genotype();
  std::map<std::string, std::string> names;
  auto add = [&](const std::string& ours, const std::string& prefix, const ModuleNames& modules) {
    for (const auto& [inner, darts] : modules) names[ours + "." + inner] = prefix + "." + darts;
  };
  bool reduction_prev;
  if (o.imagenet) {
    // stem0 = Sequential(Conv, BN, ReLU, Conv, BN); stem1 = Sequential(ReLU, Conv, BN).
    add("stem0", "stem0", {{"conv0", "0"}, {"bn0", "1"}, {"conv1", "3"}, {"bn1", "4"}});
    add("stem1", "stem1", {{"conv0", "1"}, {"bn0", "2"}});
    reduction_prev = true;
  } else {
    add("stem", "stem", {{"conv0", "0"}, {"bn0", "1"}});  // Sequential(Conv, BN)
    reduction_prev = false;
  }
  for (int64_t layer = 0; layer < o.layers; ++layer) {
    const bool reduction = is_reduction_layer(layer, o.layers);
    const std::string ours = "cell" + std::to_string(layer), darts = "cells." + std::to_string(layer);
    add(ours + ".preprocess0", darts + ".preprocess0", reduction_prev ? kFactorizedReduce : kReluConvBn);
    add(ours + ".preprocess1", darts + ".preprocess1", kReluConvBn);
    // Cell._compile: one op per (name, index) pair of the DARTS text, which
    // lists the edges by node (a node's inputs as written), as our cells
    // register them (network.cpp) and to_darts_text writes them.
    std::vector<GenotypeEdge> edges = (reduction ? genotype.reduce : genotype.normal).edges;
    std::stable_sort(edges.begin(), edges.end(),
                     [](const GenotypeEdge& a, const GenotypeEdge& b) { return a.to < b.to; });
    for (size_t k = 0; k < edges.size(); ++k) {
      const GenotypeEdge& e = edges[k];
      const int64_t stride = reduction && e.from < 2 ? 2 : 1;
      add(ours + ".op" + std::to_string(k), darts + "._ops." + std::to_string(k), operation_modules(e.op, stride));
    }
    reduction_prev = reduction;
  }
  if (o.auxiliary) {
    // features = Sequential(ReLU, AvgPool, Conv, BN, ReLU, Conv, BN (CIFAR only), ReLU).
    add("auxiliary_head", "auxiliary_head",
        {{"conv1", "features.2"}, {"bn1", "features.3"}, {"conv2", "features.5"}, {"classifier", "classifier"}});
    if (!o.imagenet) add("auxiliary_head", "auxiliary_head", {{"bn2", "features.6"}});
  }
  names["classifier"] = "classifier";
  return names;
}

}  // namespace

void check_darts_equivalent(const Genotype& genotype) {
  if (genotype.per_cell()) {
    throw unsupported("the " + genotype.space + " genotype has one genotype per cell (" +
                      std::to_string(genotype.cells.size()) +
                      " cells); DARTS's NetworkCIFAR and NetworkImageNet share one normal and one reduction cell, so "
                      "no DARTS module can hold this network");
  }
  for (const CellGenotype* cell : {&genotype.normal, &genotype.reduce}) {
    for (const auto& e : cell->edges) operation_modules(e.op, 1);  // throws for an operation without DARTS names
  }
}

NamedTensors darts_state_dict(const Network& network) {
  check_darts_equivalent(network.genotype());
  const std::map<std::string, std::string> names = darts_module_names(network);
  std::set<std::string> modules_seen, written;
  NamedTensors out;
  // PyTorch's state_dict order: modules depth first as registered, each its
  // parameters then its buffers; ours are registered in DARTS's order.
  // include_self=false: a network built on the stack has no shared_ptr to itself
  // (its own direct tensors, if it ever had any, fail the count below).
  for (const auto& module : network.named_modules("", /*include_self=*/false)) {
    auto tensors = module.value()->named_parameters(/*recurse=*/false).items();
    for (const auto& buffer : module.value()->named_buffers(/*recurse=*/false)) tensors.push_back(buffer);
    if (tensors.empty()) continue;
    const auto it = names.find(module.key());
    if (it == names.end()) {
      throw internal_error("module '" + module.key() + "' of the network (holding '" + tensors.front().key() +
                           "') has no DARTS name");
    }
    modules_seen.insert(module.key());
    for (const auto& item : tensors) {
      const std::string name = it->second + "." + item.key();
      if (!written.insert(name).second) throw internal_error("two tensors named '" + name + "'");
      at::Tensor t = item.value().detach().to(at::kCPU);
      if (t.is_floating_point()) t = t.to(at::kFloat);
      out.emplace_back(name, t.contiguous());
    }
  }
  for (const auto& [ours, darts] : names) {
    if (modules_seen.count(ours) == 0) {
      throw internal_error("DARTS module '" + darts + "' has no tensors in the network (expected '" + ours + "')");
    }
  }
  const size_t total = network.named_parameters().size() + network.named_buffers().size();
  if (out.size() != total) {
    throw internal_error(std::to_string(total) + " tensors in the network, " + std::to_string(out.size()) +
                         " named after DARTS");
  }
  return out;
}

void save_for_torch_load(const NamedTensors& tensors, const std::string& path) {
  c10::Dict<std::string, at::Tensor> dict;
  // Each tensor with its own row-major CPU storage: the pickle stores whole
  // storages, so a view would carry all of its base (a slice of a dataset).
  for (const auto& [name, tensor] : tensors) {
    dict.insert(name, tensor.detach().to(at::kCPU).clone(at::MemoryFormat::Contiguous));
  }
  // torch::pickle_save's steps with one change: no type tag around the dict.
  // The tag is a call of torch.jit._pickle.restore_type_tag, which
  // torch.load(weights_only=True), PyTorch's default since 2.6, refuses.
  std::vector<char> pickled;
  torch::jit::Pickler pickler([&](const char* data, size_t size) { pickled.insert(pickled.end(), data, data + size); },
                              nullptr, nullptr, nullptr, nullptr, /*tag_aggregates=*/false);
  pickler.protocol();
  pickler.pushIValue(c10::IValue(dict));
  pickler.stop();
  std::string archive;
  {
    caffe2::serialize::PyTorchStreamWriter writer([&](const void* data, size_t size) -> size_t {
      archive.append(static_cast<const char*>(data), size);
      return size;
    });
    // torch.load finds the pickle in data.pkl and the storage with key K in data/K.
    const std::vector<at::Tensor>& storages = pickler.tensorData();
    for (size_t i = 0; i < storages.size(); ++i) {
      const torch::jit::WriteableTensorData data = torch::jit::getWriteableTensorData(storages[i]);
      writer.writeRecord("data/" + std::to_string(i), data.data(), data.sizeInBytes());
    }
    writer.writeRecord("data.pkl", pickled.data(), pickled.size());
    writer.writeEndOfFile();
  }
  write_file_atomically(path, archive);
}

void save_darts_state_dict(const Network& network, const std::string& path) {
  save_for_torch_load(darts_state_dict(network), path);
}

}  // namespace adarts
