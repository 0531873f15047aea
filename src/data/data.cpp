// Datasets: IDX (MNIST / Fashion-MNIST, gzip or raw), CIFAR-10 binary, a
// synthetic set; subsets, normalisation statistics, and a batch loader with
// DARTS-style augmentation (random crop with zero padding, horizontal flip,
// cutout). Every random draw goes through a generator seeded by the caller,
// never through the global one, so concurrent searches stay reproducible.
#include "adarts/data.h"

#include "adarts/error.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <system_error>

namespace adarts {

namespace fs = std::filesystem;

namespace {

std::string in_quotes(const std::string& path) { return "'" + path + "'"; }

std::string hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

// Throws io_error unless `path` names a readable regular file; returns its size.
uint64_t require_regular_file(const std::string& path, const std::string& what) {
  std::error_code ec;
  const auto st = fs::status(path, ec);
  if (ec || !fs::exists(st)) throw io_error(what + " " + in_quotes(path) + ": no such file");
  if (!fs::is_regular_file(st)) throw io_error(what + " " + in_quotes(path) + ": not a regular file");
  const auto size = fs::file_size(path, ec);
  if (ec) throw io_error(what + " " + in_quotes(path) + ": cannot read its size: " + ec.message());
  return static_cast<uint64_t>(size);
}

// A gzip-or-raw input file (zlib reads uncompressed files transparently).
class GzReader {
 public:
  GzReader(const std::string& path, const std::string& what) : path_(path), what_(what) {
    file_size_ = require_regular_file(path, what);
    file_ = gzopen(path.c_str(), "rb");
    if (file_ == nullptr) {
      throw io_error(what + " " + in_quotes(path) + ": cannot open: " + std::strerror(errno));
    }
    gzbuffer(file_, 1 << 17);
  }
  ~GzReader() {
    if (file_ != nullptr) gzclose(file_);
  }
  GzReader(const GzReader&) = delete;
  GzReader& operator=(const GzReader&) = delete;

  // Reads up to `n` bytes; returns how many were read (less only at end of file).
  uint64_t read(void* dst, uint64_t n) {
    auto* out = static_cast<unsigned char*>(dst);
    uint64_t done = 0;
    while (done < n) {
      const uint64_t chunk = std::min<uint64_t>(n - done, 1u << 30);
      const int got = gzread(file_, out + done, static_cast<unsigned>(chunk));
      if (got < 0) {
        int errnum = 0;
        const char* msg = gzerror(file_, &errnum);
        if (errnum == Z_ERRNO) {
          throw io_error(what_ + " " + in_quotes(path_) + ": read error: " + std::strerror(errno));
        }
        throw parse_error(what_ + " " + in_quotes(path_) + ": corrupt gzip data: " +
                          (msg != nullptr ? msg : "unknown zlib error"));
      }
      if (got == 0) break;
      done += static_cast<uint64_t>(got);
    }
    return done;
  }

  // An upper bound on the number of bytes the file can deliver. A raw file
  // holds its size; deflate expands at most ~1032:1.
  uint64_t max_payload() const {
    const bool raw = gzdirect(file_) == 1;
    if (raw) return file_size_;
    const uint64_t limit = std::numeric_limits<uint64_t>::max() / 2048;
    return std::min(file_size_, limit) * 1032 + 4096;
  }

