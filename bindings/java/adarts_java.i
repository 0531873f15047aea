/*
 * adarts_java.i -- the Java binding's SWIG interface: the common part
 * (bindings/adarts.i), the Java typemaps and helpers, then the C API.
 */
%include "adarts.i"

%pragma(java) jniclassclassmodifiers = "final class"
%pragma(java) moduleclassmodifiers = "final class"
%javaconst(1);
/* Enum values become int constants; ai.adarts.Status is built on them. */
%include <enumsimple.swg>

%{
#include <stdint.h>
#include <stdio.h>

/* A Java string from UTF-8 (NewStringUTF expects modified UTF-8). */
static jstring adarts_java_string(JNIEnv* jenv, const char* s) {
  jsize n = (jsize)strlen(s);
  jbyteArray bytes = jenv->NewByteArray(n);
  if (!bytes) return 0;
  jenv->SetByteArrayRegion(bytes, 0, n, (const jbyte*)s);
  jclass string_class = jenv->FindClass("java/lang/String");
  jstring charset = jenv->NewStringUTF("UTF-8");
  jstring out = 0;
  if (string_class && charset) {
    jmethodID ctor = jenv->GetMethodID(string_class, "<init>", "([BLjava/lang/String;)V");
    if (ctor) out = (jstring)jenv->NewObject(string_class, ctor, bytes, charset);
  }
  jenv->DeleteLocalRef(bytes);
  if (string_class) jenv->DeleteLocalRef(string_class);
  if (charset) jenv->DeleteLocalRef(charset);
  return out;
}

/* The Throwable a progress callback threw, to be thrown again when the C call
 * returns (a global reference; per thread, as callbacks run on the calling
 * thread). */
static thread_local jthrowable adarts_java_pending = 0;

/* Throws the callback's exception, else an AdartsException for a non-OK status. */
static void adarts_java_check(JNIEnv* jenv, adarts_status status) {
  if (adarts_java_pending) {
    jthrowable t = adarts_java_pending;
    adarts_java_pending = 0;
    jenv->ExceptionClear();
    jenv->Throw(t);
    jenv->DeleteGlobalRef(t);
    return;
  }
  if (status == ADARTS_OK || jenv->ExceptionCheck()) return;
  const char* message = adarts_last_error();
  jstring jmessage = adarts_java_string(jenv, message ? message : "");
  if (!jmessage) return; /* OutOfMemoryError pending */
  jclass cls = jenv->FindClass("ai/adarts/AdartsException");
  if (!cls) return; /* NoClassDefFoundError pending */
  jmethodID ctor = jenv->GetMethodID(cls, "<init>", "(ILjava/lang/String;)V");
  if (!ctor) return;
  jobject ex = jenv->NewObject(cls, ctor, (jint)status, jmessage);
  if (ex) jenv->Throw((jthrowable)ex);
}

typedef struct AdartsJavaProgress {
  JNIEnv* env;
  jobject listener; /* ai.adarts.NativeProgress, a local reference valid for the call */
  jmethodID method;
} AdartsJavaProgress;

/* The C trampoline: calls NativeProgress.onProgress(JJJDD)Z. A Throwable is
 * caught and kept; non-zero stops the run. */
static int adarts_java_progress(void* user, int64_t epoch, int64_t step, int64_t steps_per_epoch, double loss,
                                double accuracy) {
  AdartsJavaProgress* ctx = (AdartsJavaProgress*)user;
  JNIEnv* jenv = ctx->env;
  if (adarts_java_pending || jenv->ExceptionCheck()) return 1;
  jboolean stop = jenv->CallBooleanMethod(ctx->listener, ctx->method, (jlong)epoch, (jlong)step,
                                          (jlong)steps_per_epoch, (jdouble)loss, (jdouble)accuracy);
  if (jenv->ExceptionCheck()) {
    jthrowable t = jenv->ExceptionOccurred();
    jenv->ExceptionClear();
    adarts_java_pending = (jthrowable)jenv->NewGlobalRef(t);
    jenv->DeleteLocalRef(t);
    return 1;
  }
  return stop ? 1 : 0;
}
%}

/* Status -> exception. (Only the C side changes: the Java types stay int, so
 * the status values remain int constants; a call that returns has returned
 * ADARTS_OK.) */
%typemap(out) adarts_status %{
  adarts_java_check(jenv, $1);
  $result = (jint)$1;
%}

