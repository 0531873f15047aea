/* The C API from C: argument checking of every function, error messages,
 * string ownership, the host-driven loop, alphas with the size query, the
 * callback's cancel request, genotype round trips, datasets from memory,
 * metrics events. Compiled as C99. */
#include <adarts/adarts.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static int failures = 0;
static int checks = 0;

#define EXPECT(cond)                                                         \
  do {                                                                       \
    ++checks;                                                                \
    if (!(cond)) {                                                           \
      ++failures;                                                            \
      fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__, #cond);    \
    }                                                                        \
  } while (0)

#define EXPECT_STATUS(call, expected)                                                          \
  do {                                                                                         \
    adarts_status s_ = (call);                                                                 \
    ++checks;                                                                                  \
    if (s_ != (expected)) {                                                                    \
      ++failures;                                                                              \
      fprintf(stderr, "%s:%d: %s returned %d, expected %d (%s)\n", __FILE__, __LINE__, #call, \
              (int)s_, (int)(expected), adarts_last_error());                                  \
    }                                                                                          \
  } while (0)

#define EXPECT_ERROR_MENTIONS(word) EXPECT(strstr(adarts_last_error(), (word)) != NULL)

/* Whether the file at `path` begins with "PK", a zip archive's signature. */
static int starts_with_zip_magic(const char* path) {
  char magic[2] = {0, 0};
  FILE* f = fopen(path, "rb");
  size_t n = 0;
  if (f == NULL) return 0;
  n = fread(magic, 1, 2, f);
  fclose(f);
  return n == 2 && magic[0] == 'P' && magic[1] == 'K';
}

static const char* kSynthetic = "{\"kind\":\"synthetic\",\"size\":64,\"channels\":1,\"height\":8,\"width\":8}";
static const char* kSearchConfig =
    "{\"channels\":4,\"layers\":2,\"batch_size\":8,\"epochs\":2,\"threads\":1,\"out_dir\":\"capi_c_test_search\"}";
static const char* kDartsV2 =
    "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), "
    "('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], "
    "reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), "
    "('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])";

static void test_library(void) {
  int major = -1, minor = -1, patch = -1;
  char* info = NULL;
  char expected[32];
  adarts_version(&major, &minor, &patch);
  EXPECT(major == ADARTS_VERSION_MAJOR && minor == ADARTS_VERSION_MINOR && patch == ADARTS_VERSION_PATCH);
  adarts_version(NULL, NULL, NULL); /* must not crash */
  snprintf(expected, sizeof expected, "%d.%d.%d", major, minor, patch);
  EXPECT(strcmp(adarts_version_string(), expected) == 0);
  EXPECT_STATUS(adarts_build_info(NULL), ADARTS_INVALID_ARGUMENT);
  EXPECT_ERROR_MENTIONS("NULL");
  EXPECT_STATUS(adarts_build_info(&info), ADARTS_OK);
  EXPECT(info != NULL && strstr(info, "\"torch_version\"") != NULL && strstr(info, "\"cuda_available\"") != NULL);
  adarts_string_free(info);
  adarts_string_free(NULL);
}

static void test_datasets(void) {
  adarts_dataset* d = NULL;
  adarts_dataset* untouched = (adarts_dataset*)0x1;
  char* info = NULL;
  EXPECT_STATUS(adarts_dataset_open(NULL, &d), ADARTS_INVALID_ARGUMENT);
  EXPECT_STATUS(adarts_dataset_open(kSynthetic, NULL), ADARTS_INVALID_ARGUMENT);
  EXPECT_STATUS(adarts_dataset_open("{\"kind\":", &untouched), ADARTS_PARSE_ERROR);
  EXPECT(untouched == (adarts_dataset*)0x1); /* out-params untouched on failure */
  EXPECT_STATUS(adarts_dataset_open("{\"kind\":\"imagenet\"}", &untouched), ADARTS_PARSE_ERROR);
  EXPECT_ERROR_MENTIONS("kind");
  EXPECT_STATUS(adarts_dataset_open("{\"kind\":\"synthetic\",\"sise\":3}", &untouched), ADARTS_PARSE_ERROR);
  EXPECT_ERROR_MENTIONS("sise");
  EXPECT_STATUS(adarts_dataset_open("{\"kind\":\"idx\",\"dir\":\"/no/such/dir\"}", &untouched), ADARTS_IO_ERROR);
  EXPECT(untouched == (adarts_dataset*)0x1);
  EXPECT_STATUS(adarts_dataset_info(NULL, &info), ADARTS_INVALID_ARGUMENT);
  EXPECT_STATUS(adarts_dataset_open(kSynthetic, &d), ADARTS_OK);
  EXPECT_STATUS(adarts_dataset_info(d, NULL), ADARTS_INVALID_ARGUMENT);
  EXPECT_STATUS(adarts_dataset_info(d, &info), ADARTS_OK);
  EXPECT(info != NULL && strstr(info, "\"size\":64") != NULL);
  adarts_string_free(info);
  adarts_dataset_free(d);
  adarts_dataset_free(NULL);
}

static int stop_after_two(void* user, int64_t epoch, int64_t step, int64_t steps_per_epoch, double loss,
                          double accuracy) {
  int* calls = (int*)user;
  (void)epoch;
  (void)steps_per_epoch;
  (void)accuracy;
  ++*calls;
  EXPECT(loss > 0.0);
  return step >= 2;
}