  uint32_t read_be32(const char* field) {
    unsigned char b[4];
    if (read(b, 4) != 4) {
      throw parse_error(what_ + " " + in_quotes(path_) + ": truncated header (ends before the " +
                        field + " field)");
    }
    return (uint32_t(b[0]) << 24) | (uint32_t(b[1]) << 16) | (uint32_t(b[2]) << 8) | uint32_t(b[3]);
  }

  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::string what_;
  uint64_t file_size_ = 0;
  gzFile file_ = nullptr;
};

constexpr uint32_t kIdxImagesMagic = 0x00000803;
constexpr uint32_t kIdxLabelsMagic = 0x00000801;

void check_magic(const GzReader& r, uint32_t magic, uint32_t expected, const std::string& kind) {
  if (magic != expected) {
    std::string hint;
    if (magic == kIdxImagesMagic) hint = " (that is an IDX image file)";
    if (magic == kIdxLabelsMagic) hint = " (that is an IDX label file)";
    if ((magic >> 16) == 0x1f8b) hint = " (looks like a damaged gzip stream)";
    throw parse_error("IDX " + kind + " file " + in_quotes(r.path()) + ": wrong magic number " +
                      hex32(magic) + ", expected " + hex32(expected) + hint);
  }
}

// Reads `n` payload bytes into `dst`, after checking the file can hold them.
void read_payload(GzReader& r, void* dst, uint64_t n, const std::string& kind,
                  uint64_t header_bytes) {
  const uint64_t got = r.read(dst, n);
  if (got != n) {
    throw parse_error("IDX " + kind + " file " + in_quotes(r.path()) + ": truncated data: expected " +
                      std::to_string(n) + " bytes after the " + std::to_string(header_bytes) +
                      "-byte header, got " + std::to_string(got));
  }
}

void check_fits(const GzReader& r, uint64_t needed, uint64_t header_bytes, const std::string& kind,
                const std::string& dims) {
  if (needed > r.max_payload()) {
    throw parse_error("IDX " + kind + " file " + in_quotes(r.path()) + ": header dimensions " + dims +
                      " need " + std::to_string(needed) + " bytes of data after the " +
                      std::to_string(header_bytes) + "-byte header, more than the file can hold" +
                      " (truncated data or a corrupt header)");
  }
}

std::string dir_name(const std::string& dir) {
  fs::path p = fs::path(dir).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();
  std::string name = p.filename().string();
  if (name.empty() || name == "." || name == "..") {
    std::error_code ec;
    auto abs = fs::weakly_canonical(dir, ec);
    if (!ec && !abs.filename().empty()) name = abs.filename().string();
  }
  return name.empty() ? std::string("idx") : name;
}

void check_dataset(const Dataset& data, const char* where) {
  if (!data.images.defined() || !data.labels.defined()) {
    throw invalid_argument(std::string(where) + ": the dataset is empty (undefined tensors)");
  }
  if (data.images.dim() != 4 || (data.images.scalar_type() != at::kByte && data.images.scalar_type() != at::kFloat)) {
    throw invalid_argument(std::string(where) + ": images must be uint8 or float32 [N, C, H, W]");
  }
  if (data.labels.dim() != 1 || data.labels.scalar_type() != at::kLong) {
    throw invalid_argument(std::string(where) + ": labels must be int64 [N]");
  }
  if (data.images.size(0) != data.labels.size(0)) {
    throw invalid_argument(std::string(where) + ": " + std::to_string(data.images.size(0)) +
                           " images but " + std::to_string(data.labels.size(0)) + " labels");
  }
}

at::Generator seeded_generator(uint64_t seed) {
  return at::make_generator<at::CPUGeneratorImpl>(seed);
}

}  // namespace

// ---------------------------------------------------------------------------
// IDX

Dataset read_idx(const std::string& images_path, const std::string& labels_path,
                 int64_t num_classes) {
  if (num_classes < 1 || num_classes > 256) {
    throw invalid_argument("read_idx: num_classes must be in [1, 256], got " +
                           std::to_string(num_classes));
  }

  // Labels first: small, and their count lets us reject a mismatch before
  // reading the (large) image payload.
  at::Tensor labels_u8;
  uint32_t num_labels = 0;
  {
    GzReader r(labels_path, "IDX label file");
    check_magic(r, r.read_be32("magic number"), kIdxLabelsMagic, "label");
    num_labels = r.read_be32("label count");
    check_fits(r, num_labels, 8, "label", "[" + std::to_string(num_labels) + "]");
    labels_u8 = at::empty({int64_t(num_labels)}, at::kByte);
    read_payload(r, labels_u8.data_ptr<uint8_t>(), num_labels, "label", 8);
  }

  GzReader r(images_path, "IDX image file");
  check_magic(r, r.read_be32("magic number"), kIdxImagesMagic, "image");
  const uint32_t n = r.read_be32("image count");
  const uint32_t h = r.read_be32("row count");
  const uint32_t w = r.read_be32("column count");
  const std::string dims =
      "[" + std::to_string(n) + ", " + std::to_string(h) + ", " + std::to_string(w) + "]";
  if (h == 0 || w == 0) {
    throw parse_error("IDX image file " + in_quotes(images_path) + ": invalid image size " + dims);
  }
  if (n != num_labels) {
    throw parse_error("image/label count mismatch: " + in_quotes(images_path) + " has " +
                      std::to_string(n) + " images but " + in_quotes(labels_path) + " has " +
                      std::to_string(num_labels) + " labels");
  }
  uint64_t pixels = 0, bytes = 0;
  if (__builtin_mul_overflow(uint64_t(h), uint64_t(w), &pixels) ||
      __builtin_mul_overflow(pixels, uint64_t(n), &bytes) ||
      bytes > uint64_t(std::numeric_limits<int64_t>::max())) {
    throw parse_error("IDX image file " + in_quotes(images_path) + ": header dimensions " + dims +
                      " overflow (corrupt header)");
  }
  check_fits(r, bytes, 16, "image", dims);
  at::Tensor images = at::empty({int64_t(n), 1, int64_t(h), int64_t(w)}, at::kByte);
  read_payload(r, images.data_ptr<uint8_t>(), bytes, "image", 16);

  const uint8_t* lp = labels_u8.data_ptr<uint8_t>();
  for (uint32_t i = 0; i < num_labels; ++i) {
    if (int64_t(lp[i]) >= num_classes) {
      throw parse_error("IDX label file " + in_quotes(labels_path) + ": label " +
                        std::to_string(int(lp[i])) + " at index " + std::to_string(i) +
                        " is out of range (num_classes " + std::to_string(num_classes) + ")");
    }
  }

  Dataset d;
  d.images = images;
  d.labels = labels_u8.to(at::kLong);
  d.num_classes = num_classes;
  d.name = "idx";
  return d;
}

Dataset load_idx_dir(const std::string& dir, bool train) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    throw io_error("IDX dataset directory " + in_quotes(dir) + ": no such directory");
  }
  const std::string prefix = train ? "train" : "t10k";
  auto find = [&](const std::string& kind, const std::string& ext) -> std::string {
    const std::array<std::string, 4> names = {
        prefix + "-" + kind + "-" + ext, prefix + "-" + kind + "-" + ext + ".gz",
        prefix + "-" + kind + "." + ext, prefix + "-" + kind + "." + ext + ".gz"};
    for (const auto& name : names) {
      const fs::path p = fs::path(dir) / name;
      if (fs::is_regular_file(p, ec)) return p.string();
    }
    throw io_error("IDX dataset directory " + in_quotes(dir) + ": missing " + names[0] +
                   " (also tried " + names[1] + ", " + names[2] + ", " + names[3] + ")");
  };
  const std::string images = find("images", "idx3-ubyte");
  const std::string labels = find("labels", "idx1-ubyte");
  Dataset d = read_idx(images, labels, 10);
  d.name = dir_name(dir);
  return d;
}

