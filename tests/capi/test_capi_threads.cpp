// The C API under threads: cancellation from another thread, and two searches
// running at once giving the same alphas as one after the other.
#include <adarts/adarts.h>
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

const char* kData = "{\"kind\":\"synthetic\",\"size\":64,\"channels\":1,\"height\":8,\"width\":8}";

std::string config(const std::string& out, int seed) {
  return "{\"channels\":4,\"layers\":2,\"batch_size\":8,\"epochs\":1,\"threads\":1,\"seed\":" + std::to_string(seed) +
         ",\"out_dir\":\"" + out + "\"}";
}

struct Handles {
  adarts_dataset* data = nullptr;
  adarts_search* search = nullptr;
  Handles(const std::string& out, int seed) {
    EXPECT_EQ(adarts_dataset_open(kData, &data), ADARTS_OK) << adarts_last_error();
    EXPECT_EQ(adarts_search_create(config(out, seed).c_str(), data, &search), ADARTS_OK) << adarts_last_error();
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
