r"""Safe model files: the architecture as JSON, the weights as ``.npz``, in one zip archive.

A model file (模型文件) holds everything needed to run a trained network somewhere else:

* ``model.json`` – the graph (which layers, in which order, with which constructor
  arguments), the input shape of one sample, the pre-processing (预处理) the network was
  trained with (mean / std), the class names, free metadata, a format name and version,
  and a SHA-256 checksum of every weight array;
* ``weights.npz`` – one ``.npy`` array per parameter, named like the keys of PyTorch's
  ``state_dict`` for the same ``nn.Sequential`` (``0.weight``, ``0.bias``, ``3.weight``, …).

The file is a plain zip archive: ``unzip -l lenet5.educnn`` lists both members, and
``model.json`` can be read in any text editor.

Why not ``pickle``? Un-pickling runs code chosen by whoever wrote the file. Loading here
reads JSON and raw numbers only (``np.load(..., allow_pickle=False)``) and builds layers
from a fixed list of known classes, so a model file from a stranger is safe to open; a
file asking for any other layer type is rejected. What a file may make us allocate is
bounded by one :class:`Budget`, checked from ``model.json`` before any layer is built or
any weight read (total weight bytes, total parameters, each layer's size arguments against
the weights it lists, the largest activation for the declared input shape); only a regular
file is opened (a FIFO or ``/dev/zero`` is refused at once); NaN or infinite weights are
refused naming the layer.

What the checksums inside a file do **not** give: authenticity. Whoever edits a weight can
recompute its SHA-256 in ``model.json``; they catch corruption and naive edits only. To
know a file is the one its author published, compare the whole file with a SHA-256
published elsewhere: ``load(path, sha256="…")`` (``--sha256`` on the command line).

Public API
----------
``save(model, path, *, input_shape=None, mean=None, std=None, class_names=None, metadata=None)``
    Write atomically: a temporary file in the same folder, ``fsync``, then ``os.replace``.
    A crash half-way leaves the previous file untouched (and the next save removes the
    crashed one's temporary file); the mode of a replaced file is kept.
``load(path, *, sha256=None, budget=None) -> model``
    Return the model itself (in evaluation mode) with four attributes added:
    ``model.input_shape`` (tuple or ``None``), ``model.preprocessing``
    (:class:`Preprocessing` or ``None``), ``model.class_names`` (list or ``None``) and
    ``model.metadata`` (dict). Saving a loaded model again keeps them.
``read_header(path) -> dict``
    The checked ``model.json`` without building the model (what ``python -m edu_cnn info``
    shows).

Every problem with a file raises :class:`ModelFileError` (a ``ValueError``) whose message
says what is wrong: not a model file, truncated or corrupted, wrong format version,
unknown layer type, missing / extra / wrongly shaped weights, or a checksum that does not
match. Nothing is half-loaded: the model is returned only when every check passed.
"""

from __future__ import annotations

import hashlib
import inspect
import io
import json
import math
import os
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from .layer import Layer, registered_layers
from .safefile import atomic_write, read_regular_file
from .shapes import positive_int

FORMAT_NAME = "edu-cnn-model"
FORMAT_VERSION = 1
SUFFIX = ".educnn"
MODEL_JSON = "model.json"
WEIGHTS_NPZ = "weights.npz"
MAX_JSON_BYTES = 1 << 20  # a model description larger than 1 MB is not ours
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed timestamps: the same model gives the same bytes


class ModelFileError(ValueError):
    """A model file cannot be saved or loaded; the message says why."""


# -- the registry of layer types ------------------------------------------------------------
_extra_types: dict[str, type[Layer]] = {}


def register_layer(cls: type[Layer]) -> type[Layer]:
    """Allow model files to name ``cls`` (for a layer class defined outside ``edu_cnn``).

    Usable as a class decorator. Only register classes you trust: loading a file will
    call their constructor with the arguments stored in it.
    """
    if not (inspect.isclass(cls) and issubclass(cls, Layer)):
        raise ValueError(f"register_layer: expected a Layer subclass, got {cls!r}")
    _extra_types[cls.__name__] = cls
    return cls


def layer_types() -> dict[str, type[Layer]]:
    """Every layer class a model file may name, by class name (``{"Conv2d": Conv2d, …}``):
    edu_cnn's own (they register themselves, :func:`edu_cnn.layer.registered_layers`) and
    those added with :func:`register_layer`.
    """
    found = registered_layers()
    found.update(_extra_types)
    return found