// ---------------------------------------------------------------------------
// CIFAR-10

namespace {

constexpr int64_t kCifarImageBytes = 3 * 32 * 32;
constexpr int64_t kCifarRecord = 1 + kCifarImageBytes;

// The batch files of a CIFAR-10 split in `dir` (or in its cifar-10-batches-bin folder).
std::vector<std::string> cifar10_files(const std::string& dir, bool train) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    throw io_error("CIFAR-10 directory " + in_quotes(dir) + ": no such directory");
  }
  fs::path base(dir);
  // Accept the parent of the archive's own folder too.
  if (!fs::exists(base / "test_batch.bin", ec) && fs::is_directory(base / "cifar-10-batches-bin", ec)) {
    base /= "cifar-10-batches-bin";
  }
  std::vector<std::string> files;
  if (train) {
    for (int i = 1; i <= 5; ++i) files.push_back((base / ("data_batch_" + std::to_string(i) + ".bin")).string());
  } else {
    files.push_back((base / "test_batch.bin").string());
  }
  return files;
}

// The record count of each file, checked against its size.
std::vector<int64_t> cifar10_record_counts(const std::vector<std::string>& files) {
  std::vector<int64_t> counts;
  for (const auto& f : files) {
    const uint64_t size = require_regular_file(f, "CIFAR-10 file");
    if (size == 0 || size % kCifarRecord != 0) {
      throw parse_error("CIFAR-10 file " + in_quotes(f) + ": size " + std::to_string(size) +
                        " bytes is not a positive multiple of the " + std::to_string(kCifarRecord) +
                        "-byte record (truncated or not the binary version)");
    }
    counts.push_back(int64_t(size / kCifarRecord));
  }
  return counts;
}

}  // namespace

