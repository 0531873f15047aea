/*
 * adarts C API: differentiable architecture search with the amended gradient.
 *
 * A stable C ABI over the C++ core, for C programs, other languages and AutoML
 * platforms. Pure C99; also compiles as C++.
 *
 * Rules that hold for every function below:
 *  - Errors: every fallible call returns an adarts_status; ADARTS_OK is 0.
 *    On failure adarts_last_error() returns a message for the calling thread,
 *    and out-parameters are left untouched. NULL handles and NULL out-pointers
 *    are ADARTS_INVALID_ARGUMENT, never a crash. No C++ exception crosses this
 *    boundary.
 *  - Strings returned through `char** out` are allocated by the library, owned
 *    by the caller, and released with adarts_string_free(). Strings passed in
 *    are UTF-8, NUL-terminated, and only read during the call.
 *  - Handles: adarts_X_create/open(..., adarts_X** out) creates, adarts_X_free()
 *    releases (NULL is accepted). A handle may be used from any thread, but not
 *    from two threads at once, except adarts_search_cancel() and
 *    adarts_trainer_cancel(), which are safe to call from any thread at any
 *    time. Different handles may be used concurrently. The CPU thread count is
 *    per process (the last created search or trainer sets it).
 *  - Callbacks are called only on the thread that called the API function, and
 *    must not call back into the same handle. A non-zero return asks to stop.
 *  - Configs and results are JSON documents (UTF-8). Config keys are those of
 *    the `adarts` command's config files; unknown keys are errors.
 *  - Evolution is append-only: new functions and enum values are added, none
 *    removed or changed within one ADARTS_VERSION_MAJOR.
 *
 * Each function's comment: what it does and what its parameters mean, then
 * "Out:" what the caller receives (and how it is released), then "Errors:"
 * the statuses it returns beyond those of the rules above (every function
 * returning adarts_status may return ADARTS_INVALID_ARGUMENT for NULL
 * required pointers, ADARTS_OUT_OF_MEMORY and ADARTS_INTERNAL). Ignoring a
 * returned adarts_status is a compiler warning (ADARTS_MUST_USE_RESULT).
 *
 * Versions:
 *  0.1  first ABI.
 *  0.2  adarts_search_save_checkpoint, adarts_search_resume,
 *       adarts_trainer_save_checkpoint, adarts_trainer_resume,
 *       adarts_search_cell_count, adarts_search_cell_alphas (per-cell spaces),
 *       ADARTS_NUMERICAL_ERROR; search configs take cutout, drop_path_prob,
 *       auxiliary, auxiliary_weight, and layers 0 (the space's default).
 *       Added within 0.2: search and trainer configs take precision
 *       ("fp32" | "bf16"); a checkpoint written on one device resumes on
 *       another (the "device" override of the resume functions).
 *       Added within 0.2: data-parallel runs (world_size, rank, rendezvous,
 *       dist_backend, dist_timeout config keys; docs/distributed.md) and
 *       ADARTS_COMMUNICATION_ERROR.
 *  0.3  adarts_dataset_from_memory (adarts_pixel_type), metrics events
 *       (adarts_metrics_fn, adarts_search_set_metrics_listener,
 *       adarts_trainer_set_metrics_listener), adarts_trainer_export_pytorch.
 *       Additions only: a program built against 0.1 or 0.2 runs unchanged.
 */
#ifndef ADARTS_ADARTS_H
#define ADARTS_ADARTS_H

#include <stddef.h>
#include <stdint.h>

/* ADARTS_VERSION_MAJOR, _MINOR, _PATCH: generated from the build's project version. */
#include <adarts/adarts_version.h>

/* ADARTS_API: exported from the library (ADARTS_BUILDING_LIBRARY is defined
 * only while building it), imported by its users. */
#if defined(SWIG)
#define ADARTS_API
#elif defined(_WIN32)
#if defined(ADARTS_BUILDING_LIBRARY)
#define ADARTS_API __declspec(dllexport)
#else
#define ADARTS_API __declspec(dllimport)
#endif
#else
#define ADARTS_API __attribute__((visibility("default")))
#endif

