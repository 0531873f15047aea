/*
 * adarts.i -- the one SWIG interface of the Java, C# and Python bindings.
 *
 * It wraps the C ABI (capi/include/adarts/adarts.h) only, never the C++ core,
 * and turns the C conventions into each language's:
 *
 *  - adarts_status: a typemap on the return type. A non-OK status becomes the
 *    language's exception carrying the status and adarts_last_error() (read at
 *    once, on the calling thread): ai.adarts.AdartsException,
 *    Adarts.AdartsException, adarts.AdartsError. (Java and C# keep the int
 *    return, always ADARTS_OK when the call returns, so that the enum values
 *    stay int constants; Python returns the outputs or None.)
 *  - char** out_json/out_text/out_dot: the library's string comes back as a
 *    native string and is released with adarts_string_free() here.
 *  - adarts_X** out: the new handle comes back (Java: long in a long[1] holder,
 *    C#: a SafeHandle, Python: a SWIG pointer object). The hand-written classes
 *    (bindings/<language>/) own handles and free them exactly once.
 *  - (float* buffer, size_t capacity, size_t* count) of adarts_search_alphas:
 *    a host float[] filled in place, or null for the size query (Python: a
 *    capacity -> list of floats, None -> the count). The public classes make
 *    the size query, then the copy.
 *  - (adarts_progress_fn progress, void* user): a host callback through a C
 *    trampoline. A host exception never unwinds through C frames: the
 *    trampoline catches it, returns non-zero (stop) and the exception is
 *    raised again once the C call has returned (it takes precedence over the
 *    resulting ADARTS_CANCELLED).
 *  - Load-time ABI check: the loaded library's adarts_version() major must be
 *    ADARTS_VERSION_MAJOR of the header the binding was generated from.
 *
 * Outputs the Java binding passes through one-element holder arrays (String[],
 * long[], int[]) because JNI functions have one return value. The generated
 * low-level classes are package-private (Java) / internal (C#) / adarts.native
 * (Python); the public API is the hand-written Dataset, Search, Genotype,
 * Trainer and library-info classes of each language.
 */
%module AdartsNative

%{
#include <adarts/adarts.h>
#include <stdlib.h>
#include <string.h>
%}

%include <stdint.i>
%include <typemaps.i>

/* ADARTS_API expands to a visibility attribute SWIG does not parse. */
#define __attribute__(x)

/* Released inside the bindings, or read by the status typemap. */
%ignore adarts_string_free;
%ignore adarts_last_error;

%apply int* OUTPUT { int* major, int* minor, int* patch };
%apply long long* OUTPUT { int64_t* out };

/* ======================================================================== */
#if defined(SWIGJAVA)

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

/* ======================================================================== */
#elif defined(SWIGCSHARP)

%pragma(csharp) imclassclassmodifiers = "internal class"
%pragma(csharp) moduleclassmodifiers = "internal class"
%csconst(1);
/* Enum values become int constants; Adarts.Status is built on them. */
%include <enumsimple.swg>

%{
/* The managed side registers how to raise an exception (as SWIG's own
 * pending-exception mechanism): the status typemap calls it, and the managed
 * wrapper throws after the P/Invoke returns. */
typedef void (SWIGSTDCALL* AdartsCSharpErrorCallback)(int status, const char* message);
static AdartsCSharpErrorCallback adarts_csharp_error = 0;

#ifdef __cplusplus
extern "C"
#endif
SWIGEXPORT void SWIGSTDCALL AdartsNative_RegisterErrorCallback(AdartsCSharpErrorCallback callback) {
  adarts_csharp_error = callback;
}

static void adarts_csharp_check(adarts_status status) {
  if (status != ADARTS_OK && adarts_csharp_error) {
    const char* message = adarts_last_error();
    adarts_csharp_error((int)status, message ? message : "");
  }
}
%}

/* Status -> exception. (The C# types stay int, so the status values remain
 * int constants; a call that returns has returned ADARTS_OK.) */