Dataset load_cifar10(const std::string& dir, bool train) {
  constexpr int64_t kImageBytes = kCifarImageBytes;
  constexpr int64_t kRecord = kCifarRecord;
  const std::vector<std::string> files = cifar10_files(dir, train);
  const std::vector<int64_t> counts = cifar10_record_counts(files);
  int64_t total = 0;
  for (const int64_t c : counts) total += c;

  at::Tensor images = at::empty({total, 3, 32, 32}, at::kByte);
  at::Tensor labels = at::empty({total}, at::kLong);
  uint8_t* ip = images.data_ptr<uint8_t>();
  int64_t* lp = labels.data_ptr<int64_t>();
  int64_t row = 0;
  std::vector<uint8_t> buf;
  for (size_t fi = 0; fi < files.size(); ++fi) {
    const auto& f = files[fi];
    std::ifstream in(f, std::ios::binary);
    if (!in) throw io_error("CIFAR-10 file " + in_quotes(f) + ": cannot open: " + std::strerror(errno));
    buf.resize(size_t(counts[fi] * kRecord));
    in.read(reinterpret_cast<char*>(buf.data()), std::streamsize(buf.size()));
    if (in.gcount() != std::streamsize(buf.size())) {
      throw io_error("CIFAR-10 file " + in_quotes(f) + ": read error (short read)");
    }
    for (int64_t i = 0; i < counts[fi]; ++i, ++row) {
      const uint8_t* rec = buf.data() + i * kRecord;
      if (rec[0] > 9) {
        throw parse_error("CIFAR-10 file " + in_quotes(f) + ": label " + std::to_string(int(rec[0])) +
                          " in record " + std::to_string(i) + " is out of range (0..9)");
      }
      lp[row] = rec[0];
      std::memcpy(ip + row * kImageBytes, rec + 1, size_t(kImageBytes));
    }
  }

  Dataset d;
  d.images = images;
  d.labels = labels;
  d.num_classes = 10;
  d.name = "cifar10";
  return d;
}

// ---------------------------------------------------------------------------
// In memory

namespace {

// a * b * ..., or -1 when the product passes `limit`.
int64_t checked_product(std::initializer_list<int64_t> factors, int64_t limit) {
  int64_t product = 1;
  for (int64_t f : factors) {
    if (__builtin_mul_overflow(product, f, &product) || product > limit) return -1;
  }
  return product;
}

// The byte whose float(byte) / 255 is exactly `x`, or -1.
int byte_of(float x) {
  const double k = std::nearbyint(double(x) * 255.0);
  if (!(k >= 0.0 && k <= 255.0)) return -1;
  return float(k) / 255.f == x ? int(k) : -1;
}

}  // namespace

Dataset dataset_from_memory(const void* images, PixelType type, double scale, int64_t count, int64_t channels,
                            int64_t height, int64_t width, const int64_t* labels, int64_t num_classes) {
  if (images == nullptr || labels == nullptr) throw invalid_argument("dataset_from_memory: images or labels is NULL");
  if (count < 1 || channels < 1 || height < 1 || width < 1) {
    throw invalid_argument("dataset_from_memory: count, channels, height and width must be >= 1, got " +
                           std::to_string(count) + " x " + std::to_string(channels) + " x " +
                           std::to_string(height) + " x " + std::to_string(width));
  }
  if (num_classes < 1) throw invalid_argument("dataset_from_memory: classes must be >= 1, got " + std::to_string(num_classes));
  // Every byte count below must fit a signed 64-bit size (and the tensors' element counts).
  const int64_t pixels = checked_product({count, channels, height, width}, std::numeric_limits<int64_t>::max() / 8);
  if (pixels < 0) throw invalid_argument("dataset_from_memory: count x channels x height x width is too large");
  const bool bytes = type == PixelType::uint8;
  if (bytes ? !(std::isfinite(scale) && scale > 0) : scale != 1.0) {
    throw invalid_argument(bytes ? "dataset_from_memory: the scale of uint8 images must be positive and finite, got " +
                                       std::to_string(scale)
                                 : "dataset_from_memory: float32 images are taken as they are: scale must be 1, got " +
                                       std::to_string(scale));
  }
  for (int64_t i = 0; i < count; ++i) {
    if (labels[i] < 0 || labels[i] >= num_classes) {
      throw invalid_argument("dataset_from_memory: label " + std::to_string(labels[i]) + " of image " +
                             std::to_string(i) + " is outside [0, " + std::to_string(num_classes) + ")");
    }
  }
  Dataset d;
  d.name = "memory";
  d.num_classes = num_classes;
  d.labels = at::empty({count}, at::kLong);
  std::memcpy(d.labels.data_ptr<int64_t>(), labels, size_t(count) * sizeof(int64_t));
  const std::vector<int64_t> shape{count, channels, height, width};  // (an IntArrayRef of a braced list would dangle)
  if (bytes && scale == 1.0 / 255.0) {
    d.images = at::empty(shape, at::kByte);
    std::memcpy(d.images.data_ptr<uint8_t>(), images, size_t(pixels));
    return d;
  }
  if (bytes) {  // another scale: the pixels themselves, in float32
    d.images = at::empty(shape, at::kFloat);
    const auto* in = static_cast<const uint8_t*>(images);
    float* out = d.images.data_ptr<float>();
    for (int64_t i = 0; i < pixels; ++i) out[i] = float(double(in[i]) * scale);
    return d;
  }
  const auto* in = static_cast<const float*>(images);
  bool all_bytes = true;
  for (int64_t i = 0; i < pixels; ++i) {
    if (!std::isfinite(in[i])) {
      const int64_t per_image = channels * height * width;
      throw invalid_argument("dataset_from_memory: pixel " + std::to_string(i % per_image) + " of image " +
                             std::to_string(i / per_image) + " is not finite (" + std::to_string(in[i]) + ")");
    }
    all_bytes = all_bytes && byte_of(in[i]) >= 0;
  }
  if (all_bytes) {
    d.images = at::empty(shape, at::kByte);
    uint8_t* out = d.images.data_ptr<uint8_t>();
    for (int64_t i = 0; i < pixels; ++i) out[i] = uint8_t(byte_of(in[i]));
  } else {
    d.images = at::empty(shape, at::kFloat);
    std::memcpy(d.images.data_ptr<float>(), in, size_t(pixels) * sizeof(float));
  }
  return d;
}