/* ADARTS_MUST_USE_RESULT: a returned adarts_status that the caller ignores is
 * a compiler warning. (GCC warns even after a cast to void: use the value.) */
#if defined(SWIG)
#define ADARTS_MUST_USE_RESULT
#elif defined(__GNUC__) || defined(__clang__)
#define ADARTS_MUST_USE_RESULT __attribute__((warn_unused_result))
#elif defined(_MSC_VER)
#include <sal.h>
#define ADARTS_MUST_USE_RESULT _Check_return_
#else
#define ADARTS_MUST_USE_RESULT
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef enum adarts_status {
  ADARTS_OK = 0,
  ADARTS_INVALID_ARGUMENT = 1, /* NULL pointer, value out of range, unknown name */
  ADARTS_PARSE_ERROR = 2,      /* malformed JSON, genotype text or data file */
  ADARTS_IO_ERROR = 3,         /* a file could not be read or written */
  ADARTS_UNSUPPORTED = 4,      /* e.g. a CUDA device on a CPU-only build */
  ADARTS_CANCELLED = 5,        /* stopped by adarts_*_cancel() or a callback */
  ADARTS_OUT_OF_MEMORY = 6,
  ADARTS_INTERNAL = 7,         /* a bug: please report with the message */
  ADARTS_NUMERICAL_ERROR = 8,  /* a non-finite loss or gradient stopped the run (nan_policy "stop") */
  ADARTS_COMMUNICATION_ERROR = 9 /* a data-parallel run lost a rank, timed out, or its ranks disagree */
} adarts_status;

typedef struct adarts_dataset adarts_dataset;
typedef struct adarts_search adarts_search;
typedef struct adarts_genotype adarts_genotype;
typedef struct adarts_trainer adarts_trainer;

/* Progress of run_epoch calls, after every step. `epoch` is 0-based, `step`
 * 1-based within the epoch; `loss` and `accuracy` are the epoch's running
 * means. Return 0 to go on, non-zero to stop after this step. */
typedef int (*adarts_progress_fn)(void* user, int64_t epoch, int64_t step, int64_t steps_per_epoch,
                                  double loss, double accuracy);

/* Each ended epoch's metrics line: the JSON object that goes to the run's
 * metrics.jsonl (one line, no newline), called once the epoch's files and
 * checkpoint are written. `metrics_json` is valid only during the call. */
typedef void (*adarts_metrics_fn)(void* user, const char* metrics_json);

/* The pixel type of images handed over in memory. */
typedef enum adarts_pixel_type {
  ADARTS_PIXELS_FLOAT32 = 0, /* float, the pixel values themselves */
  ADARTS_PIXELS_UINT8 = 1    /* uint8_t, pixel = value * scale (1/255 for 8-bit images) */
} adarts_pixel_type;

/* ---- Library ---------------------------------------------------------- */

/* The version of the loaded library (compare with ADARTS_VERSION_* of the
 * header you compiled against). Any pointer may be NULL.
 * Errors: never fails. */
ADARTS_API void adarts_version(int* major, int* minor, int* patch);
/* The version of the loaded library as "MAJOR.MINOR.PATCH".
 * Out: static storage; do not free. */
ADARTS_API const char* adarts_version_string(void);
/* How the library was built and what it finds at run time.
 * Out: *out_json = {"version","abi_major","torch_version","cuda_available",
 * "cuda_devices","threads"}; free with adarts_string_free. */
ADARTS_API ADARTS_MUST_USE_RESULT adarts_status adarts_build_info(char** out_json);
/* The message of the last failing call on this thread ("" if none).
 * Out: valid until the next adarts call on this thread; do not free. */
ADARTS_API const char* adarts_last_error(void);
/* Releases a string returned by this library; NULL is accepted.
 * Errors: never fails. */
ADARTS_API void adarts_string_free(char* s);

/* ---- Datasets --------------------------------------------------------- */