%typemap(out) adarts_status %{
  adarts_csharp_check($1);
  $result = (int)$1;
%}
%typemap(csout) adarts_status {
    int status = $imcall;
    AdartsNativePINVOKE.Pending.ThrowIfPending();
    return status;
  }

/* Strings out: `out string`; the C string is copied by the managed marshaller
 * (SWIG's string callback) and freed here. */
%typemap(ctype) char** ADARTS_STRING_OUT "char**"
%typemap(imtype) char** ADARTS_STRING_OUT "out string"
%typemap(cstype) char** ADARTS_STRING_OUT "out string"
%typemap(csin) char** ADARTS_STRING_OUT "out $csinput"
%typemap(in) char** ADARTS_STRING_OUT (char* temp = 0) %{
  *$input = 0;
  $1 = &temp;
%}
%typemap(argout) char** ADARTS_STRING_OUT %{
  if (temp$argnum) {
    *$input = SWIG_csharp_string_callback(temp$argnum);
    adarts_string_free(temp$argnum);
  }
%}
%apply char** ADARTS_STRING_OUT { char** out_json, char** out_text, char** out_dot, char** out_path };

/* Handles are SafeHandles (bindings/csharp/Handles.cs): released once, never
 * while a call is using them. */
%define ADARTS_CSHARP_HANDLE(CTYPE, HANDLE)
%typemap(ctype) CTYPE*, const CTYPE* "void*"
%typemap(imtype) CTYPE*, const CTYPE* "Adarts.HANDLE"
%typemap(cstype) CTYPE*, const CTYPE* "Adarts.HANDLE"
%typemap(csin) CTYPE*, const CTYPE* "$csinput"
%typemap(in) CTYPE*, const CTYPE* %{ $1 = ($1_ltype)$input; %}
%typemap(ctype) CTYPE** out "void**"
%typemap(imtype) CTYPE** out "out Adarts.HANDLE"
%typemap(cstype) CTYPE** out "out Adarts.HANDLE"
%typemap(csin) CTYPE** out "out $csinput"
%typemap(in) CTYPE** out (CTYPE* temp = 0) %{
  *$input = 0;
  $1 = &temp;
%}
%typemap(argout) CTYPE** out %{ *$input = (void*)temp$argnum; %}
%enddef
ADARTS_CSHARP_HANDLE(adarts_dataset, DatasetHandle)
ADARTS_CSHARP_HANDLE(adarts_search, SearchHandle)
ADARTS_CSHARP_HANDLE(adarts_genotype, GenotypeHandle)
ADARTS_CSHARP_HANDLE(adarts_trainer, TrainerHandle)

/* Alphas: a float[] (copied back) or null for the size query, its capacity; count: out ulong. */
%typemap(ctype) float* buffer "float*"
%typemap(imtype, inattributes = "[global::System.Runtime.InteropServices.In, global::System.Runtime.InteropServices.Out]")
  float* buffer "float[]"
%typemap(cstype) float* buffer "float[]"
%typemap(csin) float* buffer "$csinput"
%typemap(in) float* buffer %{ $1 = $input; %}
%typemap(ctype) size_t capacity "uint64_t"
%typemap(imtype) size_t capacity "ulong"
%typemap(cstype) size_t capacity "ulong"
%typemap(csin) size_t capacity "$csinput"
%typemap(in) size_t capacity %{ $1 = (size_t)$input; %}
%typemap(ctype) size_t* count "uint64_t*"
%typemap(imtype) size_t* count "out ulong"
%typemap(cstype) size_t* count "out ulong"
%typemap(csin) size_t* count "out $csinput"
%typemap(in) size_t* count (size_t temp = 0) %{
  *$input = 0;
  $1 = &temp;
%}
%typemap(argout) size_t* count %{ *$input = (uint64_t)temp$argnum; %}

/* Progress callbacks: an Adarts.ProgressHandler (or null) behind a managed
 * trampoline that catches every exception (ProgressTrampoline below). */