// ---------------------------------------------------------------------------
// Synthetic

Dataset make_synthetic(const SyntheticSpec& spec, uint64_t seed) {
  if (spec.size < 0 || spec.channels < 1 || spec.height < 1 || spec.width < 1 ||
      spec.num_classes < 1 || spec.num_classes > 256) {
    throw invalid_argument("make_synthetic: need size >= 0, channels/height/width >= 1 and "
                           "num_classes in [1, 256]");
  }
  if (!std::isfinite(spec.noise) || spec.noise < 0) {
    throw invalid_argument("make_synthetic: noise must be finite and >= 0");
  }
  at::Generator gen = seeded_generator(seed);
  const int64_t K = spec.num_classes, C = spec.channels, H = spec.height, W = spec.width;

  // Smooth class patterns: low-resolution noise upsampled bilinearly, plus a
  // little fine detail, normalised per class to zero mean and unit std.
  const int64_t lh = std::max<int64_t>(2, (H + 3) / 4), lw = std::max<int64_t>(2, (W + 3) / 4);
  at::Tensor coarse = at::randn({K, C, lh, lw}, gen);
  at::Tensor patterns = at::upsample_bilinear2d(coarse, {H, W}, /*align_corners=*/false);
  patterns = patterns + 0.3 * at::randn({K, C, H, W}, gen);
  at::Tensor flat = patterns.reshape({K, -1});
  at::Tensor sd = flat.std(1, /*unbiased=*/false, /*keepdim=*/true).clamp_min(1e-6);
  patterns = ((flat - flat.mean(1, true)) / sd).reshape({K, C, H, W});

  // Balanced labels, shuffled.
  at::Tensor labels = at::arange(spec.size, at::kLong).remainder(K);
  if (spec.size > 0) labels = labels.index_select(0, at::randperm(spec.size, gen));

  at::Tensor x = patterns.index_select(0, labels);
  if (spec.noise > 0) x = x + spec.noise * at::randn({spec.size, C, H, W}, gen);
  at::Tensor images = (x * 48.0 + 127.5).round_().clamp_(0, 255).to(at::kByte).contiguous();

  Dataset d;
  d.images = images;
  d.labels = labels.contiguous();
  d.num_classes = K;
  d.name = "synthetic";
  return d;
}

// ---------------------------------------------------------------------------
// Subsets

Dataset subset(const Dataset& data, const std::vector<int64_t>& indices) {
  check_dataset(data, "subset");
  const int64_t n = data.size();
  for (int64_t i : indices) {
    if (i < 0 || i >= n) {
      throw invalid_argument("subset: index " + std::to_string(i) + " out of range for a dataset of " +
                             std::to_string(n) + " samples");
    }
  }
  at::Tensor idx = at::empty({int64_t(indices.size())}, at::kLong);
  if (!indices.empty()) std::memcpy(idx.data_ptr<int64_t>(), indices.data(), indices.size() * sizeof(int64_t));
  Dataset d;
  d.images = data.images.index_select(0, idx).contiguous();
  d.labels = data.labels.index_select(0, idx).contiguous();
  d.num_classes = data.num_classes;
  d.name = data.name;
  return d;
}

