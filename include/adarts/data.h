// Datasets for search and re-training: IDX (MNIST / Fashion-MNIST), CIFAR-10
// binary, a synthetic set for tests; normalisation, augmentation and batching.
// All randomness comes from generators seeded by the caller, so a run is
// reproducible for a fixed seed.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <string>
#include <vector>

namespace adarts {

// Images as uint8 [N, C, H, W] (pixel = byte / 255) or float32 [N, C, H, W]
// (pixel = value, datasets handed over in memory), labels as int64 [N] in
// [0, num_classes).
struct Dataset {
  at::Tensor images;
  at::Tensor labels;
  int64_t num_classes = 0;
  std::string name;

  int64_t size() const { return labels.defined() ? labels.size(0) : 0; }
  int64_t channels() const { return images.size(1); }
  int64_t height() const { return images.size(2); }
  int64_t width() const { return images.size(3); }
};

// A batch ready for the network: float images [B, C, H, W], int64 labels [B].
struct Batch {
  at::Tensor images;
  at::Tensor labels;
  // Seeds the batch's stochastic regularisation (the supernet's drop-path
  // masks): every forward of one batch draws the same masks, so the losses an
  // estimator compares at perturbed weights are one function of w and alpha.
  uint64_t noise_seed = 0;
};

// Reads an IDX image file (magic 0x00000803, [N, H, W] uint8) and its label
// file (magic 0x00000801). Either may be gzip-compressed or raw. Throws
// adarts::Error (io_error when a file cannot be read, parse_error for a wrong
// magic, a truncated file, mismatched counts or a label >= num_classes).
Dataset read_idx(const std::string& images_path, const std::string& labels_path,
                 int64_t num_classes = 10);

// Fashion-MNIST / MNIST from a directory holding the four standard files
// (train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], t10k-...).
Dataset load_idx_dir(const std::string& dir, bool train);

// CIFAR-10 binary version from a directory holding data_batch_{1..5}.bin and
// test_batch.bin (records of 1 label byte + 3072 image bytes).
Dataset load_cifar10(const std::string& dir, bool train);

// A learnable synthetic dataset: each class has a fixed random pattern, each
// sample is its class pattern plus noise. Deterministic for a given seed.
struct SyntheticSpec {
  int64_t size = 256;
  int64_t channels = 3;
  int64_t height = 16;
  int64_t width = 16;
  int64_t num_classes = 10;
  double noise = 0.5;  // noise std relative to the pattern's
};
Dataset make_synthetic(const SyntheticSpec& spec, uint64_t seed);

// Images and labels a host holds in memory (the C ABI's
// adarts_dataset_from_memory), copied: `count` images, row-major
// [count, channels, height, width], of float32 pixels (`scale` must be 1) or
// of uint8 values whose pixels are value * scale (1/255 for 8-bit images);
// `labels` int64 in [0, num_classes). Pixels that are exactly bytes / 255 (8-bit
// images, or float32 images made of them as float(byte) / 255) are kept as
// bytes: a quarter of the memory, and the same numbers as the same images read
// from files. invalid_argument for sizes < 1 or too large, a label out of
// range, a non-finite pixel or a bad scale.
enum class PixelType { float32, uint8 };
Dataset dataset_from_memory(const void* images, PixelType type, double scale, int64_t count, int64_t channels,
                            int64_t height, int64_t width, const int64_t* labels, int64_t num_classes);

// The datasets a search or training config names (its `dataset` key):
// fashion-mnist and mnist (IDX files), cifar10 (binary batches), synthetic
// (generated). check_dataset_name throws invalid_argument for any other name.
void check_dataset_name(const std::string& name);
// The training or test split of a stored dataset so named (not synthetic), read from `dir`.
Dataset load_named_split(const std::string& name, const std::string& dir, bool train);

// Opens a dataset from a JSON spec, the form the C ABI and configs use:
//   {"kind":"idx","dir":"...","train":true,"subset":0}
//   {"kind":"cifar10","dir":"...","train":true,"subset":0}
//   {"kind":"synthetic","size":256,"channels":3,"height":16,"width":16,"classes":10,"noise":0.5,"seed":1}
// Unknown kinds and keys, wrong types: adarts::Error(parse_error) naming the key.
Dataset load_dataset_from_spec(const std::string& spec_json);

// The samples at `indices` (int64 1-D tensor or vector), sharing nothing with `data`.
Dataset subset(const Dataset& data, const std::vector<int64_t>& indices);

// The first `n` samples (all when n <= 0 or n >= size).
Dataset head(const Dataset& data, int64_t n);

// Two disjoint halves after a seeded shuffle (search: train and validation).
std::pair<Dataset, Dataset> split_halves(const Dataset& data, uint64_t seed);

// Per-channel mean and std of images scaled to [0, 1].
struct Normalization {
  std::vector<float> mean;
  std::vector<float> std;
};
Normalization compute_normalization(const Dataset& data);

struct Augmentation {
  int64_t crop_padding = 0;  // random crop with zero padding; 0 = off
  bool horizontal_flip = false;
  int64_t cutout = 0;        // side of the square cut out; 0 = off
};

// Iterates over a dataset in batches, reshuffling each epoch when `shuffle`.
// The last incomplete batch is dropped when `drop_last`.
class BatchLoader {
 public:
  BatchLoader(Dataset data, int64_t batch_size, bool shuffle, bool drop_last,
              Augmentation augmentation, Normalization normalization, uint64_t seed);

  // Fills `batch` with the next batch; returns false at the end of an epoch
  // (the next call starts a new epoch).
  bool next(Batch& batch);

  // Like next(), but wraps around to a new epoch instead of returning false.
  Batch next_cycling();

  int64_t batches_per_epoch() const;
  const Dataset& dataset() const { return data_; }

  // Where the loader is: its generator, the epoch's order and the position in
  // it. restore(state()) makes the following batches those that would have
  // come next (checkpoints, exact resume).
  struct State {
    at::Tensor generator_state;  // uint8, as at::Generator::get_state()
    at::Tensor order;            // undefined between epochs
    int64_t position = 0;
  };
  State state() const;
  void restore(const State& state);

 private:
  void start_epoch();

  Dataset data_;
  int64_t batch_size_;
  bool shuffle_;
  bool drop_last_;
  Augmentation augmentation_;
  Normalization normalization_;
  at::Generator generator_;
  at::Tensor order_;
  int64_t position_ = 0;
};

}  // namespace adarts