/* Opens a dataset from a JSON spec:
 *   {"kind":"idx","dir":"/usr/share/datasets/fashion-mnist","train":true,"subset":0}
 *   {"kind":"cifar10","dir":"...","train":true}
 *   {"kind":"synthetic","size":256,"channels":3,"height":16,"width":16,"classes":10,"seed":1}
 * `subset` (optional, 0 = all) keeps the first N samples.
 * Out: *out, free with adarts_dataset_free.
 * Errors: ADARTS_PARSE_ERROR for a bad spec or file contents, ADARTS_IO_ERROR
 * for missing files. */
ADARTS_API ADARTS_MUST_USE_RESULT adarts_status adarts_dataset_open(const char* spec_json, adarts_dataset** out);
/* Makes a dataset of images and labels the caller holds in memory, copying
 * them (the caller's buffers may be freed after the call). `images`: `count`
 * images, row-major [count][channels][height][width], of `pixel_type`; for
 * ADARTS_PIXELS_UINT8, pixel = value * `scale` (1.0/255 for 8-bit images), for
 * ADARTS_PIXELS_FLOAT32 `scale` must be 1. `labels`: `count` int64 in
 * [0, `classes`). Pixels that are exactly bytes / 255 (8-bit images, or float
 * images computed from them as (float)byte / 255.0f) are stored as bytes: a
 * quarter of the memory, and a search on them is bit-identical to one on the
 * same images read from files. Its info's "name" is "memory".
 * Out: *out, free with adarts_dataset_free.
 * Errors: ADARTS_INVALID_ARGUMENT for a size < 1 or one too large, an unknown
 * pixel type, a bad scale, a label out of range or a non-finite pixel (the
 * message names the image and pixel). */
ADARTS_API ADARTS_MUST_USE_RESULT adarts_status adarts_dataset_from_memory(const void* images,
                                                                           adarts_pixel_type pixel_type, double scale,
                                                                           int64_t count, int64_t channels,
                                                                           int64_t height, int64_t width,
                                                                           const int64_t* labels, int64_t classes,
                                                                           adarts_dataset** out);
/* Releases a dataset; NULL is accepted.
 * Errors: never fails. */
ADARTS_API void adarts_dataset_free(adarts_dataset* dataset);
/* Describes a dataset.
 * Out: *out_json = {"name","size","channels","height","width","classes"};
 * free with adarts_string_free. */
ADARTS_API ADARTS_MUST_USE_RESULT adarts_status adarts_dataset_info(const adarts_dataset* dataset, char** out_json);

/* ---- Searches --------------------------------------------------------- */

/* Creates a search from a JSON config (the `adarts search` config schema; keys
 * not given take the paper's defaults). With `dataset` non-NULL the search runs
 * on it (the config's dataset keys are then ignored); with NULL the config's
 * dataset is loaded. The dataset is copied: it may be freed afterwards.
 * Out: *out, free with adarts_search_free.
 * Errors: ADARTS_PARSE_ERROR, ADARTS_INVALID_ARGUMENT for a bad config;
 * ADARTS_IO_ERROR, ADARTS_UNSUPPORTED as adarts_dataset_open and for devices. */
ADARTS_API ADARTS_MUST_USE_RESULT adarts_status adarts_search_create(const char* config_json,
                                                                     const adarts_dataset* dataset,
                                                                     adarts_search** out);
/* Releases a search; NULL is accepted.
 * Errors: never fails. */
ADARTS_API void adarts_search_free(adarts_search* search);
/* Runs `steps` (>= 1) search steps (architecture then weight update each),
 * ending each epoch -- evaluation, metrics line, genotype files -- when its
 * last step is done. The host drives the loop.
 * Errors: ADARTS_NUMERICAL_ERROR, ADARTS_IO_ERROR writing the run's files. */
ADARTS_API ADARTS_MUST_USE_RESULT adarts_status adarts_search_step(adarts_search* search, int64_t steps);
/* Runs the rest of the current epoch and ends it. `progress` may be NULL;
 * `user` is passed to it.
 * Errors: ADARTS_CANCELLED when the callback or adarts_search_cancel() stopped
 * it (the epoch then stays open and the handle usable: call again to go on);
 * as adarts_search_step. */