/* long[1] holder of int64_t* out (typemaps.i's OUTPUT), not written after a throw. */
%typemap(argout) int64_t* out %{
  if (!jenv->ExceptionCheck()) {
    jlong jvalue = (jlong)temp$argnum;
    jenv->SetLongArrayRegion($input, 0, 1, &jvalue);
  }
%}

/* Strings in: Java String -> NUL-terminated UTF-8 bytes (null stays NULL). */
%typemap(jni) const char* ADARTS_UTF8 "jbyteArray"
%typemap(jtype) const char* ADARTS_UTF8 "byte[]"
%typemap(jstype) const char* ADARTS_UTF8 "String"
%typemap(javain) const char* ADARTS_UTF8 "AdartsNative.utf8($javainput)"
%typemap(in) const char* ADARTS_UTF8 %{
  $1 = 0;
  if ($input) {
    $1 = ($1_ltype)jenv->GetByteArrayElements($input, 0);
    if (!$1) return $null;
  }
%}
%typemap(freearg) const char* ADARTS_UTF8 %{
  if ($1) jenv->ReleaseByteArrayElements($input, (jbyte*)$1, JNI_ABORT);
%}
%apply const char* ADARTS_UTF8 { const char* spec_json, const char* config_json, const char* cell,
                                 const char* json, const char* text, const char* network_json,
                                 const char* path, const char* device, const char* out_dir,
                                 const char* overrides_json };

%pragma(java) modulecode = %{
  static byte[] utf8(String s) {
    if (s == null) return null;
    byte[] b = s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    return java.util.Arrays.copyOf(b, b.length + 1);
  }
%}

/* Strings out: String[1] holder; the C string is freed here. */
%typemap(jni) char** ADARTS_STRING_OUT "jobjectArray"
%typemap(jtype) char** ADARTS_STRING_OUT "String[]"
%typemap(jstype) char** ADARTS_STRING_OUT "String[]"
%typemap(javain) char** ADARTS_STRING_OUT "$javainput"
%typemap(in) char** ADARTS_STRING_OUT (char* temp = 0) %{ $1 = $input ? &temp : 0; %}
%typemap(argout) char** ADARTS_STRING_OUT %{
  if (temp$argnum) {
    jstring s = adarts_java_string(jenv, temp$argnum);
    adarts_string_free(temp$argnum);
    temp$argnum = 0;
    if (s) jenv->SetObjectArrayElement($input, 0, s);
  }
%}
%apply char** ADARTS_STRING_OUT { char** out_json, char** out_text, char** out_dot, char** out_path };

/* Handles are plain longs at this level; the public classes own them. */
%typemap(jstype) SWIGTYPE* "long"
%typemap(javain) SWIGTYPE* "$javainput"
%typemap(javaout) SWIGTYPE* { return $jnicall; }
%typemap(jni) SWIGTYPE** out "jlongArray"
%typemap(jtype) SWIGTYPE** out "long[]"
%typemap(jstype) SWIGTYPE** out "long[]"
%typemap(javain) SWIGTYPE** out "$javainput"
%typemap(in) SWIGTYPE** out ($*1_ltype temp = 0) %{ $1 = $input ? &temp : 0; %}
%typemap(argout) SWIGTYPE** out %{
  if (temp$argnum) {
    jlong value = (jlong)(intptr_t)temp$argnum;
    jenv->SetLongArrayRegion($input, 0, 1, &value);
  }
%}

/* Alphas: a float[] (copied back) or null for the size query; size_t* count: long[1]. */
%typemap(jni) (float* buffer, size_t capacity) "jfloatArray"
%typemap(jtype) (float* buffer, size_t capacity) "float[]"
%typemap(jstype) (float* buffer, size_t capacity) "float[]"
%typemap(javain) (float* buffer, size_t capacity) "$javainput"
%typemap(in) (float* buffer, size_t capacity) %{
  $1 = 0;
  $2 = 0;
  if ($input) {
    $2 = (size_t)jenv->GetArrayLength($input);
    $1 = jenv->GetFloatArrayElements($input, 0);
    if (!$1) return $null;
  }
%}
%typemap(freearg) (float* buffer, size_t capacity) %{
  if ($1) jenv->ReleaseFloatArrayElements($input, $1, 0);
%}
%typemap(jni) size_t* count "jlongArray"
%typemap(jtype) size_t* count "long[]"
%typemap(jstype) size_t* count "long[]"
%typemap(javain) size_t* count "$javainput"
%typemap(in) size_t* count (size_t temp = 0) %{ $1 = $input ? &temp : 0; %}
%typemap(argout) size_t* count %{
  if ($input && !jenv->ExceptionCheck()) {
    jlong value = (jlong)temp$argnum;
    jenv->SetLongArrayRegion($input, 0, 1, &value);
  }
%}

