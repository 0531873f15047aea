/*
 * adarts_csharp.i -- the C# binding's SWIG interface: the common part
 * (bindings/adarts.i), the C# typemaps and helpers, then the C API.
 */
%include "adarts.i"

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

/* In-memory datasets: the public Dataset.FromMemory pins managed memory and
 * passes its addresses to adarts_csharp_dataset_from_memory (below: SWIG
 * takes int64_t for long long, which int64_t* is not here). */
%ignore adarts_dataset_from_memory;
%typemap(ctype) const void* images, const void* labels "void*"
%typemap(imtype) const void* images, const void* labels "global::System.IntPtr"
%typemap(cstype) const void* images, const void* labels "global::System.IntPtr"
%typemap(csin) const void* images, const void* labels "$csinput"
%typemap(in) const void* images, const void* labels %{ $1 = $input; %}
%inline %{
static adarts_status adarts_csharp_dataset_from_memory(const void* images, adarts_pixel_type pixel_type, double scale,
                                                       int64_t count, int64_t channels, int64_t height, int64_t width,
                                                       const void* labels, int64_t classes, adarts_dataset** out) {
  return adarts_dataset_from_memory(images, pixel_type, scale, count, channels, height, width,
                                    (const int64_t*)labels, classes, out);
}
%}

/* Metrics listeners: a MetricsDelegate the owner (Search, Trainer) keeps alive
 * while it is set (MetricsTrampoline below), or null. */
%typemap(ctype) (adarts_metrics_fn listener, void* user) "adarts_metrics_fn"
%typemap(imtype) (adarts_metrics_fn listener, void* user) "AdartsNativePINVOKE.MetricsDelegate"
%typemap(cstype) (adarts_metrics_fn listener, void* user) "AdartsNativePINVOKE.MetricsDelegate"
%typemap(csin) (adarts_metrics_fn listener, void* user) "$csinput"
%typemap(in) (adarts_metrics_fn listener, void* user) %{
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

  [global::System.Runtime.InteropServices.UnmanagedFunctionPointer(global::System.Runtime.InteropServices.CallingConvention.Cdecl)]
  internal delegate void MetricsDelegate(global::System.IntPtr user, global::System.IntPtr line);
  // Calls the handler with the line (UTF-8 in the native string); an
  // exception is kept and thrown after the native call that ended the epoch
  // returns (later lines of that call are not delivered).
  internal sealed class MetricsTrampoline {
    readonly Adarts.MetricsHandler handler;
    MetricsTrampoline(Adarts.MetricsHandler handler) { this.handler = handler; }
    internal static MetricsDelegate Wrap(Adarts.MetricsHandler handler) {
      return handler == null ? null : new MetricsDelegate(new MetricsTrampoline(handler).Call);
    }
    void Call(global::System.IntPtr user, global::System.IntPtr line) {
      if (Pending.IsPending) return;
      try {
        int n = 0;
        while (global::System.Runtime.InteropServices.Marshal.ReadByte(line, n) != 0) ++n;
        var bytes = new byte[n];
        global::System.Runtime.InteropServices.Marshal.Copy(line, bytes, 0, n);
        handler(global::System.Text.Encoding.UTF8.GetString(bytes));
      } catch (global::System.Exception e) {
        Pending.Set(e);
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

/* The C API itself, wrapped with the typemaps above (the version header first:
 * SWIG does not follow adarts.h's #include). */
%include "adarts/adarts_version.h"
%include "adarts/adarts.h"