# -- pre-processing ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Preprocessing:
    r"""The pre-processing contract: pixels scaled to [0, 1], then :math:`(x - \mu)/\sigma`.

    ``mean`` and ``std`` are one number (all channels) or one number per channel.
    """

    mean: float | tuple[float, ...]
    std: float | tuple[float, ...]

    def __post_init__(self) -> None:
        for name in ("mean", "std"):
            value = getattr(self, name)
            values = value if isinstance(value, tuple) else (value,)
            if not values or not all(
                isinstance(v, (int, float)) and math.isfinite(v) for v in values
            ):
                raise ModelFileError(
                    f"Preprocessing: {name} must be a finite number or a "
                    f"list of them, got {value!r}"
                )
        stds = self.std if isinstance(self.std, tuple) else (self.std,)
        if any(s <= 0 for s in stds):
            raise ModelFileError(f"Preprocessing: std must be positive, got {self.std!r}")

    @classmethod
    def from_values(cls, mean: Any, std: Any) -> Preprocessing:
        """Build from numbers, lists or arrays (what ``save`` accepts)."""
        return cls(_number_or_tuple(mean, "mean"), _number_or_tuple(std, "std"))

    def apply(self, x: np.ndarray) -> np.ndarray:
        """``(x - mean) / std`` for a batch (N, C, …) with pixels already in [0, 1].

        One number uses :func:`edu_cnn.preprocess.normalize`; per-channel statistics are
        broadcast over axis 1.
        """
        from .preprocess import normalize

        if not isinstance(self.mean, tuple) and not isinstance(self.std, tuple):
            return normalize(x, self.mean, self.std)
        x = np.asarray(x, dtype=np.float32)
        shape = (1, -1) + (1,) * (x.ndim - 2)
        mean = np.asarray(self.mean, np.float32).reshape(shape)
        std = np.asarray(self.std, np.float32).reshape(shape)
        return (x - mean) / std

    def to_json(self) -> dict[str, Any]:
        def plain(v: float | tuple[float, ...]) -> float | list[float]:
            return list(v) if isinstance(v, tuple) else v

        return {"pixel_range": [0.0, 1.0], "mean": plain(self.mean), "std": plain(self.std)}


def _number_or_tuple(value: Any, name: str) -> float | tuple[float, ...]:
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ModelFileError(
            f"Preprocessing: {name} must be a number or a list of numbers, got {value!r}"
        ) from None
    if array.ndim == 0:
        return float(array)
    if array.ndim == 1:
        return tuple(float(v) for v in array)
    raise ModelFileError(
        f"Preprocessing: {name} must be a number or a list of numbers, "
        f"got an array of shape {array.shape}"
    )


# -- describing a model as JSON ---------------------------------------------------------------
def _children(layer: Layer) -> list[Layer] | None:
    """The sub-layers of a container (``Sequential``), ``None`` for a plain layer."""
    return layer.children() or None


def _json_config(layer: Layer, where: str) -> dict[str, Any]:
    config = layer.config()
    if _children(layer) is not None:  # a container's children are stored separately
        config = {k: v for k, v in config.items() if k != "layers"}
    try:
        return json.loads(json.dumps(config, allow_nan=False))
    except (TypeError, ValueError) as error:
        raise ModelFileError(
            f"save: {where} ({type(layer).__name__}) has a config() that is "
            f"not plain JSON ({error}): {config!r}"
        ) from None


def _describe(
    layer: Layer, prefix: str, weights: dict[str, np.ndarray], known: dict[str, type[Layer]]
) -> dict[str, Any]:
    """JSON description of ``layer`` (recursively); its arrays are added to ``weights``."""
    kind = type(layer).__name__
    where = f"layer {prefix.rstrip('.')}" if prefix else "the model"
    if known.get(kind) is not type(layer):
        raise ModelFileError(
            f"save: {where} is a {kind}, which model files cannot name; "
            f"known layer types: {', '.join(sorted(known))} "
            f"(see edu_cnn.modelfile.register_layer)"
        )
    spec: dict[str, Any] = {"type": kind, "config": _json_config(layer, where)}
    children = _children(layer)
    if children is not None:  # a container's parameters are its children's
        spec["layers"] = [
            _describe(child, f"{prefix}{i}.", weights, known) for i, child in enumerate(children)
        ]
        return spec
    for name, array in layer.state_dict().items():
        if not np.issubdtype(array.dtype, np.floating):
            raise ModelFileError(
                f"save: {prefix}{name} has dtype {array.dtype}; "
                f"model files hold floating-point weights only"
            )
        weights[prefix + name] = np.ascontiguousarray(array)
    return spec


def _array_digest(array: np.ndarray) -> str:
    """SHA-256 of an array's dtype, shape and little-endian bytes."""
    array = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<"))
    h = hashlib.sha256(f"{array.dtype.str}{array.shape}".encode())
    h.update(array.tobytes())
    return h.hexdigest()


def _shape_tuple(value: Any, where: str = "save") -> tuple[int, ...] | None:
    if value is None:
        return None
    try:
        shape = tuple(int(v) for v in value)
    except (TypeError, ValueError, OverflowError):
        shape = ()
    if not shape or len(shape) > 8 or any(v < 1 or v >= 1 << 31 for v in shape):
        raise ModelFileError(
            f"{where}: input_shape must be a tuple of positive ints such as "
            f"(1, 28, 28), got {value!r}"
        )
    return shape


