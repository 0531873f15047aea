// Tests for the dataset readers, the synthetic set, subsets, normalisation and
// the batch loader (src/data/data.cpp).
#include "adarts/data.h"

#include "adarts/error.h"
#include "test_util.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;

namespace {

using adarts::test::expect_error;

using Bytes = std::vector<uint8_t>;

// A fresh directory per test, removed afterwards.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = std::string("adarts_data_") + (info ? info->name() : "x") + "_" +
                       std::to_string(::getpid()) + "_" + std::to_string(counter++);
    path_ = fs::temp_directory_path() / name;
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  std::string str() const { return path_.string(); }

 private:
  fs::path path_;
};

void put_be32(Bytes& b, uint32_t v) {
  b.push_back(uint8_t(v >> 24));
  b.push_back(uint8_t(v >> 16));
  b.push_back(uint8_t(v >> 8));
  b.push_back(uint8_t(v));
}

void write_file(const std::string& path, const Bytes& data, bool gzip) {
  if (gzip) {
    gzFile f = gzopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    if (!data.empty()) {
      ASSERT_EQ(gzwrite(f, data.data(), unsigned(data.size())), int(data.size()));
    }
    ASSERT_EQ(gzclose(f), Z_OK);
  } else {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(data.data()), std::streamsize(data.size()));
    ASSERT_TRUE(out.good());
  }
}

Bytes idx_images(uint32_t n, uint32_t h, uint32_t w, const Bytes& pixels,
                 uint32_t magic = 0x00000803) {
  Bytes b;
  put_be32(b, magic);
  put_be32(b, n);
  put_be32(b, h);
  put_be32(b, w);
  b.insert(b.end(), pixels.begin(), pixels.end());
  return b;
}

Bytes idx_labels(const Bytes& labels, uint32_t magic = 0x00000801) {
  Bytes b;
  put_be32(b, magic);
  put_be32(b, uint32_t(labels.size()));
  b.insert(b.end(), labels.begin(), labels.end());
  return b;
}

// 3 images of 2x3 with distinct pixel values, labels {7, 0, 9}.
const Bytes kPixels = {0, 1, 2, 3, 4, 5, 10, 20, 30, 40, 50, 60, 255, 254, 253, 252, 251, 250};
const Bytes kLabels = {7, 0, 9};

void expect_small_idx(const adarts::Dataset& d) {
  ASSERT_EQ(d.images.sizes(), (std::vector<int64_t>{3, 1, 2, 3}));
  EXPECT_EQ(d.images.scalar_type(), at::kByte);
  EXPECT_EQ(d.labels.scalar_type(), at::kLong);
  EXPECT_EQ(d.num_classes, 10);
  EXPECT_EQ(d.size(), 3);
  const uint8_t* p = d.images.contiguous().data_ptr<uint8_t>();
  for (size_t i = 0; i < kPixels.size(); ++i) EXPECT_EQ(p[i], kPixels[i]) << "pixel " << i;
  EXPECT_EQ(d.images[1][0][0][2].item<int>(), 30);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(d.labels[i].item<int64_t>(), kLabels[size_t(i)]);
}

// A dataset whose sample i is a constant image of value i and label i % k.
adarts::Dataset indexed_dataset(int64_t n, int64_t c = 1, int64_t h = 4, int64_t w = 4,
                                int64_t k = 10) {
  adarts::Dataset d;
  d.images = at::arange(n, at::kLong).to(at::kByte).view({n, 1, 1, 1}).expand({n, c, h, w}).contiguous();
  d.labels = at::arange(n, at::kLong).remainder(k);
  d.num_classes = k;
  d.name = "indexed";
  return d;
}

std::vector<int64_t> sample_ids(const adarts::Batch& b) {
  // Recovers the sample value from an unaugmented, unnormalised batch.
  std::vector<int64_t> ids;
  for (int64_t i = 0; i < b.images.size(0); ++i) {
    ids.push_back(std::lround(b.images[i][0][0][0].item<float>() * 255.f));
  }
  return ids;
}

}  // namespace

// ---------------------------------------------------------------------------
// IDX

TEST(Idx, RawRoundTrip) {
  TempDir dir;
  write_file(dir.file("img"), idx_images(3, 2, 3, kPixels), false);
  write_file(dir.file("lbl"), idx_labels(kLabels), false);
  expect_small_idx(adarts::read_idx(dir.file("img"), dir.file("lbl")));
}

TEST(Idx, GzipRoundTrip) {
  TempDir dir;
  write_file(dir.file("img.gz"), idx_images(3, 2, 3, kPixels), true);
  write_file(dir.file("lbl.gz"), idx_labels(kLabels), true);
  expect_small_idx(adarts::read_idx(dir.file("img.gz"), dir.file("lbl.gz")));
}

TEST(Idx, MixedGzipAndRaw) {
  TempDir dir;
  write_file(dir.file("img.gz"), idx_images(3, 2, 3, kPixels), true);
  write_file(dir.file("lbl"), idx_labels(kLabels), false);
  expect_small_idx(adarts::read_idx(dir.file("img.gz"), dir.file("lbl")));
}