Dataset head(const Dataset& data, int64_t n) {
  if (n <= 0 || n >= data.size()) return data;
  Dataset d;
  d.images = data.images.narrow(0, 0, n).clone();
  d.labels = data.labels.narrow(0, 0, n).clone();
  d.num_classes = data.num_classes;
  d.name = data.name;
  return d;
}

std::pair<Dataset, Dataset> split_halves(const Dataset& data, uint64_t seed) {
  check_dataset(data, "split_halves");
  const int64_t n = data.size();
  at::Generator gen = seeded_generator(seed);
  at::Tensor perm = n > 0 ? at::randperm(n, gen) : at::empty({0}, at::kLong);
  const int64_t half = n / 2;
  const int64_t* p = perm.data_ptr<int64_t>();
  std::vector<int64_t> a(p, p + half), b(p + half, p + n);
  return {subset(data, a), subset(data, b)};
}

Normalization compute_normalization(const Dataset& data) {
  check_dataset(data, "compute_normalization");
  if (data.size() == 0) throw invalid_argument("compute_normalization: the dataset has no samples");
  at::Tensor images = data.images.contiguous();
  const int64_t N = images.size(0), C = images.size(1), HW = images.size(2) * images.size(3);
  const double count = double(N) * double(HW);
  Normalization norm;
  if (images.scalar_type() == at::kFloat) {  // pixels as they are, sums in double
    const float* p = images.data_ptr<float>();
    for (int64_t c = 0; c < C; ++c) {
      double sum = 0.0, sq = 0.0;
      for (int64_t i = 0; i < N; ++i) {
        const float* q = p + (i * C + c) * HW;
        for (int64_t k = 0; k < HW; ++k) {
          sum += q[k];
          sq += double(q[k]) * q[k];
        }
      }
      const double mean = sum / count;
      norm.mean.push_back(float(mean));
      norm.std.push_back(float(std::sqrt(std::max(0.0, sq / count - mean * mean))));
    }
    return norm;
  }
  const uint8_t* p = images.data_ptr<uint8_t>();
  // Exact integer sums (255^2 * 2^40 still fits in 64 bits).
  std::vector<uint64_t> sum(size_t(C), 0), sq(size_t(C), 0);
  for (int64_t i = 0; i < N; ++i) {
    for (int64_t c = 0; c < C; ++c) {
      const uint8_t* q = p + (i * C + c) * HW;
      uint64_t s = 0, s2 = 0;
      for (int64_t k = 0; k < HW; ++k) {
        s += q[k];
        s2 += uint32_t(q[k]) * q[k];
      }
      sum[size_t(c)] += s;
      sq[size_t(c)] += s2;
    }
  }
  for (int64_t c = 0; c < C; ++c) {
    const double mean = double(sum[size_t(c)]) / count / 255.0;
    const double ex2 = double(sq[size_t(c)]) / count / (255.0 * 255.0);
    norm.mean.push_back(float(mean));
    norm.std.push_back(float(std::sqrt(std::max(0.0, ex2 - mean * mean))));
  }
  return norm;
}

// ---------------------------------------------------------------------------
// BatchLoader

BatchLoader::BatchLoader(Dataset data, int64_t batch_size, bool shuffle, bool drop_last,
                         Augmentation augmentation, Normalization normalization, uint64_t seed)
    : data_(std::move(data)),
      batch_size_(batch_size),
      shuffle_(shuffle),
      drop_last_(drop_last),
      augmentation_(augmentation),
      normalization_(std::move(normalization)),
      generator_(seeded_generator(seed)) {
  check_dataset(data_, "BatchLoader");
  if (batch_size_ < 1) throw invalid_argument("BatchLoader: batch_size must be >= 1");
  if (augmentation_.crop_padding < 0 || augmentation_.cutout < 0) {
    throw invalid_argument("BatchLoader: crop_padding and cutout must be >= 0");
  }
  const auto C = size_t(data_.images.size(1));
  const auto& nm = normalization_;
  if (!(nm.mean.empty() && nm.std.empty()) && (nm.mean.size() != C || nm.std.size() != C)) {
    throw invalid_argument("BatchLoader: normalization needs " + std::to_string(C) +
                           " means and stds (one per channel) or none");
  }
  for (float s : nm.std) {
    if (!(s > 0) || !std::isfinite(s)) {
      throw invalid_argument("BatchLoader: normalization std must be positive and finite");
    }
  }
  for (float m : nm.mean) {
    if (!std::isfinite(m)) throw invalid_argument("BatchLoader: normalization mean must be finite");
  }
  if (!data_.images.device().is_cpu()) data_.images = data_.images.cpu();
  if (!data_.labels.device().is_cpu()) data_.labels = data_.labels.cpu();
  data_.images = data_.images.contiguous();
  data_.labels = data_.labels.contiguous();
}