def build_header(
    model: Layer,
    *,
    input_shape: Sequence[int] | None = None,
    mean: Any = None,
    std: Any = None,
    class_names: Sequence[str] | None = None,
    metadata: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The ``model.json`` content and the weight arrays that :func:`save` writes."""
    if not isinstance(model, Layer):
        raise ModelFileError(
            f"save: expected an edu_cnn Layer or Sequential, got {type(model).__name__}"
        )
    weights: dict[str, np.ndarray] = {}
    architecture = _describe(model, "", weights, layer_types())

    # keyword arguments win; otherwise keep what a loaded model carries
    if input_shape is None:
        input_shape = getattr(model, "input_shape", None)
    shape = _shape_tuple(input_shape)
    if (mean is None) != (std is None):
        raise ModelFileError("save: give both mean and std (the pre-processing), or neither")
    if mean is not None:
        preprocessing: Preprocessing | None = Preprocessing.from_values(mean, std)
    else:
        preprocessing = getattr(model, "preprocessing", None)
    if class_names is None:
        class_names = getattr(model, "class_names", None)
    if class_names is not None:
        if isinstance(class_names, str) or not all(isinstance(c, str) for c in class_names):
            raise ModelFileError(
                f"save: class_names must be a list of strings, got {class_names!r}"
            )
        class_names = list(class_names)
    if metadata is None:
        metadata = getattr(model, "metadata", None) or {}
    try:
        metadata = json.loads(json.dumps(dict(metadata), allow_nan=False))
    except (TypeError, ValueError) as error:
        raise ModelFileError(
            f"save: metadata must be plain JSON (str, numbers, lists, dicts): {error}"
        ) from None

    header = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "architecture": architecture,
        "input_shape": list(shape) if shape else None,
        "preprocessing": preprocessing.to_json() if preprocessing else None,
        "class_names": class_names,
        "metadata": metadata,
        "weights": {
            name: {"shape": list(a.shape), "dtype": a.dtype.str, "sha256": _array_digest(a)}
            for name, a in weights.items()
        },
    }
    return header, weights


# -- writing ----------------------------------------------------------------------------------
def _zip_member(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    archive.writestr(info, data)


def _npz_bytes(weights: dict[str, np.ndarray]) -> bytes:
    """An ordinary ``.npz`` (readable by ``np.load``) with fixed timestamps."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as npz:
        for name, array in weights.items():
            member = io.BytesIO()
            np.lib.format.write_array(member, array, allow_pickle=False)
            info = zipfile.ZipInfo(name + ".npy", date_time=_ZIP_DATE)
            info.external_attr = 0o644 << 16
            npz.writestr(info, member.getvalue())
    return buffer.getvalue()


def save(
    model: Layer,
    path: str | os.PathLike[str],
    *,
    input_shape: Sequence[int] | None = None,
    mean: Any = None,
    std: Any = None,
    class_names: Sequence[str] | None = None,
    metadata: dict[str, Any] | None = None,
    budget: Budget | None = None,
) -> Path:
    """Save ``model`` (architecture, weights, pre-processing) to one file, atomically.

    Parameters
    ----------
    model : Layer
        A ``Sequential`` (or any single layer) built from edu_cnn's layer types.
    path : path-like
        Where to write; ``.educnn`` is the suggested suffix (the file is a zip archive).
    input_shape : tuple of int, optional
        The shape of one sample without the batch axis, e.g. ``(1, 28, 28)``.
    mean, std : float or sequence of float, optional
        The normalisation applied to pixels in [0, 1] before the network sees them.
    class_names : sequence of str, optional
        The label of each output, e.g. ``["0", …, "9"]``.
    metadata : dict, optional
        Anything else worth keeping (plain JSON): accuracy, epochs, date, author.
    budget : Budget, optional
        The limits :func:`load` will apply (default :class:`Budget`); a model ``load``
        would refuse is refused here, so ``save`` never writes a file ``load`` rejects.

    Returns
    -------
    Path
        The path written.

    When an argument is ``None`` and ``model`` carries the attribute of the same name
    (a model returned by :func:`load` does), that value is kept. Non-finite weights are
    refused. Re-saving over a file keeps its mode (0644 stays 0644).
    """
    path = Path(path)
    header, weights = build_header(
        model,
        input_shape=input_shape,
        mean=mean,
        std=std,
        class_names=class_names,
        metadata=metadata,
    )
    budget = budget or Budget()
    for name, array in weights.items():
        if not np.isfinite(array).all():
            raise ModelFileError(
                f"save: weight {name} of {_layer_at(model, name)} holds "
                f"NaN or infinite values; a model file holds finite numbers"
            )
    _check_parameter_budget(header, budget, f"save {path}")
    check_activations(model, header["input_shape"], budget, f"save {path}")
    json_bytes = json.dumps(header, indent=2, ensure_ascii=False, allow_nan=False).encode("utf-8")
    with (
        atomic_write(path, "save", error=ModelFileError) as handle,
        zipfile.ZipFile(handle, "w") as archive,
    ):
        _zip_member(archive, MODEL_JSON, json_bytes)
        _zip_member(archive, WEIGHTS_NPZ, _npz_bytes(weights))
    return path


# -- the budget: what a file may make us allocate ---------------------------------------------
@dataclass(frozen=True)
class Budget:
    """The most a model file may make :func:`load` (and a prediction) allocate.

    Checked from ``model.json`` alone, before any layer is built or any weight read:

    * ``max_weight_bytes`` – the bytes of all the weights it lists, together;
    * ``max_parameters`` – the numbers of all the weights it lists, together; each layer's
      own size arguments (``in_features·out_features``, ``in·out·kh·kw``; stride, padding
      and dilation are not sizes) must agree with what it lists;
    * ``max_activation_numbers`` – the largest output of any layer for **one** sample of
      the declared input shape (an ``Upsample(1000)`` after a 28×28 input: 784 M numbers).

    The defaults fit every model of the course thousands of times over (LeNet-5: 61,706
    parameters, 240 KB, largest activation 4,704 numbers); raise them for a larger model
    you trust, e.g. ``load(path, budget=Budget(max_parameters=10**9))`` or the command
    line's ``--max-parameters``.
    """

    max_weight_bytes: int = 1 << 30  # 1 GiB
    max_parameters: int = 1 << 28  # 268 M numbers
    max_activation_numbers: int = 1 << 26  # 67 M numbers (256 MB in float32) per sample

    def __post_init__(self) -> None:
        for name in ("max_weight_bytes", "max_parameters", "max_activation_numbers"):
            positive_int(getattr(self, name), name, "Budget")


_SMALL_LAYER = 1 << 16  # a layer listing no weights may still take small size arguments
#: Constructor arguments that are not sizes of an array the layer allocates.
_NOT_SIZES = frozenset(
    {
        "stride",
        "padding",
        "dilation",
        "output_padding",
        "dim",
        "start_dim",
        "end_dim",
        "groups",
        "scale_factor",
        "size",
        "momentum",
        "eps",
    }
)
MAX_DEPTH = 32  # containers nested deeper than this are not a model anyone trained


def _size_bound(config: dict[str, Any]) -> int:
    """The product of a layer's integer size arguments (each at least 1): an upper bound on
    the numbers its constructor allocates (``in·out`` for Linear, ``in·out·kh·kw`` for a
    convolution) known before the constructor runs. Stride, padding, dilation … are left
    out: they size no array (``Conv2d(512, 1024, 5, stride=2, padding=2)`` is 13.1 M).
    """
    bound = 1
    for key, value in config.items():
        if key in _NOT_SIZES:
            continue
        for v in value if isinstance(value, (tuple, list)) else (value,):
            if isinstance(v, int) and not isinstance(v, bool):
                bound *= max(abs(v), 1)
    return bound


def _listed_numbers(entry: Any, name: str, where: str) -> tuple[int, int]:
    """(numbers, bytes) of one entry of model.json's weight list, checked."""
    if not isinstance(entry, dict):
        raise ModelFileError(f"{where}: {MODEL_JSON} is damaged: weights.{name} is not an object")
    shape, dtype = entry.get("shape"), entry.get("dtype")
    if not (
        isinstance(shape, list)
        and len(shape) <= 8
        and all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 1 << 40 for v in shape)
    ):
        raise ModelFileError(
            f"{where}: {MODEL_JSON} is damaged: weights.{name} has shape "
            f"{shape!r}, not a list of at most 8 sizes"
        )
    try:
        itemsize = np.dtype(dtype).itemsize if isinstance(dtype, str) else 0
        floating = np.dtype(dtype).kind == "f"
    except TypeError:
        itemsize, floating = 0, False
    if not floating:
        raise ModelFileError(
            f"{where}: weight {name} has dtype {dtype!r}; model files hold "
            f"floating-point weights only"
        )
    numbers = math.prod(shape)
    return numbers, numbers * itemsize