static void test_search(void) {
  adarts_dataset* d = NULL;
  adarts_search* s = NULL;
  adarts_search* untouched = (adarts_search*)0x1;
  adarts_genotype* g = NULL;
  char* text = NULL;
  size_t count = 0;
  float* before = NULL;
  float* after = NULL;
  float small[3];
  int calls = 0;
  size_t i;
  int changed = 0;

  EXPECT_STATUS(adarts_dataset_open(kSynthetic, &d), ADARTS_OK);
  EXPECT_STATUS(adarts_search_create(NULL, d, &s), ADARTS_INVALID_ARGUMENT);
  EXPECT_STATUS(adarts_search_create(kSearchConfig, d, NULL), ADARTS_INVALID_ARGUMENT);
  EXPECT_STATUS(adarts_search_create("{\"etta\":1}", d, &untouched), ADARTS_PARSE_ERROR);
  EXPECT_ERROR_MENTIONS("etta");
  EXPECT_STATUS(adarts_search_create("{\"eta\":-1}", d, &untouched), ADARTS_INVALID_ARGUMENT);
  EXPECT_ERROR_MENTIONS("eta");
  EXPECT_STATUS(adarts_search_create("{\"estimator\":\"magic\"}", d, &untouched), ADARTS_INVALID_ARGUMENT);
  EXPECT_ERROR_MENTIONS("magic");
  EXPECT_STATUS(adarts_search_create("not json", d, &untouched), ADARTS_PARSE_ERROR);
  EXPECT(untouched == (adarts_search*)0x1);
  EXPECT_STATUS(adarts_search_create(kSearchConfig, d, &s), ADARTS_OK);
  adarts_dataset_free(d); /* the search keeps its own copy */

  EXPECT_STATUS(adarts_search_step(NULL, 1), ADARTS_INVALID_ARGUMENT);
  EXPECT_STATUS(adarts_search_step(s, 0), ADARTS_INVALID_ARGUMENT);
  EXPECT_STATUS(adarts_search_run_epoch(NULL, NULL, NULL), ADARTS_INVALID_ARGUMENT);
  EXPECT_STATUS(adarts_search_cancel(NULL), ADARTS_INVALID_ARGUMENT);
  EXPECT_STATUS(adarts_search_state(NULL, &text), ADARTS_INVALID_ARGUMENT);
  EXPECT_STATUS(adarts_search_state(s, NULL), ADARTS_INVALID_ARGUMENT);
  EXPECT_STATUS(adarts_search_metrics(NULL, &text), ADARTS_INVALID_ARGUMENT);
  EXPECT_STATUS(adarts_search_metrics(s, NULL), ADARTS_INVALID_ARGUMENT);
  EXPECT_STATUS(adarts_search_genotype(NULL, &g), ADARTS_INVALID_ARGUMENT);
  EXPECT_STATUS(adarts_search_genotype(s, NULL), ADARTS_INVALID_ARGUMENT);
  EXPECT_STATUS(adarts_search_alphas(NULL, "normal", NULL, 0, &count), ADARTS_INVALID_ARGUMENT);
  EXPECT_STATUS(adarts_search_alphas(s, NULL, NULL, 0, &count), ADARTS_INVALID_ARGUMENT);
  EXPECT_STATUS(adarts_search_alphas(s, "normal", NULL, 0, NULL), ADARTS_INVALID_ARGUMENT);
  EXPECT_STATUS(adarts_search_alphas(s, "middle", NULL, 0, &count), ADARTS_INVALID_ARGUMENT);
  EXPECT_ERROR_MENTIONS("middle");

  /* The size query, then a too-small buffer (left untouched), then the copy. */
  EXPECT_STATUS(adarts_search_alphas(s, "normal", NULL, 0, &count), ADARTS_OK);
  EXPECT(count == 14 * 8);
  small[0] = 42.0f;
  EXPECT_STATUS(adarts_search_alphas(s, "normal", small, 3, &count), ADARTS_INVALID_ARGUMENT);
  EXPECT(small[0] == 42.0f);
  before = (float*)malloc(count * sizeof(float));
  after = (float*)malloc(count * sizeof(float));
  EXPECT_STATUS(adarts_search_alphas(s, "normal", before, count, &count), ADARTS_OK);

  EXPECT_STATUS(adarts_search_metrics(s, &text), ADARTS_OK);
  EXPECT(strcmp(text, "{}") == 0);
  adarts_string_free(text);

  /* Host-driven steps, then an epoch stopped by the callback after 2 steps. */
  EXPECT_STATUS(adarts_search_step(s, 1), ADARTS_OK);
  EXPECT_STATUS(adarts_search_alphas(s, "normal", after, count, &count), ADARTS_OK);
  for (i = 0; i < count; ++i) changed |= before[i] != after[i];
  EXPECT(changed);
  EXPECT_STATUS(adarts_search_run_epoch(s, stop_after_two, &calls), ADARTS_CANCELLED);
  EXPECT(calls == 1); /* one step was already done: the callback sees step 2 first */
  EXPECT_STATUS(adarts_search_state(s, &text), ADARTS_OK);
  EXPECT(strstr(text, "\"step_in_epoch\":2") != NULL && strstr(text, "\"epoch\":0") != NULL);
  adarts_string_free(text);
  /* The handle stays usable: finish the epoch. */
  EXPECT_STATUS(adarts_search_run_epoch(s, NULL, NULL), ADARTS_OK);
  EXPECT_STATUS(adarts_search_metrics(s, &text), ADARTS_OK);
  EXPECT(strstr(text, "\"val_accuracy\"") != NULL && strstr(text, "\"genotype\"") != NULL);
  adarts_string_free(text);
  EXPECT_STATUS(adarts_search_genotype(s, &g), ADARTS_OK);
  EXPECT_STATUS(adarts_genotype_to_json(g, &text), ADARTS_OK);
  EXPECT(strstr(text, "\"format\": \"adarts.genotype\"") != NULL || strstr(text, "\"format\":\"adarts.genotype\"") != NULL);
  adarts_string_free(text);
  adarts_genotype_free(g);
  free(before);
  free(after);
  adarts_search_free(s);
  adarts_search_free(NULL);
}

/* Space s2: one alpha set per cell, read cell by cell; the shared-cell
 * functions refuse it, and the per-cell ones refuse shared spaces. */
