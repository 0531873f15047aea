// The C API under threads: cancellation from another thread, and two searches
// running at once giving the same alphas as one after the other.
#include <adarts/adarts.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

const char* kData = "{\"kind\":\"synthetic\",\"size\":64,\"channels\":1,\"height\":8,\"width\":8}";

// `more`: further keys, each with a leading comma.
std::string config(const std::string& out, int seed, const std::string& more = "") {
  return "{\"channels\":4,\"layers\":2,\"batch_size\":8,\"epochs\":1,\"threads\":1,\"seed\":" + std::to_string(seed) +
         ",\"out_dir\":\"" + out + "\"" + more + "}";
}

struct Handles {
  adarts_dataset* data = nullptr;
  adarts_search* search = nullptr;
  Handles(const std::string& out, int seed, const std::string& more = "") {
    EXPECT_EQ(adarts_dataset_open(kData, &data), ADARTS_OK) << adarts_last_error();
    EXPECT_EQ(adarts_search_create(config(out, seed, more).c_str(), data, &search), ADARTS_OK) << adarts_last_error();
  }
  ~Handles() {
    adarts_search_free(search);
    adarts_dataset_free(data);
  }
  std::vector<float> alphas() const {
    size_t n = 0;
    EXPECT_EQ(adarts_search_alphas(search, "normal", nullptr, 0, &n), ADARTS_OK);
    std::vector<float> v(n);
    EXPECT_EQ(adarts_search_alphas(search, "normal", v.data(), v.size(), &n), ADARTS_OK);
    return v;
  }
};

// The callback of the first step hands control to another thread, which
// cancels; the epoch must end with ADARTS_CANCELLED after that step.
struct CancelFromOtherThread {
  adarts_search* search = nullptr;
  std::mutex mutex;
  std::condition_variable cv;
  bool asked = false, cancelled = false;
};

int on_progress(void* user, int64_t, int64_t step, int64_t, double, double) {
  auto* s = static_cast<CancelFromOtherThread*>(user);
  if (step == 1) {
    std::unique_lock<std::mutex> lock(s->mutex);
    s->asked = true;
    s->cv.notify_all();
    s->cv.wait(lock, [&] { return s->cancelled; });
  }
  return 0;  // the callback itself never asks to stop
}

TEST(CApiThreads, CancelFromAnotherThreadEndsTheEpochAndKeepsTheHandleUsable) {
  Handles h("capi_threads_cancel", 2);
  CancelFromOtherThread state;
  state.search = h.search;
  std::thread canceller([&] {
    std::unique_lock<std::mutex> lock(state.mutex);
    state.cv.wait(lock, [&] { return state.asked; });
    EXPECT_EQ(adarts_search_cancel(state.search), ADARTS_OK);
    state.cancelled = true;
    state.cv.notify_all();
  });
  EXPECT_EQ(adarts_search_run_epoch(h.search, on_progress, &state), ADARTS_CANCELLED);
  canceller.join();
  EXPECT_NE(std::string(adarts_last_error()).find("cancel"), std::string::npos);
  char* state_json = nullptr;
  ASSERT_EQ(adarts_search_state(h.search, &state_json), ADARTS_OK);
  EXPECT_NE(std::string(state_json).find("\"step_in_epoch\":1"), std::string::npos) << state_json;
  adarts_string_free(state_json);
  EXPECT_EQ(adarts_search_run_epoch(h.search, nullptr, nullptr), ADARTS_OK) << adarts_last_error();
}

TEST(CApiThreads, TwoSearchesAtOnceMatchOneAfterTheOther) {
  auto run = [](const std::string& out, int seed, std::vector<float>* alphas) {
    Handles h(out, seed);
    EXPECT_EQ(adarts_search_step(h.search, 3), ADARTS_OK) << adarts_last_error();
    *alphas = h.alphas();
  };
  std::vector<float> seq_a, seq_b, par_a, par_b;
  run("capi_threads_seq_a", 2, &seq_a);
  run("capi_threads_seq_b", 5, &seq_b);
  std::thread ta([&] { run("capi_threads_par_a", 2, &par_a); });
  std::thread tb([&] { run("capi_threads_par_b", 5, &par_b); });
  ta.join();
  tb.join();
  EXPECT_EQ(seq_a, par_a);
  EXPECT_EQ(seq_b, par_b);
  EXPECT_NE(seq_a, seq_b);
}

// A host drives a data-parallel search itself: one thread per rank, the
// ranks given as config keys, meeting on one file store (docs/distributed.md).
std::string data_parallel_keys(int rank, const std::string& store) {
  return ",\"world_size\":2,\"rank\":" + std::to_string(rank) + ",\"rendezvous\":\"file://" + store +
         "\",\"dist_timeout\":60";
}

std::string fresh_store(const std::string& name) {
  const std::string path = std::string(P_tmpdir) + "/adarts_capi_" + name + "_" + std::to_string(getpid());
  std::remove(path.c_str());
  return path;
}

TEST(CApiThreads, TwoRanksOnOneFileStoreEndWithTheSameAlphas) {
  const std::string store = fresh_store("ranks");
  std::vector<float> alphas[2];
  adarts_status status[2] = {ADARTS_INTERNAL, ADARTS_INTERNAL};
  auto rank = [&](int r) {
    Handles h("capi_threads_ranks", 2, data_parallel_keys(r, store));
    status[r] = adarts_search_run_epoch(h.search, nullptr, nullptr);
    alphas[r] = h.alphas();
  };
  std::thread r0(rank, 0), r1(rank, 1);
  r0.join();
  r1.join();
  EXPECT_EQ(status[0], ADARTS_OK);
  EXPECT_EQ(status[1], ADARTS_OK);
  EXPECT_FALSE(alphas[0].empty());
  EXPECT_EQ(alphas[0], alphas[1]);
}

TEST(CApiThreads, RanksWithDifferentConfigsFailWithACommunicationError) {
  const std::string store = fresh_store("mismatch");
  adarts_status status[2] = {ADARTS_OK, ADARTS_OK};
  std::string message[2];
  auto rank = [&](int r) {
    adarts_dataset* data = nullptr;
    ASSERT_EQ(adarts_dataset_open(kData, &data), ADARTS_OK);
    adarts_search* search = nullptr;
    status[r] = adarts_search_create(config("capi_threads_mismatch", 2 + r, data_parallel_keys(r, store)).c_str(),
                                     data, &search);
    message[r] = adarts_last_error();
    adarts_search_free(search);
    adarts_dataset_free(data);
  };
  std::thread r0(rank, 0), r1(rank, 1);
  r0.join();
  r1.join();
  for (int r = 0; r < 2; ++r) {
    EXPECT_EQ(status[r], ADARTS_COMMUNICATION_ERROR);
    EXPECT_NE(message[r].find("seed: "), std::string::npos) << message[r];
  }
}

TEST(CApiThreads, ErrorsAreThreadLocal) {
  adarts_dataset* d = nullptr;
  EXPECT_EQ(adarts_dataset_open("{\"kind\":\"nope\"}", &d), ADARTS_PARSE_ERROR);
  const std::string mine = adarts_last_error();
  std::thread other([] {
    adarts_genotype* g = nullptr;
    EXPECT_EQ(adarts_genotype_from_json("[]", &g), ADARTS_PARSE_ERROR);
  });
  other.join();
  EXPECT_EQ(mine, adarts_last_error());
}

}  // namespace