def _check_parameter_budget(header: dict[str, Any], budget: Budget, where: str) -> None:
    """Total listed bytes / numbers, and every layer's size arguments against its weights."""
    listed = header["weights"]
    per_prefix: dict[str, int] = {}
    total_numbers = total_bytes = 0
    for name, entry in listed.items():
        numbers, size = _listed_numbers(entry, name, where)
        total_numbers += numbers
        total_bytes += size
        prefix = name.rsplit(".", 1)[0] if "." in name else ""
        per_prefix[prefix] = per_prefix.get(prefix, 0) + numbers
    if total_bytes > budget.max_weight_bytes:
        raise ModelFileError(
            f"{where}: the weights listed in {MODEL_JSON} take "
            f"{total_bytes:,} bytes, more than the budget's "
            f"{budget.max_weight_bytes:,} (raise max_weight_bytes to allow it)"
        )
    if total_numbers > budget.max_parameters:
        raise ModelFileError(
            f"{where}: the model lists {total_numbers:,} parameters, more "
            f"than the budget's {budget.max_parameters:,} (raise "
            f"max_parameters to allow it)"
        )

    def walk(spec: Any, prefix: str, label: str, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise ModelFileError(
                f"{where}: {MODEL_JSON} nests containers more than "
                f"{MAX_DEPTH} deep ({label}); not a model"
            )
        if not isinstance(spec, dict) or not isinstance(spec.get("type"), str):
            raise ModelFileError(f"{where}: {MODEL_JSON} is damaged: {label} has no layer 'type'")
        config = spec.get("config", {})
        if not isinstance(config, dict):
            raise ModelFileError(
                f"{where}: {MODEL_JSON} is damaged: {label} "
                f"({spec['type']}) has a config that is not an object"
            )
        children = spec.get("layers")
        if children is not None:
            if not isinstance(children, list):
                raise ModelFileError(
                    f"{where}: {MODEL_JSON} is damaged: {label}.layers is not a list"
                )
            for i, child in enumerate(children):
                walk(child, f"{prefix}{i}.", f"layer {prefix}{i}", depth + 1)
            return
        bound = _size_bound(config)
        own = per_prefix.get(prefix.rstrip("."), 0)
        if bound > max(own, _SMALL_LAYER):
            raise ModelFileError(
                f"{where}: {label} ({spec['type']}) has size arguments that allocate up to "
                f"{bound:,} numbers, but the file lists {own:,} weights for it; refused "
                f"before building it"
            )

    walk(header["architecture"], "", "the model", 0)


def check_activations(
    model: Layer, input_shape: Sequence[int] | None, budget: Budget, where: str
) -> tuple[int, ...] | None:
    """The output shape of one sample, layer by layer; refuse one too large or a layer that
    cannot take its input. Returns the model's output shape (``None`` without an input
    shape).
    """
    if input_shape is None:
        return None
    shape = tuple(int(v) for v in input_shape)
    if math.prod(shape) > budget.max_activation_numbers:
        raise ModelFileError(
            f"{where}: the input shape {shape} holds {math.prod(shape):,} "
            f"numbers, more than the budget's {budget.max_activation_numbers:,}"
        )
    for prefix, layer in leaf_layers(model):
        label = f"layer {prefix.rstrip('.')}" if prefix else "the model"
        try:
            out = tuple(int(v) for v in layer.output_shape(shape))
        except (ValueError, TypeError, IndexError, ZeroDivisionError) as error:
            raise ModelFileError(
                f"{where}: the input shape {tuple(input_shape)} does not fit "
                f"the layers: {label} ({layer!r}) cannot take {shape}: "
                f"{error}"
            ) from None
        if not out or min(out) < 1:
            raise ModelFileError(
                f"{where}: the input shape {tuple(input_shape)} does not fit "
                f"the layers: {label} ({layer!r}) turns {shape} into {out}"
            )
        if math.prod(out) > budget.max_activation_numbers:
            raise ModelFileError(
                f"{where}: {label} ({layer!r}) turns one sample of {shape} into {out} = "
                f"{math.prod(out):,} numbers, more than the budget's "
                f"{budget.max_activation_numbers:,} (raise max_activation_numbers to allow it)"
            )
        shape = out
    return shape


def _layer_at(model: Layer, key: str) -> str:
    """``"layer 3 (Linear(84→10))"`` for a weight key such as ``3.bias``."""
    prefix = key.rsplit(".", 1)[0] + "." if "." in key else ""
    for p, layer in leaf_layers(model):
        if p == prefix:
            return f"layer {prefix.rstrip('.')} ({layer!r})" if prefix else repr(layer)
    return f"layer {prefix.rstrip('.')}"


# -- reading ----------------------------------------------------------------------------------
def _fail(path: Path, message: str) -> ModelFileError:
    return ModelFileError(f"{path}: {message}")


def _check_members(archive: zipfile.ZipFile, path: Path, what: str) -> None:
    """Refuse duplicate names, encryption and compression methods we do not read."""
    names = archive.namelist()
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise _fail(
            path,
            f"{what} holds the member(s) {duplicates} more than once (tools "
            f"disagree on which copy counts); refused",
        )
    for info in archive.infolist():
        if info.flag_bits & 0x1:
            raise _fail(path, f"{what}: member {info.filename} is encrypted; model files are not")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise _fail(
                path,
                f"{what}: member {info.filename} uses compression method "
                f"{info.compress_type}; model files use 0 (stored) or 8 "
                f"(deflate)",
            )


def _read_member(archive: zipfile.ZipFile, name: str, limit: int, path: Path) -> bytes:
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise _fail(
            path,
            f"not an edu-cnn model file: it has no {name} "
            f"(members: {', '.join(archive.namelist()) or 'none'})",
        ) from None
    if info.file_size > limit:
        raise _fail(
            path,
            f"{name} claims {info.file_size:,} bytes, more than the {limit:,} this model may hold",
        )
    try:
        with archive.open(info) as member:
            data = member.read(limit + 1)
    except (
        zipfile.BadZipFile,
        EOFError,
        OSError,
        ValueError,
        NotImplementedError,
        RuntimeError,
        zlib.error,
    ) as error:
        raise _fail(path, f"the file is corrupted: {name} cannot be read ({error})") from None
    if len(data) > limit:
        raise _fail(path, f"{name} is larger than the {limit:,} bytes this model may hold")
    return data


def _strict_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text} is too large (not finite)")
    return value


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number JSON allows")


