"""adarts: differentiable architecture search (DARTS with the amended gradient) from Python.

A thin, idiomatic layer over the C ABI (libadarts, wrapped by SWIG as
``adarts.native``). Each of :class:`Dataset`, :class:`Search`,
:class:`Genotype` and :class:`Trainer` owns one C handle: use it as a context
manager or call ``close()`` (idempotent); an unclosed object is freed when it
is garbage collected. Using an object after ``close()`` raises ``ValueError``.
A failing call raises :class:`AdartsError` with the library's message and
``.status`` (a :class:`Status` value).

Configs, specs and results are JSON documents in the C ABI; here they are
dicts (strings are accepted too).

Example::

    import adarts
    with adarts.Dataset.synthetic(size=64, channels=1, height=8, width=8) as data, \\
         adarts.Search({"channels": 4, "layers": 2, "batch_size": 8, "epochs": 1}, data) as search:
        search.run_epoch(lambda p: print(p))
        print(search.genotype().to_json())
"""

import enum
import json
import os
import threading
from typing import Callable, List, NamedTuple, Optional, Tuple, Union

from . import native
from . import _native as _c  # the C extension (its functions outlive native.py at shutdown)

__all__ = [
    "ABI_MAJOR", "AdartsError", "Status", "Progress", "MetricsListener", "Dataset", "Search", "Genotype", "Trainer",
    "version", "version_string", "build_info",
]

#: The ABI major version this binding was generated against (ADARTS_VERSION_MAJOR).
ABI_MAJOR = native.ADARTS_VERSION_MAJOR

#: Raised when a call into the library fails; ``.status`` and ``.message``.
AdartsError = native.AdartsError


class Status(enum.IntEnum):
    """The adarts_status codes of the C ABI."""
    OK = native.ADARTS_OK
    INVALID_ARGUMENT = native.ADARTS_INVALID_ARGUMENT
    PARSE_ERROR = native.ADARTS_PARSE_ERROR
    IO_ERROR = native.ADARTS_IO_ERROR
    UNSUPPORTED = native.ADARTS_UNSUPPORTED
    CANCELLED = native.ADARTS_CANCELLED
    OUT_OF_MEMORY = native.ADARTS_OUT_OF_MEMORY
    INTERNAL = native.ADARTS_INTERNAL
    NUMERICAL_ERROR = native.ADARTS_NUMERICAL_ERROR
    COMMUNICATION_ERROR = native.ADARTS_COMMUNICATION_ERROR


native.adarts_set_status_type(Status)  # AdartsError.status is a Status


class Progress(NamedTuple):
    """Passed to a progress callback after every step of ``run_epoch``."""
    epoch: int            #: 0-based
    step: int             #: 1-based within the epoch
    steps_per_epoch: int
    loss: float           #: the epoch's running mean
    accuracy: float       #: the epoch's running mean


#: A progress callback: return a true value to stop after this step (None goes on).
ProgressCallback = Callable[[Progress], Optional[bool]]

JsonLike = Union[str, dict, None]


def version() -> Tuple[int, int, int]:
    """(major, minor, patch) of the loaded native library."""
    major, minor, patch = native.adarts_version()
    return major, minor, patch


def version_string() -> str:
    return native.adarts_version_string()


def build_info() -> dict:
    """{"version", "abi_major", "torch_version", "cuda_available", "cuda_devices", "threads"}."""
    return json.loads(native.adarts_build_info())


def _json_text(value: JsonLike) -> Optional[str]:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value)


def _path(path) -> str:
    return os.fspath(path)


def _native_progress(callback: Optional[ProgressCallback]):
    if callback is None:
        return None
    if not callable(callback):
        raise TypeError("progress must be callable or None")

    def call(epoch, step, steps_per_epoch, loss, accuracy):
        return callback(Progress(epoch, step, steps_per_epoch, loss, accuracy))
    return call


