/*
 * adarts_python.i -- the Python binding's SWIG interface: the common part
 * (bindings/adarts.i), the Python typemaps and helpers, then the C API.
 */
%include "adarts.i"

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

%{
/* The metrics trampoline: calls the Python callable (user) with the line (a
 * str), holding the GIL. An exception is caught and kept, raised again when
 * the C call that ended the epoch returns; later lines of that call are not
 * delivered. */
static void adarts_python_metrics(void* user, const char* line) {
  PyGILState_STATE gil = PyGILState_Ensure();
  if (!adarts_pending_type) {
    PyObject* result = PyObject_CallFunction((PyObject*)user, "s", line);
    if (result) {
      Py_DECREF(result);
    } else {
      PyErr_Fetch(&adarts_pending_type, &adarts_pending_value, &adarts_pending_traceback);
      if (!adarts_pending_type) {
        Py_INCREF(PyExc_SystemError);
        adarts_pending_type = PyExc_SystemError;
      }
    }
  }
  PyGILState_Release(gil);
}

/* The single-character struct code of a buffer's items ('B', 'f', 'q', ...),
 * or 0 for a byte order that is not this machine's. */
static char adarts_python_item_code(const Py_buffer* b) {
  const char* f = b->format ? b->format : "B";
  if (*f == '@' || *f == '=') ++f;
#if PY_LITTLE_ENDIAN
  else if (*f == '<') ++f;
#else
  else if (*f == '>' || *f == '!') ++f;
#endif
  return (f[0] != 0 && f[1] == 0) ? f[0] : 0;
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

/* Metrics listeners: a callable taking the line (a str), or None. The caller
 * (adarts.Search / adarts.Trainer) keeps a reference while it is set. */
%typemap(in) (adarts_metrics_fn listener, void* user) %{
  $1 = 0;
  $2 = 0;
  if ($input != Py_None) {
    if (!PyCallable_Check($input)) {
      PyErr_SetString(PyExc_TypeError, "the metrics listener must be callable or None");
      SWIG_fail;
    }
    $1 = adarts_python_metrics;
    $2 = (void*)$input;
  }
%}

/* In-memory datasets come through adarts_python_dataset_from_buffers (below). */
%ignore adarts_dataset_from_memory;

%nothread adarts_python_dataset_from_buffers;
%nothread adarts_error_class; /* these touch Python objects: they keep the GIL */
%nothread adarts_set_status_type;
%inline %{
/* The exception class (for the adarts package to re-export). */
static PyObject* adarts_error_class(void) {
  Py_XINCREF(adarts_python_error);
  return adarts_python_error;
}

/* adarts_dataset_from_memory on two objects with the buffer protocol (numpy
 * arrays, array.array, memoryview, bytes, ...), read in place: `images`
 * C-contiguous float32 ('f') or uint8 ('B') values, count x channels x height
 * x width of them; `labels` C-contiguous int64, `count` of them. `scale` None:
 * 1 for float32, 1/255 for uint8. Keeps the GIL: the buffers cannot change
 * while the library copies them. Returns the dataset handle. */
static PyObject* adarts_python_dataset_from_buffers(PyObject* images, PyObject* labels, long long count,
                                                    long long channels, long long height, long long width,
                                                    long long classes, PyObject* scale) {
  Py_buffer ib, lb;
  PyObject* result = 0;
  long long pixels = 0;
  if (PyObject_GetBuffer(images, &ib, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) != 0) return 0;
  if (PyObject_GetBuffer(labels, &lb, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) != 0) {
    PyBuffer_Release(&ib);
    return 0;
  }
  const char icode = adarts_python_item_code(&ib), lcode = adarts_python_item_code(&lb);
  const int bytes = icode == 'B' && ib.itemsize == 1;
  adarts_dataset* dataset = 0;
  adarts_status status = ADARTS_OK;
  double s = bytes ? 1.0 / 255.0 : 1.0;
  if (!bytes && !(icode == 'f' && ib.itemsize == 4)) {
    PyErr_Format(PyExc_TypeError, "images must hold float32 ('f') or uint8 ('B') values, not '%s' of %zd bytes",
                 ib.format ? ib.format : "B", ib.itemsize);
  } else if (!((lcode == 'q' || lcode == 'l') && lb.itemsize == 8)) {
    PyErr_Format(PyExc_TypeError, "labels must hold int64 values ('q'), not '%s' of %zd bytes",
                 lb.format ? lb.format : "B", lb.itemsize);
  } else if (count < 1 || channels < 1 || height < 1 || width < 1 ||
             __builtin_mul_overflow(count, channels, &pixels) || __builtin_mul_overflow(pixels, height, &pixels) ||
             __builtin_mul_overflow(pixels, width, &pixels) || pixels != (long long)(ib.len / ib.itemsize)) {
    PyErr_Format(PyExc_ValueError, "images hold %zd values; a shape of (%lld, %lld, %lld, %lld) needs their product",
                 ib.len / ib.itemsize, count, channels, height, width);
  } else if (count != (long long)(lb.len / lb.itemsize)) {
    PyErr_Format(PyExc_ValueError, "%zd labels for %lld images", lb.len / lb.itemsize, count);
  } else if (scale != Py_None && (s = PyFloat_AsDouble(scale), PyErr_Occurred())) {
    /* TypeError from PyFloat_AsDouble */
  } else {
    status = adarts_dataset_from_memory(ib.buf, bytes ? ADARTS_PIXELS_UINT8 : ADARTS_PIXELS_FLOAT32, s, count,
                                        channels, height, width, (const int64_t*)lb.buf, classes, &dataset);
    if (adarts_python_check(status)) result = SWIG_NewPointerObj((void*)dataset, SWIGTYPE_p_adarts_dataset, 0);
  }
  PyBuffer_Release(&lb);
  PyBuffer_Release(&ib);
  return result;
}

/* The type AdartsError.status is made of (adarts.Status), called with the code. */
static void adarts_set_status_type(PyObject* type) {
  Py_XINCREF(type);
  Py_XDECREF(adarts_python_status_type);
  adarts_python_status_type = type;
}
%}

/* The C API itself, wrapped with the typemaps above (the version header first:
 * SWIG does not follow adarts.h's #include). */
%include "adarts/adarts_version.h"
%include "adarts/adarts.h"

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