def _open_archive(
    path: Path, budget: Budget, sha256: str | None = None
) -> tuple[dict[str, Any], bytes]:
    """The parsed (unchecked) JSON and the raw weights.npz bytes."""
    limit = budget.max_weight_bytes + MAX_JSON_BYTES + (1 << 20)
    try:
        data = read_regular_file(path, limit, "model file")
    except FileNotFoundError:
        raise ModelFileError(f"{path}: no such model file") from None
    except ValueError as error:
        raise ModelFileError(str(error)) from None
    except OSError as error:
        raise ModelFileError(f"{path}: cannot be read ({error.strerror or error})") from None
    if sha256 is not None:
        expected = str(sha256).strip().lower()
        if len(expected) != 64 or any(c not in "0123456789abcdef" for c in expected):
            raise ModelFileError(
                f"{path}: the expected SHA-256 must be 64 hex digits, got {sha256!r}"
            )
        actual = hashlib.sha256(data).hexdigest()
        if actual != expected:
            raise ModelFileError(
                f"{path}: SHA-256 mismatch – expected {expected}, the file "
                f"has {actual}; it is not the file that was published"
            )
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            _check_members(archive, path, "the file")
            json_bytes = _read_member(archive, MODEL_JSON, MAX_JSON_BYTES, path)
            npz_bytes = _read_member(
                archive, WEIGHTS_NPZ, budget.max_weight_bytes + (1 << 20), path
            )
    except zipfile.BadZipFile:
        raise _fail(
            path, "not an edu-cnn model file, or a truncated one: it is not a complete zip archive"
        ) from None
    try:
        header = json.loads(
            json_bytes.decode("utf-8"), parse_float=_strict_float, parse_constant=_refuse_constant
        )
    except (UnicodeDecodeError, json.JSONDecodeError, ValueError) as error:
        raise _fail(path, f"{MODEL_JSON} is not valid JSON ({error})") from None
    except RecursionError:
        raise _fail(path, f"{MODEL_JSON} is nested too deeply to be a model") from None
    return header, npz_bytes