class _Handle:
    """Owns one C handle, freed once by close() or on garbage collection."""

    _free = None  # the C extension's adarts_X_free

    def __init__(self, pointer):
        self._lock = threading.Lock()
        self._pointer = pointer

    @property
    def _h(self):
        pointer = self._pointer
        if pointer is None:
            raise ValueError("%s is closed" % type(self).__name__)
        return pointer

    @property
    def closed(self) -> bool:
        return getattr(self, "_pointer", None) is None

    def close(self) -> None:
        """Frees the C object; later calls do nothing."""
        lock = getattr(self, "_lock", None)
        if lock is None:  # __init__ did not finish
            return
        with lock:
            pointer, self._pointer = self._pointer, None
        if pointer is not None:
            type(self)._free(pointer)

    def __enter__(self):
        self._h  # raises when closed
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


#: A metrics listener: called with each ended epoch's metrics (the dict of its metrics.jsonl line).
MetricsListener = Callable[[dict], None]


def _set_metrics_listener(owner: "_Handle", set_listener, listener: Optional[MetricsListener]) -> None:
    if listener is not None and not callable(listener):
        raise TypeError("the metrics listener must be callable or None")
    call = None if listener is None else (lambda line: listener(json.loads(line)))
    set_listener(owner._h, call)
    owner._metrics_listener = call  # the C side holds a borrowed pointer to it


def _run_epoch(run, handle, progress) -> bool:
    try:
        run(handle, _native_progress(progress))
        return True
    except AdartsError as e:
        if e.status == Status.CANCELLED:
            return False
        raise


class Dataset(_Handle):
    """A data set (adarts_dataset_open); searches and trainers copy it."""

    _free = staticmethod(_c.adarts_dataset_free)

    @classmethod
    def open(cls, spec: JsonLike) -> "Dataset":
        """From a spec, e.g. {"kind": "idx", "dir": "/usr/share/datasets/fashion-mnist", "train": True},
        {"kind": "cifar10", "dir": ...} or {"kind": "synthetic", "size": 256, ...}."""
        return cls(native.adarts_dataset_open(_json_text(spec)))

    @classmethod
    def synthetic(cls, size: int = 256, channels: int = 3, height: int = 16, width: int = 16,
                  classes: int = 10, seed: int = 1) -> "Dataset":
        return cls.open({"kind": "synthetic", "size": size, "channels": channels, "height": height,
                         "width": width, "classes": classes, "seed": seed})

    @classmethod
    def from_memory(cls, images, labels, classes: int, shape: Optional[Tuple[int, int, int, int]] = None,
                    scale: Optional[float] = None) -> "Dataset":
        """Images and labels held in memory, copied (adarts_dataset_from_memory).

        `images`: any C-contiguous object with the buffer protocol (a numpy array,
        ``array.array``, ``memoryview``, ``bytes``) of float32 pixels, or of uint8 values
        whose pixels are value * `scale` (default 1/255); read in place, never through
        Python lists. `shape` is (count, channels, height, width), taken from `images`
        when it is 4-D. `labels`: int64 values in [0, classes), one per image (numpy
        int64, ``array.array("q")``). Float pixels that are exactly bytes / 255 are
        stored as bytes and give the same search as the images read from files."""
        if shape is None:
            with memoryview(images) as view:
                shape = view.shape
            if len(shape) != 4:
                raise ValueError("images are %d-dimensional: give shape=(count, channels, height, width)" % len(shape))
        count, channels, height, width = (int(n) for n in shape)
        return cls(native.adarts_python_dataset_from_buffers(images, labels, count, channels, height, width,
                                                             int(classes), scale))

    def info(self) -> dict:
        """{"name", "size", "channels", "height", "width", "classes"}."""
        return json.loads(native.adarts_dataset_info(self._h))