int64_t BatchLoader::batches_per_epoch() const {
  const int64_t n = data_.size();
  return drop_last_ ? n / batch_size_ : (n + batch_size_ - 1) / batch_size_;
}

BatchLoader::State BatchLoader::state() const {
  State s;
  s.generator_state = generator_.get_state();
  if (order_.defined()) s.order = order_.clone();
  s.position = position_;
  return s;
}

void BatchLoader::restore(const State& s) {
  const int64_t n = data_.size();
  if (s.order.defined() && (s.order.dim() != 1 || s.order.size(0) != n || s.order.scalar_type() != at::kLong)) {
    throw invalid_argument("BatchLoader: the saved order does not fit a dataset of " + std::to_string(n) + " samples");
  }
  if (s.position < 0 || s.position > n) throw invalid_argument("BatchLoader: the saved position is out of range");
  if (!s.generator_state.defined()) throw invalid_argument("BatchLoader: no generator state");
  generator_.set_state(s.generator_state);
  order_ = s.order.defined() ? s.order.clone() : at::Tensor();
  position_ = s.position;
}

void BatchLoader::start_epoch() {
  const int64_t n = data_.size();
  order_ = shuffle_ && n > 0 ? at::randperm(n, generator_) : at::arange(n, at::kLong);
  position_ = 0;
}

namespace {

// One batch's random augmentation draws, per sample; null pointers for what is off.
struct AugmentationDraws {
  at::Tensor offsets, flips, centres_y, centres_x;  // [B, 2] crop offsets in [0, 2 pad], [B] flips, [B] cutout centres
  const int64_t* offset(int64_t b) const { return offsets.defined() ? offsets.data_ptr<int64_t>() + 2 * b : nullptr; }
  bool flip(int64_t b) const { return flips.defined() && flips.data_ptr<int64_t>()[b] != 0; }
};

// The draws in a fixed order (offsets, flips, cutout centres): a loader's stream replays exactly.
AugmentationDraws draw_augmentation(const Augmentation& a, int64_t B, int64_t H, int64_t W, at::Generator& generator) {
  AugmentationDraws d;
  if (a.crop_padding > 0) d.offsets = at::randint(0, 2 * a.crop_padding + 1, {B, 2}, generator);
  if (a.horizontal_flip) d.flips = at::randint(0, 2, {B}, generator);
  if (a.cutout > 0) {
    d.centres_y = at::randint(0, H, {B}, generator);
    d.centres_x = at::randint(0, W, {B}, generator);
  }
  return d;
}

// Pixel -> normalised float, one per channel: a table for bytes (pixel byte /
// 255), arithmetic for float pixels. Both compute (pixel - mean) / std as
// (pixel - mean) * (1 / std) in float, so float pixels float(byte) / 255 give
// the bytes' values bit for bit.
struct ByteChannel {
  std::array<float, 256> table;
  ByteChannel(float mean, float inv) {
    for (int v = 0; v < 256; ++v) table[size_t(v)] = (float(v) / 255.f - mean) * inv;
  }
  float operator()(uint8_t v) const { return table[v]; }
};
struct FloatChannel {
  float mean, inv;
  FloatChannel(float mean_, float inv_) : mean(mean_), inv(inv_) {}
  float operator()(float x) const { return (x - mean) * inv; }
};

template <class Channel>
std::vector<Channel> normalization_channels(const Normalization& n, int64_t C) {
  std::vector<Channel> channels;
  for (int64_t c = 0; c < C; ++c) {
    channels.emplace_back(n.mean.empty() ? 0.f : n.mean[size_t(c)], n.std.empty() ? 1.f : 1.f / n.std[size_t(c)]);
  }
  return channels;
}

// One image [C, H, W] to floats: normalised, cropped from its zero padding at
// (dy, dx), mirrored, and the cutout square [y1, y2) x [x1, x2) zeroed.
template <class Pixel, class Channel>
void write_augmented_image(const Pixel* src, float* dst, const std::vector<Channel>& channels, int64_t H, int64_t W,
                           int64_t dy, int64_t dx, bool mirror, int64_t y1, int64_t y2, int64_t x1, int64_t x2) {
  const auto C = int64_t(channels.size());
  for (int64_t c = 0; c < C; ++c) {
    const Channel& map = channels[size_t(c)];
    const float zero = map(Pixel(0));  // the padding, normalised
    const Pixel* plane = src + c * H * W;
    float* out = dst + c * H * W;
    for (int64_t y = 0; y < H; ++y) {
      float* orow = out + y * W;
      const int64_t sy = y + dy;
      if (sy < 0 || sy >= H) {
        std::fill(orow, orow + W, zero);
        continue;
      }
      const Pixel* irow = plane + sy * W;
      if (dx == 0 && !mirror) {
        for (int64_t x = 0; x < W; ++x) orow[x] = map(irow[x]);
      } else {
        for (int64_t x = 0; x < W; ++x) {
          const int64_t sx = (mirror ? W - 1 - x : x) + dx;
          orow[x] = (sx >= 0 && sx < W) ? map(irow[sx]) : zero;
        }
      }
    }
    // Cutout (after normalisation, as in DARTS): a zeroed square.
    for (int64_t y = y1; y < y2; ++y) std::fill(out + y * W + x1, out + y * W + x2, 0.f);
  }
}

}  // namespace

