/* A trainer driven through the C ABI alone: trainer_files GENOTYPE_JSON CONFIG_JSON EPOCHS.
   The trainer reads its data from the config and writes its files in the
   config's out_dir (trainer_files_match_cli.sh compares them with `adarts train`'s). */
#include <stdio.h>
#include <stdlib.h>

#include "adarts/adarts.h"

static char* read_file(const char* path) {
  FILE* f = fopen(path, "rb");
  char* text = NULL;
  long size = 0;
  if (f == NULL) return NULL;
  if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
    text = (char*)malloc((size_t)size + 1);
    if (text != NULL && fread(text, 1, (size_t)size, f) == (size_t)size) {
      text[size] = '\0';
    } else {
      free(text);
      text = NULL;
    }
  }
  fclose(f);
  return text;
}

static int check(adarts_status status, const char* what) {
  if (status == ADARTS_OK) return 1;
  fprintf(stderr, "%s failed: %s\n", what, adarts_last_error());
  return 0;
}

int main(int argc, char** argv) {
  char* genotype_json = NULL;
  char* config_json = NULL;
  adarts_genotype* genotype = NULL;
  adarts_trainer* trainer = NULL;
  int ok = 0, epoch = 0, epochs = 0;
  if (argc != 4) {
    fprintf(stderr, "usage: %s GENOTYPE_JSON CONFIG_JSON EPOCHS\n", argv[0]);
    return 2;
  }
  genotype_json = read_file(argv[1]);
  config_json = read_file(argv[2]);
  epochs = atoi(argv[3]);
  if (genotype_json == NULL || config_json == NULL) {
    fprintf(stderr, "cannot read %s or %s\n", argv[1], argv[2]);
  } else if (check(adarts_genotype_from_json(genotype_json, &genotype), "adarts_genotype_from_json") &&
             check(adarts_trainer_create(genotype, config_json, NULL, &trainer), "adarts_trainer_create")) {
    ok = 1;
    for (epoch = 0; ok && epoch < epochs; ++epoch) ok = check(adarts_trainer_run_epoch(trainer, NULL, NULL), "adarts_trainer_run_epoch");
  }
  adarts_trainer_free(trainer);
  adarts_genotype_free(genotype);
  free(genotype_json);
  free(config_json);
  return ok ? 0 : 1;
}