%typemap(ctype) (adarts_progress_fn progress, void* user) "adarts_progress_fn"
%typemap(imtype) (adarts_progress_fn progress, void* user) "AdartsNativePINVOKE.ProgressDelegate"
%typemap(cstype) (adarts_progress_fn progress, void* user) "Adarts.ProgressHandler"
%typemap(csin, pre = "    var trampoline$csinput = AdartsNativePINVOKE.ProgressTrampoline.Wrap($csinput);",
         post = "      global::System.GC.KeepAlive(trampoline$csinput);")
  (adarts_progress_fn progress, void* user) "trampoline$csinput"
%typemap(in) (adarts_progress_fn progress, void* user) %{
  $1 = $input;
  $2 = 0;
%}

%pragma(csharp) imclasscode = %{
  // A managed exception waiting to be thrown on this thread: one from a
  // progress callback (first) or one for a non-OK status.
  internal static class Pending {
    [global::System.ThreadStatic]
    static global::System.Runtime.ExceptionServices.ExceptionDispatchInfo pending;

    internal static void Set(global::System.Exception e) {
      if (pending == null) pending = global::System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e);
    }
    internal static bool IsPending { get { return pending != null; } }
    internal static void ThrowIfPending() {
      var p = pending;
      if (p != null) {
        pending = null;
        p.Throw();
      }
    }
  }

  [global::System.Runtime.InteropServices.UnmanagedFunctionPointer(global::System.Runtime.InteropServices.CallingConvention.Cdecl)]
  internal delegate void ErrorDelegate(int status, string message);

  [global::System.Runtime.InteropServices.UnmanagedFunctionPointer(global::System.Runtime.InteropServices.CallingConvention.Cdecl)]
  internal delegate int ProgressDelegate(global::System.IntPtr user, long epoch, long step, long stepsPerEpoch,
                                         double loss, double accuracy);

  internal sealed class ProgressTrampoline {
    readonly Adarts.ProgressHandler handler;
    ProgressTrampoline(Adarts.ProgressHandler handler) { this.handler = handler; }

    internal static ProgressDelegate Wrap(Adarts.ProgressHandler handler) {
      return handler == null ? null : new ProgressDelegate(new ProgressTrampoline(handler).Call);
    }

    int Call(global::System.IntPtr user, long epoch, long step, long stepsPerEpoch, double loss, double accuracy) {
      if (Pending.IsPending) return 1;
      try {
        return handler(new Adarts.Progress(epoch, step, stepsPerEpoch, loss, accuracy)) ? 1 : 0;
      } catch (global::System.Exception e) {
        Pending.Set(e);  // thrown again after the native call returns
        return 1;
      }
    }
  }

  static readonly ErrorDelegate errorDelegate = new ErrorDelegate(OnError);

  static void OnError(int status, string message) {
    Pending.Set(new Adarts.AdartsException((Adarts.Status)status, message));
  }

  [global::System.Runtime.InteropServices.DllImport("$dllimport", EntryPoint = "AdartsNative_RegisterErrorCallback")]
  static extern void RegisterErrorCallback(ErrorDelegate callback);

  // Runs before the first call into the native library (SWIG's imclass has a
  // static constructor, so its field initializers run before any use):
  // register the error callback, then refuse to load a library of another
  // major version.
  internal sealed class Init {
    internal Init() {
      RegisterErrorCallback(errorDelegate);
      int major, minor, patch;
      adarts_version(out major, out minor, out patch);
      if (major != AdartsNative.ADARTS_VERSION_MAJOR) {
        throw new global::System.DllNotFoundException(
            "adarts: the loaded native library is version " + major + "." + minor + "." + patch +
            ", this binding was generated for ABI major " + AdartsNative.ADARTS_VERSION_MAJOR);
      }
    }
  }
  internal static readonly Init init = new Init();
%}