TEST(Idx, MissingFile) {
  TempDir dir;
  write_file(dir.file("lbl"), idx_labels(kLabels), false);
  expect_error([&] { adarts::read_idx(dir.file("nope"), dir.file("lbl")); },
               adarts::ErrorKind::io_error, {"nope", "no such file"});
  write_file(dir.file("img"), idx_images(3, 2, 3, kPixels), false);
  expect_error([&] { adarts::read_idx(dir.file("img"), dir.file("missing-labels")); },
               adarts::ErrorKind::io_error, {"missing-labels", "no such file"});
  expect_error([&] { adarts::read_idx(dir.str(), dir.file("lbl")); }, adarts::ErrorKind::io_error,
               {"not a regular file"});
}

TEST(Idx, WrongMagic) {
  TempDir dir;
  for (bool gz : {false, true}) {
    write_file(dir.file("img"), idx_images(3, 2, 3, kPixels), gz);
    write_file(dir.file("lbl"), idx_labels(kLabels), gz);
    // Swapped files: each has the other's magic.
    expect_error([&] { adarts::read_idx(dir.file("lbl"), dir.file("img")); },
                 adarts::ErrorKind::parse_error, {"magic", "0x00000803", dir.file("img")});
    write_file(dir.file("bad"), idx_images(3, 2, 3, kPixels, 0x00000804), gz);
    expect_error([&] { adarts::read_idx(dir.file("bad"), dir.file("lbl")); },
                 adarts::ErrorKind::parse_error, {"magic", "0x00000804", "bad"});
  }
}

TEST(Idx, TruncatedHeader) {
  TempDir dir;
  for (bool gz : {false, true}) {
    write_file(dir.file("lbl"), idx_labels(kLabels), gz);
    Bytes img = idx_images(3, 2, 3, {});
    img.resize(10);  // cut inside the row count
    write_file(dir.file("img"), img, gz);
    expect_error([&] { adarts::read_idx(dir.file("img"), dir.file("lbl")); },
                 adarts::ErrorKind::parse_error, {"truncated header", "img"});
    write_file(dir.file("short_lbl"), Bytes{0, 0, 8}, gz);
    expect_error([&] { adarts::read_idx(dir.file("img"), dir.file("short_lbl")); },
                 adarts::ErrorKind::parse_error, {"truncated header", "short_lbl"});
    write_file(dir.file("empty"), Bytes{}, gz);
    expect_error([&] { adarts::read_idx(dir.file("img"), dir.file("empty")); },
                 adarts::ErrorKind::parse_error, {"truncated header"});
  }
}

TEST(Idx, TruncatedData) {
  TempDir dir;
  for (bool gz : {false, true}) {
    write_file(dir.file("lbl"), idx_labels(kLabels), gz);
    Bytes px = kPixels;
    px.resize(px.size() - 1);
    write_file(dir.file("img"), idx_images(3, 2, 3, px), gz);
    expect_error([&] { adarts::read_idx(dir.file("img"), dir.file("lbl")); },
                 adarts::ErrorKind::parse_error, {"truncated", "img"});
    Bytes lbl = idx_labels(kLabels);
    lbl.pop_back();
    write_file(dir.file("lbl2"), lbl, gz);
    write_file(dir.file("img"), idx_images(3, 2, 3, kPixels), gz);
    expect_error([&] { adarts::read_idx(dir.file("img"), dir.file("lbl2")); },
                 adarts::ErrorKind::parse_error, {"truncated", "lbl2"});
  }
}

TEST(Idx, CorruptGzipStreamIsAnError) {
  TempDir dir;
  write_file(dir.file("img.gz"), idx_images(3, 2, 3, kPixels), true);
  write_file(dir.file("lbl"), idx_labels(kLabels), false);
  // Cut the gzip stream in half: an adarts::Error (parse), never a crash.
  Bytes gz;
  {
    std::ifstream in(dir.file("img.gz"), std::ios::binary);
    gz.assign(std::istreambuf_iterator<char>(in), {});
  }
  gz.resize(gz.size() / 2);
  write_file(dir.file("cut.gz"), gz, false);
  expect_error([&] { adarts::read_idx(dir.file("cut.gz"), dir.file("lbl")); },
               adarts::ErrorKind::parse_error, {"cut.gz"});
}

TEST(Idx, AbsurdHeaderSizesAreRejectedBeforeAllocating) {
  TempDir dir;
  for (bool gz : {false, true}) {
    write_file(dir.file("lbl"), idx_labels(Bytes(3, 1)), gz);
    // Claims 3 images of 65535x65535 (12 GB) in a file of a few bytes.
    write_file(dir.file("img"), idx_images(3, 0xFFFF, 0xFFFF, kPixels), gz);
    expect_error([&] { adarts::read_idx(dir.file("img"), dir.file("lbl")); },
                 adarts::ErrorKind::parse_error, {"more than the file can hold"});
    // A product that overflows 64 bits.
    write_file(dir.file("img"), idx_images(3, 0xFFFFFFFF, 0xFFFFFFFF, kPixels), gz);
    expect_error([&] { adarts::read_idx(dir.file("img"), dir.file("lbl")); },
                 adarts::ErrorKind::parse_error, {"img"});
    // A label count of 4 billion in a tiny file.
    Bytes lbl = idx_labels(kLabels);
    lbl[4] = lbl[5] = lbl[6] = lbl[7] = 0xFF;
    write_file(dir.file("lbl_big"), lbl, gz);
    expect_error([&] { adarts::read_idx(dir.file("img"), dir.file("lbl_big")); },
                 adarts::ErrorKind::parse_error, {"lbl_big", "more than the file can hold"});
    write_file(dir.file("zero"), idx_images(3, 0, 3, {}), gz);
    expect_error([&] { adarts::read_idx(dir.file("zero"), dir.file("lbl")); },
                 adarts::ErrorKind::parse_error, {"invalid image size"});
  }
}

