/* The C ABI on CUDA, as a host application drives it: a search with
 * "device":"cuda" steps, checkpoints and resumes on the CPU; a trainer on
 * CUDA runs an epoch, evaluates and reloads on the CPU. Exit 77 (ctest:
 * skipped) where no CUDA device is present. Compiled as C99. */
#include <adarts/adarts.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;

#define CHECK(call)                                                                                   \
  do {                                                                                                \
    adarts_status s_ = (call);                                                                        \
    if (s_ != ADARTS_OK) {                                                                            \
      ++failures;                                                                                     \
      fprintf(stderr, "%s:%d: %s returned %d (%s)\n", __FILE__, __LINE__, #call, (int)s_, adarts_last_error()); \
    }                                                                                                 \
  } while (0)

#define EXPECT(cond)                                                      \
  do {                                                                    \
    if (!(cond)) {                                                        \
      ++failures;                                                         \
      fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__, #cond); \
    }                                                                     \
  } while (0)

static const char* kSynthetic = "{\"kind\":\"synthetic\",\"size\":64,\"channels\":3,\"height\":12,\"width\":12}";

int main(void) {
  char* info = NULL;
  adarts_dataset* d = NULL;
  adarts_search* s = NULL;
  adarts_search* resumed = NULL;
  adarts_genotype* g = NULL;
  adarts_trainer* t = NULL;
  adarts_trainer* loaded = NULL;
  char* path = NULL;
  char* a = NULL;
  char* b = NULL;
  float before[256], after[256];
  size_t count = 0, i;
  const char* device = "cuda";
  const char* dry = getenv("ADARTS_TEST_CUDA_AS_CPU");
  char config[512];

  CHECK(adarts_build_info(&info));
  if (info == NULL || strstr(info, "\"cuda_available\":true") == NULL) {
    if (dry == NULL || strcmp(dry, "1") != 0) {
      printf("SKIP: no CUDA device (build info %s)\n", info ? info : "?");
      adarts_string_free(info);
      return 77;
    }
    device = "cpu"; /* a dry run of this test's logic (tests/test_cuda.cpp says why) */
  }
  printf("build info: %s\n", info);
  adarts_string_free(info);

  CHECK(adarts_dataset_open(kSynthetic, &d));
  snprintf(config, sizeof config,
           "{\"device\":\"%s\",\"channels\":4,\"layers\":3,\"batch_size\":16,\"epochs\":2,"
           "\"drop_path_prob\":0.2,\"out_dir\":\"capi_cuda_search\"}",
           device);
  CHECK(adarts_search_create(config, d, &s));
  CHECK(adarts_search_step(s, 3));
  CHECK(adarts_search_alphas(s, "normal", before, 256, &count));
  EXPECT(count > 0 && count <= 256);
  for (i = 0; i < count; ++i) EXPECT(isfinite(before[i]));
  CHECK(adarts_search_save_checkpoint(s, &path));
  adarts_string_free(path);
  adarts_search_free(s);
  /* The CUDA checkpoint resumes on the CPU with the same alphas. */
  CHECK(adarts_search_resume("capi_cuda_search", "{\"device\":\"cpu\"}", d, &resumed));
  CHECK(adarts_search_alphas(resumed, "normal", after, 256, &count));
  EXPECT(memcmp(before, after, count * sizeof(float)) == 0);
  CHECK(adarts_search_step(resumed, 1));
  CHECK(adarts_search_genotype(resumed, &g));
  adarts_search_free(resumed);

  snprintf(config, sizeof config,
           "{\"device\":\"%s\",\"channels\":4,\"layers\":3,\"batch_size\":16,\"epochs\":1,"
           "\"cutout\":0,\"auxiliary\":false,\"out_dir\":\"capi_cuda_train\"}",
           device);
  CHECK(adarts_trainer_create(g, config, d, &t));
  CHECK(adarts_trainer_run_epoch(t, NULL, NULL));
  CHECK(adarts_trainer_evaluate(t, d, &a));
  CHECK(adarts_trainer_save(t, "capi_cuda_model.pt"));
  CHECK(adarts_trainer_load("capi_cuda_model.pt", "cpu", &loaded));
  CHECK(adarts_trainer_evaluate(loaded, d, &b));
  EXPECT(a != NULL && b != NULL && strstr(b, "\"top1\"") != NULL);
  printf("trained on %s: %s\nreloaded on the CPU: %s\n", device, a ? a : "?", b ? b : "?");
  adarts_string_free(a);
  adarts_string_free(b);
  adarts_trainer_free(loaded);
  adarts_trainer_free(t);
  adarts_genotype_free(g);
  adarts_dataset_free(d);
  if (failures > 0) {
    fprintf(stderr, "%d failure(s)\n", failures);
    return 1;
  }
  printf("C ABI on %s: all checks passed\n", device);
  return 0;
}