static void test_per_cell_alphas(void) {
  adarts_dataset* d = NULL;
  adarts_search* s = NULL;
  adarts_search* shared = NULL;
  adarts_genotype* g = NULL;
  int64_t cells = -1;
  size_t count = 0;
  size_t i;
  float small[3];
  float cell1_before[16];
  float cell1_after[16];
  float cell2[16];
  char* text = NULL;
  int changed = 0;
  int64_t params = -1;
  int64_t params_explicit = -2;
  adarts_trainer* t = NULL;
  static const char* kS2TrainConfig =
      "{\"dataset\":\"synthetic\",\"train_subset\":16,\"test_subset\":8,\"batch_size\":8,\"channels\":4,"
      "\"layers\":3,\"threads\":1,\"out_dir\":\"capi_c_test_s2_train\"}";

  EXPECT_STATUS(adarts_dataset_open(kSynthetic, &d), ADARTS_OK);
  EXPECT_STATUS(adarts_search_create("{\"space\":\"s2\",\"channels\":4,\"layers\":3,\"batch_size\":8,\"epochs\":1,"
                                     "\"threads\":1,\"out_dir\":\"capi_c_test_s2\"}",
                                     d, &s),
                ADARTS_OK);
  EXPECT_STATUS(adarts_search_create(kSearchConfig, d, &shared), ADARTS_OK);
  adarts_dataset_free(d);

  EXPECT_STATUS(adarts_search_cell_count(NULL, &cells), ADARTS_INVALID_ARGUMENT);
  EXPECT_STATUS(adarts_search_cell_count(s, NULL), ADARTS_INVALID_ARGUMENT);
  EXPECT_STATUS(adarts_search_cell_count(shared, &cells), ADARTS_OK);
  EXPECT(cells == 0);
  EXPECT_STATUS(adarts_search_cell_count(s, &cells), ADARTS_OK);
  EXPECT(cells == 3);

  EXPECT_STATUS(adarts_search_cell_alphas(NULL, 0, NULL, 0, &count), ADARTS_INVALID_ARGUMENT);
  EXPECT_STATUS(adarts_search_cell_alphas(s, 0, NULL, 0, NULL), ADARTS_INVALID_ARGUMENT);
  EXPECT_STATUS(adarts_search_cell_alphas(s, 3, NULL, 0, &count), ADARTS_INVALID_ARGUMENT);
  EXPECT_ERROR_MENTIONS("3");
  EXPECT_STATUS(adarts_search_cell_alphas(s, -1, NULL, 0, &count), ADARTS_INVALID_ARGUMENT);
  EXPECT_STATUS(adarts_search_cell_alphas(shared, 0, NULL, 0, &count), ADARTS_INVALID_ARGUMENT);
  EXPECT_ERROR_MENTIONS("shares");
  EXPECT_STATUS(adarts_search_alphas(s, "normal", NULL, 0, &count), ADARTS_INVALID_ARGUMENT);
  EXPECT_ERROR_MENTIONS("per cell");

  /* The size query: 8 fixed edges x 2 ops; a small buffer is left untouched. */
  count = 0;
  EXPECT_STATUS(adarts_search_cell_alphas(s, 1, NULL, 0, &count), ADARTS_OK);
  EXPECT(count == 16);
  small[0] = 42.0f;
  EXPECT_STATUS(adarts_search_cell_alphas(s, 1, small, 3, &count), ADARTS_INVALID_ARGUMENT);
  EXPECT(small[0] == 42.0f);
  EXPECT_STATUS(adarts_search_cell_alphas(s, 1, cell1_before, 16, &count), ADARTS_OK);
  EXPECT_STATUS(adarts_search_cell_alphas(s, 2, cell2, 16, &count), ADARTS_OK);
  for (i = 0; i < 16; ++i) changed |= cell1_before[i] != cell2[i]; /* each cell draws its own */
  EXPECT(changed);
  changed = 0;
  EXPECT_STATUS(adarts_search_step(s, 1), ADARTS_OK);
  EXPECT_STATUS(adarts_search_cell_alphas(s, 1, cell1_after, 16, &count), ADARTS_OK);
  for (i = 0; i < 16; ++i) changed |= cell1_before[i] != cell1_after[i];
  EXPECT(changed);

  /* The genotype is version 2; the DARTS text form refuses it; DOT draws the network. */
  EXPECT_STATUS(adarts_search_genotype(s, &g), ADARTS_OK);
  EXPECT_STATUS(adarts_genotype_to_json(g, &text), ADARTS_OK);
  EXPECT(text != NULL && strstr(text, "\"version\": 2") != NULL && strstr(text, "\"cells\"") != NULL);
  adarts_string_free(text);
  text = NULL;
  EXPECT_STATUS(adarts_genotype_to_darts_text(g, &text), ADARTS_UNSUPPORTED);
  EXPECT(text == NULL);
  EXPECT_STATUS(adarts_genotype_to_dot(g, "network", &text), ADARTS_OK);
  EXPECT(text != NULL && strstr(text, "digraph network") != NULL);
  adarts_string_free(text);
  /* Its network has as many cells as the genotype unless told otherwise. */
  params = -1;
  EXPECT_STATUS(adarts_genotype_parameter_count(g, "{\"channels\":4}", &params), ADARTS_OK);
  EXPECT_STATUS(adarts_genotype_parameter_count(g, "{\"channels\":4,\"layers\":3}", &params_explicit), ADARTS_OK);
  EXPECT(params > 0 && params == params_explicit);
  EXPECT_STATUS(adarts_genotype_parameter_count(g, "{\"channels\":4,\"layers\":5}", &params), ADARTS_INVALID_ARGUMENT);
  EXPECT_ERROR_MENTIONS("3 cells");
  /* DARTS's networks share one normal and one reduction cell: no state dict with its names. */
  EXPECT_STATUS(adarts_trainer_create(g, kS2TrainConfig, NULL, &t), ADARTS_OK);
  EXPECT_STATUS(adarts_trainer_export_pytorch(t, "capi_c_test_s2_darts.pt"), ADARTS_UNSUPPORTED);
  EXPECT_ERROR_MENTIONS("per cell");
  adarts_trainer_free(t);
  adarts_genotype_free(g);
  adarts_search_free(s);
  adarts_search_free(shared);
}