/* Progress callbacks: an ai.adarts.NativeProgress or null. */
%typemap(jni) (adarts_progress_fn progress, void* user) "jobject"
%typemap(jtype) (adarts_progress_fn progress, void* user) "NativeProgress"
%typemap(jstype) (adarts_progress_fn progress, void* user) "NativeProgress"
%typemap(javain) (adarts_progress_fn progress, void* user) "$javainput"
%typemap(in) (adarts_progress_fn progress, void* user) (AdartsJavaProgress ctx) %{
  $1 = 0;
  $2 = 0;
  if ($input) {
    jclass cls = jenv->FindClass("ai/adarts/NativeProgress");
    if (!cls) return $null;
    ctx.env = jenv;
    ctx.listener = $input;
    ctx.method = jenv->GetMethodID(cls, "onProgress", "(JJJDD)Z");
    jenv->DeleteLocalRef(cls);
    if (!ctx.method) return $null;
    $1 = adarts_java_progress;
    $2 = &ctx;
  }
%}

/* ---- Datasets from memory and metrics listeners ----
 * Java arrays and buffers have lengths and JNI needs the calling thread's
 * JNIEnv, so these come through small helpers (adarts_java_*) instead of the
 * C functions themselves, which are not wrapped. */
%ignore adarts_dataset_from_memory;
%ignore adarts_search_set_metrics_listener;
%ignore adarts_trainer_set_metrics_listener;

%typemap(in, numinputs = 0) JNIEnv* jenv_ %{ $1 = jenv; %}
%typemap(jni) jobject metrics "jobject"
%typemap(jtype) jobject metrics "MetricsListener"
%typemap(jstype) jobject metrics "MetricsListener"
%typemap(javain) jobject metrics "$javainput"
%typemap(in) jobject metrics %{ $1 = $input; %}
%typemap(jni) jobject float_buffer "jobject"
%typemap(jtype) jobject float_buffer "java.nio.FloatBuffer"
%typemap(jstype) jobject float_buffer "java.nio.FloatBuffer"
%typemap(javain) jobject float_buffer "$javainput"
%typemap(in) jobject float_buffer %{ $1 = $input; %}

