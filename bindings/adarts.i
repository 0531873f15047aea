/*
 * adarts.i -- the part of the Java, C# and Python bindings' SWIG interfaces
 * that they share. Each language's interface (bindings/java/adarts_java.i,
 * bindings/csharp/adarts_csharp.i, bindings/python/adarts_python.i) includes
 * it first, adds its typemaps, then wraps the C header.
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

/* Released inside the bindings, or read by the status typemap. */
%ignore adarts_string_free;
%ignore adarts_last_error;

%apply int* OUTPUT { int* major, int* minor, int* patch };
%apply long long* OUTPUT { int64_t* out };
