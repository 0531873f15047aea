#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <torch/serialize.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <thread>

#include "adarts/error.h"
#include "adarts/train.h"
#include "test_util.h"

namespace adarts {
namespace {

using adarts::test::expect_error;
using adarts::test::temp_dir;

std::string fixture(const std::string& name) { return std::string(ADARTS_FIXTURES_DIR) + "/genotypes/" + name; }

Genotype darts_v2() { return read_genotype_file(fixture("darts_v2.txt")); }

// A tiny network on 16x16 synthetic images.
TrainConfig tiny_config(const std::string& name) {
  TrainConfig c;
  c.dataset = "synthetic";
  c.train_subset = 128;
  c.test_subset = 64;
  c.channels = 4;
  c.layers = 3;
  c.epochs = 4;
  c.batch_size = 16;
  c.lr = 0.05;
  c.cutout = 4;
  c.crop_padding = 2;
  c.threads = 1;
  c.seed = 1;
  c.out_dir = temp_dir(name);
  return c;
}

std::unique_ptr<Trainer> make_trainer(const TrainConfig& c, const Genotype& g = darts_v2()) {
  return std::make_unique<Trainer>(g, c, load_train_dataset(c, /*train=*/true));
}

// ---------------------------------------------------------------------------
// Config

TEST(TrainConfig, JsonRoundTripKeepsEveryField) {
  TrainConfig c = quick_train_config();
  c.dataset = "cifar10";
  c.data_dir = "/tmp/x";
  c.test_subset = 77;
  c.cutout = 9;
  c.auxiliary = false;
  c.auxiliary_weight = 0.25;
  c.imagenet = true;
  c.lr_min = 1e-5;
  c.label_smoothing = 0.1;
  c.seed = 123456789012345ULL;
  c.device = "cuda:1";
  const std::string j = to_json(c);
  const TrainConfig back = train_config_from_json(j);
  EXPECT_EQ(to_json(back), j);
  EXPECT_EQ(back.seed, c.seed);
  EXPECT_EQ(back.cutout, 9);
  EXPECT_DOUBLE_EQ(back.label_smoothing, 0.1);
  EXPECT_FALSE(back.auxiliary);
  EXPECT_TRUE(back.imagenet);
  // Every field appears.
  for (const char* key : {"dataset", "data_dir", "train_subset", "test_subset", "crop_padding", "horizontal_flip",
                          "cutout", "channels", "layers", "auxiliary", "auxiliary_weight", "imagenet", "epochs",
                          "batch_size", "lr", "lr_min", "momentum", "weight_decay", "grad_clip", "drop_path_prob",
                          "label_smoothing", "seed", "device", "threads", "out_dir", "log_every", "checkpoint_every", "checkpoint_keep"}) {
    EXPECT_NE(j.find(std::string("\"") + key + "\""), std::string::npos) << key;
  }
}

TEST(TrainConfig, ParsingOverridesTheBaseAndRejectsBadInput) {
  const TrainConfig base = quick_train_config();
  const TrainConfig c = train_config_from_json(R"({"epochs": 7, "auxiliary": false})", base);
  EXPECT_EQ(c.epochs, 7);
  EXPECT_FALSE(c.auxiliary);
  EXPECT_EQ(c.channels, base.channels);
  expect_error([] { train_config_from_json(R"({"epochs": 3, "learning_rate": 1})"); }, ErrorKind::parse_error,
               {"learning_rate"});
  expect_error([] { train_config_from_json(R"({"epochs": "many"})"); }, ErrorKind::parse_error, {"epochs"});
  expect_error([] { train_config_from_json(R"({"epochs": 2.5})"); }, ErrorKind::parse_error, {"epochs"});
  expect_error([] { train_config_from_json(R"({"auxiliary": 1})"); }, ErrorKind::parse_error, {"auxiliary"});
  expect_error([] { train_config_from_json("{\"epochs\": "); }, ErrorKind::parse_error, {"JSON"});
  expect_error([] { train_config_from_json("[1, 2]"); }, ErrorKind::parse_error, {"object"});
}

TEST(TrainConfig, PresetsAreValidAndValidationNamesTheKey) {
  EXPECT_NO_THROW(validate(paper_train_config()));
  EXPECT_NO_THROW(validate(quick_train_config()));
  const TrainConfig paper = paper_train_config();
  EXPECT_EQ(paper.channels, 36);
  EXPECT_EQ(paper.layers, 20);
  EXPECT_EQ(paper.epochs, 600);
  EXPECT_EQ(paper.batch_size, 96);
  EXPECT_DOUBLE_EQ(paper.lr, 0.025);
  EXPECT_DOUBLE_EQ(paper.drop_path_prob, 0.2);
  EXPECT_DOUBLE_EQ(paper.auxiliary_weight, 0.4);
  EXPECT_EQ(paper.cutout, 16);

  auto bad = [](const std::function<void(TrainConfig&)>& change, const char* key) {
    TrainConfig c = quick_train_config();
    change(c);
    expect_error([&] { validate(c); }, ErrorKind::invalid_argument, {key});
  };
  bad([](TrainConfig& c) { c.dataset = "imagenet21k"; }, "dataset");
  bad([](TrainConfig& c) { c.train_subset = -1; }, "train_subset");
  bad([](TrainConfig& c) { c.test_subset = -3; }, "test_subset");
  bad([](TrainConfig& c) { c.channels = 7; }, "channels");
  bad([](TrainConfig& c) { c.layers = 0; }, "layers");
  bad([](TrainConfig& c) { c.epochs = 0; }, "epochs");
  bad([](TrainConfig& c) { c.batch_size = 1; }, "batch_size");
  bad([](TrainConfig& c) { c.lr = 0; }, "lr");
  bad([](TrainConfig& c) { c.lr_min = 1.0; }, "lr_min");
  bad([](TrainConfig& c) { c.momentum = 1.0; }, "momentum");
  bad([](TrainConfig& c) { c.weight_decay = -1; }, "weight_decay");
  bad([](TrainConfig& c) { c.grad_clip = std::nan(""); }, "grad_clip");
  bad([](TrainConfig& c) { c.drop_path_prob = 1.0; }, "drop_path_prob");
  bad([](TrainConfig& c) { c.label_smoothing = -0.1; }, "label_smoothing");
  bad([](TrainConfig& c) { c.auxiliary_weight = -0.4; }, "auxiliary_weight");
  bad([](TrainConfig& c) { c.cutout = -1; }, "cutout");
  bad([](TrainConfig& c) { c.crop_padding = -1; }, "crop_padding");
  bad([](TrainConfig& c) { c.threads = -1; }, "threads");
  bad([](TrainConfig& c) { c.log_every = 0; }, "log_every");
  bad([](TrainConfig& c) { c.checkpoint_every = -1; }, "checkpoint_every");
  bad([](TrainConfig& c) { c.checkpoint_keep = -1; }, "checkpoint_keep");
  bad([](TrainConfig& c) { c.out_dir = ""; }, "out_dir");
  bad([](TrainConfig& c) { c.device = "tpu"; }, "device");
}

TEST(TrainSchedule, CosineLearningRateAndLinearDropPathRamp) {
  TrainConfig c;
  c.epochs = 10;
  c.lr = 0.1;
  c.lr_min = 0.001;
  c.drop_path_prob = 0.3;
  EXPECT_DOUBLE_EQ(train_learning_rate(c, 0), 0.1);
  EXPECT_NEAR(train_learning_rate(c, 5), 0.0505, 1e-12);
  EXPECT_NEAR(train_learning_rate(c, 10), 0.001, 1e-12);
  for (int64_t e = 0; e <= 10; ++e) EXPECT_DOUBLE_EQ(train_drop_path_prob(c, e), 0.3 * e / 10.0);
  for (int64_t e = 1; e < 10; ++e) EXPECT_LT(train_learning_rate(c, e), train_learning_rate(c, e - 1));
}

// ---------------------------------------------------------------------------
// Data and genotype files

TEST(TrainData, SyntheticSplitsAreDisjointAndSized) {
  TrainConfig c = tiny_config("data");
  const Dataset train = load_train_dataset(c, true), test = load_train_dataset(c, false);
  EXPECT_EQ(train.size(), 128);
  EXPECT_EQ(test.size(), 64);
  EXPECT_EQ(train.num_classes, 10);
  EXPECT_EQ(train.height(), 16);
  // Same seed, same sets.
  EXPECT_TRUE(at::equal(load_train_dataset(c, false).images, test.images));
  c.dataset = "fashion-mnist";
  c.data_dir = "/nonexistent/dir";
  EXPECT_THROW(load_train_dataset(c, false), Error);
}

TEST(TrainData, GenotypeFilesInEitherForm) {
  const Genotype text = read_genotype_file(fixture("darts_v2.txt"));
  const Genotype json = read_genotype_file(fixture("darts_v2.json"));
  EXPECT_EQ(text, json);
  expect_error([] { read_genotype_file("/nonexistent/genotype.txt"); }, ErrorKind::io_error, {"genotype.txt"});
  const std::string dir = temp_dir("genofile");
  std::ofstream(dir + "/bad.txt") << "Genotype(normal=[('sep_conv_3x3', 0)";
  expect_error([&] { read_genotype_file(dir + "/bad.txt"); }, ErrorKind::parse_error, {"bad.txt"});
  std::ofstream(dir + "/bad.json") << "{\"format\": \"adarts.genotype\"";
  expect_error([&] { read_genotype_file(dir + "/bad.json"); }, ErrorKind::parse_error, {"bad.json"});
  std::ofstream(dir + "/empty.txt") << "  \n";
  expect_error([&] { read_genotype_file(dir + "/empty.txt"); }, ErrorKind::parse_error, {"empty"});
}

// ---------------------------------------------------------------------------
// Trainer

TEST(Trainer, ShortTrainingLowersTheLoss) {
  for (bool auxiliary : {true, false}) {
    TrainConfig c = tiny_config(auxiliary ? "learn_aux" : "learn");
    c.auxiliary = auxiliary;
    c.train_subset = 256;
    c.epochs = 6;
    c.cutout = 0;
    auto trainer = make_trainer(c);
    const Dataset test = load_train_dataset(c, false);
    const EvalResult before = trainer->evaluate(test);
    std::vector<double> losses;
    for (int64_t e = 0; e < c.epochs; ++e) {
      const TrainEpochSummary s = trainer->run_epoch();
      EXPECT_EQ(s.epoch, e);
      EXPECT_EQ(s.steps, 256 / 16);
      EXPECT_TRUE(std::isfinite(s.train_loss));
      losses.push_back(s.train_loss);
    }
    EXPECT_EQ(trainer->epoch(), c.epochs);
    EXPECT_LT(losses.back(), losses.front()) << "auxiliary " << auxiliary;
    const EvalResult after = trainer->evaluate(test);
    EXPECT_LT(after.loss, before.loss) << "auxiliary " << auxiliary;
    EXPECT_GT(after.top1, 0.5) << "auxiliary " << auxiliary;  // chance is 0.1
    EXPECT_EQ(after.samples, 64);
  }
}

TEST(Trainer, TopFiveIsAtLeastTopOne) {
  TrainConfig c = tiny_config("top5");
  auto trainer = make_trainer(c);
  const Dataset test = load_train_dataset(c, false);
  for (int i = 0; i < 2; ++i) {
    const EvalResult r = trainer->evaluate(test, 7);  // an odd batch size: a short last batch
    EXPECT_GE(r.top5, r.top1);
    EXPECT_GE(r.top1, 0.0);
    EXPECT_LE(r.top5, 1.0);
    EXPECT_EQ(r.samples, test.size());
    EXPECT_TRUE(std::isfinite(r.loss));
    trainer->run_epoch();
  }
  // The logits that evaluate() sees, one row per image.
  const at::Tensor logits = trainer->predict(test);
  EXPECT_EQ(logits.size(0), test.size());
  EXPECT_EQ(logits.size(1), 10);
}

TEST(Trainer, EachEpochUsesItsDropPathAndLearningRate) {
  TrainConfig c = tiny_config("ramp");
  c.drop_path_prob = 0.3;
  c.epochs = 3;
  c.train_subset = 32;
  auto trainer = make_trainer(c);
  for (int64_t e = 0; e < 3; ++e) {
    EXPECT_DOUBLE_EQ(trainer->current_drop_path_prob(), 0.3 * e / 3.0);
    const TrainEpochSummary s = trainer->run_epoch();
    EXPECT_DOUBLE_EQ(s.drop_path_prob, 0.3 * e / 3.0);
    EXPECT_DOUBLE_EQ(trainer->network().drop_path_prob(), 0.3 * e / 3.0);
    EXPECT_DOUBLE_EQ(s.lr, train_learning_rate(c, e));
  }
}

TEST(Trainer, CallbackAndCancelStopTheEpoch) {
  TrainConfig c = tiny_config("stop");
  auto trainer = make_trainer(c);
  bool completed = true;
  int calls = 0;
  trainer->run_epoch([&](const TrainProgress& p) {
    ++calls;
    EXPECT_EQ(p.step, calls);
    EXPECT_EQ(p.epoch, 0);
    EXPECT_EQ(p.steps_per_epoch, trainer->steps_per_epoch());
    return p.step < 2;
  }, &completed);
  EXPECT_FALSE(completed);
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(trainer->step_in_epoch(), 2);
  EXPECT_EQ(trainer->epoch(), 0);

  // cancel() from another thread while the epoch runs: it stops after the current step.
  std::atomic<bool> started{false};
  std::thread canceller([&] {
    while (!started.load()) std::this_thread::yield();
    trainer->cancel();
  });
  trainer->run_epoch([&](const TrainProgress&) {
    started.store(true);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return true;
  }, &completed);
  canceller.join();
  EXPECT_FALSE(completed);
  EXPECT_LT(trainer->step_in_epoch(), trainer->steps_per_epoch());
  EXPECT_EQ(trainer->epoch(), 0);

  const TrainEpochSummary s = trainer->run_epoch(nullptr, &completed);  // resumes the open epoch
  EXPECT_TRUE(completed);
  EXPECT_EQ(s.steps, trainer->steps_per_epoch());
  EXPECT_EQ(trainer->epoch(), 1);
  EXPECT_EQ(trainer->step_in_epoch(), 0);
}

TEST(Trainer, SameSeedSameRunAndTheGlobalGeneratorIsUntouched) {
  TrainConfig c = tiny_config("seed");
  c.drop_path_prob = 0.5;
  c.epochs = 2;
  auto run = [](const TrainConfig& config) {
    auto t = make_trainer(config);
    t->run_epoch();
    t->step();  // epoch 1: drop-path on
    return t->predict(load_train_dataset(config, false));
  };
  at::manual_seed(99);
  const at::Tensor a = run(c);
  const at::Tensor after_run = at::rand({4});
  at::manual_seed(99);
  EXPECT_TRUE(at::equal(after_run, at::rand({4}))) << "training drew from the global generator";
  EXPECT_TRUE(at::equal(a, run(c)));
  c.seed = 2;
  EXPECT_FALSE(at::equal(a, run(c)));
}

TEST(Trainer, SaveLoadEvaluateGivesIdenticalOutputs) {
  TrainConfig c = tiny_config("save");
  c.epochs = 2;
  auto trainer = make_trainer(c);
  trainer->run_epoch();
  const Dataset test = load_train_dataset(c, false);
  const std::string path = c.out_dir + "/sub/model.pt";
  trainer->save(path);
  EXPECT_TRUE(std::filesystem::exists(path));
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));