def _check_header(header: Any, path: Path) -> dict[str, Any]:
    if not isinstance(header, dict) or header.get("format") != FORMAT_NAME:
        found = header.get("format") if isinstance(header, dict) else type(header).__name__
        raise _fail(
            path, f"not an edu-cnn model file: format is {found!r}, expected {FORMAT_NAME!r}"
        )
    version = header.get("format_version")
    if version != FORMAT_VERSION:
        raise _fail(
            path,
            f"unsupported format version {version!r}: this edu_cnn reads "
            f"version {FORMAT_VERSION} (saved by a different edu_cnn?)",
        )
    for key, kind in (("architecture", dict), ("weights", dict), ("metadata", dict)):
        if not isinstance(header.get(key), kind):
            raise _fail(
                path,
                f"{MODEL_JSON} is damaged: '{key}' should be a "
                f"{kind.__name__}, got {type(header.get(key)).__name__}",
            )
    return header


def read_header(
    path: str | os.PathLike[str], *, sha256: str | None = None, budget: Budget | None = None
) -> dict[str, Any]:
    """The model description stored in a file, checked for format and version.

    Reads ``model.json`` only; the weights are not checked (use :func:`load`).
    """
    path = Path(path)
    header, _ = _open_archive(path, budget or Budget(), sha256)
    return _check_header(header, path)


def _build(spec: Any, where: str, known: dict[str, type[Layer]], path: Path) -> Layer:
    """A layer from its JSON description, using only registered classes (the spec has
    passed :func:`_check_parameter_budget`).
    """
    kind = spec["type"]
    cls = known.get(kind)
    if cls is None:
        raise _fail(
            path,
            f"unknown layer type {kind!r} at {where}; this edu_cnn knows "
            f"{', '.join(sorted(known))}",
        )
    config = {k: tuple(v) if isinstance(v, list) else v for k, v in spec.get("config", {}).items()}
    if "rng" in config:
        raise _fail(
            path, f"{MODEL_JSON} is damaged: {where} ({kind}) sets 'rng', which is never stored"
        )
    args: list[Layer] = []
    if "layers" in spec:
        args = [
            _build(child, f"layer {i}" if where == "the model" else f"{where}.{i}", known, path)
            for i, child in enumerate(spec["layers"])
        ]
    try:
        if "rng" in inspect.signature(cls).parameters:
            # initial weights are overwritten at once: don't consume edu_cnn's generator
            config["rng"] = np.random.default_rng(0)
        return cls(*args, **config)
    except (
        TypeError,
        ValueError,
        AttributeError,
        KeyError,
        IndexError,
        OverflowError,
        MemoryError,
        RecursionError,
    ) as error:  # what a constructor says about bad arguments
        raise _fail(
            path,
            f"{where} ({kind}) cannot be built from its stored arguments "
            f"{spec.get('config')!r}: {error}",
        ) from None