ADARTS_API ADARTS_MUST_USE_RESULT adarts_status adarts_search_run_epoch(adarts_search* search,
                                                                        adarts_progress_fn progress, void* user);
/* Asks a running adarts_search_run_epoch to stop after its current step.
 * Safe from any thread. */
ADARTS_API ADARTS_MUST_USE_RESULT adarts_status adarts_search_cancel(adarts_search* search);
/* Calls `listener` with each epoch's metrics line from now on, on the thread
 * of the call that ends the epoch (adarts_search_step, adarts_search_run_epoch),
 * with `user`; NULL removes it. `user` must stay valid while it is set. In a
 * data-parallel run every rank's listener is called with the same line. */
ADARTS_API ADARTS_MUST_USE_RESULT adarts_status adarts_search_set_metrics_listener(adarts_search* search,
                                                                                   adarts_metrics_fn listener,
                                                                                   void* user);
/* Where the search is.
 * Out: *out_json = {"epoch","step_in_epoch","steps_per_epoch","epochs",
 * "weight_lr"}; free with adarts_string_free. */
ADARTS_API ADARTS_MUST_USE_RESULT adarts_status adarts_search_state(const adarts_search* search, char** out_json);
/* Copies the raw alphas of `cell` ("normal" or "reduce"), row-major
 * [edges][ops], into `buffer` (`capacity` floats). With `buffer` NULL only
 * the count is returned (the size query).
 * Out: *count = the number of values.
 * Errors: ADARTS_INVALID_ARGUMENT, leaving `buffer` untouched, when `capacity`
 * is too small, and for spaces with one alpha set per cell (use
 * adarts_search_cell_alphas). */
ADARTS_API ADARTS_MUST_USE_RESULT adarts_status adarts_search_alphas(const adarts_search* search, const char* cell,
                                                                     float* buffer, size_t capacity, size_t* count);
/* The number of cells with their own alpha set.
 * Out: *out = the network's cell count (`layers`) for per-cell spaces such as
 * s2, 0 for shared spaces (darts, s1). */
ADARTS_API ADARTS_MUST_USE_RESULT adarts_status adarts_search_cell_count(const adarts_search* search, int64_t* out);
/* Copies the raw alphas of cell `index` (0-based, network order) of a
 * per-cell space, row-major [edges][ops], with the size-query and capacity
 * rules of adarts_search_alphas.
 * Out: *count = the number of values.
 * Errors: ADARTS_INVALID_ARGUMENT for an index outside [0, cell count), for
 * shared spaces and for a too small `capacity`. */
ADARTS_API ADARTS_MUST_USE_RESULT adarts_status adarts_search_cell_alphas(const adarts_search* search, int64_t index,
                                                                          float* buffer, size_t capacity,
                                                                          size_t* count);
/* The metrics line of the last ended epoch (losses, accuracies, softmax of
 * every edge, genotype).
 * Out: *out_json ("{}" before the first epoch ends); free with adarts_string_free. */
ADARTS_API ADARTS_MUST_USE_RESULT adarts_status adarts_search_metrics(const adarts_search* search, char** out_json);
/* The genotype derived from the current alphas.
 * Out: *out, free with adarts_genotype_free. */
ADARTS_API ADARTS_MUST_USE_RESULT adarts_status adarts_search_genotype(const adarts_search* search,
                                                                       adarts_genotype** out);
/* Writes a checkpoint of the whole search state into <out_dir>/checkpoints
 * (atomically; the newest checkpoint_keep are kept). Runs also write one at
 * every epoch end and every checkpoint_every steps.
 * Out: *out_path = its path (`out_path` may be NULL); free with adarts_string_free.
 * Errors: ADARTS_IO_ERROR. */
ADARTS_API ADARTS_MUST_USE_RESULT adarts_status adarts_search_save_checkpoint(adarts_search* search, char** out_path);
/* Continues the run in `out_dir` from its newest checkpoint that loads.
 * `overrides_json` (may be NULL) changes config keys; only threads, log_every,
 * checkpoint_every, checkpoint_keep and device may differ from the run's.
 * `dataset` as for adarts_search_create: it must be the data the run was
 * started on. With the same threads on a CPU the continuation is bit-identical.
 * Out: *out, free with adarts_search_free.
 * Errors: ADARTS_INVALID_ARGUMENT listing keys that may not change;
 * ADARTS_IO_ERROR when no checkpoint loads. */