  auto loaded = Trainer::load(path);
  EXPECT_EQ(loaded->genotype(), trainer->genotype());
  EXPECT_EQ(to_json(loaded->config()), to_json(trainer->config()));
  EXPECT_EQ(loaded->epoch(), 1);
  EXPECT_EQ(loaded->normalization().mean, trainer->normalization().mean);
  EXPECT_EQ(loaded->normalization().std, trainer->normalization().std);
  EXPECT_EQ(loaded->network().parameter_count(), trainer->network().parameter_count());

  const at::Tensor original = trainer->predict(test);
  const at::Tensor reloaded = loaded->predict(test);
  EXPECT_TRUE(at::equal(original, reloaded)) << "max difference " << (original - reloaded).abs().max().item<double>();
  const EvalResult r1 = trainer->evaluate(test), r2 = loaded->evaluate(test);
  EXPECT_EQ(r1.loss, r2.loss);
  EXPECT_EQ(r1.top1, r2.top1);
  EXPECT_EQ(r1.top5, r2.top5);
  EXPECT_EQ(r1.samples, r2.samples);

  // Saving the loaded model again gives a model with the same outputs.
  loaded->save(c.out_dir + "/again.pt");
  EXPECT_TRUE(at::equal(Trainer::load(c.out_dir + "/again.pt")->predict(test), original));

