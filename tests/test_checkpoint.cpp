// Checkpoints of a search and of a re-training: exact resume, atomic writes,
// corrupt files, refused resumes, non-finite losses.
#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <torch/version.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <random>

#include "adarts/config.h"
#include "adarts/error.h"
#include "adarts/search.h"
#include "adarts/supernet.h"
#include "adarts/train.h"
#include "test_util.h"

namespace adarts {
namespace {

using adarts::test::expect_error;
using adarts::test::temp_dir;

namespace fs = std::filesystem;

// 48 + 48 synthetic images, batch 8: 6 steps an epoch.
SearchConfig tiny_search(const std::string& name) {
  SearchConfig c;
  c.dataset = "synthetic";
  c.train_subset = 96;
  c.channels = 4;
  c.layers = 2;
  c.epochs = 2;
  c.batch_size = 8;
  c.threads = 1;
  c.out_dir = temp_dir(name);
  return c;
}

bool same_weights(Search& a, Search& b) {
  const TensorList wa = a.supernet().weights(), wb = b.supernet().weights();
  for (size_t i = 0; i < wa.size(); ++i) {
    if (!at::equal(wa[i], wb[i])) return false;
  }
  return true;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(SearchCheckpoint, ResumeAtAnyStepIsBitIdentical) {
  const SearchConfig base = tiny_search("reference");
  const Dataset data = load_search_dataset(base);
  Search reference(base, data);
  const int64_t total = base.epochs * reference.steps_per_epoch();
  reference.advance(total);

  // Stop at an epoch end and at a mid-epoch step.
  for (int64_t stop : {reference.steps_per_epoch(), total - 3}) {
    SearchConfig c = tiny_search("interrupted_" + std::to_string(stop));
    std::string path;
    {
      Search first(c, data);
      first.advance(stop);
      path = first.save_checkpoint();
    }  // the first process is gone
    c.threads = 1;
    Search resumed(c, data);
    resumed.load_checkpoint(path);
    EXPECT_EQ(resumed.global_step(), stop);
    resumed.advance(total - stop);
    EXPECT_TRUE(at::equal(resumed.alphas_normal(), reference.alphas_normal())) << "stopped at step " << stop;
    EXPECT_TRUE(at::equal(resumed.alphas_reduce(), reference.alphas_reduce())) << "stopped at step " << stop;
    EXPECT_TRUE(same_weights(resumed, reference)) << "stopped at step " << stop;
    EXPECT_EQ(to_json(resumed.genotype()), to_json(reference.genotype()));
    // The metrics file holds one line per epoch, as the uninterrupted run's.
    std::ifstream metrics(c.out_dir + "/metrics.jsonl");
    int64_t lines = 0;
    for (std::string line; std::getline(metrics, line);) ++lines;
    EXPECT_EQ(lines, base.epochs);
  }
}

TEST(SearchCheckpoint, EpochEndsAndEveryNStepsAreCheckpointedAndPruned) {
  SearchConfig c = tiny_search("periodic");
  c.checkpoint_every = 4;
  c.checkpoint_keep = 3;
  Search search(c, load_search_dataset(c));
  EXPECT_EQ(Search::latest_checkpoint(c.out_dir), "");
  search.advance(2 * search.steps_per_epoch());  // 12 steps: 4, 8 mid-epoch; epoch ends at 6 and 12
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(c.out_dir + "/checkpoints")) names.push_back(e.path().filename());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"epoch-000001-step-000000.pt", "epoch-000001-step-000002.pt",
                                             "epoch-000002-step-000000.pt"}));
  EXPECT_EQ(fs::path(Search::latest_checkpoint(c.out_dir)).filename(), "epoch-000002-step-000000.pt");
  EXPECT_EQ(Search::checkpoint_config(Search::latest_checkpoint(c.out_dir)).checkpoint_every, 4);
}