TEST(Idx, CountMismatch) {
  TempDir dir;
  write_file(dir.file("img"), idx_images(3, 2, 3, kPixels), false);
  write_file(dir.file("lbl"), idx_labels({1, 2}), true);
  expect_error([&] { adarts::read_idx(dir.file("img"), dir.file("lbl")); },
               adarts::ErrorKind::parse_error, {"count mismatch", "3 images", "2 labels"});
}

TEST(Idx, LabelOutOfRange) {
  TempDir dir;
  write_file(dir.file("img"), idx_images(3, 2, 3, kPixels), false);
  write_file(dir.file("lbl"), idx_labels({1, 10, 2}), false);
  expect_error([&] { adarts::read_idx(dir.file("img"), dir.file("lbl")); },
               adarts::ErrorKind::parse_error, {"label 10", "index 1", "out of range"});
  // Fine with more classes; invalid num_classes is an invalid argument.
  EXPECT_EQ(adarts::read_idx(dir.file("img"), dir.file("lbl"), 11).num_classes, 11);
  expect_error([&] { adarts::read_idx(dir.file("img"), dir.file("lbl"), 0); },
               adarts::ErrorKind::invalid_argument, {"num_classes"});
}

TEST(Idx, LoadDirFindsGzipAndRawFiles) {
  TempDir root;
  const fs::path dir = fs::path(root.str()) / "my-mnist";
  fs::create_directories(dir);
  write_file((dir / "train-images-idx3-ubyte.gz").string(), idx_images(3, 2, 3, kPixels), true);
  write_file((dir / "train-labels-idx1-ubyte.gz").string(), idx_labels(kLabels), true);
  write_file((dir / "t10k-images-idx3-ubyte").string(), idx_images(3, 2, 3, kPixels), false);
  write_file((dir / "t10k-labels-idx1-ubyte").string(), idx_labels(kLabels), false);
  auto train = adarts::load_idx_dir(dir.string(), true);
  expect_small_idx(train);
  EXPECT_EQ(train.name, "my-mnist");
  auto test = adarts::load_idx_dir(dir.string() + "/", false);
  expect_small_idx(test);
  EXPECT_EQ(test.name, "my-mnist");

  fs::remove(dir / "t10k-labels-idx1-ubyte");
  expect_error([&] { adarts::load_idx_dir(dir.string(), false); }, adarts::ErrorKind::io_error,
               {"t10k-labels-idx1-ubyte", "missing"});
  expect_error([&] { adarts::load_idx_dir(root.file("absent"), true); },
               adarts::ErrorKind::io_error, {"absent"});
}

TEST(Idx, RealFashionMnist) {
  const std::string dir = "/usr/share/datasets/fashion-mnist";
  if (!fs::exists(fs::path(dir) / "train-images-idx3-ubyte.gz") &&
      !fs::exists(fs::path(dir) / "train-images-idx3-ubyte")) {
    GTEST_SKIP() << "Fashion-MNIST not installed in " << dir;
  }
  auto train = adarts::load_idx_dir(dir, true);
  auto test = adarts::load_idx_dir(dir, false);
  EXPECT_EQ(train.name, "fashion-mnist");
  EXPECT_EQ(train.images.sizes(), (std::vector<int64_t>{60000, 1, 28, 28}));
  EXPECT_EQ(test.images.sizes(), (std::vector<int64_t>{10000, 1, 28, 28}));
  EXPECT_EQ(train.size(), 60000);
  EXPECT_EQ(test.size(), 10000);
  EXPECT_EQ(train.num_classes, 10);
  // Fashion-MNIST is balanced: 6000 / 1000 of each class.
  auto counts = at::bincount(train.labels);
  EXPECT_EQ(counts.size(0), 10);
  EXPECT_EQ(counts.min().item<int64_t>(), 6000);
  EXPECT_EQ(at::bincount(test.labels).max().item<int64_t>(), 1000);
  auto norm = adarts::compute_normalization(train);
  ASSERT_EQ(norm.mean.size(), 1u);
  EXPECT_NEAR(norm.mean[0], 0.286, 0.01);
  EXPECT_NEAR(norm.std[0], 0.353, 0.01);
}

// ---------------------------------------------------------------------------
// CIFAR-10

namespace {

uint8_t cifar_pixel(int record, int c, int y, int x) { return uint8_t(record * 7 + c * 100 + y * 3 + x); }

Bytes cifar_records(int first_record, const std::vector<uint8_t>& labels) {
  Bytes b;
  for (size_t r = 0; r < labels.size(); ++r) {
    b.push_back(labels[r]);
    for (int c = 0; c < 3; ++c)
      for (int y = 0; y < 32; ++y)
        for (int x = 0; x < 32; ++x) b.push_back(cifar_pixel(first_record + int(r), c, y, x));
  }
  return b;
}

void write_cifar_dir(const TempDir& dir) {
  for (int i = 1; i <= 5; ++i) {
    const int first = (i - 1) * 2;
    write_file(dir.file("data_batch_" + std::to_string(i) + ".bin"),
               cifar_records(first, {uint8_t(first % 10), uint8_t((first + 1) % 10)}), false);
  }
  write_file(dir.file("test_batch.bin"), cifar_records(100, {9, 3}), false);
}

}  // namespace