  // A loaded model evaluates; it cannot train.
  expect_error([&] { loaded->step(); }, ErrorKind::invalid_argument, {"training data"});
  expect_error([&] { loaded->run_epoch(); }, ErrorKind::invalid_argument, {"training data"});
}

TEST(Trainer, MissingOrCorruptModelFilesAreErrors) {
  const std::string dir = temp_dir("corrupt");
  expect_error([&] { Trainer::load(dir + "/none.pt"); }, ErrorKind::io_error, {"none.pt", "does not exist"});
  expect_error([&] { Trainer::load(dir); }, ErrorKind::io_error, {"directory"});

  std::ofstream(dir + "/garbage.pt") << "this is not a model file at all";
  expect_error([&] { Trainer::load(dir + "/garbage.pt"); }, ErrorKind::parse_error, {"garbage.pt"});
  std::ofstream(dir + "/empty.pt");
  expect_error([&] { Trainer::load(dir + "/empty.pt"); }, ErrorKind::parse_error, {"empty.pt"});

  // A torch archive that is not an adarts model.
  {
    torch::serialize::OutputArchive archive;
    archive.write("weights", at::ones({3}));
    archive.save_to(dir + "/other.pt");
  }
  expect_error([&] { Trainer::load(dir + "/other.pt"); }, ErrorKind::parse_error, {"other.pt", "format"});

  // A real model, truncated and with bytes flipped.
  TrainConfig c = tiny_config("corrupt_model");
  auto trainer = make_trainer(c);
  const std::string good = dir + "/good.pt";
  trainer->save(good);
  std::string bytes;
  {
    std::ifstream in(good, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  ASSERT_GT(bytes.size(), 1000u);
  std::ofstream(dir + "/truncated.pt", std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  expect_error([&] { Trainer::load(dir + "/truncated.pt"); }, ErrorKind::parse_error, {"truncated.pt"});
  std::string flipped = bytes;
  for (size_t i = flipped.size() / 3; i < flipped.size(); i += 97) flipped[i] = static_cast<char>(~flipped[i]);
  std::ofstream(dir + "/flipped.pt", std::ios::binary) << flipped;
  try {
    Trainer::load(dir + "/flipped.pt");  // may survive when only tensor data was hit; must not crash
  } catch (const Error&) {
  }

  // The right tags, but tensors that do not fit the network: rejected, not a crash.
  {
    torch::serialize::OutputArchive archive;
    archive.write("format", c10::IValue(std::string("adarts.model")));
    archive.write("version", c10::IValue(int64_t{2}));
    archive.write("genotype", c10::IValue(to_json(trainer->genotype())));
    archive.write("config", c10::IValue(to_json(c)));
    archive.write("network_options", c10::IValue(std::string(
        R"({"in_channels":3,"num_classes":10,"channels":4,"layers":3,"auxiliary":true,"imagenet":false})")));
    archive.write("epoch", c10::IValue(int64_t{0}));
    archive.write("normalization_mean", at::zeros({3}));
    archive.write("normalization_std", at::ones({3}));
    archive.write("state.names", c10::IValue(std::string("[\"stem.weight\"]")));
    archive.write("state.tensors", c10::IValue(c10::List<at::Tensor>({at::ones({2, 2})})));
    archive.save_to(dir + "/mismatch.pt");
  }
  expect_error([&] { Trainer::load(dir + "/mismatch.pt"); }, ErrorKind::parse_error, {"mismatch.pt", "tensors"});
}

TEST(Trainer, RejectsTooLittleDataAndBadGenotypes) {
  TrainConfig c = tiny_config("little");
  Dataset data = load_train_dataset(c, true);
  expect_error([&] { Trainer(darts_v2(), c, head(data, 8)); }, ErrorKind::invalid_argument, {"batch"});
  Genotype g = darts_v2();
  g.normal.edges[0].op = "conv_99x99";
  EXPECT_THROW(Trainer(g, c, data), Error);
}

}  // namespace
}  // namespace adarts