%{
/* A metrics listener for the duration of one call: the call's JNIEnv and a
 * local reference to the ai.adarts.MetricsListener. */
typedef struct AdartsJavaMetrics {
  JNIEnv* env;
  jobject listener;
  jmethodID method;
} AdartsJavaMetrics;

/* The C trampoline: calls MetricsListener.onMetrics(String). A Throwable is
 * kept, thrown again when the call returns; later lines of the call are not delivered. */
static void adarts_java_metrics(void* user, const char* line) {
  AdartsJavaMetrics* ctx = (AdartsJavaMetrics*)user;
  JNIEnv* jenv = ctx->env;
  if (adarts_java_pending || jenv->ExceptionCheck()) return;
  jstring s = adarts_java_string(jenv, line);
  if (s) {
    jenv->CallVoidMethod(ctx->listener, ctx->method, s);
    jenv->DeleteLocalRef(s);
  }
  if (jenv->ExceptionCheck()) {
    jthrowable t = jenv->ExceptionOccurred();
    jenv->ExceptionClear();
    adarts_java_pending = (jthrowable)jenv->NewGlobalRef(t);
    jenv->DeleteLocalRef(t);
  }
}

/* Fills `ctx` for `listener` (non-null); 0 with a Java exception pending when the method is missing. */
static int adarts_java_metrics_init(JNIEnv* jenv, jobject listener, AdartsJavaMetrics* ctx) {
  jclass cls = jenv->FindClass("ai/adarts/MetricsListener");
  if (!cls) return 0;
  ctx->env = jenv;
  ctx->listener = listener;
  ctx->method = jenv->GetMethodID(cls, "onMetrics", "(Ljava/lang/String;)V");
  jenv->DeleteLocalRef(cls);
  return ctx->method != 0;
}

/* count x channels x height x width, or -1 when a factor is < 1 or the product passes `limit`. */
static int64_t adarts_java_pixels(jlong count, jlong channels, jlong height, jlong width, int64_t limit) {
  int64_t n = 1;
  const jlong factors[4] = {count, channels, height, width};
  for (int i = 0; i < 4; ++i) {
    if (factors[i] < 1 || __builtin_mul_overflow(n, (int64_t)factors[i], &n) || n > limit) return -1;
  }
  return n;
}

/* Checks that `available` values hold the images and `labels` one label per image;
 * else throws IllegalArgumentException and returns 0. */
static int adarts_java_check_sizes(JNIEnv* jenv, int64_t available, jlong count, jlong channels, jlong height,
                                   jlong width, jlongArray labels) {
  char message[256];
  const int64_t pixels = adarts_java_pixels(count, channels, height, width, available);
  const jsize label_count = labels ? jenv->GetArrayLength(labels) : 0;
  if (!labels) {
    snprintf(message, sizeof message, "labels is null");
  } else if (pixels < 0 || pixels != available) {
    snprintf(message, sizeof message,
             "the images hold %lld values; a shape of (%lld, %lld, %lld, %lld) needs their product",
             (long long)available, (long long)count, (long long)channels, (long long)height, (long long)width);
  } else if ((jlong)label_count != count) {
    snprintf(message, sizeof message, "%d labels for %lld images", (int)label_count, (long long)count);
  } else {
    return 1;
  }
  jclass cls = jenv->FindClass("java/lang/IllegalArgumentException");
  if (cls) jenv->ThrowNew(cls, message);
  return 0;
}

/* adarts_dataset_from_memory on pinned Java data (no JNI calls in between). */
static adarts_status adarts_java_from_pinned(JNIEnv* jenv, const void* images, adarts_pixel_type type, double scale,
                                             jlong count, jlong channels, jlong height, jlong width,
                                             jlongArray labels, jlong classes, adarts_dataset** out) {
  jlong* l = (jlong*)jenv->GetPrimitiveArrayCritical(labels, 0);
  if (!l) return ADARTS_OK; /* OutOfMemoryError pending */
  adarts_status status = adarts_dataset_from_memory(images, type, scale, count, channels, height, width,
                                                    (const int64_t*)l, classes, out);
  jenv->ReleasePrimitiveArrayCritical(labels, l, JNI_ABORT);
  return status;
}
%}