static void test_genotypes(void) {
  adarts_genotype* g = NULL;
  adarts_genotype* back = NULL;
  adarts_genotype* untouched = (adarts_genotype*)0x1;
  char* json = NULL;
  char* json2 = NULL;
  char* text = NULL;
  int64_t params = -1;

  EXPECT_STATUS(adarts_genotype_from_darts_text(NULL, &g), ADARTS_INVALID_ARGUMENT);
  EXPECT_STATUS(adarts_genotype_from_darts_text(kDartsV2, NULL), ADARTS_INVALID_ARGUMENT);
  EXPECT_STATUS(adarts_genotype_from_darts_text("Genotype(normal=[('conv_9x9', 0)", &untouched), ADARTS_PARSE_ERROR);
  EXPECT(untouched == (adarts_genotype*)0x1);
  EXPECT_STATUS(adarts_genotype_from_json(NULL, &g), ADARTS_INVALID_ARGUMENT);
  EXPECT_STATUS(adarts_genotype_from_json("{\"format\":\"adarts.genotype\",\"version\":99}", &untouched),
                ADARTS_PARSE_ERROR);
  EXPECT_ERROR_MENTIONS("version");
  EXPECT_STATUS(adarts_genotype_from_json("{\"format\":\"adarts.genotype\",\"version\":1,\"space\":\"darts\","
                                          "\"normal\":[{\"op\":\"sep_conv_3x3\",\"from\":0,\"to\":2}]}",
                                          &untouched),
                ADARTS_PARSE_ERROR);
  EXPECT_ERROR_MENTIONS("normal");

  EXPECT_STATUS(adarts_genotype_from_darts_text(kDartsV2, &g), ADARTS_OK);
  {
    /* A complete document with one unknown op: the message names it. */
    char* valid = NULL;
    char* bad = NULL;
    char* at = NULL;
    EXPECT_STATUS(adarts_genotype_to_json(g, &valid), ADARTS_OK);
    bad = (char*)malloc(strlen(valid) + 1);
    strcpy(bad, valid);
    at = strstr(bad, "sep_conv_3x3");
    EXPECT(at != NULL);
    if (at) memcpy(at, "sep_conv_9x9", 12);
    EXPECT_STATUS(adarts_genotype_from_json(bad, &untouched), ADARTS_PARSE_ERROR);
    EXPECT_ERROR_MENTIONS("sep_conv_9x9");
    EXPECT(untouched == (adarts_genotype*)0x1);
    free(bad);
    adarts_string_free(valid);
  }
  EXPECT_STATUS(adarts_genotype_to_json(NULL, &json), ADARTS_INVALID_ARGUMENT);
  EXPECT_STATUS(adarts_genotype_to_json(g, NULL), ADARTS_INVALID_ARGUMENT);
  EXPECT_STATUS(adarts_genotype_to_json(g, &json), ADARTS_OK);
  EXPECT_STATUS(adarts_genotype_from_json(json, &back), ADARTS_OK);
  EXPECT_STATUS(adarts_genotype_to_json(back, &json2), ADARTS_OK);
  EXPECT(strcmp(json, json2) == 0);
  EXPECT_STATUS(adarts_genotype_to_darts_text(NULL, &text), ADARTS_INVALID_ARGUMENT);
  EXPECT_STATUS(adarts_genotype_to_darts_text(back, NULL), ADARTS_INVALID_ARGUMENT);
  EXPECT_STATUS(adarts_genotype_to_darts_text(back, &text), ADARTS_OK);
  EXPECT(strcmp(text, kDartsV2) == 0);
  adarts_string_free(text);
  EXPECT_STATUS(adarts_genotype_to_dot(g, NULL, &text), ADARTS_INVALID_ARGUMENT);
  EXPECT_STATUS(adarts_genotype_to_dot(NULL, "normal", &text), ADARTS_INVALID_ARGUMENT);
  EXPECT_STATUS(adarts_genotype_to_dot(g, "normal", NULL), ADARTS_INVALID_ARGUMENT);
  EXPECT_STATUS(adarts_genotype_to_dot(g, "sideways", &text), ADARTS_INVALID_ARGUMENT);
  EXPECT_STATUS(adarts_genotype_to_dot(g, "normal", &text), ADARTS_OK);
  EXPECT(strstr(text, "dil_conv_3x3") != NULL && strstr(text, "digraph") != NULL);
  adarts_string_free(text);
  EXPECT_STATUS(adarts_genotype_parameter_count(NULL, NULL, &params), ADARTS_INVALID_ARGUMENT);
  EXPECT_STATUS(adarts_genotype_parameter_count(g, NULL, NULL), ADARTS_INVALID_ARGUMENT);
  EXPECT_STATUS(adarts_genotype_parameter_count(g, "{\"width\":3}", &params), ADARTS_PARSE_ERROR);
  EXPECT(params == -1);
  EXPECT_STATUS(adarts_genotype_parameter_count(g, "{\"channels\":8,\"layers\":5}", &params), ADARTS_OK);
  EXPECT(params > 10000);
  adarts_string_free(json);
  adarts_string_free(json2);
  adarts_genotype_free(back);
  adarts_genotype_free(g);
  adarts_genotype_free(NULL);
}

