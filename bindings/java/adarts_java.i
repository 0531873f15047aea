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