TEST(SearchCheckpoint, InterruptedWriteAndCorruptFilesLeaveThePreviousOneLoadable) {
  SearchConfig c = tiny_search("corrupt");
  const Dataset data = load_search_dataset(c);
  Search search(c, data);
  search.advance(search.steps_per_epoch());  // writes epoch-000001-step-000000.pt
  const std::string good = Search::latest_checkpoint(c.out_dir);
  ASSERT_FALSE(good.empty());
  const std::string bytes = read_file(good);
  const std::string dir = c.out_dir + "/checkpoints/";

  // A write that died half-way leaves only a temporary file: ignored.
  std::ofstream(dir + "epoch-000002-step-000000.pt.tmp", std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  EXPECT_EQ(Search::latest_checkpoint(c.out_dir), good);

  // Newer files that are truncated, empty or garbage are skipped with a reason, and refused when named.
  std::ofstream(dir + "epoch-000002-step-000001.pt", std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  std::ofstream(dir + "epoch-000002-step-000002.pt", std::ios::binary) << "";
  std::string garbage(bytes.size(), '\0');
  std::mt19937 random(7);
  for (auto& ch : garbage) ch = static_cast<char>(random() & 0xff);
  std::ofstream(dir + "epoch-000002-step-000003.pt", std::ios::binary) << garbage;
  std::vector<std::string> skipped;
  EXPECT_EQ(Search::latest_checkpoint(c.out_dir, &skipped), good);
  EXPECT_EQ(skipped.size(), 3u);
  for (const char* name : {"epoch-000002-step-000001.pt", "epoch-000002-step-000002.pt", "epoch-000002-step-000003.pt"}) {
    Search other(c, data);
    expect_error([&] { other.load_checkpoint(dir + name); }, ErrorKind::parse_error, {name, "not a valid"});
  }
  expect_error([&] { search.load_checkpoint(dir + "no-such-file.pt"); }, ErrorKind::io_error, {"does not exist"});

  Search resumed(c, data);
  resumed.load_checkpoint(good);
  EXPECT_TRUE(at::equal(resumed.alphas_normal(), search.alphas_normal()));
  EXPECT_EQ(resumed.epoch(), 1);
}

TEST(SearchCheckpoint, ResumeIsRefusedForAnotherConfigOrOtherData) {
  SearchConfig c = tiny_search("refused");
  const Dataset data = load_search_dataset(c);
  std::string path;
  {
    Search search(c, data);
    search.advance(2);
    path = search.save_checkpoint();
  }
  SearchConfig changed = c;
  changed.eta = 0.5;
  changed.layers = 3;
  expect_error([&] { Search(changed, data).load_checkpoint(path); }, ErrorKind::invalid_argument,
               {"another configuration", "eta: ", "layers: 2 -> 3"});
  SearchConfig other_data = c;
  expect_error([&] { Search(other_data, make_synthetic(SyntheticSpec{96}, 99)).load_checkpoint(path); },
               ErrorKind::invalid_argument, {"other data"});
  // Threads and logging may change.
  SearchConfig allowed = c;
  allowed.threads = 2;
  allowed.log_every = 1;
  Search ok(allowed, data);
  EXPECT_NO_THROW(ok.load_checkpoint(path));
  EXPECT_EQ(ok.global_step(), 2);
}

TEST(SearchCheckpoint, NonFiniteLossStopsNamingTheStepAndKeepsTheLastCheckpoint) {
  SearchConfig c = tiny_search("nan_stop");
  const Dataset data = load_search_dataset(c);
  Search search(c, data);
  search.advance(search.steps_per_epoch() + 1);
  const std::string good = Search::latest_checkpoint(c.out_dir);
  {
    at::NoGradGuard no_grad;
    search.supernet().weights().front().fill_(std::nan(""));  // e.g. an exploding update
  }
  expect_error([&] { search.step(); }, ErrorKind::numerical, {"non-finite", "epoch 2 step 2", good.c_str()});
  EXPECT_EQ(Search::latest_checkpoint(c.out_dir), good);
  Search resumed(c, data);
  EXPECT_NO_THROW(resumed.load_checkpoint(good));
  EXPECT_TRUE(std::isfinite(resumed.step().train_loss));
}

TEST(SearchCheckpoint, SkipPolicySkipsTheUpdateAndCountsIt) {
  SearchConfig c = tiny_search("nan_skip");
  c.nan_policy = "skip";
  Search search(c, load_search_dataset(c));
  search.step();
  at::Tensor poisoned = search.supernet().weights().front();
  {
    at::NoGradGuard no_grad;
    poisoned.fill_(std::nan(""));
  }
  const at::Tensor alphas = search.alphas_normal();
  const at::Tensor other_weight = search.supernet().weights().back().detach().clone();
  const StepResult r = search.step();
  EXPECT_TRUE(r.skipped);
  EXPECT_EQ(search.skipped_steps(), 1);
  EXPECT_TRUE(at::equal(alphas, search.alphas_normal())) << "a non-finite arch gradient must not be applied";
  EXPECT_TRUE(at::equal(other_weight, search.supernet().weights().back())) << "nor a non-finite weight step";
}

TEST(SearchCheckpoint, CancelBeforeRunEpochStopsBeforeTheFirstStep) {
  SearchConfig c = tiny_search("cancel");
  Search search(c, load_search_dataset(c));
  search.cancel();
  bool completed = true;
  search.run_epoch(nullptr, &completed);
  EXPECT_FALSE(completed);
  EXPECT_EQ(search.step_in_epoch(), 0);
  // The request was consumed: the next call runs the epoch.
  search.run_epoch(nullptr, &completed);
  EXPECT_TRUE(completed);
  EXPECT_EQ(search.epoch(), 1);
}

// ---- Re-training ----

TrainConfig tiny_train(const std::string& name) {
  TrainConfig c;
  c.dataset = "synthetic";
  c.train_subset = 64;
  c.test_subset = 16;
  c.channels = 4;
  c.layers = 3;
  c.epochs = 2;
  c.batch_size = 16;
  c.cutout = 4;
  c.drop_path_prob = 0.3;  // the network's generator draws masks: it must be restored too
  c.threads = 1;
  c.seed = 3;
  c.out_dir = temp_dir(name);
  return c;
}

Genotype tiny_genotype() {
  return from_darts_text(
      "Genotype(normal=[('sep_conv_3x3', 0), ('skip_connect', 1), ('max_pool_3x3', 0), ('dil_conv_3x3', 2), "
      "('skip_connect', 0), ('sep_conv_5x5', 1), ('avg_pool_3x3', 2), ('skip_connect', 3)], normal_concat=[2, 3, 4, 5], "
      "reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), "
      "('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('avg_pool_3x3', 0)], reduce_concat=[2, 3, 4, 5])");
}

TEST(TrainCheckpoint, ResumeIsBitIdentical) {
  const TrainConfig base = tiny_train("reference");
  const Dataset train = load_train_dataset(base, true), test = load_train_dataset(base, false);
  Trainer reference(tiny_genotype(), base, train);
  for (int e = 0; e < base.epochs; ++e) reference.run_epoch();

  TrainConfig c = tiny_train("interrupted");
  c.checkpoint_every = 3;  // 4 steps an epoch: step 3 is mid-epoch
  {
    Trainer first(tiny_genotype(), c, train);
    first.run_epoch();
    int calls = 0;
    bool completed = true;
    first.run_epoch([&](const TrainProgress&) { return ++calls < 3; }, &completed);  // stops after step 3
    ASSERT_FALSE(completed);
    // checkpoint_every 3 wrote global step 6 (epoch 2, step 2); an interrupted run saves where it stopped.
    EXPECT_EQ(fs::path(Trainer::latest_checkpoint(c.out_dir)).filename(), "epoch-000001-step-000002.pt");
    first.save_checkpoint();
  }
  const std::string path = Trainer::latest_checkpoint(c.out_dir);
  EXPECT_EQ(fs::path(path).filename(), "epoch-000001-step-000003.pt");
  Trainer resumed(tiny_genotype(), c, train);
  resumed.load_checkpoint(path);
  EXPECT_EQ(resumed.epoch(), 1);
  EXPECT_EQ(resumed.step_in_epoch(), 3);
  while (resumed.epoch() < c.epochs) resumed.run_epoch();
  EXPECT_TRUE(at::equal(resumed.predict(test), reference.predict(test)));

  TrainConfig changed = c;
  changed.lr = 0.5;
  expect_error([&] { Trainer(tiny_genotype(), changed, train).load_checkpoint(path); }, ErrorKind::invalid_argument,
               {"another configuration", "lr: "});
  expect_error([&] { Trainer(read_genotype_file(std::string(ADARTS_FIXTURES_DIR) + "/genotypes/darts_v2.txt"), c, train).load_checkpoint(path); }, ErrorKind::invalid_argument,
               {"another genotype"});
}


// The non-finite policy is the search's (RunConfig::nan_policy): stop names
// the step and the last good checkpoint; skip leaves the weights as they were.
TEST(TrainCheckpoint, NonFinitePolicyStopsOrSkipsLikeASearch) {
  const TrainConfig base = tiny_train("train_nan_stop");
  const Dataset train = load_train_dataset(base, true);
  Trainer stopping(tiny_genotype(), base, train);
  stopping.run_epoch();
  const std::string good = Trainer::latest_checkpoint(base.out_dir);
  {
    at::NoGradGuard no_grad;
    stopping.network().parameters().front().fill_(std::nan(""));
  }
  expect_error([&] { stopping.step(); }, ErrorKind::numerical, {"non-finite", "epoch 2 step 1", good.c_str()});

  TrainConfig c = tiny_train("train_nan_skip");
  c.nan_policy = "skip";
  Trainer skipping(tiny_genotype(), c, train);
  skipping.step();
  {
    at::NoGradGuard no_grad;
    skipping.network().parameters().front().fill_(std::nan(""));
  }
  const at::Tensor other_weight = skipping.network().parameters().back().detach().clone();
  const TrainStepResult r = skipping.step();
  EXPECT_TRUE(r.skipped);
  EXPECT_EQ(skipping.skipped_steps(), 1);
  EXPECT_TRUE(at::equal(other_weight, skipping.network().parameters().back())) << "a non-finite step must not be applied";
}

// A trainer's own files: config and genotype at once; at each epoch end the
// metrics line (with the test figures) and the model; a resumed run's
// metrics are those its checkpoint carries, whatever the file holds by then.
TEST(TrainCheckpoint, TrainerWritesItsFilesAndResumesItsMetrics) {
  TrainConfig c = tiny_train("train_files");
  const Dataset train = load_train_dataset(c, true), test = load_train_dataset(c, false);
  {
    Trainer trainer(tiny_genotype(), c, train, test);
    EXPECT_TRUE(fs::exists(c.out_dir + "/config.json"));
    EXPECT_TRUE(fs::exists(c.out_dir + "/genotype.json"));
    EXPECT_FALSE(fs::exists(c.out_dir + "/model.pt"));
    const TrainEpochSummary s = trainer.run_epoch();
    EXPECT_EQ(s.test.samples, 16);
    EXPECT_NE(s.json.find("\"test_top1\""), std::string::npos);
    EXPECT_TRUE(fs::exists(c.out_dir + "/model.pt"));
    EXPECT_EQ(Trainer::load(c.out_dir + "/model.pt")->epoch(), 1);
  }
  const std::string checkpoint = Trainer::latest_checkpoint(c.out_dir);
  std::ofstream(c.out_dir + "/metrics.jsonl", std::ios::app) << "{\"epoch\":99}\n";  // written after the checkpoint
  std::unique_ptr<Trainer> resumed = Trainer::resume(c.out_dir, "", &train, test);
  std::ifstream in(c.out_dir + "/metrics.jsonl");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text.find("\"epoch\":99"), std::string::npos) << text;
  EXPECT_NE(text.find("\"epoch\":1"), std::string::npos) << text;
}

// ---- Files written by adarts 0.2.0 (tests/fixtures/v0.2.0/README.md) still load ----

namespace compat {

const std::string kFixtures = std::string(ADARTS_FIXTURES_DIR) + "/v0.2.0";

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::vector<std::string> lines_of(const std::string& path) {
  std::vector<std::string> lines;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

// A number of a flat JSON line (or object text) by key.
double json_number(const std::string& text, const std::string& key) {
  return boost::json::parse(text).as_object().at(key).to_number<double>();
}

// LibTorch 2.x keys optimizer state differently and cannot read the state of
// the 1.13-written fixtures' optimizers: there they must be refused clearly.
bool optimizer_archives_differ() { return TORCH_VERSION_MAJOR >= 2; }

// The run folder of the fixture copied to a scratch directory (a resume writes into it).
std::string copy_run(const std::string& which, const std::string& name) {
  const std::string dir = temp_dir(name);
  fs::copy(kFixtures + "/" + which, dir, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  return dir;
}

}  // namespace compat

// Resumed from 0.2.0's epoch-1 checkpoint, the search's epoch 2 ends where
// 0.2.0's uninterrupted run did. Same code path and thread count: the alphas
// agree to float rounding (~1e-7 relative); 1e-5 allows another CPU's
// vector width in the reductions.
TEST(Compat, SearchCheckpointOf020Resumes) {
  const std::string dir = compat::copy_run("search", "compat_search");
  if (compat::optimizer_archives_differ()) {
    // 0.2.0's fixtures were written with LibTorch 1.13: this LibTorch must refuse them, clearly.
    expect_error([&] { Search::resume(dir); }, ErrorKind::parse_error, {"optimizer state", "LibTorch"});
    return;
  }
  std::unique_ptr<Search> search = Search::resume(dir);
  ASSERT_EQ(search->epoch(), 1);
  search->run_epoch();
  ASSERT_EQ(search->epoch(), 2);
  const boost::json::value expected =
      boost::json::parse(compat::read_file(compat::kFixtures + "/search/expected_alphas_epoch2.json"));
  const boost::json::array& expected_alphas = expected.as_object().at("arch_parameters").as_array();
  const TensorList alphas = search->supernet().arch_parameters();
  ASSERT_EQ(alphas.size(), expected_alphas.size());
  for (size_t i = 0; i < alphas.size(); ++i) {
    const at::Tensor got = alphas[i].detach().to(at::kDouble).flatten();
    std::vector<double> want;
    for (const auto& row : expected_alphas[i].as_array()) {
      for (const auto& v : row.as_array()) want.push_back(v.to_number<double>());
    }
    ASSERT_EQ(got.numel(), static_cast<int64_t>(want.size()));
    const at::Tensor w = at::tensor(want, at::kDouble);
    EXPECT_LE((got - w).norm().item<double>(), 1e-5 * w.norm().item<double>()) << "alpha tensor " << i;
  }
  const std::vector<std::string> lines = compat::lines_of(dir + "/metrics.jsonl");
  const std::vector<std::string> expected_lines = compat::lines_of(compat::kFixtures + "/search/expected_metrics.jsonl");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], expected_lines[0]);  // carried by the checkpoint, unchanged
  EXPECT_NEAR(compat::json_number(lines[1], "val_loss"), compat::json_number(expected_lines[1], "val_loss"), 1e-5);
}

// 0.2.0's training checkpoints hold no metrics lines: the resumed run keeps
// the metrics file's lines up to the checkpoint and continues it; epoch 2's
// figures are 0.2.0's (same tolerance argument as above).
TEST(Compat, TrainCheckpointOf020Resumes) {
  const std::string dir = compat::copy_run("train", "compat_train");
  if (compat::optimizer_archives_differ()) {
    // 0.2.0's fixtures were written with LibTorch 1.13: this LibTorch must refuse them, clearly.
    expect_error([&] { Trainer::resume(dir); }, ErrorKind::parse_error, {"optimizer state", "LibTorch"});
    return;
  }
  std::unique_ptr<Trainer> trainer = Trainer::resume(dir);
  ASSERT_EQ(trainer->epoch(), 1);
  const TrainEpochSummary s = trainer->run_epoch();
  const std::vector<std::string> expected = compat::lines_of(compat::kFixtures + "/train/metrics.jsonl");
  ASSERT_EQ(expected.size(), 2u);
  EXPECT_NEAR(s.train_loss, compat::json_number(expected[1], "train_loss"), 1e-5);
  EXPECT_NEAR(s.test.loss, compat::json_number(expected[1], "test_loss"), 1e-5);
  const std::vector<std::string> lines = compat::lines_of(dir + "/metrics.jsonl");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], expected[0]);
  EXPECT_NEAR(compat::json_number(lines[1], "test_loss"), compat::json_number(expected[1], "test_loss"), 1e-5);
}

// 0.2.0's model file loads and evaluates as 0.2.0's `adarts evaluate` did.
TEST(Compat, ModelFileOf020Loads) {
  std::unique_ptr<Trainer> model = Trainer::load(compat::kFixtures + "/train/model_epoch2.pt");
  EXPECT_EQ(model->epoch(), 2);
  const EvalResult r = model->evaluate(load_train_dataset(model->config(), /*train=*/false));
  const std::vector<std::string> expected = compat::lines_of(compat::kFixtures + "/train/metrics.jsonl");
  EXPECT_EQ(r.samples, 8);
  EXPECT_NEAR(r.loss, compat::json_number(expected[1], "test_loss"), 1e-5);
}

}  // namespace
}  // namespace adarts