TEST(Cifar10, DecodesChannelMajorRecords) {
  TempDir dir;
  write_cifar_dir(dir);
  auto train = adarts::load_cifar10(dir.str(), true);
  ASSERT_EQ(train.images.sizes(), (std::vector<int64_t>{10, 3, 32, 32}));
  EXPECT_EQ(train.labels.scalar_type(), at::kLong);
  EXPECT_EQ(train.num_classes, 10);
  for (int r = 0; r < 10; ++r) {
    EXPECT_EQ(train.labels[r].item<int64_t>(), r % 10);
    for (auto [c, y, x] : {std::tuple{0, 0, 0}, std::tuple{1, 5, 7}, std::tuple{2, 31, 30}}) {
      EXPECT_EQ(train.images[r][c][y][x].item<int>(), cifar_pixel(r, c, y, x))
          << "record " << r << " c " << c << " y " << y << " x " << x;
    }
  }
  auto test = adarts::load_cifar10(dir.str(), false);
  ASSERT_EQ(test.size(), 2);
  EXPECT_EQ(test.labels[0].item<int64_t>(), 9);
  EXPECT_EQ(test.labels[1].item<int64_t>(), 3);
  EXPECT_EQ(test.images[1][2][4][9].item<int>(), cifar_pixel(101, 2, 4, 9));
}

TEST(Cifar10, Errors) {
  TempDir dir;
  write_cifar_dir(dir);
  fs::remove(dir.file("data_batch_4.bin"));
  expect_error([&] { adarts::load_cifar10(dir.str(), true); }, adarts::ErrorKind::io_error,
               {"data_batch_4.bin"});
  write_cifar_dir(dir);
  Bytes bad = cifar_records(0, {1, 2});
  bad.pop_back();
  write_file(dir.file("data_batch_3.bin"), bad, false);
  expect_error([&] { adarts::load_cifar10(dir.str(), true); }, adarts::ErrorKind::parse_error,
               {"data_batch_3.bin", "multiple of the 3073"});
  write_file(dir.file("test_batch.bin"), cifar_records(0, {1, 10}), false);
  expect_error([&] { adarts::load_cifar10(dir.str(), false); }, adarts::ErrorKind::parse_error,
               {"test_batch.bin", "label 10", "record 1"});
  expect_error([&] { adarts::load_cifar10(dir.file("absent"), false); },
               adarts::ErrorKind::io_error, {"absent"});
}

// ---------------------------------------------------------------------------
// Synthetic, subsets, normalisation

TEST(Synthetic, DeterministicBalancedAndInRange) {
  adarts::SyntheticSpec spec;
  spec.size = 250;
  auto a = adarts::make_synthetic(spec, 42);
  auto b = adarts::make_synthetic(spec, 42);
  auto c = adarts::make_synthetic(spec, 43);
  EXPECT_EQ(a.images.sizes(), (std::vector<int64_t>{250, 3, 16, 16}));
  EXPECT_EQ(a.images.scalar_type(), at::kByte);
  EXPECT_EQ(a.labels.scalar_type(), at::kLong);
  EXPECT_EQ(a.num_classes, 10);
  EXPECT_TRUE(a.images.equal(b.images));
  EXPECT_TRUE(a.labels.equal(b.labels));
  EXPECT_FALSE(a.images.equal(c.images));
  EXPECT_FALSE(a.labels.equal(c.labels));
  EXPECT_GE(a.labels.min().item<int64_t>(), 0);
  EXPECT_LT(a.labels.max().item<int64_t>(), 10);
  auto counts = at::bincount(a.labels, {}, 10);
  EXPECT_EQ(counts.min().item<int64_t>(), 25);
  EXPECT_EQ(counts.max().item<int64_t>(), 25);
  // Not constant, not saturated.
  auto f = a.images.to(at::kFloat);
  EXPECT_GT(f.std().item<float>(), 20.f);
  EXPECT_LT((a.images == 255).to(at::kFloat).mean().item<float>(), 0.05f);
}

TEST(Synthetic, DoesNotTouchTheGlobalGenerator) {
  at::manual_seed(7);
  auto x = at::randn({4});
  at::manual_seed(7);
  adarts::make_synthetic(adarts::SyntheticSpec{}, 1);
  auto d = adarts::make_synthetic(adarts::SyntheticSpec{}, 2);
  adarts::split_halves(d, 3);
  adarts::BatchLoader loader(d, 8, true, false, adarts::Augmentation{4, true, 4}, {}, 5);
  loader.next_cycling();
  auto y = at::randn({4});
  EXPECT_TRUE(x.equal(y));
}

