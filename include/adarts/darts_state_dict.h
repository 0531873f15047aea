// The evaluation network as a PyTorch state dict with the original DARTS
// module names (quark0/darts cnn/model.py, cnn/operations.py), in the file
// format torch.load reads. The name mapping: docs/pytorch-export.md.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <utility>
#include <vector>

#include "adarts/genotype.h"

namespace adarts {

class Network;

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

// Throws adarts::Error(unsupported), saying why, when the original DARTS
// networks cannot hold `genotype`: a per-cell genotype (space s2), since
// NetworkCIFAR and NetworkImageNet share one normal and one reduction cell,
// or an operation this mapping does not know.
void check_darts_equivalent(const Genotype& genotype);

// Every parameter and buffer of `network` (BatchNorm's running_mean,
// running_var, num_batches_tracked too) under its DARTS name, in the order of
// the DARTS module's state_dict(); on the CPU, contiguous, floating point as
// float32. Refuses what check_darts_equivalent refuses; a tensor without a
// DARTS name, or a DARTS name without its tensor, is an internal error.
NamedTensors darts_state_dict(const Network& network);

// Writes `tensors` as a dict {name: tensor} in torch.save's zip format,
// loadable with torch.load(path) (also with weights_only=True), atomically
// (a temporary file renamed into place). adarts::Error(io_error) when it
// cannot be written.
void save_for_torch_load(const NamedTensors& tensors, const std::string& path);

// save_for_torch_load(darts_state_dict(network), path).
void save_darts_state_dict(const Network& network, const std::string& path);

}  // namespace adarts