static void test_trainer(void) {
  adarts_genotype* g = NULL;
  adarts_dataset* d = NULL;
  adarts_trainer* t = NULL;
  adarts_trainer* loaded = NULL;
  adarts_trainer* untouched = (adarts_trainer*)0x1;
  char* a = NULL;
  char* b = NULL;
  int calls = 0;
  const char* config =
      "{\"channels\":4,\"layers\":3,\"batch_size\":8,\"epochs\":1,\"cutout\":0,\"auxiliary\":false,"
      "\"threads\":1,\"out_dir\":\"capi_c_test_train\"}";

  EXPECT_STATUS(adarts_genotype_from_darts_text(kDartsV2, &g), ADARTS_OK);
  EXPECT_STATUS(adarts_dataset_open(kSynthetic, &d), ADARTS_OK);
  EXPECT_STATUS(adarts_trainer_create(NULL, config, d, &t), ADARTS_INVALID_ARGUMENT);
  EXPECT_STATUS(adarts_trainer_create(g, NULL, d, &t), ADARTS_INVALID_ARGUMENT);
  EXPECT_STATUS(adarts_trainer_create(g, config, d, NULL), ADARTS_INVALID_ARGUMENT);
  EXPECT_STATUS(adarts_trainer_create(g, "{\"lr\":\"fast\"}", d, &untouched), ADARTS_PARSE_ERROR);
  EXPECT_ERROR_MENTIONS("lr");
  EXPECT(untouched == (adarts_trainer*)0x1);
  EXPECT_STATUS(adarts_trainer_create(g, config, d, &t), ADARTS_OK);
  EXPECT_STATUS(adarts_trainer_run_epoch(NULL, NULL, NULL), ADARTS_INVALID_ARGUMENT);
  EXPECT_STATUS(adarts_trainer_cancel(NULL), ADARTS_INVALID_ARGUMENT);
  EXPECT_STATUS(adarts_trainer_run_epoch(t, stop_after_two, &calls), ADARTS_CANCELLED);
  EXPECT(calls == 2);
  EXPECT_STATUS(adarts_trainer_run_epoch(t, NULL, NULL), ADARTS_OK);
  EXPECT_STATUS(adarts_trainer_evaluate(NULL, d, &a), ADARTS_INVALID_ARGUMENT);
  EXPECT_STATUS(adarts_trainer_evaluate(t, d, NULL), ADARTS_INVALID_ARGUMENT);
  EXPECT_STATUS(adarts_trainer_evaluate(t, d, &a), ADARTS_OK);
  EXPECT(strstr(a, "\"top1\"") != NULL && strstr(a, "\"samples\":64") != NULL);
  EXPECT_STATUS(adarts_trainer_save(NULL, "x"), ADARTS_INVALID_ARGUMENT);
  EXPECT_STATUS(adarts_trainer_save(t, NULL), ADARTS_INVALID_ARGUMENT);
  EXPECT_STATUS(adarts_trainer_save(t, "capi_c_test_model.pt"), ADARTS_OK);
  EXPECT_STATUS(adarts_trainer_export_pytorch(NULL, "x"), ADARTS_INVALID_ARGUMENT);
  EXPECT_STATUS(adarts_trainer_export_pytorch(t, NULL), ADARTS_INVALID_ARGUMENT);
  EXPECT_STATUS(adarts_trainer_export_pytorch(t, "capi_c_no_such_dir/darts.pt"), ADARTS_IO_ERROR);
  EXPECT_STATUS(adarts_trainer_export_pytorch(t, "capi_c_test_darts.pt"), ADARTS_OK);
  EXPECT(starts_with_zip_magic("capi_c_test_darts.pt")); /* torch.save's zip format */
  EXPECT_STATUS(adarts_trainer_load(NULL, NULL, &loaded), ADARTS_INVALID_ARGUMENT);
  EXPECT_STATUS(adarts_trainer_load("capi_c_test_model.pt", NULL, NULL), ADARTS_INVALID_ARGUMENT);
  EXPECT_STATUS(adarts_trainer_load("/no/such/model.pt", NULL, &untouched), ADARTS_IO_ERROR);
  EXPECT(untouched == (adarts_trainer*)0x1);
  EXPECT_STATUS(adarts_trainer_load("capi_c_test_model.pt", NULL, &loaded), ADARTS_OK);
  EXPECT_STATUS(adarts_trainer_evaluate(loaded, d, &b), ADARTS_OK);
  EXPECT(a != NULL && b != NULL && strcmp(a, b) == 0); /* the same accuracy and loss after a reload */
  adarts_string_free(a);
  adarts_string_free(b);
  EXPECT_STATUS(adarts_trainer_genotype(NULL, &g), ADARTS_INVALID_ARGUMENT);
  EXPECT_STATUS(adarts_trainer_genotype(loaded, NULL), ADARTS_INVALID_ARGUMENT);
  adarts_trainer_free(loaded);
  adarts_trainer_free(t);
  adarts_trainer_free(NULL);
  adarts_dataset_free(d);
  adarts_genotype_free(g);
}

/* Checkpoint, free the handle, resume: the continuation equals an uninterrupted run bit for bit. */
static void test_checkpoint_and_resume(void) {
  static const char* config =
      "{\"channels\":4,\"layers\":2,\"batch_size\":8,\"epochs\":2,\"threads\":1,\"out_dir\":\"capi_c_test_resume\"}";
  static const char* reference_config =
      "{\"channels\":4,\"layers\":2,\"batch_size\":8,\"epochs\":2,\"threads\":1,\"out_dir\":\"capi_c_test_resume_ref\"}";
  adarts_dataset* d = NULL;
  adarts_search* reference = NULL;
  adarts_search* first = NULL;
  adarts_search* resumed = NULL;
  adarts_search* untouched = (adarts_search*)0x1;
  char* path = NULL;
  float a[128], b[128];
  size_t na = 0, nb = 0;
  EXPECT_STATUS(adarts_dataset_open(kSynthetic, &d), ADARTS_OK);
  EXPECT_STATUS(adarts_search_create(reference_config, d, &reference), ADARTS_OK);
  EXPECT_STATUS(adarts_search_step(reference, 5), ADARTS_OK);
  EXPECT_STATUS(adarts_search_create(config, d, &first), ADARTS_OK);
  EXPECT_STATUS(adarts_search_step(first, 3), ADARTS_OK);
  EXPECT_STATUS(adarts_search_save_checkpoint(NULL, &path), ADARTS_INVALID_ARGUMENT);
  EXPECT_STATUS(adarts_search_save_checkpoint(first, &path), ADARTS_OK);
  EXPECT(path != NULL && strstr(path, "capi_c_test_resume/checkpoints/epoch-") != NULL);
  adarts_string_free(path);
  adarts_search_free(first);

  EXPECT_STATUS(adarts_search_resume(NULL, NULL, d, &resumed), ADARTS_INVALID_ARGUMENT);
  EXPECT_STATUS(adarts_search_resume("capi_c_test_resume", NULL, d, NULL), ADARTS_INVALID_ARGUMENT);
  EXPECT_STATUS(adarts_search_resume("capi_c_no_such_run", NULL, d, &untouched), ADARTS_IO_ERROR);
  EXPECT_ERROR_MENTIONS("no checkpoint");
  EXPECT_STATUS(adarts_search_resume("capi_c_test_resume", "{\"eta\":0.9}", d, &untouched), ADARTS_INVALID_ARGUMENT);
  EXPECT_ERROR_MENTIONS("eta");
  EXPECT(untouched == (adarts_search*)0x1);
  EXPECT_STATUS(adarts_search_resume("capi_c_test_resume", "{\"log_every\":3}", d, &resumed), ADARTS_OK);
  EXPECT_STATUS(adarts_search_step(resumed, 2), ADARTS_OK);
  EXPECT_STATUS(adarts_search_alphas(reference, "normal", a, 128, &na), ADARTS_OK);
  EXPECT_STATUS(adarts_search_alphas(resumed, "normal", b, 128, &nb), ADARTS_OK);
  EXPECT(na == nb && na > 0 && memcmp(a, b, na * sizeof(float)) == 0);
  adarts_search_free(resumed);
  adarts_search_free(reference);
  adarts_dataset_free(d);
}