def leaf_layers(layer: Layer, prefix: str = "") -> Iterator[tuple[str, Layer]]:
    """(key prefix, layer) for every non-container layer: ``("0.", Conv2d…)``, …"""
    children = _children(layer)
    if children is None:
        yield prefix, layer
        return
    for i, child in enumerate(children):
        yield from leaf_layers(child, f"{prefix}{i}.")


def _npy_header(member: BinaryIO, name: str, path: Path) -> tuple[Any, bool, np.dtype]:
    """(shape, fortran order, dtype) from the header of one ``.npy`` member; an object
    dtype (a pickle) is refused here, before anything else is looked at.
    """
    fmt = np.lib.format
    try:
        version = fmt.read_magic(member)
        if version == (1, 0):
            shape, fortran, dtype = fmt.read_array_header_1_0(member)
        elif version in ((2, 0), (3, 0)):
            shape, fortran, dtype = fmt.read_array_header_2_0(member)
        else:
            raise ValueError(f"unknown .npy format version {version}")
    except (
        ValueError,
        OSError,
        EOFError,
        SyntaxError,
        TypeError,
        zlib.error,
        zipfile.BadZipFile,
    ) as error:
        raise _fail(
            path, f"{WEIGHTS_NPZ} is corrupted: the header of {name} cannot be read ({error})"
        ) from None
    if dtype.hasobject:
        raise _fail(
            path,
            "the weights contain a pickled Python object; model files hold "
            "plain numbers only, so it was refused",
        )
    return shape, fortran, dtype


def _read_npy(member: BinaryIO, name: str, entry: dict[str, Any], path: Path) -> np.ndarray:
    """One array of weights.npz, its header checked against model.json before its data
    are read (a header claiming 10¹² numbers costs nothing).
    """
    shape, fortran, dtype = _npy_header(member, name, path)
    if dtype.kind != "f":
        raise _fail(
            path,
            f"weight {name} holds dtype {dtype}; model files hold plain "
            f"floating-point numbers only, so it was refused",
        )
    if list(shape) != entry["shape"]:
        raise _fail(
            path,
            f"weight {name} has shape {tuple(shape)} but {MODEL_JSON} says {tuple(entry['shape'])}",
        )
    if dtype.str.lstrip("<>=|") != str(entry["dtype"]).lstrip("<>=|"):
        raise _fail(path, f"weight {name} has dtype {dtype} but {MODEL_JSON} says {entry['dtype']}")
    nbytes = math.prod(shape) * dtype.itemsize
    try:
        raw = member.read(nbytes)
    except (OSError, EOFError, zlib.error, zipfile.BadZipFile) as error:
        raise _fail(path, f"{WEIGHTS_NPZ} is corrupted: {name} cannot be read ({error})") from None
    if len(raw) != nbytes:
        raise _fail(
            path, f"{WEIGHTS_NPZ} is truncated: {name} has {len(raw):,} of its {nbytes:,} bytes"
        )
    array = np.frombuffer(raw, dtype=dtype).reshape(shape, order="F" if fortran else "C")
    return np.ascontiguousarray(array, dtype=dtype.newbyteorder("="))


def _read_weights(npz_bytes: bytes, header: dict[str, Any], path: Path) -> dict[str, np.ndarray]:
    listed = header["weights"]
    try:
        with zipfile.ZipFile(io.BytesIO(npz_bytes)) as npz:
            _check_members(npz, path, WEIGHTS_NPZ)
            members = {info.filename.removesuffix(".npy"): info for info in npz.infolist()}
            for name, info in members.items():  # a pickle is refused before anything else
                with npz.open(info) as member:
                    _npy_header(member, name, path)
            missing = sorted(set(listed) - set(members))
            extra = sorted(set(members) - set(listed))
            if missing or extra:
                raise _fail(
                    path,
                    f"the weights do not match {MODEL_JSON}: "
                    + "; ".join(
                        filter(
                            None,
                            [missing and f"missing {missing}", extra and f"unexpected {extra}"],
                        )
                    ),
                )
            arrays = {}
            for name, info in members.items():
                with npz.open(info) as member:
                    arrays[name] = _read_npy(member, name, listed[name], path)
    except zipfile.BadZipFile as error:
        raise _fail(path, f"{WEIGHTS_NPZ} is corrupted ({error})") from None
    except (NotImplementedError, RuntimeError, OSError, EOFError, zlib.error) as error:
        raise _fail(path, f"{WEIGHTS_NPZ} cannot be read ({error})") from None
    for name, array in arrays.items():
        if _array_digest(array) != listed[name].get("sha256"):
            raise _fail(
                path,
                f"checksum mismatch for weight {name}: the file was modified "
                f"or corrupted after it was saved",
            )
    return arrays