ADARTS_API ADARTS_MUST_USE_RESULT adarts_status adarts_search_resume(const char* out_dir, const char* overrides_json,
                                                                     const adarts_dataset* dataset,
                                                                     adarts_search** out);

/* ---- Genotypes -------------------------------------------------------- */

/* Reads the versioned genotype JSON (schemas/genotype.schema.json).
 * Out: *out, free with adarts_genotype_free.
 * Errors: ADARTS_PARSE_ERROR. */
ADARTS_API ADARTS_MUST_USE_RESULT adarts_status adarts_genotype_from_json(const char* json, adarts_genotype** out);
/* Reads the original DARTS text form: Genotype(normal=[('sep_conv_3x3', 0), ...], ...).
 * Out: *out, free with adarts_genotype_free.
 * Errors: ADARTS_PARSE_ERROR. */
ADARTS_API ADARTS_MUST_USE_RESULT adarts_status adarts_genotype_from_darts_text(const char* text,
                                                                                adarts_genotype** out);
/* Releases a genotype; NULL is accepted.
 * Errors: never fails. */
ADARTS_API void adarts_genotype_free(adarts_genotype* genotype);
/* Writes the versioned genotype JSON.
 * Out: *out_json; free with adarts_string_free. */
ADARTS_API ADARTS_MUST_USE_RESULT adarts_status adarts_genotype_to_json(const adarts_genotype* genotype,
                                                                        char** out_json);
/* Writes the DARTS text form.
 * Out: *out_text; free with adarts_string_free.
 * Errors: ADARTS_UNSUPPORTED for per-cell genotypes (s2), which it cannot hold. */
ADARTS_API ADARTS_MUST_USE_RESULT adarts_status adarts_genotype_to_darts_text(const adarts_genotype* genotype,
                                                                              char** out_text);
/* Graphviz DOT of one cell, `cell` = "normal" or "reduce"; for per-cell
 * genotypes (s2) "network" (the whole network) or "cellN".
 * Out: *out_dot; free with adarts_string_free.
 * Errors: ADARTS_INVALID_ARGUMENT for an unknown cell. */
ADARTS_API ADARTS_MUST_USE_RESULT adarts_status adarts_genotype_to_dot(const adarts_genotype* genotype,
                                                                       const char* cell, char** out_dot);
/* Counts the parameters of the network built from the genotype.
 * `network_json` (may be NULL for the DARTS CIFAR network) sets
 * {"in_channels","num_classes","channels","layers","auxiliary","imagenet"};
 * for a per-cell genotype (s2) "layers" defaults to, and must equal, its cell count.
 * Out: *out = the parameter count.
 * Errors: ADARTS_PARSE_ERROR, ADARTS_INVALID_ARGUMENT for a bad `network_json`. */
ADARTS_API ADARTS_MUST_USE_RESULT adarts_status adarts_genotype_parameter_count(const adarts_genotype* genotype,
                                                                                const char* network_json,
                                                                                int64_t* out);

/* ---- Trainers (re-training a genotype from scratch) -------------------- */

/* Builds the evaluation network of `genotype` and its trainer from a JSON
 * config (the `adarts train` config schema; keys not given take the paper's
 * defaults). With `train` non-NULL it trains on that dataset (copied), else on
 * the config's.
 * Out: *out, free with adarts_trainer_free.
 * Errors: as adarts_search_create. */
ADARTS_API ADARTS_MUST_USE_RESULT adarts_status adarts_trainer_create(const adarts_genotype* genotype,
                                                                      const char* config_json,
                                                                      const adarts_dataset* train,
                                                                      adarts_trainer** out);
/* Loads a model written by adarts_trainer_save. `device` may be NULL (the
 * saved device). The result evaluates and saves; it cannot train (no data).
 * Out: *out, free with adarts_trainer_free.
 * Errors: ADARTS_IO_ERROR, ADARTS_PARSE_ERROR, ADARTS_UNSUPPORTED for the device. */