TEST(Synthetic, IsLearnable) {
  // A nearest-class-mean classifier fitted on one half must do far better
  // than chance on the other half: the class patterns dominate the noise.
  adarts::SyntheticSpec spec;
  spec.size = 400;
  auto [train, val] = adarts::split_halves(adarts::make_synthetic(spec, 3), 11);
  auto xt = train.images.to(at::kFloat).reshape({train.size(), -1});
  auto xv = val.images.to(at::kFloat).reshape({val.size(), -1});
  auto means = at::zeros({10, xt.size(1)});
  for (int k = 0; k < 10; ++k) means[k] = xt.index_select(0, (train.labels == k).nonzero().squeeze(1)).mean(0);
  auto pred = at::cdist(xv, means).argmin(1);
  const float acc = (pred == val.labels).to(at::kFloat).mean().item<float>();
  EXPECT_GT(acc, 0.9f);
}

TEST(Synthetic, InvalidSpec) {
  adarts::SyntheticSpec spec;
  spec.num_classes = 0;
  expect_error([&] { adarts::make_synthetic(spec, 1); }, adarts::ErrorKind::invalid_argument,
               {"num_classes"});
  spec = {};
  spec.noise = -1;
  expect_error([&] { adarts::make_synthetic(spec, 1); }, adarts::ErrorKind::invalid_argument,
               {"noise"});
}

TEST(Subsets, SubsetAndHead) {
  auto d = indexed_dataset(20);
  auto s = adarts::subset(d, {5, 2, 19});
  ASSERT_EQ(s.size(), 3);
  EXPECT_EQ(s.images[0][0][0][0].item<int>(), 5);
  EXPECT_EQ(s.images[2][0][3][3].item<int>(), 19);
  EXPECT_EQ(s.labels[2].item<int64_t>(), 9);
  EXPECT_EQ(s.num_classes, 10);
  EXPECT_EQ(s.name, "indexed");
  s.images.fill_(0);  // shares nothing with the original
  EXPECT_EQ(d.images[5][0][0][0].item<int>(), 5);
  expect_error([&] { adarts::subset(d, {20}); }, adarts::ErrorKind::invalid_argument,
               {"out of range"});
  EXPECT_EQ(adarts::subset(d, {}).size(), 0);

  auto h = adarts::head(d, 7);
  EXPECT_EQ(h.size(), 7);
  EXPECT_EQ(h.images[6][0][0][0].item<int>(), 6);
  EXPECT_EQ(adarts::head(d, 0).size(), 20);
  EXPECT_EQ(adarts::head(d, 100).size(), 20);
}

TEST(Subsets, SplitHalvesDisjointAndCovering) {
  auto d = indexed_dataset(11);
  auto [a, b] = adarts::split_halves(d, 9);
  EXPECT_EQ(a.size(), 5);
  EXPECT_EQ(b.size(), 6);
  std::set<int> seen;
  for (const auto* part : {&a, &b}) {
    for (int64_t i = 0; i < part->size(); ++i) {
      const int id = part->images[i][0][0][0].item<int>();
      EXPECT_TRUE(seen.insert(id).second) << "duplicate " << id;
      EXPECT_EQ(part->labels[i].item<int64_t>(), id % 10);
    }
  }
  EXPECT_EQ(seen.size(), 11u);
  auto [a2, b2] = adarts::split_halves(d, 9);
  EXPECT_TRUE(a.images.equal(a2.images));
  EXPECT_TRUE(b.labels.equal(b2.labels));
  bool differs = false;
  for (uint64_t seed = 10; seed < 15 && !differs; ++seed) {
    differs = !adarts::split_halves(d, seed).first.images.equal(a.images);
  }
  EXPECT_TRUE(differs);
}

TEST(Normalization, KnownValues) {
  adarts::Dataset d;
  d.images = at::zeros({2, 2, 2, 2}, at::kByte);
  d.images[1].select(0, 0).fill_(255);  // channel 0: half 0, half 255
  d.images.select(1, 1).fill_(51);      // channel 1: constant 0.2
  d.labels = at::zeros({2}, at::kLong);
  d.num_classes = 1;
  auto n = adarts::compute_normalization(d);
  ASSERT_EQ(n.mean.size(), 2u);
  ASSERT_EQ(n.std.size(), 2u);
  EXPECT_NEAR(n.mean[0], 0.5, 1e-6);
  EXPECT_NEAR(n.std[0], 0.5, 1e-6);
  EXPECT_NEAR(n.mean[1], 0.2, 1e-6);
  EXPECT_NEAR(n.std[1], 0.0, 1e-4);
}

// ---------------------------------------------------------------------------
// BatchLoader