/* ======================================================================== */
#elif defined(SWIGPYTHON)

%{
static PyObject* adarts_python_error = 0;       /* adarts.AdartsError */
static PyObject* adarts_python_status_type = 0; /* adarts.Status, once registered */

/* The exception a progress callback raised, raised again after the C call
 * (per thread: callbacks run on the calling thread). */
static thread_local PyObject* adarts_pending_type = 0;
static thread_local PyObject* adarts_pending_value = 0;
static thread_local PyObject* adarts_pending_traceback = 0;

/* Raises the callback's exception, else AdartsError(message) with .status for
 * a non-OK status. Returns 0 when an exception is set. */
static int adarts_python_check(adarts_status status) {
  if (adarts_pending_type) {
    PyErr_Restore(adarts_pending_type, adarts_pending_value, adarts_pending_traceback);
    adarts_pending_type = adarts_pending_value = adarts_pending_traceback = 0;
    return 0;
  }
  if (status == ADARTS_OK) return 1;
  const char* message = adarts_last_error();
  if (!message) message = "";
  PyObject* text = PyUnicode_DecodeUTF8(message, (Py_ssize_t)strlen(message), "replace");
  if (!text) return 0;
  PyObject* exc = PyObject_CallFunctionObjArgs(adarts_python_error, text, NULL);
  if (exc) {
    PyObject* code = 0;
    if (adarts_python_status_type) {
      code = PyObject_CallFunction(adarts_python_status_type, "i", (int)status);
      if (!code) PyErr_Clear(); /* a value the enum does not know: the int */
    }
    if (!code) code = PyLong_FromLong((long)status);
    if (code && PyObject_SetAttrString(exc, "status", code) == 0 &&
        PyObject_SetAttrString(exc, "message", text) == 0) {
      PyErr_SetObject(adarts_python_error, exc);
    }
    Py_XDECREF(code);
    Py_DECREF(exc);
  }
  Py_DECREF(text);
  return 0;
}

/* The C trampoline: calls the Python callable (user) with (epoch, step,
 * steps_per_epoch, loss, accuracy), holding the GIL; a true result stops. An
 * exception is caught and kept, and stops the run. */
static int adarts_python_progress(void* user, int64_t epoch, int64_t step, int64_t steps_per_epoch, double loss,
                                  double accuracy) {
  int stop = 1;
  PyGILState_STATE gil = PyGILState_Ensure();
  if (!adarts_pending_type) {
    PyObject* result = PyObject_CallFunction((PyObject*)user, "LLLdd", (long long)epoch, (long long)step,
                                             (long long)steps_per_epoch, loss, accuracy);
    if (result) {
      stop = PyObject_IsTrue(result);
      Py_DECREF(result);
    }
    if (!result || stop < 0) {
      stop = 1;
      PyErr_Fetch(&adarts_pending_type, &adarts_pending_value, &adarts_pending_traceback);
      if (!adarts_pending_type) { /* cannot happen; never lose the stop */
        Py_INCREF(PyExc_SystemError);
        adarts_pending_type = PyExc_SystemError;
      }
    }
  }
  PyGILState_Release(gil);
  return stop;
}
%}

%init %{
  adarts_python_error = PyErr_NewExceptionWithDoc(
      "adarts.AdartsError",
      "A call into the adarts library failed: .status is the adarts_status code, .message the library's message.",
      PyExc_RuntimeError, NULL);
%}

/* Status -> exception; None on success (outputs replace it). */
%typemap(out) adarts_status %{
  if (!adarts_python_check($1)) SWIG_fail;
  $result = SWIG_Py_Void();
%}