/* A training run stopped mid-epoch, checkpointed, freed and resumed ends as an uninterrupted one. */
static void test_trainer_checkpoint_and_resume(void) {
  static const char* config =
      "{\"channels\":4,\"layers\":3,\"batch_size\":8,\"epochs\":2,\"cutout\":4,\"drop_path_prob\":0.3,"
      "\"auxiliary\":true,\"threads\":1,\"out_dir\":\"capi_c_test_train_resume\"}";
  static const char* reference_config =
      "{\"channels\":4,\"layers\":3,\"batch_size\":8,\"epochs\":2,\"cutout\":4,\"drop_path_prob\":0.3,"
      "\"auxiliary\":true,\"threads\":1,\"out_dir\":\"capi_c_test_train_reference\"}";
  adarts_genotype* g = NULL;
  adarts_dataset* d = NULL;
  adarts_trainer* reference = NULL;
  adarts_trainer* first = NULL;
  adarts_trainer* resumed = NULL;
  adarts_trainer* untouched = (adarts_trainer*)0x1;
  char* a = NULL;
  char* b = NULL;
  char* path = NULL;
  int calls = 0;

  EXPECT_STATUS(adarts_genotype_from_darts_text(kDartsV2, &g), ADARTS_OK);
  EXPECT_STATUS(adarts_dataset_open(kSynthetic, &d), ADARTS_OK);
  EXPECT_STATUS(adarts_trainer_create(g, reference_config, d, &reference), ADARTS_OK);
  EXPECT_STATUS(adarts_trainer_run_epoch(reference, NULL, NULL), ADARTS_OK);
  EXPECT_STATUS(adarts_trainer_run_epoch(reference, NULL, NULL), ADARTS_OK);
  EXPECT_STATUS(adarts_trainer_evaluate(reference, d, &a), ADARTS_OK);

  EXPECT_STATUS(adarts_trainer_create(g, config, d, &first), ADARTS_OK);
  EXPECT_STATUS(adarts_trainer_run_epoch(first, stop_after_two, &calls), ADARTS_CANCELLED);
  EXPECT_STATUS(adarts_trainer_save_checkpoint(NULL, &path), ADARTS_INVALID_ARGUMENT);
  EXPECT_STATUS(adarts_trainer_save_checkpoint(first, &path), ADARTS_OK);
  EXPECT(path != NULL && strstr(path, "capi_c_test_train_resume/checkpoints/epoch-000000-step-000002") != NULL);
  adarts_string_free(path);
  adarts_trainer_free(first);

  EXPECT_STATUS(adarts_trainer_resume(NULL, NULL, d, &resumed), ADARTS_INVALID_ARGUMENT);
  EXPECT_STATUS(adarts_trainer_resume("capi_c_test_train_resume", NULL, d, NULL), ADARTS_INVALID_ARGUMENT);
  EXPECT_STATUS(adarts_trainer_resume("capi_c_no_such_training", NULL, d, &untouched), ADARTS_IO_ERROR);
  EXPECT_STATUS(adarts_trainer_resume("capi_c_test_train_resume", "{\"lr\":0.5}", d, &untouched),
                ADARTS_INVALID_ARGUMENT);
  EXPECT_ERROR_MENTIONS("lr");
  EXPECT(untouched == (adarts_trainer*)0x1);
  EXPECT_STATUS(adarts_trainer_resume("capi_c_test_train_resume", "{\"log_every\":3}", d, &resumed), ADARTS_OK);
  EXPECT_STATUS(adarts_trainer_run_epoch(resumed, NULL, NULL), ADARTS_OK); /* the rest of epoch 1 */
  EXPECT_STATUS(adarts_trainer_run_epoch(resumed, NULL, NULL), ADARTS_OK);
  EXPECT_STATUS(adarts_trainer_evaluate(resumed, d, &b), ADARTS_OK);
  EXPECT(a != NULL && b != NULL && strcmp(a, b) == 0); /* bit-identical weights give the same figures */
  adarts_string_free(a);
  adarts_string_free(b);
  adarts_trainer_free(resumed);
  adarts_trainer_free(reference);
  adarts_dataset_free(d);
  adarts_genotype_free(g);
}

/* ---- Datasets from memory ---- */