TEST(Loader, ShapesAndEpochLength) {
  auto d = indexed_dataset(10, 3, 5, 6);
  adarts::BatchLoader keep(d, 4, false, false, {}, {}, 1);
  adarts::BatchLoader drop(d, 4, false, true, {}, {}, 1);
  EXPECT_EQ(keep.batches_per_epoch(), 3);
  EXPECT_EQ(drop.batches_per_epoch(), 2);
  for (int epoch = 0; epoch < 2; ++epoch) {
    adarts::Batch b;
    std::vector<int64_t> sizes, ids;
    while (keep.next(b)) {
      EXPECT_EQ(b.images.scalar_type(), at::kFloat);
      EXPECT_EQ(b.labels.scalar_type(), at::kLong);
      EXPECT_TRUE(b.images.is_contiguous());
      EXPECT_TRUE(b.labels.is_contiguous());
      EXPECT_EQ(b.images.sizes(), (std::vector<int64_t>{b.labels.size(0), 3, 5, 6}));
      sizes.push_back(b.labels.size(0));
      for (auto id : sample_ids(b)) ids.push_back(id);
    }
    EXPECT_EQ(sizes, (std::vector<int64_t>{4, 4, 2}));
    // No shuffle: in order.
    EXPECT_EQ(ids, (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
    sizes.clear();
    while (drop.next(b)) sizes.push_back(b.labels.size(0));
    EXPECT_EQ(sizes, (std::vector<int64_t>{4, 4}));
  }
}

TEST(Loader, ShuffleCoversEachSampleOncePerEpoch) {
  auto d = indexed_dataset(23);
  adarts::BatchLoader loader(d, 5, true, false, {}, {}, 3);
  std::vector<std::vector<int64_t>> epochs;
  for (int e = 0; e < 2; ++e) {
    std::vector<int64_t> ids;
    adarts::Batch b;
    while (loader.next(b)) {
      auto batch_ids = sample_ids(b);
      for (int64_t i = 0; i < b.labels.size(0); ++i) {
        EXPECT_EQ(b.labels[i].item<int64_t>(), batch_ids[size_t(i)] % 10);
      }
      ids.insert(ids.end(), batch_ids.begin(), batch_ids.end());
    }
    std::set<int64_t> unique(ids.begin(), ids.end());
    EXPECT_EQ(ids.size(), 23u);
    EXPECT_EQ(unique.size(), 23u);
    epochs.push_back(ids);
  }
  EXPECT_NE(epochs[0], epochs[1]);  // reshuffled
}

TEST(Loader, SameSeedSameBatches) {
  auto d = adarts::make_synthetic({64, 3, 8, 8, 10, 0.5}, 1);
  const adarts::Augmentation aug{2, true, 3};
  const auto norm = adarts::compute_normalization(d);
  adarts::BatchLoader a(d, 16, true, true, aug, norm, 77);
  adarts::BatchLoader b(d, 16, true, true, aug, norm, 77);
  adarts::BatchLoader c(d, 16, true, true, aug, norm, 78);
  bool any_diff = false;
  for (int i = 0; i < 10; ++i) {
    auto x = a.next_cycling(), y = b.next_cycling(), z = c.next_cycling();
    EXPECT_TRUE(x.images.equal(y.images));
    EXPECT_TRUE(x.labels.equal(y.labels));
    any_diff = any_diff || !x.images.equal(z.images);
  }
  EXPECT_TRUE(any_diff);
}

TEST(Loader, ReproducibleAcrossThreads) {
  auto d = adarts::make_synthetic({128, 3, 8, 8, 10, 0.5}, 1);
  auto run = [&](std::vector<at::Tensor>& out) {
    adarts::BatchLoader l(d, 16, true, false, adarts::Augmentation{2, true, 3}, {}, 5);
    for (int i = 0; i < 20; ++i) out.push_back(l.next_cycling().images);
  };
  std::vector<at::Tensor> ref, t1, t2;
  run(ref);
  std::thread a([&] { run(t1); }), b([&] { run(t2); });
  a.join();
  b.join();
  ASSERT_EQ(t1.size(), ref.size());
  ASSERT_EQ(t2.size(), ref.size());
  for (size_t i = 0; i < ref.size(); ++i) {
    EXPECT_TRUE(ref[i].equal(t1[i]));
    EXPECT_TRUE(ref[i].equal(t2[i]));
  }
}

TEST(Loader, FlipMirrorsOrKeeps) {
  auto d = adarts::make_synthetic({32, 2, 6, 7, 4, 0.5}, 2);
  adarts::BatchLoader plain(d, 32, false, false, {}, {}, 1);
  adarts::BatchLoader flip(d, 32, false, false, adarts::Augmentation{0, true, 0}, {}, 1);
  auto x = plain.next_cycling().images, y = flip.next_cycling().images;
  ASSERT_EQ(y.sizes(), x.sizes());
  int flipped = 0, kept = 0;
  for (int64_t i = 0; i < 32; ++i) {
    if (y[i].equal(x[i])) ++kept;
    else if (y[i].equal(x[i].flip({2}))) ++flipped;
    else ADD_FAILURE() << "sample " << i << " is neither kept nor mirrored";
  }
  EXPECT_GT(flipped, 4);
  EXPECT_GT(kept, 4);
}

TEST(Loader, CropIsAZeroPaddedShift) {
  const int64_t pad = 2, H = 6, W = 7;
  auto d = adarts::make_synthetic({32, 2, H, W, 4, 0.5}, 2);
  adarts::BatchLoader plain(d, 32, false, false, {}, {}, 1);
  adarts::BatchLoader crop(d, 32, false, false, adarts::Augmentation{pad, false, 0}, {}, 1);
  auto x = plain.next_cycling().images, y = crop.next_cycling().images;
  ASSERT_EQ(y.sizes(), x.sizes());
  std::set<std::pair<int64_t, int64_t>> shifts;
  for (int64_t i = 0; i < 32; ++i) {
    auto padded = at::constant_pad_nd(x[i], {pad, pad, pad, pad}, 0);
    bool found = false;
    for (int64_t dy = 0; dy <= 2 * pad && !found; ++dy) {
      for (int64_t dx = 0; dx <= 2 * pad && !found; ++dx) {
        if (padded.narrow(1, dy, H).narrow(2, dx, W).equal(y[i])) {
          found = true;
          shifts.insert({dy, dx});
        }
      }
    }
    EXPECT_TRUE(found) << "sample " << i << " is not a padded crop";
  }
  EXPECT_GT(shifts.size(), 5u);
}

TEST(Loader, NormalisationGivesZeroMeanUnitStd) {
  auto d = adarts::make_synthetic({200, 3, 8, 8, 10, 0.5}, 4);
  auto norm = adarts::compute_normalization(d);
  adarts::BatchLoader loader(d, 32, true, false, {}, norm, 1);
  std::vector<at::Tensor> all;
  adarts::Batch b;
  while (loader.next(b)) all.push_back(b.images);
  auto x = at::cat(all);
  ASSERT_EQ(x.size(0), 200);
  auto mean = x.mean({0, 2, 3});
  auto sd = x.transpose(0, 1).reshape({3, -1}).std(1, false);
  for (int c = 0; c < 3; ++c) {
    EXPECT_NEAR(mean[c].item<float>(), 0.f, 1e-4);
    EXPECT_NEAR(sd[c].item<float>(), 1.f, 1e-3);
  }
  expect_error([&] { adarts::BatchLoader(d, 4, true, false, {}, {{0.5f}, {0.5f}}, 1); },
               adarts::ErrorKind::invalid_argument, {"normalization"});
  expect_error([&] { adarts::BatchLoader(d, 4, true, false, {}, {{0, 0, 0}, {1, 0, 1}}, 1); },
               adarts::ErrorKind::invalid_argument, {"std"});
}

TEST(Loader, CutoutZeroesASquare) {
  const int64_t side = 6, H = 16, W = 16;
  adarts::Dataset d;
  d.images = at::full({64, 3, H, W}, 255, at::kByte);
  d.labels = at::zeros({64}, at::kLong);
  d.num_classes = 1;
  adarts::BatchLoader loader(d, 64, true, false, adarts::Augmentation{0, false, side}, {}, 9);
  auto x = loader.next_cycling().images;
  bool full_square_seen = false;
  for (int64_t i = 0; i < 64; ++i) {
    auto zero = x[i][0] == 0;
    // Same mask on every channel, everything else untouched (1.0).
    for (int c = 1; c < 3; ++c) EXPECT_TRUE((x[i][c] == 0).equal(zero));
    EXPECT_TRUE(x[i].masked_select(x[i] != 0).eq(1.f).all().item<bool>());
    auto nz = zero.nonzero();
    const int64_t count = nz.size(0);
    ASSERT_GT(count, 0) << "sample " << i;
    const int64_t y0 = nz.select(1, 0).min().item<int64_t>(), y1 = nz.select(1, 0).max().item<int64_t>();
    const int64_t x0 = nz.select(1, 1).min().item<int64_t>(), x1 = nz.select(1, 1).max().item<int64_t>();
    // A solid rectangle, at most side x side, at least half a side each way.
    EXPECT_EQ(count, (y1 - y0 + 1) * (x1 - x0 + 1));
    EXPECT_LE(y1 - y0 + 1, side);
    EXPECT_LE(x1 - x0 + 1, side);
    EXPECT_GE(y1 - y0 + 1, side / 2);
    EXPECT_GE(x1 - x0 + 1, side / 2);
    full_square_seen = full_square_seen || count == side * side;
  }
  EXPECT_TRUE(full_square_seen);
}

TEST(Loader, CutoutAppliesAfterNormalisation) {
  adarts::Dataset d;
  d.images = at::full({8, 1, 8, 8}, 255, at::kByte);
  d.labels = at::zeros({8}, at::kLong);
  d.num_classes = 1;
  adarts::BatchLoader loader(d, 8, false, false, adarts::Augmentation{0, false, 4}, {{0.5f}, {0.25f}}, 1);
  auto x = loader.next_cycling().images;
  // Kept pixels: (1 - 0.5) / 0.25 = 2; cut pixels exactly 0.
  EXPECT_TRUE(((x == 2.f) | (x == 0.f)).all().item<bool>());
  EXPECT_GT((x == 0.f).sum().item<int64_t>(), 0);
}

TEST(Loader, NextCyclingWrapsAndEmptyEpochThrows) {
  auto d = indexed_dataset(5);
  adarts::BatchLoader loader(d, 2, false, true, {}, {}, 1);
  std::vector<int64_t> firsts;
  for (int i = 0; i < 5; ++i) firsts.push_back(sample_ids(loader.next_cycling())[0]);
  EXPECT_EQ(firsts, (std::vector<int64_t>{0, 2, 0, 2, 0}));
  adarts::BatchLoader none(d, 8, true, true, {}, {}, 1);
  EXPECT_EQ(none.batches_per_epoch(), 0);
  adarts::Batch b;
  EXPECT_FALSE(none.next(b));
  expect_error([&] { none.next_cycling(); }, adarts::ErrorKind::invalid_argument, {"no batch"});
  expect_error([&] { adarts::BatchLoader(d, 0, true, true, {}, {}, 1); },
               adarts::ErrorKind::invalid_argument, {"batch_size"});
}

// ---------------------------------------------------------------------------
// Datasets from memory, float32 images

// The same images as bytes and as float32 byte / 255: the loader's batches
// agree bit for bit (crop, flip and cutout included), and the normalisation
// statistics to float rounding (sums in double of rounded pixels).
TEST(FloatImages, GiveTheBytesBatchesAndStatistics) {
  const adarts::Dataset bytes = adarts::make_synthetic({48, 3, 8, 8, 10, 0.5}, 3);
  adarts::Dataset floats = bytes;
  floats.images = bytes.images.to(at::kFloat).div_(255.f);
  const auto nb = adarts::compute_normalization(bytes), nf = adarts::compute_normalization(floats);
  for (size_t c = 0; c < 3; ++c) {
    EXPECT_NEAR(nf.mean[c], nb.mean[c], 1e-6 * nb.mean[c]);
    EXPECT_NEAR(nf.std[c], nb.std[c], 1e-6 * nb.std[c]);
  }
  const adarts::Augmentation aug{2, true, 3};
  adarts::BatchLoader a(bytes, 16, true, false, aug, nb, 9);
  adarts::BatchLoader b(floats, 16, true, false, aug, nb, 9);
  for (int i = 0; i < 6; ++i) {
    const adarts::Batch x = a.next_cycling(), y = b.next_cycling();
    EXPECT_TRUE(x.images.equal(y.images)) << "batch " << i;
    EXPECT_TRUE(x.labels.equal(y.labels));
  }
}

TEST(FloatImages, NormalisationOfArbitraryPixels) {
  adarts::Dataset d;
  d.images = at::full({2, 1, 2, 2}, 3.f);
  d.images[1].fill_(-1.f);  // half 3, half -1: mean 1, std 2
  d.labels = at::zeros({2}, at::kLong);
  d.num_classes = 1;
  const auto n = adarts::compute_normalization(d);
  EXPECT_NEAR(n.mean[0], 1.0, 1e-7);
  EXPECT_NEAR(n.std[0], 2.0, 1e-7);
  adarts::BatchLoader l(d, 2, false, false, {}, n, 0);
  const adarts::Batch b = l.next_cycling();
  EXPECT_TRUE(b.images[0].eq(1.f).all().item<bool>());
  EXPECT_TRUE(b.images[1].eq(-1.f).all().item<bool>());
}

TEST(FromMemory, KeepsBytesAsBytesAndOtherPixelsAsFloats) {
  const std::vector<uint8_t> raw{0, 1, 127, 128, 200, 254, 255, 7};
  std::vector<float> as_floats;
  for (uint8_t v : raw) as_floats.push_back(float(v) / 255.f);
  const std::vector<int64_t> labels{0, 2};
  using adarts::PixelType;
  const at::Tensor expected = at::tensor(std::vector<int64_t>(raw.begin(), raw.end())).to(at::kByte).view({2, 1, 2, 2});

  const adarts::Dataset from_bytes = adarts::dataset_from_memory(raw.data(), PixelType::uint8, 1.0 / 255.0, 2, 1, 2, 2,
                                                                 labels.data(), 3);
  EXPECT_EQ(from_bytes.images.scalar_type(), at::kByte);
  EXPECT_TRUE(from_bytes.images.equal(expected));
  EXPECT_TRUE(from_bytes.labels.equal(at::tensor(labels)));
  EXPECT_EQ(from_bytes.num_classes, 3);

  const adarts::Dataset from_floats = adarts::dataset_from_memory(as_floats.data(), PixelType::float32, 1.0, 2, 1, 2,
                                                                  2, labels.data(), 3);
  EXPECT_EQ(from_floats.images.scalar_type(), at::kByte);  // every pixel is a byte / 255
  EXPECT_TRUE(from_floats.images.equal(expected));

  as_floats[3] = std::nextafter(as_floats[3], 1.f);  // one ulp off: kept as floats, exactly
  const adarts::Dataset off = adarts::dataset_from_memory(as_floats.data(), PixelType::float32, 1.0, 2, 1, 2, 2,
                                                          labels.data(), 3);
  EXPECT_EQ(off.images.scalar_type(), at::kFloat);
  EXPECT_EQ(std::memcmp(off.images.data_ptr<float>(), as_floats.data(), as_floats.size() * sizeof(float)), 0);

  const adarts::Dataset scaled = adarts::dataset_from_memory(raw.data(), PixelType::uint8, 0.01, 2, 1, 2, 2,
                                                             labels.data(), 3);
  EXPECT_EQ(scaled.images.scalar_type(), at::kFloat);
  EXPECT_FLOAT_EQ(scaled.images.view({-1})[4].item<float>(), 2.0f);  // 200 * 0.01

  const int64_t bad_label[2] = {0, 3};
  expect_error([&] { adarts::dataset_from_memory(raw.data(), PixelType::uint8, 1.0 / 255.0, 2, 1, 2, 2, bad_label, 3); },
               adarts::ErrorKind::invalid_argument, {"label 3 of image 1", "[0, 3)"});
  as_floats[5] = std::numeric_limits<float>::quiet_NaN();
  expect_error([&] { adarts::dataset_from_memory(as_floats.data(), PixelType::float32, 1.0, 2, 1, 2, 2, labels.data(), 3); },
               adarts::ErrorKind::invalid_argument, {"pixel 1 of image 1", "not finite"});
}