/* Strings out: str; the C string is freed here. */
%typemap(in, numinputs = 0) char** ADARTS_STRING_OUT (char* temp = 0) %{ $1 = &temp; %}
%typemap(argout) char** ADARTS_STRING_OUT %{
  if (temp$argnum) {
    PyObject* s = PyUnicode_DecodeUTF8(temp$argnum, (Py_ssize_t)strlen(temp$argnum), "replace");
    adarts_string_free(temp$argnum);
    temp$argnum = 0;
    if (!s) SWIG_fail;
    $result = SWIG_Python_AppendOutput($result, s);
  }
%}
%typemap(freearg) char** ADARTS_STRING_OUT %{ adarts_string_free(temp$argnum); %}
%apply char** ADARTS_STRING_OUT { char** out_json, char** out_text, char** out_dot, char** out_path };

/* Handles out: a SWIG pointer object, owned by the adarts package's classes. */
%typemap(in, numinputs = 0) SWIGTYPE** out ($*1_ltype temp = 0) %{ $1 = &temp; %}
%typemap(argout) SWIGTYPE** out %{
  $result = SWIG_Python_AppendOutput($result, SWIG_NewPointerObj((void*)temp$argnum, $*1_descriptor, 0));
%}

/* Alphas: a capacity (int) -> list of floats, or None -> the count (the size query). */
%typemap(in) (float* buffer, size_t capacity, size_t* count) (size_t count = 0) %{
  $1 = 0;
  $2 = 0;
  $3 = &count;
  if ($input != Py_None) {
    size_t n = PyLong_AsSize_t($input);
    if (PyErr_Occurred()) SWIG_fail;
    $1 = (float*)calloc(n ? n : 1, sizeof(float));
    if (!$1) {
      PyErr_NoMemory();
      SWIG_fail;
    }
    $2 = n;
  }
%}
%typemap(argout) (float* buffer, size_t capacity, size_t* count) %{
  if ($1) {
    PyObject* list = PyList_New((Py_ssize_t)*$3);
    if (!list) SWIG_fail;
    for (size_t i = 0; i < *$3; ++i) PyList_SET_ITEM(list, (Py_ssize_t)i, PyFloat_FromDouble($1[i]));
    $result = SWIG_Python_AppendOutput($result, list);
  } else {
    $result = SWIG_Python_AppendOutput($result, PyLong_FromSize_t(*$3));
  }
%}
%typemap(freearg) (float* buffer, size_t capacity, size_t* count) %{ free($1); %}

/* Progress callbacks: a callable (epoch, step, steps_per_epoch, loss, accuracy) -> stop, or None. */
%typemap(in) (adarts_progress_fn progress, void* user) %{
  $1 = 0;
  $2 = 0;
  if ($input != Py_None) {
    if (!PyCallable_Check($input)) {
      PyErr_SetString(PyExc_TypeError, "progress must be callable or None");
      SWIG_fail;
    }
    $1 = adarts_python_progress;
    $2 = (void*)$input; /* borrowed: the caller's reference outlives the call */
  }
%}

%nothread adarts_error_class; /* these touch Python objects: they keep the GIL */
%nothread adarts_set_status_type;
%inline %{
/* The exception class (for the adarts package to re-export). */
static PyObject* adarts_error_class(void) {
  Py_XINCREF(adarts_python_error);
  return adarts_python_error;
}

/* The type AdartsError.status is made of (adarts.Status), called with the code. */
static void adarts_set_status_type(PyObject* type) {
  Py_XINCREF(type);
  Py_XDECREF(adarts_python_status_type);
  adarts_python_status_type = type;
}
%}


#endif

/* The version header first: SWIG does not follow adarts.h's #include. */
%include "adarts/adarts_version.h"
%include "adarts/adarts.h"

#if defined(SWIGPYTHON)
/* Refuse to load against a library of another major version (after the wrappers). */
%pythoncode %{
AdartsError = adarts_error_class()

def _check_abi():
    major, minor, patch = adarts_version()
    if major != ADARTS_VERSION_MAJOR:
        raise ImportError(
            "adarts: the loaded native library is version %d.%d.%d, this binding was generated for ABI major %d"
            % (major, minor, patch, ADARTS_VERSION_MAJOR))

_check_abi()
%}
#endif