bool BatchLoader::next(Batch& batch) {
  if (!order_.defined()) start_epoch();
  const int64_t n = data_.size();
  const int64_t remaining = n - position_;
  if (remaining <= 0 || (drop_last_ && remaining < batch_size_)) {
    order_ = at::Tensor();  // the next call starts a new epoch
    position_ = 0;
    return false;
  }
  const int64_t B = std::min(batch_size_, remaining);
  const int64_t C = data_.images.size(1), H = data_.images.size(2), W = data_.images.size(3);
  const int64_t* order = order_.data_ptr<int64_t>() + position_;
  position_ += B;

  const AugmentationDraws draws = draw_augmentation(augmentation_, B, H, W, generator_);
  const bool bytes = data_.images.scalar_type() == at::kByte;
  const auto byte_channels = bytes ? normalization_channels<ByteChannel>(normalization_, C) : std::vector<ByteChannel>{};
  const auto float_channels = bytes ? std::vector<FloatChannel>{} : normalization_channels<FloatChannel>(normalization_, C);
  const int64_t pad = augmentation_.crop_padding, cut = augmentation_.cutout;
  at::Tensor images = at::empty({B, C, H, W}, at::kFloat);
  at::Tensor labels = at::empty({B}, at::kLong);
  const int64_t* src_labels = data_.labels.data_ptr<int64_t>();
  float* dst = images.data_ptr<float>();
  int64_t* dst_labels = labels.data_ptr<int64_t>();
  at::parallel_for(0, B, 16, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) {
      const int64_t idx = order[b];
      TORCH_CHECK(idx >= 0 && idx < n, "BatchLoader: index out of range");
      dst_labels[b] = src_labels[idx];
      // Cropped pixel (y, x) comes from source (y + dy, x + dx); outside is zero padding.
      const int64_t* offset = draws.offset(b);
      const int64_t dy = offset ? offset[0] - pad : 0, dx = offset ? offset[1] - pad : 0;
      int64_t y1 = 0, y2 = 0, x1 = 0, x2 = 0;
      if (cut > 0) {
        const int64_t cy = draws.centres_y.data_ptr<int64_t>()[b], cx = draws.centres_x.data_ptr<int64_t>()[b];
        y1 = std::clamp<int64_t>(cy - cut / 2, 0, H);
        y2 = std::clamp<int64_t>(cy - cut / 2 + cut, 0, H);
        x1 = std::clamp<int64_t>(cx - cut / 2, 0, W);
        x2 = std::clamp<int64_t>(cx - cut / 2 + cut, 0, W);
      }
      const int64_t from = idx * C * H * W;
      if (bytes) {
        write_augmented_image(data_.images.data_ptr<uint8_t>() + from, dst + b * C * H * W, byte_channels, H, W, dy,
                              dx, draws.flip(b), y1, y2, x1, x2);
      } else {
        write_augmented_image(data_.images.data_ptr<float>() + from, dst + b * C * H * W, float_channels, H, W, dy,
                              dx, draws.flip(b), y1, y2, x1, x2);
      }
    }
  });
  batch.images = images;
  batch.labels = labels;
  return true;
}

Batch BatchLoader::next_cycling() {
  Batch batch;
  if (next(batch)) return batch;
  if (next(batch)) return batch;
  throw invalid_argument("BatchLoader: no batch in an epoch (dataset of " +
                         std::to_string(data_.size()) + " samples, batch size " +
                         std::to_string(batch_size_) + (drop_last_ ? ", drop_last)" : ")"));
}

}  // namespace adarts