def load(
    path: str | os.PathLike[str], *, sha256: str | None = None, budget: Budget | None = None
) -> Layer:
    """Load a model saved by :func:`save`, checking everything before building it.

    Parameters
    ----------
    path : path-like
        The model file. Only a regular file is opened (a FIFO or ``/dev/zero`` is refused
        at once).
    sha256 : str, optional
        The SHA-256 (64 hex digits) of the whole file **as published somewhere else** (a
        web page, a signed release note). The checksums inside a file only catch
        corruption: whoever edits the weights can recompute them. A hash obtained through
        another channel is what tells you the file is the one its author published.
    budget : Budget, optional
        How much the file may make us allocate (default :class:`Budget`); checked from
        ``model.json`` before any layer is built or any weight read.

    Returns
    -------
    Layer
        The model in evaluation mode, with ``input_shape``, ``preprocessing``,
        ``class_names`` and ``metadata`` attributes set from the file.

    Raises
    ------
    ModelFileError
        For a missing, truncated, corrupted, tampered, over-budget or wrong-version file,
        an unknown layer type, an input shape the layers cannot take, non-finite weights,
        or weights of the wrong names or shapes – the message says which.
    """
    path = Path(path)
    budget = budget or Budget()
    raw_header, npz_bytes = _open_archive(path, budget, sha256)
    header = _check_header(raw_header, path)
    _check_parameter_budget(header, budget, str(path))
    try:
        input_shape = _shape_tuple(header.get("input_shape"), f"{path}: {MODEL_JSON} is damaged")
        pre = header.get("preprocessing")
        if pre is not None and not (isinstance(pre, dict) and "mean" in pre and "std" in pre):
            raise ModelFileError(
                f"{path}: {MODEL_JSON} is damaged: preprocessing should be "
                f"{{'mean': …, 'std': …}}, got {pre!r}"
            )
        preprocessing = Preprocessing.from_values(pre["mean"], pre["std"]) if pre else None
    except ModelFileError as error:
        message = str(error)
        raise ModelFileError(
            message
            if message.startswith(str(path))
            else f"{path}: {MODEL_JSON} is damaged: {message}"
        ) from None
    class_names = header.get("class_names")
    if class_names is not None and not (
        isinstance(class_names, list) and all(isinstance(c, str) for c in class_names)
    ):
        raise _fail(path, f"{MODEL_JSON} is damaged: class_names is not a list of strings")

    model = _build(header["architecture"], "the model", layer_types(), path)
    check_activations(model, input_shape, budget, str(path))
    arrays = _read_weights(npz_bytes, header, path)
    del npz_bytes

    expected: set[str] = set()
    for prefix, layer in leaf_layers(model):
        own = layer.named_parameters()
        shapes = {
            **{k: p.shape for k, p in own.items()},
            **{k: np.shape(b) for k, b in layer.named_buffers().items()},
        }  # running stats
        if not shapes:
            continue
        state = {}
        for name, shape in shapes.items():
            key = prefix + name
            expected.add(key)
            if key not in arrays:
                raise _fail(path, f"weight {key} of {layer!r} is missing from the file")
            if arrays[key].shape != shape:
                raise _fail(
                    path, f"weight {key} has shape {arrays[key].shape} but {layer!r} needs {shape}"
                )
            if not np.isfinite(arrays[key]).all():
                bad = int(np.size(arrays[key]) - np.isfinite(arrays[key]).sum())
                raise _fail(
                    path,
                    f"weight {key} of layer {prefix.rstrip('.') or '0'} "
                    f"({layer!r}) holds {bad:,} NaN or infinite value(s); "
                    f"refused",
                )
            state[name] = arrays[key]
        layer.load_state_dict(state)
        for name, parameter in own.items():  # keep float64 weights float64
            parameter.data = np.ascontiguousarray(state[name])
            parameter.grad = np.zeros_like(parameter.data)
    unused = sorted(set(arrays) - expected)
    if unused:
        raise _fail(path, f"the file has weights no layer uses: {unused}")

    model.eval()
    model.input_shape = input_shape
    model.preprocessing = preprocessing
    model.class_names = class_names
    model.metadata = header["metadata"]
    return model


__all__ = [
    "FORMAT_VERSION",
    "SUFFIX",
    "Budget",
    "ModelFileError",
    "Preprocessing",
    "atomic_write",
    "build_header",
    "check_activations",
    "layer_types",
    "leaf_layers",
    "load",
    "read_header",
    "register_layer",
    "save",
]