ADARTS_API ADARTS_MUST_USE_RESULT adarts_status adarts_trainer_load(const char* path, const char* device,
                                                                    adarts_trainer** out);
/* Releases a trainer; NULL is accepted.
 * Errors: never fails. */
ADARTS_API void adarts_trainer_free(adarts_trainer* trainer);
/* Runs one training epoch; same callback and cancellation rules as
 * adarts_search_run_epoch.
 * Errors: as adarts_search_run_epoch. */
ADARTS_API ADARTS_MUST_USE_RESULT adarts_status adarts_trainer_run_epoch(adarts_trainer* trainer,
                                                                         adarts_progress_fn progress, void* user);
/* Asks a running adarts_trainer_run_epoch to stop after its current step.
 * Safe from any thread. */
ADARTS_API ADARTS_MUST_USE_RESULT adarts_status adarts_trainer_cancel(adarts_trainer* trainer);
/* Calls `listener` with each training epoch's metrics line from now on, as
 * adarts_search_set_metrics_listener (from adarts_trainer_run_epoch). */
ADARTS_API ADARTS_MUST_USE_RESULT adarts_status adarts_trainer_set_metrics_listener(adarts_trainer* trainer,
                                                                                    adarts_metrics_fn listener,
                                                                                    void* user);
/* Evaluates on `data`, or on the config's test set when NULL.
 * Out: *out_json = {"loss","top1","top5","samples"}; free with adarts_string_free. */
ADARTS_API ADARTS_MUST_USE_RESULT adarts_status adarts_trainer_evaluate(adarts_trainer* trainer,
                                                                        const adarts_dataset* data, char** out_json);
/* Writes weights, genotype and config to `path` in one file, atomically.
 * Errors: ADARTS_IO_ERROR. */
ADARTS_API ADARTS_MUST_USE_RESULT adarts_status adarts_trainer_save(const adarts_trainer* trainer, const char* path);
/* Writes the trainer's network to `path` as a PyTorch state dict with the
 * original DARTS module names (NetworkCIFAR / NetworkImageNet of DARTS's
 * cnn/model.py; docs/pytorch-export.md), in the file format torch.load reads,
 * atomically.
 * Out: the file at `path`.
 * Errors: ADARTS_IO_ERROR; ADARTS_UNSUPPORTED for a genotype without a DARTS
 * equivalent (a per-cell genotype, space s2). */
ADARTS_API ADARTS_MUST_USE_RESULT adarts_status adarts_trainer_export_pytorch(const adarts_trainer* trainer,
                                                                              const char* path);
/* The genotype the trainer's network was built from.
 * Out: *out, free with adarts_genotype_free. */
ADARTS_API ADARTS_MUST_USE_RESULT adarts_status adarts_trainer_genotype(const adarts_trainer* trainer,
                                                                        adarts_genotype** out);
/* Writes a checkpoint of the whole training state into <out_dir>/checkpoints
 * (as adarts_search_save_checkpoint); runs also write one at every epoch end
 * and every checkpoint_every steps.
 * Out: *out_path = its path (`out_path` may be NULL); free with adarts_string_free.
 * Errors: ADARTS_IO_ERROR. */
ADARTS_API ADARTS_MUST_USE_RESULT adarts_status adarts_trainer_save_checkpoint(adarts_trainer* trainer,
                                                                               char** out_path);
/* Continues the training run in `out_dir` from its newest checkpoint that
 * loads, with the run's genotype. `overrides_json` (may be NULL) may change
 * only threads, log_every, checkpoint_every, checkpoint_keep and device.
 * `train` (may be NULL: the config's) must be the data the run trained on.
 * Out: *out, free with adarts_trainer_free.
 * Errors: as adarts_search_resume. */
ADARTS_API ADARTS_MUST_USE_RESULT adarts_status adarts_trainer_resume(const char* out_dir, const char* overrides_json,
                                                                      const adarts_dataset* train,
                                                                      adarts_trainer** out);

#ifdef __cplusplus
}
#endif

#endif /* ADARTS_ADARTS_H */
