// The C ABI: translates handles, strings, JSON and errors to the C++ core and
// back. No search or training logic lives here.
#include "adarts/adarts.h"

#include <ATen/core/grad_mode.h>
#include <boost/json.hpp>
#include <c10/util/Exception.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string>

#include "adarts/darts_state_dict.h"
#include "adarts/data.h"
#include "adarts/error.h"
#include "adarts/genotype.h"
#include "adarts/network.h"
#include "adarts/search.h"
#include "adarts/torch_info.h"
#include "adarts/train.h"

struct adarts_dataset {
  adarts::Dataset data;
};
struct adarts_search {
  std::unique_ptr<adarts::Search> impl;
};
struct adarts_genotype {
  adarts::Genotype genotype;
};
struct adarts_trainer {
  std::unique_ptr<adarts::Trainer> impl;
};

namespace {

namespace json = boost::json;

// The one definition of the per-thread error message.
thread_local std::string last_error_message;

adarts_status fail(adarts_status status, const std::string& message) {
  last_error_message = message;
  return status;
}

adarts_status status_of(adarts::ErrorKind kind) {
  switch (kind) {
    case adarts::ErrorKind::invalid_argument: return ADARTS_INVALID_ARGUMENT;
    case adarts::ErrorKind::parse_error: return ADARTS_PARSE_ERROR;
    case adarts::ErrorKind::io_error: return ADARTS_IO_ERROR;
    case adarts::ErrorKind::unsupported: return ADARTS_UNSUPPORTED;
    case adarts::ErrorKind::cancelled: return ADARTS_CANCELLED;
    case adarts::ErrorKind::internal: return ADARTS_INTERNAL;
    case adarts::ErrorKind::numerical: return ADARTS_NUMERICAL_ERROR;
    case adarts::ErrorKind::communication: return ADARTS_COMMUNICATION_ERROR;
  }
  return ADARTS_INTERNAL;
}

// Runs `body`, turning every exception into a status and a message.
template <class Body>
adarts_status guarded(Body&& body) noexcept {
  try {
    return body();
  } catch (const adarts::Error& e) {
    return fail(status_of(e.kind()), e.what());
  } catch (const std::bad_alloc&) {
    return fail(ADARTS_OUT_OF_MEMORY, "out of memory");
  } catch (const c10::Error& e) {
    return fail(ADARTS_INTERNAL, e.what_without_backtrace());
  } catch (const std::exception& e) {
    return fail(ADARTS_INTERNAL, e.what());
  } catch (...) {
    return fail(ADARTS_INTERNAL, "unknown exception");
  }
}

// Guards for the arguments every call checks the same way.
#define ADARTS_REQUIRE(pointer)                                                            \
  do {                                                                                     \
    if ((pointer) == nullptr) return fail(ADARTS_INVALID_ARGUMENT, #pointer " is NULL");   \
  } while (0)

char* copy_string(const std::string& s) {
  char* out = static_cast<char*>(std::malloc(s.size() + 1));
  if (out == nullptr) throw std::bad_alloc();
  std::memcpy(out, s.c_str(), s.size() + 1);
  return out;
}

// The core's listener for a C one (none for NULL).
adarts::MetricsListener metrics_listener(adarts_metrics_fn listener, void* user) {
  if (listener == nullptr) return nullptr;
  return [listener, user](const std::string& line) { listener(user, line.c_str()); };
}

}  // namespace

extern "C" {

// ---- Library ----

void adarts_version(int* major, int* minor, int* patch) {
  if (major) *major = ADARTS_VERSION_MAJOR;
  if (minor) *minor = ADARTS_VERSION_MINOR;
  if (patch) *patch = ADARTS_VERSION_PATCH;
}

const char* adarts_version_string(void) {
#define ADARTS_STR2(x) #x
#define ADARTS_STR(x) ADARTS_STR2(x)
  return ADARTS_STR(ADARTS_VERSION_MAJOR) "." ADARTS_STR(ADARTS_VERSION_MINOR) "." ADARTS_STR(ADARTS_VERSION_PATCH);
}

adarts_status adarts_build_info(char** out_json) {
  ADARTS_REQUIRE(out_json);
  return guarded([&] {
    const adarts::TorchInfo torch = adarts::torch_info();
    json::object o;
    o["version"] = adarts_version_string();
    o["abi_major"] = ADARTS_VERSION_MAJOR;
    o["torch_version"] = torch.version;
    o["cuda_available"] = torch.cuda_available;
    o["cuda_devices"] = torch.cuda_devices;
    o["threads"] = torch.threads;
    *out_json = copy_string(json::serialize(o));
    return ADARTS_OK;
  });
}

const char* adarts_last_error(void) { return last_error_message.c_str(); }

void adarts_string_free(char* s) { std::free(s); }

// ---- Datasets ----

adarts_status adarts_dataset_open(const char* spec_json, adarts_dataset** out) {
  ADARTS_REQUIRE(spec_json);
  ADARTS_REQUIRE(out);
  return guarded([&] {
    auto handle = std::make_unique<adarts_dataset>();
    handle->data = adarts::load_dataset_from_spec(spec_json);
    *out = handle.release();
    return ADARTS_OK;
  });
}

adarts_status adarts_dataset_from_memory(const void* images, adarts_pixel_type pixel_type, double scale,
                                         int64_t count, int64_t channels, int64_t height, int64_t width,
                                         const int64_t* labels, int64_t classes, adarts_dataset** out) {
  ADARTS_REQUIRE(images);
  ADARTS_REQUIRE(labels);
  ADARTS_REQUIRE(out);
  if (pixel_type != ADARTS_PIXELS_FLOAT32 && pixel_type != ADARTS_PIXELS_UINT8) {
    return fail(ADARTS_INVALID_ARGUMENT, "pixel_type " + std::to_string(static_cast<int>(pixel_type)) +
                                             " is neither ADARTS_PIXELS_FLOAT32 (0) nor ADARTS_PIXELS_UINT8 (1)");
  }
  return guarded([&] {
    auto handle = std::make_unique<adarts_dataset>();
    handle->data = adarts::dataset_from_memory(
        images, pixel_type == ADARTS_PIXELS_UINT8 ? adarts::PixelType::uint8 : adarts::PixelType::float32, scale,
        count, channels, height, width, labels, classes);
    *out = handle.release();
    return ADARTS_OK;
  });
}

void adarts_dataset_free(adarts_dataset* dataset) { delete dataset; }

adarts_status adarts_dataset_info(const adarts_dataset* dataset, char** out_json) {
  ADARTS_REQUIRE(dataset);
  ADARTS_REQUIRE(out_json);
  return guarded([&] {
    const adarts::Dataset& d = dataset->data;
    json::object o;
    o["name"] = d.name;
    o["size"] = d.size();
    o["channels"] = d.channels();
    o["height"] = d.height();
    o["width"] = d.width();
    o["classes"] = d.num_classes;
    *out_json = copy_string(json::serialize(o));
    return ADARTS_OK;
  });
}

// ---- Searches ----

adarts_status adarts_search_create(const char* config_json, const adarts_dataset* dataset, adarts_search** out) {
  ADARTS_REQUIRE(config_json);
  ADARTS_REQUIRE(out);
  return guarded([&] {
    const adarts::SearchConfig config = adarts::search_config_from_json(config_json);
    adarts::validate(config);
    auto handle = std::make_unique<adarts_search>();
    handle->impl = std::make_unique<adarts::Search>(
        config, dataset != nullptr ? dataset->data : adarts::load_search_dataset(config));
    *out = handle.release();
    return ADARTS_OK;
  });
}

adarts_status adarts_search_resume(const char* out_dir, const char* overrides_json, const adarts_dataset* dataset,
                                   adarts_search** out) {
  ADARTS_REQUIRE(out_dir);
  ADARTS_REQUIRE(out);
  return guarded([&] {
    auto handle = std::make_unique<adarts_search>();
    handle->impl = adarts::Search::resume(out_dir, overrides_json != nullptr ? overrides_json : "",
                                          dataset != nullptr ? &dataset->data : nullptr);
    *out = handle.release();
    return ADARTS_OK;
  });
}

adarts_status adarts_search_save_checkpoint(adarts_search* search, char** out_path) {
  ADARTS_REQUIRE(search);
  return guarded([&] {
    const std::string path = search->impl->save_checkpoint();
    if (out_path != nullptr) *out_path = copy_string(path);
    return ADARTS_OK;
  });
}

void adarts_search_free(adarts_search* search) { delete search; }

adarts_status adarts_search_step(adarts_search* search, int64_t steps) {
  ADARTS_REQUIRE(search);
  if (steps < 1) return fail(ADARTS_INVALID_ARGUMENT, "steps must be >= 1");
  return guarded([&] {
    search->impl->advance(steps);
    return ADARTS_OK;
  });
}

adarts_status adarts_search_run_epoch(adarts_search* search, adarts_progress_fn progress, void* user) {
  ADARTS_REQUIRE(search);
  return guarded([&] {
    bool completed = false;
    adarts::SearchCallback callback;
    if (progress != nullptr) {
      callback = [progress, user](const adarts::SearchProgress& p) {
        return progress(user, p.epoch, p.step, p.steps_per_epoch, p.train_loss, p.train_accuracy) == 0;
      };
    }
    search->impl->run_epoch(callback, &completed);
    if (!completed) return fail(ADARTS_CANCELLED, "the epoch was cancelled; call run_epoch again to continue it");
    return ADARTS_OK;
  });
}

adarts_status adarts_search_cancel(adarts_search* search) {
  ADARTS_REQUIRE(search);
  search->impl->cancel();
  return ADARTS_OK;
}

adarts_status adarts_search_set_metrics_listener(adarts_search* search, adarts_metrics_fn listener, void* user) {
  ADARTS_REQUIRE(search);
  return guarded([&] {
    search->impl->set_metrics_listener(metrics_listener(listener, user));
    return ADARTS_OK;
  });
}

adarts_status adarts_search_state(const adarts_search* search, char** out_json) {
  ADARTS_REQUIRE(search);
  ADARTS_REQUIRE(out_json);
  return guarded([&] {
    const adarts::Search& s = *search->impl;
    json::object o;
    o["epoch"] = s.epoch();
    o["step_in_epoch"] = s.step_in_epoch();
    o["steps_per_epoch"] = s.steps_per_epoch();
    o["epochs"] = s.config().epochs;
    o["weight_lr"] = s.current_weight_lr();
    *out_json = copy_string(json::serialize(o));
    return ADARTS_OK;
  });
}

adarts_status adarts_search_alphas(const adarts_search* search, const char* cell, float* buffer, size_t capacity,
                                   size_t* count) {
  ADARTS_REQUIRE(search);
  ADARTS_REQUIRE(cell);
  ADARTS_REQUIRE(count);
  return guarded([&] {
    const std::string which(cell);
    if (which != "normal" && which != "reduce") {
      return fail(ADARTS_INVALID_ARGUMENT, "cell must be \"normal\" or \"reduce\", got \"" + which + "\"");
    }
    const at::Tensor alphas =
        (which == "normal" ? search->impl->alphas_normal() : search->impl->alphas_reduce()).to(at::kFloat).contiguous();
    const auto n = static_cast<size_t>(alphas.numel());
    if (buffer != nullptr) {
      if (capacity < n) {
        return fail(ADARTS_INVALID_ARGUMENT, "buffer holds " + std::to_string(capacity) + " floats, " +
                                                 std::to_string(n) + " needed");
      }
      std::memcpy(buffer, alphas.data_ptr<float>(), n * sizeof(float));
    }
    *count = n;
    return ADARTS_OK;
  });
}

adarts_status adarts_search_cell_count(const adarts_search* search, int64_t* out) {
  ADARTS_REQUIRE(search);
  ADARTS_REQUIRE(out);
  return guarded([&] {
    const adarts::Search& s = *search->impl;
    *out = s.config().search_space().per_cell_alphas ? s.config().layers : 0;
    return ADARTS_OK;
  });
}

adarts_status adarts_search_cell_alphas(const adarts_search* search, int64_t index, float* buffer, size_t capacity,
                                        size_t* count) {
  ADARTS_REQUIRE(search);
  ADARTS_REQUIRE(count);
  return guarded([&] {
    const adarts::Search& s = *search->impl;
    if (!s.config().search_space().per_cell_alphas) {
      return fail(ADARTS_INVALID_ARGUMENT, "space '" + s.config().space +
                                               "' shares its alphas (no per-cell alphas; use adarts_search_alphas)");
    }
    if (index < 0 || index >= s.config().layers) {
      return fail(ADARTS_INVALID_ARGUMENT, "cell index " + std::to_string(index) + " is out of range [0, " +
                                               std::to_string(s.config().layers) + ")");
    }
    const at::Tensor alphas = s.alphas_cells()[index].to(at::kFloat).contiguous();
    const auto n = static_cast<size_t>(alphas.numel());
    if (buffer != nullptr) {
      if (capacity < n) {
        return fail(ADARTS_INVALID_ARGUMENT, "buffer holds " + std::to_string(capacity) + " floats, " +
                                                 std::to_string(n) + " needed");
      }
      std::memcpy(buffer, alphas.data_ptr<float>(), n * sizeof(float));
    }
    *count = n;
    return ADARTS_OK;
  });
}

adarts_status adarts_search_metrics(const adarts_search* search, char** out_json) {
  ADARTS_REQUIRE(search);
  ADARTS_REQUIRE(out_json);
  return guarded([&] {
    const std::string& line = search->impl->last_epoch_summary().json;
    *out_json = copy_string(line.empty() ? "{}" : line);
    return ADARTS_OK;
  });
}

adarts_status adarts_search_genotype(const adarts_search* search, adarts_genotype** out) {
  ADARTS_REQUIRE(search);
  ADARTS_REQUIRE(out);
  return guarded([&] {
    *out = new adarts_genotype{search->impl->genotype()};
    return ADARTS_OK;
  });
}

// ---- Genotypes ----

adarts_status adarts_genotype_from_json(const char* text, adarts_genotype** out) {
  ADARTS_REQUIRE(text);
  ADARTS_REQUIRE(out);
  return guarded([&] {
    *out = new adarts_genotype{adarts::genotype_from_json(text)};
    return ADARTS_OK;
  });
}

adarts_status adarts_genotype_from_darts_text(const char* text, adarts_genotype** out) {
  ADARTS_REQUIRE(text);
  ADARTS_REQUIRE(out);
  return guarded([&] {
    *out = new adarts_genotype{adarts::from_darts_text(text)};
    return ADARTS_OK;
  });
}

void adarts_genotype_free(adarts_genotype* genotype) { delete genotype; }

adarts_status adarts_genotype_to_json(const adarts_genotype* genotype, char** out_json) {
  ADARTS_REQUIRE(genotype);
  ADARTS_REQUIRE(out_json);
  return guarded([&] {
    *out_json = copy_string(adarts::to_json(genotype->genotype));
    return ADARTS_OK;
  });
}

adarts_status adarts_genotype_to_darts_text(const adarts_genotype* genotype, char** out_text) {
  ADARTS_REQUIRE(genotype);
  ADARTS_REQUIRE(out_text);
  return guarded([&] {
    *out_text = copy_string(adarts::to_darts_text(genotype->genotype));
    return ADARTS_OK;
  });
}

adarts_status adarts_genotype_to_dot(const adarts_genotype* genotype, const char* cell, char** out_dot) {
  ADARTS_REQUIRE(genotype);
  ADARTS_REQUIRE(cell);
  ADARTS_REQUIRE(out_dot);
  return guarded([&] {
    *out_dot = copy_string(adarts::to_dot(genotype->genotype, cell));
    return ADARTS_OK;
  });
}

adarts_status adarts_genotype_parameter_count(const adarts_genotype* genotype, const char* network_json,
                                              int64_t* out) {
  ADARTS_REQUIRE(genotype);
  ADARTS_REQUIRE(out);
  return guarded([&] {
    const adarts::NetworkOptions defaults = adarts::default_network_options(genotype->genotype);
    const adarts::NetworkOptions options =
        network_json != nullptr ? adarts::network_options_from_json(network_json, defaults) : defaults;
    at::NoGradGuard no_grad;
    adarts::Network network(genotype->genotype, options, at::make_generator<at::CPUGeneratorImpl>(0));
    *out = network.parameter_count(options.auxiliary);
    return ADARTS_OK;
  });
}

// ---- Trainers ----

adarts_status adarts_trainer_create(const adarts_genotype* genotype, const char* config_json,
                                    const adarts_dataset* train, adarts_trainer** out) {
  ADARTS_REQUIRE(genotype);
  ADARTS_REQUIRE(config_json);
  ADARTS_REQUIRE(out);
  return guarded([&] {
    const adarts::TrainConfig config = adarts::train_config_from_json(config_json);
    adarts::validate(config);
    auto handle = std::make_unique<adarts_trainer>();
    handle->impl = train != nullptr ? std::make_unique<adarts::Trainer>(genotype->genotype, config, train->data)
                                    : std::make_unique<adarts::Trainer>(genotype->genotype, config);
    *out = handle.release();
    return ADARTS_OK;
  });
}

adarts_status adarts_trainer_resume(const char* out_dir, const char* overrides_json, const adarts_dataset* train,
                                    adarts_trainer** out) {
  ADARTS_REQUIRE(out_dir);
  ADARTS_REQUIRE(out);
  return guarded([&] {
    auto handle = std::make_unique<adarts_trainer>();
    handle->impl = adarts::Trainer::resume(out_dir, overrides_json != nullptr ? overrides_json : "",
                                           train != nullptr ? &train->data : nullptr);
    *out = handle.release();
    return ADARTS_OK;
  });
}

adarts_status adarts_trainer_save_checkpoint(adarts_trainer* trainer, char** out_path) {
  ADARTS_REQUIRE(trainer);
  return guarded([&] {
    const std::string path = trainer->impl->save_checkpoint();
    if (out_path != nullptr) *out_path = copy_string(path);
    return ADARTS_OK;
  });
}

adarts_status adarts_trainer_load(const char* path, const char* device, adarts_trainer** out) {
  ADARTS_REQUIRE(path);
  ADARTS_REQUIRE(out);
  return guarded([&] {
    auto handle = std::make_unique<adarts_trainer>();
    handle->impl = adarts::Trainer::load(path, device != nullptr ? device : "");
    *out = handle.release();
    return ADARTS_OK;
  });
}

void adarts_trainer_free(adarts_trainer* trainer) { delete trainer; }

adarts_status adarts_trainer_run_epoch(adarts_trainer* trainer, adarts_progress_fn progress, void* user) {
  ADARTS_REQUIRE(trainer);
  return guarded([&] {
    bool completed = false;
    adarts::TrainCallback callback;
    if (progress != nullptr) {
      callback = [progress, user](const adarts::TrainProgress& p) {
        return progress(user, p.epoch, p.step, p.steps_per_epoch, p.train_loss, p.train_accuracy) == 0;
      };
    }
    trainer->impl->run_epoch(callback, &completed);
    if (!completed) return fail(ADARTS_CANCELLED, "the epoch was cancelled; call run_epoch again to continue it");
    return ADARTS_OK;
  });
}

adarts_status adarts_trainer_cancel(adarts_trainer* trainer) {
  ADARTS_REQUIRE(trainer);
  trainer->impl->cancel();
  return ADARTS_OK;
}

adarts_status adarts_trainer_set_metrics_listener(adarts_trainer* trainer, adarts_metrics_fn listener,
                                                  void* user) {
  ADARTS_REQUIRE(trainer);
  return guarded([&] {
    trainer->impl->set_metrics_listener(metrics_listener(listener, user));
    return ADARTS_OK;
  });
}

adarts_status adarts_trainer_evaluate(adarts_trainer* trainer, const adarts_dataset* data, char** out_json) {
  ADARTS_REQUIRE(trainer);
  ADARTS_REQUIRE(out_json);
  return guarded([&] {
    const adarts::EvalResult r =
        trainer->impl->evaluate(data != nullptr ? data->data : adarts::load_train_dataset(trainer->impl->config(), false));
    json::object o;
    o["loss"] = r.loss;
    o["top1"] = r.top1;
    o["top5"] = r.top5;
    o["samples"] = r.samples;
    *out_json = copy_string(json::serialize(o));
    return ADARTS_OK;
  });
}

adarts_status adarts_trainer_save(const adarts_trainer* trainer, const char* path) {
  ADARTS_REQUIRE(trainer);
  ADARTS_REQUIRE(path);
  return guarded([&] {
    trainer->impl->save(path);
    return ADARTS_OK;
  });
}

adarts_status adarts_trainer_export_pytorch(const adarts_trainer* trainer, const char* path) {
  ADARTS_REQUIRE(trainer);
  ADARTS_REQUIRE(path);
  return guarded([&] {
    adarts::save_darts_state_dict(trainer->impl->network(), path);
    return ADARTS_OK;
  });
}

adarts_status adarts_trainer_genotype(const adarts_trainer* trainer, adarts_genotype** out) {
  ADARTS_REQUIRE(trainer);
  ADARTS_REQUIRE(out);
  return guarded([&] {
    *out = new adarts_genotype{trainer->impl->genotype()};
    return ADARTS_OK;
  });
}

}  // extern "C"