class Genotype(_Handle):
    """A cell architecture (normal and reduction cells)."""

    _free = staticmethod(_c.adarts_genotype_free)

    @classmethod
    def from_json(cls, document: JsonLike) -> "Genotype":
        """From the versioned genotype JSON (schemas/genotype.schema.json), text or dict."""
        return cls(native.adarts_genotype_from_json(_json_text(document)))

    @classmethod
    def from_darts_text(cls, text: str) -> "Genotype":
        """From the DARTS text form: Genotype(normal=[('sep_conv_3x3', 0), ...], ...)."""
        return cls(native.adarts_genotype_from_darts_text(text))

    def to_json(self) -> str:
        return native.adarts_genotype_to_json(self._h)

    def to_dict(self) -> dict:
        return json.loads(self.to_json())

    def to_darts_text(self) -> str:
        return native.adarts_genotype_to_darts_text(self._h)

    def to_dot(self, cell: str = "normal") -> str:
        """Graphviz DOT of one cell, "normal" or "reduce"."""
        return native.adarts_genotype_to_dot(self._h, cell)

    def parameter_count(self, network: JsonLike = None) -> int:
        """Parameters of the network built from this genotype; `network` sets {"in_channels",
        "num_classes", "channels", "layers", "auxiliary", "imagenet"} (None: DARTS CIFAR)."""
        return native.adarts_genotype_parameter_count(self._h, _json_text(network))

    def __str__(self) -> str:
        return "Genotype(closed)" if self.closed else self.to_darts_text()

    def __repr__(self) -> str:
        return "<adarts.Genotype %s>" % self


class Search(_Handle):
    """An architecture search (adarts_search). Drive it with step() or run_epoch();
    cancel() is safe from any thread. The GIL is released while it computes."""

    _free = staticmethod(_c.adarts_search_free)

    def __init__(self, config: JsonLike = None, dataset: Optional[Dataset] = None):
        """`config`: the `adarts search` config keys (missing keys take the paper's defaults).
        With `dataset` the search runs on a copy of it, else on the config's data set."""
        pointer = native.adarts_search_create(_json_text(config if config is not None else {}),
                                              dataset._h if dataset is not None else None)
        super().__init__(pointer)

    @classmethod
    def resume(cls, out_dir: str, overrides: JsonLike = None, dataset: Optional[Dataset] = None) -> "Search":
        """Continues the run in `out_dir` from its newest checkpoint. `overrides` may change only
        threads, log_every, checkpoint_every, checkpoint_keep and device; `dataset` must be the
        data the run started on (None: the config's)."""
        search = cls.__new__(cls)
        pointer = native.adarts_search_resume(out_dir, _json_text(overrides) if overrides is not None else None,
                                              dataset._h if dataset is not None else None)
        _Handle.__init__(search, pointer)
        return search

    def save_checkpoint(self) -> str:
        """Writes a checkpoint of the whole state into out_dir/checkpoints; returns its path."""
        return native.adarts_search_save_checkpoint(self._h)

    def step(self, steps: int = 1) -> None:
        """Runs `steps` search steps; an epoch's last step ends it."""
        native.adarts_search_step(self._h, steps)

    def run_epoch(self, progress: Optional[ProgressCallback] = None) -> bool:
        """Runs the rest of the current epoch and ends it. Returns False when the callback or
        cancel() stopped it (the epoch stays open: call again to go on). An exception raised
        by the callback stops the epoch and propagates."""
        return _run_epoch(native.adarts_search_run_epoch, self._h, progress)

    def set_metrics_listener(self, listener: Optional[MetricsListener]) -> None:
        """Calls `listener` with each ended epoch's metrics (a dict, the metrics.jsonl line) from
        now on, on the thread of the step() or run_epoch() that ended the epoch; None removes it.
        An exception it raises propagates from that call, once the epoch is complete."""
        _set_metrics_listener(self, native.adarts_search_set_metrics_listener, listener)

    def cancel(self) -> None:
        """Asks a running run_epoch to stop after its current step. Safe from any thread."""
        with self._lock:
            native.adarts_search_cancel(self._h)

    def state(self) -> dict:
        """{"epoch", "step_in_epoch", "steps_per_epoch", "epochs", "weight_lr"}."""
        return json.loads(native.adarts_search_state(self._h))

    def metrics(self) -> dict:
        """The metrics of the last ended epoch ({} before the first one ends)."""
        return json.loads(native.adarts_search_metrics(self._h))

    def alphas(self, cell: str = "normal") -> List[float]:
        """The raw alphas of "normal" or "reduce", row-major [edges][ops]."""
        count = native.adarts_search_alphas(self._h, cell, None)  # the size query
        return native.adarts_search_alphas(self._h, cell, count)

    def cell_count(self) -> int:
        """Cells with their own alpha set: the cell count of a per-cell space (s2), 0 for shared spaces."""
        return native.adarts_search_cell_count(self._h)

    def cell_alphas(self, index: int) -> List[float]:
        """The raw alphas of cell `index` of a per-cell space (s2), row-major [edges][ops]."""
        count = native.adarts_search_cell_alphas(self._h, index, None)  # the size query
        return native.adarts_search_cell_alphas(self._h, index, count)

    def genotype(self) -> Genotype:
        """The genotype derived from the current alphas."""
        return Genotype(native.adarts_search_genotype(self._h))


