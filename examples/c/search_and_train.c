/* A C host of adarts: opens Fashion-MNIST (synthetic data when the files are
 * absent), runs a short search stepping the loop itself, prints the genotype
 * JSON, re-trains the genotype briefly (printing each epoch's metrics line as
 * it ends) and prints the test accuracy.
 *
 *   search_and_train [--tiny]     (--tiny: synthetic data and a tiny network, for tests)
 */
#include <adarts/adarts.h>

#include <stdio.h>
#include <string.h>

#define CHECK(call)                                                                  \
  do {                                                                               \
    adarts_status status_ = (call);                                                  \
    if (status_ != ADARTS_OK) {                                                      \
      fprintf(stderr, "%s failed (%d): %s\n", #call, (int)status_, adarts_last_error()); \
      goto cleanup;                                                                  \
    }                                                                                \
  } while (0)

/* Each ended epoch's metrics line (the run's metrics.jsonl line), as it ends. */
static void print_metrics(void* user, const char* metrics_json) {
  printf("%s metrics: %s\n", (const char*)user, metrics_json);
}

static int file_exists(const char* path) {
  FILE* f = fopen(path, "rb");
  if (f) fclose(f);
  return f != NULL;
}

int main(int argc, char** argv) {
  const int tiny = argc > 1 && strcmp(argv[1], "--tiny") == 0;
  const char* fmnist = "/usr/share/datasets/fashion-mnist";
  const int have_fmnist = file_exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz");
  int exit_code = 1;
  adarts_dataset* train = NULL;
  adarts_dataset* test = NULL;
  adarts_search* search = NULL;
  adarts_genotype* genotype = NULL;
  adarts_trainer* trainer = NULL;
  char* text = NULL;
  int major = 0, minor = 0, patch = 0;

  adarts_version(&major, &minor, &patch);
  if (major != ADARTS_VERSION_MAJOR) {
    fprintf(stderr, "library ABI %d does not match header %d\n", major, ADARTS_VERSION_MAJOR);
    return 1;
  }
  printf("adarts %s\n", adarts_version_string());

  if (tiny || !have_fmnist) {
    CHECK(adarts_dataset_open("{\"kind\":\"synthetic\",\"size\":128,\"channels\":1,\"height\":12,\"width\":12}", &train));
    CHECK(adarts_dataset_open("{\"kind\":\"synthetic\",\"size\":64,\"channels\":1,\"height\":12,\"width\":12,\"seed\":9}", &test));
  } else {
    char spec[512];
    snprintf(spec, sizeof spec, "{\"kind\":\"idx\",\"dir\":\"%s\",\"train\":true,\"subset\":512}", fmnist);
    CHECK(adarts_dataset_open(spec, &train));
    snprintf(spec, sizeof spec, "{\"kind\":\"idx\",\"dir\":\"%s\",\"train\":false,\"subset\":500}", fmnist);
    CHECK(adarts_dataset_open(spec, &test));
  }
  CHECK(adarts_dataset_info(train, &text));
  printf("training data: %s\n", text);
  adarts_string_free(text);
  text = NULL;

  /* The search: the host drives the loop, one step at a time. --tiny runs in
   * tests beside other processes: one intra-op thread, as OpenMP threads that
   * wait on each other on oversubscribed cores can run 10x slower or worse. */
  CHECK(adarts_search_create(tiny ? "{\"channels\":4,\"layers\":2,\"batch_size\":16,\"epochs\":1,\"threads\":1,"
                                    "\"out_dir\":\"c_example_search\"}"
                                  : "{\"channels\":8,\"layers\":5,\"batch_size\":32,\"epochs\":1,\"threads\":2,"
                                    "\"out_dir\":\"c_example_search\"}",
                             train, &search));
  for (int step = 1; step <= (tiny ? 4 : 8); ++step) {
    CHECK(adarts_search_step(search, 1));
    CHECK(adarts_search_state(search, &text));
    printf("step %d: %s\n", step, text);
    adarts_string_free(text);
    text = NULL;
  }
  CHECK(adarts_search_genotype(search, &genotype));
  CHECK(adarts_genotype_to_json(genotype, &text));
  printf("genotype:\n%s", text);
  adarts_string_free(text);
  text = NULL;

  /* Re-train the genotype briefly and evaluate it on the test set. */
  CHECK(adarts_trainer_create(genotype,
                              tiny ? "{\"channels\":4,\"layers\":3,\"batch_size\":16,\"epochs\":1,\"cutout\":0,"
                                     "\"auxiliary\":false,\"threads\":1,\"out_dir\":\"c_example_train\"}"
                                   : "{\"channels\":8,\"layers\":3,\"batch_size\":32,\"epochs\":1,\"cutout\":0,"
                                     "\"auxiliary\":false,\"threads\":2,\"out_dir\":\"c_example_train\"}",
                              train, &trainer));
  CHECK(adarts_trainer_set_metrics_listener(trainer, print_metrics, (void*)"training"));
  CHECK(adarts_trainer_run_epoch(trainer, NULL, NULL));
  CHECK(adarts_trainer_evaluate(trainer, test, &text));
  printf("test: %s\n", text);
  adarts_string_free(text);
  text = NULL;
  exit_code = 0;

cleanup:
  adarts_string_free(text);
  adarts_trainer_free(trainer);
  adarts_genotype_free(genotype);
  adarts_search_free(search);
  adarts_dataset_free(test);
  adarts_dataset_free(train);
  return exit_code;
}
