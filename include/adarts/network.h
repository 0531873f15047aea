// The evaluation network built from a genotype, as in DARTS: a stem, cells
// with the genotype's operations (affine BN), reductions at layers/3 and
// 2*layers/3, drop-path on non-identity operations, an optional auxiliary
// head after cell 2*layers/3, global pooling and a classifier. The CIFAR
// variant (one 3x3 stem) and the ImageNet variant (two stride-2 stems).
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "adarts/genotype.h"

namespace adarts {

class AuxiliaryHead;  // operations.h

struct NetworkOptions {
  int64_t in_channels = 3;
  int64_t num_classes = 10;
  int64_t channels = 36;  // C of the first cells
  int64_t layers = 20;    // number of cells
  bool auxiliary = false; // auxiliary head after cell 2*layers/3
  bool imagenet = false;  // ImageNet stems (input downsampled 8x before the cells)
};

struct NetworkOutput {
  at::Tensor logits;
  at::Tensor aux_logits;  // defined only in training mode with the auxiliary head
};

class Network : public torch::nn::Module {
 public:
  // Weights are drawn from `generator` (see initialize_parameters); drop-path
  // masks are drawn from it too, so training is reproducible for a seed.
  Network(const Genotype& genotype, NetworkOptions options, at::Generator generator);

  NetworkOutput forward(const at::Tensor& images);

  // Probability of dropping a non-identity operation's output (training only).
  void set_drop_path_prob(double p);
  double drop_path_prob() const { return drop_path_prob_; }

  const Genotype& genotype() const { return genotype_; }
  const NetworkOptions& options() const { return options_; }

  // Number of trainable parameters, with or without the auxiliary head.
  int64_t parameter_count(bool include_auxiliary = true) const;

  // Modules (named as registered): "stem" (CIFAR) or "stem0" and "stem1"
  // (ImageNet), "cell0".."cell{layers-1}", "auxiliary_head" (only with
  // options.auxiliary) and "classifier". 4-D weights are channels-last.

 private:
  class Stem;  // defined in network.cpp
  class Cell;

  Genotype genotype_;
  NetworkOptions options_;
  double drop_path_prob_ = 0.0;
  at::Generator generator_;  // weights, then drop-path masks
  std::vector<std::shared_ptr<Stem>> stems_;  // CIFAR: s0 = s1 = stem(x); ImageNet: s0 = stem0(x), s1 = stem1(s0)
  std::vector<std::shared_ptr<Cell>> cells_;
  std::shared_ptr<AuxiliaryHead> auxiliary_head_;
  int64_t auxiliary_after_ = -1;  // index of the cell whose output feeds the auxiliary head
  torch::nn::Linear classifier_{nullptr};
};

// NetworkOptions{} for `genotype`: layers is the cell count of a per-cell genotype.
NetworkOptions default_network_options(const Genotype& genotype);

// The JSON form of NetworkOptions: {"in_channels":3,"num_classes":10,
// "channels":36,"layers":20,"auxiliary":false,"imagenet":false}. Reading
// starts from `base` and overrides the keys given; unknown keys and wrong
// types throw adarts::Error(parse_error) naming the option. With
// `require_every_key` (files the library wrote, e.g. a model) a missing key
// is an error too.
std::string to_json(const NetworkOptions& options);
NetworkOptions network_options_from_json(const std::string& json, const NetworkOptions& base = NetworkOptions{},
                                         bool require_every_key = false);

// Multiply-adds of one forward pass of one image of `height` x `width`
// (convolutions and the classifier; the auxiliary head excluded, as usually reported).
int64_t count_multiply_adds(const Genotype& genotype, const NetworkOptions& options, int64_t height,
                            int64_t width);

}  // namespace adarts