class Trainer(_Handle):
    """Re-trains a genotype's evaluation network from scratch (adarts_trainer)."""

    _free = staticmethod(_c.adarts_trainer_free)

    def __init__(self, genotype: Genotype, config: JsonLike = None, train: Optional[Dataset] = None, *,
                 _pointer=None):
        """`config`: the `adarts train` config keys. With `train` it trains on a copy of it."""
        if _pointer is None:
            _pointer = native.adarts_trainer_create(genotype._h, _json_text(config if config is not None else {}),
                                                    train._h if train is not None else None)
        super().__init__(_pointer)

    @classmethod
    def load(cls, path, device: Optional[str] = None) -> "Trainer":
        """A model written by save(); it evaluates and saves but cannot train."""
        return cls(None, _pointer=native.adarts_trainer_load(_path(path), device))

    @classmethod
    def resume(cls, out_dir, overrides: JsonLike = None, train: Optional[Dataset] = None) -> "Trainer":
        """Continues the training run in `out_dir` from its newest checkpoint, with the run's
        genotype. `overrides` may change only threads, log_every, checkpoint_every,
        checkpoint_keep and device; `train` must be the data the run trained on (None: the config's)."""
        return cls(None, _pointer=native.adarts_trainer_resume(
            _path(out_dir), _json_text(overrides) if overrides is not None else None,
            train._h if train is not None else None))

    def save_checkpoint(self) -> str:
        """Writes a checkpoint of the whole training state into out_dir/checkpoints; returns its path."""
        return native.adarts_trainer_save_checkpoint(self._h)

    def run_epoch(self, progress: Optional[ProgressCallback] = None) -> bool:
        """One training epoch; False when the callback or cancel() stopped it."""
        return _run_epoch(native.adarts_trainer_run_epoch, self._h, progress)

    def set_metrics_listener(self, listener: Optional[MetricsListener]) -> None:
        """Calls `listener` with each ended training epoch's metrics (a dict), as Search's."""
        _set_metrics_listener(self, native.adarts_trainer_set_metrics_listener, listener)

    def cancel(self) -> None:
        """Asks a running run_epoch to stop after its current step. Safe from any thread."""
        with self._lock:
            native.adarts_trainer_cancel(self._h)

    def evaluate(self, data: Optional[Dataset] = None) -> dict:
        """{"loss", "top1", "top5", "samples"} on `data`, or on the config's test set."""
        return json.loads(native.adarts_trainer_evaluate(self._h, data._h if data is not None else None))

    def save(self, path) -> None:
        """Weights, genotype and config in one file, written atomically."""
        native.adarts_trainer_save(self._h, _path(path))

    def export_pytorch(self, path) -> None:
        """The network as a PyTorch state dict with the original DARTS module names (torch.load reads it)."""
        native.adarts_trainer_export_pytorch(self._h, _path(path))

    def genotype(self) -> Genotype:
        return Genotype(native.adarts_trainer_genotype(self._h))