static void test_memory_dataset_validation(void) {
  float pixels[2 * 1 * 2 * 2] = {0.f, 0.25f, 0.5f, 1.f, 0.1f, 0.2f, 0.3f, 0.4f};
  unsigned char bytes[8] = {0, 1, 2, 3, 4, 5, 6, 255};
  int64_t labels[2] = {0, 1};
  int64_t bad_labels[2] = {0, 3};
  adarts_dataset* d = NULL;
  adarts_dataset* untouched = (adarts_dataset*)0x1;
  char* info = NULL;
  EXPECT_STATUS(adarts_dataset_from_memory(NULL, ADARTS_PIXELS_FLOAT32, 1.0, 2, 1, 2, 2, labels, 2, &d),
                ADARTS_INVALID_ARGUMENT);
  EXPECT_STATUS(adarts_dataset_from_memory(pixels, ADARTS_PIXELS_FLOAT32, 1.0, 2, 1, 2, 2, NULL, 2, &d),
                ADARTS_INVALID_ARGUMENT);
  EXPECT_STATUS(adarts_dataset_from_memory(pixels, ADARTS_PIXELS_FLOAT32, 1.0, 2, 1, 2, 2, labels, 2, NULL),
                ADARTS_INVALID_ARGUMENT);
  EXPECT_STATUS(adarts_dataset_from_memory(pixels, (adarts_pixel_type)7, 1.0, 2, 1, 2, 2, labels, 2, &untouched),
                ADARTS_INVALID_ARGUMENT);
  EXPECT_ERROR_MENTIONS("pixel_type 7");
  EXPECT_STATUS(adarts_dataset_from_memory(pixels, ADARTS_PIXELS_FLOAT32, 1.0, 0, 1, 2, 2, labels, 2, &untouched),
                ADARTS_INVALID_ARGUMENT);
  EXPECT_ERROR_MENTIONS(">= 1");
  EXPECT_STATUS(adarts_dataset_from_memory(pixels, ADARTS_PIXELS_FLOAT32, 1.0, 2, 1, -2, 2, labels, 2, &untouched),
                ADARTS_INVALID_ARGUMENT);
  /* Sizes whose product overflows are refused before anything is read. */
  EXPECT_STATUS(adarts_dataset_from_memory(pixels, ADARTS_PIXELS_FLOAT32, 1.0, 2, (int64_t)1 << 40, (int64_t)1 << 20,
                                           2, labels, 2, &untouched),
                ADARTS_INVALID_ARGUMENT);
  EXPECT_ERROR_MENTIONS("too large");
  EXPECT_STATUS(adarts_dataset_from_memory(pixels, ADARTS_PIXELS_FLOAT32, 0.5, 2, 1, 2, 2, labels, 2, &untouched),
                ADARTS_INVALID_ARGUMENT);
  EXPECT_ERROR_MENTIONS("scale must be 1");
  EXPECT_STATUS(adarts_dataset_from_memory(bytes, ADARTS_PIXELS_UINT8, 0.0, 2, 1, 2, 2, labels, 2, &untouched),
                ADARTS_INVALID_ARGUMENT);
  EXPECT_STATUS(adarts_dataset_from_memory(bytes, ADARTS_PIXELS_UINT8, NAN, 2, 1, 2, 2, labels, 2, &untouched),
                ADARTS_INVALID_ARGUMENT);
  EXPECT_STATUS(adarts_dataset_from_memory(pixels, ADARTS_PIXELS_FLOAT32, 1.0, 2, 1, 2, 2, labels, 0, &untouched),
                ADARTS_INVALID_ARGUMENT);
  EXPECT_STATUS(adarts_dataset_from_memory(pixels, ADARTS_PIXELS_FLOAT32, 1.0, 2, 1, 2, 2, bad_labels, 3, &untouched),
                ADARTS_INVALID_ARGUMENT);
  EXPECT_ERROR_MENTIONS("label 3 of image 1");
  pixels[6] = NAN;
  EXPECT_STATUS(adarts_dataset_from_memory(pixels, ADARTS_PIXELS_FLOAT32, 1.0, 2, 1, 2, 2, labels, 2, &untouched),
                ADARTS_INVALID_ARGUMENT);
  EXPECT_ERROR_MENTIONS("pixel 2 of image 1");
  pixels[6] = INFINITY;
  EXPECT_STATUS(adarts_dataset_from_memory(pixels, ADARTS_PIXELS_FLOAT32, 1.0, 2, 1, 2, 2, labels, 2, &untouched),
                ADARTS_INVALID_ARGUMENT);
  EXPECT(untouched == (adarts_dataset*)0x1);
  pixels[6] = 0.3f;
  EXPECT_STATUS(adarts_dataset_from_memory(pixels, ADARTS_PIXELS_FLOAT32, 1.0, 2, 1, 2, 2, labels, 2, &d), ADARTS_OK);
  pixels[0] = 99.f; /* copied: the caller's buffer is the caller's again */
  EXPECT_STATUS(adarts_dataset_info(d, &info), ADARTS_OK);
  EXPECT(strstr(info, "\"name\":\"memory\"") != NULL && strstr(info, "\"size\":2") != NULL &&
         strstr(info, "\"height\":2") != NULL && strstr(info, "\"classes\":2") != NULL);
  adarts_string_free(info);
  adarts_dataset_free(d);
  d = NULL;
  EXPECT_STATUS(adarts_dataset_from_memory(bytes, ADARTS_PIXELS_UINT8, 1.0 / 255.0, 2, 1, 2, 2, labels, 2, &d),
                ADARTS_OK);
  adarts_dataset_free(d);
  d = NULL;
  EXPECT_STATUS(adarts_dataset_from_memory(bytes, ADARTS_PIXELS_UINT8, 1.0 / 100.0, 2, 1, 2, 2, labels, 2, &d),
                ADARTS_OK);
  adarts_dataset_free(d);
}

/* The first `n` images of an IDX pair (gzip, as Debian ships Fashion-MNIST), as bytes and labels. */
static int read_idx_head(const char* dir, int n, unsigned char* images, int64_t* labels) {
  char path[512];
  unsigned char header[16], label_bytes[1024];
  gzFile f;
  int i, ok;
  snprintf(path, sizeof path, "%s/train-images-idx3-ubyte.gz", dir);
  if ((f = gzopen(path, "rb")) == NULL) return 0;
  ok = gzread(f, header, 16) == 16 && header[3] == 3 && gzread(f, images, (unsigned)(n * 28 * 28)) == n * 28 * 28;
  gzclose(f);
  snprintf(path, sizeof path, "%s/train-labels-idx1-ubyte.gz", dir);
  if (!ok || n > 1024 || (f = gzopen(path, "rb")) == NULL) return 0;
  ok = gzread(f, header, 8) == 8 && header[3] == 1 && gzread(f, label_bytes, (unsigned)n) == n;
  gzclose(f);
  for (i = 0; ok && i < n; ++i) labels[i] = label_bytes[i];
  return ok;
}

/* Steps a search on `d` and writes its normal and reduce alphas into `alphas` (2 x 14 x 8). */
static void search_alphas(const adarts_dataset* d, const char* out_dir, float* alphas) {
  char config[256];
  adarts_search* s = NULL;
  size_t n = 0;
  snprintf(config, sizeof config,
           "{\"channels\":4,\"layers\":2,\"batch_size\":8,\"epochs\":1,\"threads\":1,\"out_dir\":\"%s\"}", out_dir);
  EXPECT_STATUS(adarts_search_create(config, d, &s), ADARTS_OK);
  if (s == NULL) return;
  EXPECT_STATUS(adarts_search_step(s, 3), ADARTS_OK);
  EXPECT_STATUS(adarts_search_alphas(s, "normal", alphas, 14 * 8, &n), ADARTS_OK);
  EXPECT_STATUS(adarts_search_alphas(s, "reduce", alphas + 14 * 8, 14 * 8, &n), ADARTS_OK);
  adarts_search_free(s);
}