%inline %{
/* Datasets from a float[] or byte[] (pixel = byte * scale), or from a direct
 * FloatBuffer from its position; shape (count, channels, height, width); labels long[]. */
static adarts_status adarts_java_dataset_from_floats(JNIEnv* jenv_, jfloatArray images, jlong count, jlong channels,
                                                     jlong height, jlong width, jlongArray labels, jlong classes,
                                                     adarts_dataset** out) {
  JNIEnv* jenv = jenv_;
  if (!images || !adarts_java_check_sizes(jenv, jenv->GetArrayLength(images), count, channels, height, width, labels)) {
    if (!images) jenv->ThrowNew(jenv->FindClass("java/lang/IllegalArgumentException"), "images is null");
    return ADARTS_OK;
  }
  void* pixels = jenv->GetPrimitiveArrayCritical(images, 0);
  if (!pixels) return ADARTS_OK;
  adarts_status status = adarts_java_from_pinned(jenv, pixels, ADARTS_PIXELS_FLOAT32, 1.0, count, channels, height,
                                                 width, labels, classes, out);
  jenv->ReleasePrimitiveArrayCritical(images, pixels, JNI_ABORT);
  return status;
}

static adarts_status adarts_java_dataset_from_bytes(JNIEnv* jenv_, jbyteArray images, double scale, jlong count,
                                                    jlong channels, jlong height, jlong width, jlongArray labels,
                                                    jlong classes, adarts_dataset** out) {
  JNIEnv* jenv = jenv_;
  if (!images || !adarts_java_check_sizes(jenv, jenv->GetArrayLength(images), count, channels, height, width, labels)) {
    if (!images) jenv->ThrowNew(jenv->FindClass("java/lang/IllegalArgumentException"), "images is null");
    return ADARTS_OK;
  }
  void* pixels = jenv->GetPrimitiveArrayCritical(images, 0);
  if (!pixels) return ADARTS_OK;
  adarts_status status = adarts_java_from_pinned(jenv, pixels, ADARTS_PIXELS_UINT8, scale, count, channels, height,
                                                 width, labels, classes, out);
  jenv->ReleasePrimitiveArrayCritical(images, pixels, JNI_ABORT);
  return status;
}

static adarts_status adarts_java_dataset_from_buffer(JNIEnv* jenv_, jobject float_buffer, jlong position,
                                                     jlong remaining, jlong count, jlong channels, jlong height,
                                                     jlong width, jlongArray labels, jlong classes,
                                                     adarts_dataset** out) {
  JNIEnv* jenv = jenv_;
  float* base = float_buffer ? (float*)jenv->GetDirectBufferAddress(float_buffer) : 0;
  if (!base || position < 0 || remaining < 0 ||
      jenv->GetDirectBufferCapacity(float_buffer) < position + remaining) {
    jenv->ThrowNew(jenv->FindClass("java/lang/IllegalArgumentException"),
                   "images must be a direct FloatBuffer in native byte order (use float[] for heap buffers)");
    return ADARTS_OK;
  }
  if (!adarts_java_check_sizes(jenv, remaining, count, channels, height, width, labels)) return ADARTS_OK;
  return adarts_java_from_pinned(jenv, base + position, ADARTS_PIXELS_FLOAT32, 1.0, count, channels, height, width,
                                 labels, classes, out);
}

/* adarts_search_step, adarts_search_run_epoch and adarts_trainer_run_epoch
 * with `metrics` (may be null) set as the metrics listener for the call. */
static adarts_status adarts_java_search_step(JNIEnv* jenv_, adarts_search* search, int64_t steps, jobject metrics) {
  AdartsJavaMetrics ctx;
  if (metrics && !adarts_java_metrics_init(jenv_, metrics, &ctx)) return ADARTS_OK;
  adarts_status status = adarts_search_set_metrics_listener(search, metrics ? adarts_java_metrics : 0, &ctx);
  if (status != ADARTS_OK) return status;
  status = adarts_search_step(search, steps);
  adarts_status cleared = adarts_search_set_metrics_listener(search, 0, 0);
  (void)cleared; /* cannot fail for a valid handle */
  return status;
}

static adarts_status adarts_java_search_run_epoch(JNIEnv* jenv_, adarts_search* search, adarts_progress_fn progress,
                                                  void* user, jobject metrics) {
  AdartsJavaMetrics ctx;
  if (metrics && !adarts_java_metrics_init(jenv_, metrics, &ctx)) return ADARTS_OK;
  adarts_status status = adarts_search_set_metrics_listener(search, metrics ? adarts_java_metrics : 0, &ctx);
  if (status != ADARTS_OK) return status;
  status = adarts_search_run_epoch(search, progress, user);
  adarts_status cleared = adarts_search_set_metrics_listener(search, 0, 0);
  (void)cleared;
  return status;
}

static adarts_status adarts_java_trainer_run_epoch(JNIEnv* jenv_, adarts_trainer* trainer,
                                                   adarts_progress_fn progress, void* user, jobject metrics) {
  AdartsJavaMetrics ctx;
  if (metrics && !adarts_java_metrics_init(jenv_, metrics, &ctx)) return ADARTS_OK;
  adarts_status status = adarts_trainer_set_metrics_listener(trainer, metrics ? adarts_java_metrics : 0, &ctx);
  if (status != ADARTS_OK) return status;
  status = adarts_trainer_run_epoch(trainer, progress, user);
  adarts_status cleared = adarts_trainer_set_metrics_listener(trainer, 0, 0);
  (void)cleared;
  return status;
}
%}

/* Refuse to load against a library of another major version. */
%pragma(java) jniclasscode = %{
  static {
    System.loadLibrary("adarts_java");
    int[] major = {-1}, minor = {-1}, patch = {-1};
    adarts_version(major, minor, patch);
    if (major[0] != AdartsNativeConstants.ADARTS_VERSION_MAJOR) {
      throw new UnsatisfiedLinkError("adarts: the loaded native library is version " + major[0] + "." + minor[0]
          + "." + patch[0] + ", this binding was generated for ABI major "
          + AdartsNativeConstants.ADARTS_VERSION_MAJOR);
    }
  }
%}

/* The C API itself, wrapped with the typemaps above (the version header first:
 * SWIG does not follow adarts.h's #include). */
%include "adarts/adarts_version.h"
%include "adarts/adarts.h"