/* A search on an in-memory copy of IDX images (as bytes, and as float32
 * byte / 255) ends with the alphas of the same search on the files, bit for bit. */
static void test_memory_search_matches_files(void) {
  enum { kImages = 64, kPixels = kImages * 28 * 28 };
  static const char* dir = "/usr/share/datasets/fashion-mnist";
  static unsigned char bytes[kPixels];
  static float floats[kPixels];
  int64_t labels[kImages];
  float from_files[2 * 14 * 8], from_bytes[2 * 14 * 8], from_floats[2 * 14 * 8];
  char spec[256];
  adarts_dataset* files = NULL;
  adarts_dataset* in_bytes = NULL;
  adarts_dataset* in_floats = NULL;
  int i;
  if (!read_idx_head(dir, kImages, bytes, labels)) {
    fprintf(stderr, "cannot read Fashion-MNIST from %s (Debian: dataset-fashion-mnist)\n", dir);
    EXPECT(0);
    return;
  }
  for (i = 0; i < kPixels; ++i) floats[i] = (float)bytes[i] / 255.0f;
  snprintf(spec, sizeof spec, "{\"kind\":\"idx\",\"dir\":\"%s\",\"subset\":%d}", dir, kImages);
  EXPECT_STATUS(adarts_dataset_open(spec, &files), ADARTS_OK);
  EXPECT_STATUS(adarts_dataset_from_memory(bytes, ADARTS_PIXELS_UINT8, 1.0 / 255.0, kImages, 1, 28, 28, labels, 10,
                                           &in_bytes),
                ADARTS_OK);
  EXPECT_STATUS(adarts_dataset_from_memory(floats, ADARTS_PIXELS_FLOAT32, 1.0, kImages, 1, 28, 28, labels, 10,
                                           &in_floats),
                ADARTS_OK);
  search_alphas(files, "capi_c_test_memory_files", from_files);
  search_alphas(in_bytes, "capi_c_test_memory_bytes", from_bytes);
  search_alphas(in_floats, "capi_c_test_memory_floats", from_floats);
  EXPECT(memcmp(from_files, from_bytes, sizeof from_files) == 0);
  EXPECT(memcmp(from_files, from_floats, sizeof from_files) == 0);
  adarts_dataset_free(files);
  adarts_dataset_free(in_bytes);
  adarts_dataset_free(in_floats);
}

/* ---- Metrics events ---- */

typedef struct {
  int calls;
  char last[8192];
} metrics_record;

static void record_metrics(void* user, const char* metrics_json) {
  metrics_record* r = (metrics_record*)user;
  ++r->calls;
  snprintf(r->last, sizeof r->last, "%s", metrics_json);
}

static void test_metrics_listener(void) {
  static const char* search_config =
      "{\"channels\":4,\"layers\":2,\"batch_size\":8,\"epochs\":3,\"threads\":1,\"out_dir\":\"capi_c_test_events\"}";
  static const char* train_config =
      "{\"channels\":4,\"layers\":3,\"batch_size\":16,\"epochs\":2,\"cutout\":0,\"auxiliary\":false,"
      "\"threads\":1,\"out_dir\":\"capi_c_test_train_events\"}";
  metrics_record record = {0, ""};
  adarts_dataset* d = NULL;
  adarts_search* s = NULL;
  adarts_genotype* g = NULL;
  adarts_trainer* t = NULL;
  char* metrics = NULL;
  EXPECT_STATUS(adarts_dataset_open(kSynthetic, &d), ADARTS_OK);
  EXPECT_STATUS(adarts_search_create(search_config, d, &s), ADARTS_OK);
  EXPECT_STATUS(adarts_search_set_metrics_listener(NULL, record_metrics, &record), ADARTS_INVALID_ARGUMENT);
  EXPECT_STATUS(adarts_search_set_metrics_listener(s, record_metrics, &record), ADARTS_OK);
  EXPECT_STATUS(adarts_search_step(s, 3), ADARTS_OK); /* 4 steps an epoch: no epoch ended yet */
  EXPECT(record.calls == 0);
  EXPECT_STATUS(adarts_search_step(s, 1), ADARTS_OK);
  EXPECT(record.calls == 1);
  EXPECT_STATUS(adarts_search_metrics(s, &metrics), ADARTS_OK);
  EXPECT(strcmp(record.last, metrics) == 0 && strstr(record.last, "\"epoch\":1") != NULL);
  adarts_string_free(metrics);
  EXPECT_STATUS(adarts_search_run_epoch(s, NULL, NULL), ADARTS_OK);
  EXPECT(record.calls == 2 && strstr(record.last, "\"epoch\":2") != NULL);
  EXPECT_STATUS(adarts_search_set_metrics_listener(s, NULL, NULL), ADARTS_OK); /* removed */
  EXPECT_STATUS(adarts_search_run_epoch(s, NULL, NULL), ADARTS_OK);
  EXPECT(record.calls == 2);
  adarts_search_free(s);

  record.calls = 0;
  EXPECT_STATUS(adarts_genotype_from_darts_text(kDartsV2, &g), ADARTS_OK);
  EXPECT_STATUS(adarts_trainer_create(g, train_config, d, &t), ADARTS_OK);
  EXPECT_STATUS(adarts_trainer_set_metrics_listener(NULL, record_metrics, &record), ADARTS_INVALID_ARGUMENT);
  EXPECT_STATUS(adarts_trainer_set_metrics_listener(t, record_metrics, &record), ADARTS_OK);
  EXPECT_STATUS(adarts_trainer_run_epoch(t, NULL, NULL), ADARTS_OK);
  EXPECT(record.calls == 1 && strstr(record.last, "\"epoch\":1") != NULL && strstr(record.last, "\"train_loss\"") != NULL);
  adarts_trainer_free(t);
  adarts_genotype_free(g);
  adarts_dataset_free(d);
}

int main(void) {
  test_library();
  test_datasets();
  test_search();
  test_checkpoint_and_resume();
  test_per_cell_alphas();
  test_genotypes();
  test_trainer();
  test_trainer_checkpoint_and_resume();
  test_memory_dataset_validation();
  test_memory_search_matches_files();
  test_metrics_listener();
  printf("%d checks, %d failures\n", checks, failures);
  return failures == 0 ? 0 : 1;
}
