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
file asking for any other layer type is rejected. Sizes are bounded before anything is
allocated (the JSON, the unpacked weights, each layer's arrays), so a hostile file cannot
exhaust memory either.

Public API
----------
``save(model, path, *, input_shape=None, mean=None, std=None, class_names=None, metadata=None)``
    Write atomically: a temporary file in the same folder, ``fsync``, then ``os.replace``.
    A crash half-way leaves the previous file untouched.
``load(path) -> model``
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

import contextlib
import hashlib
import inspect
import io
import json
import math
import os
import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from .layer import Layer, registered_layers

FORMAT_NAME = "edu-cnn-model"
FORMAT_VERSION = 1
SUFFIX = ".educnn"
MODEL_JSON = "model.json"
WEIGHTS_NPZ = "weights.npz"
MAX_JSON_BYTES = 1 << 20          # a model description larger than 1 MB is not ours
MAX_WEIGHT_BYTES = 1 << 31        # refuse to inflate more than 2 GB of weights
MAX_UNPACKED_WEIGHT_BYTES = 1 << 31  # …nor arrays that unpack to more
MAX_LAYER_ELEMENTS = 1 << 27      # a stranger's file may not make one layer allocate > 512 MB
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
    those added with :func:`register_layer`."""
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
            if not values or not all(isinstance(v, (int, float)) and math.isfinite(v)
                                     for v in values):
                raise ModelFileError(f"Preprocessing: {name} must be a finite number or a "
                                     f"list of them, got {value!r}")
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
        raise ModelFileError(f"Preprocessing: {name} must be a number or a list of numbers, "
                             f"got {value!r}") from None
    if array.ndim == 0:
        return float(array)
    if array.ndim == 1:
        return tuple(float(v) for v in array)
    raise ModelFileError(f"Preprocessing: {name} must be a number or a list of numbers, "
                         f"got an array of shape {array.shape}")


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
        raise ModelFileError(f"save: {where} ({type(layer).__name__}) has a config() that is "
                             f"not plain JSON ({error}): {config!r}") from None


def _describe(layer: Layer, prefix: str, weights: dict[str, np.ndarray],
              known: dict[str, type[Layer]]) -> dict[str, Any]:
    """JSON description of ``layer`` (recursively); its arrays are added to ``weights``."""
    kind = type(layer).__name__
    where = f"layer {prefix.rstrip('.')}" if prefix else "the model"
    if known.get(kind) is not type(layer):
        raise ModelFileError(f"save: {where} is a {kind}, which model files cannot name; "
                             f"known layer types: {', '.join(sorted(known))} "
                             f"(see edu_cnn.modelfile.register_layer)")
    spec: dict[str, Any] = {"type": kind, "config": _json_config(layer, where)}
    children = _children(layer)
    if children is not None:  # a container's parameters are its children's
        spec["layers"] = [_describe(child, f"{prefix}{i}.", weights, known)
                          for i, child in enumerate(children)]
        return spec
    for name, array in layer.state_dict().items():
        if not np.issubdtype(array.dtype, np.floating):
            raise ModelFileError(f"save: {prefix}{name} has dtype {array.dtype}; "
                                 f"model files hold floating-point weights only")
        weights[prefix + name] = np.ascontiguousarray(array)
    return spec


def _array_digest(array: np.ndarray) -> str:
    """SHA-256 of an array's dtype, shape and little-endian bytes."""
    array = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<"))
    h = hashlib.sha256(f"{array.dtype.str}{array.shape}".encode())
    h.update(array.tobytes())
    return h.hexdigest()


def _shape_tuple(value: Any) -> tuple[int, ...] | None:
    if value is None:
        return None
    try:
        shape = tuple(int(v) for v in value)
    except (TypeError, ValueError):
        raise ModelFileError(f"save: input_shape must be a tuple of positive ints such as "
                             f"(1, 28, 28), got {value!r}") from None
    if not shape or any(v < 1 for v in shape):
        raise ModelFileError(f"save: input_shape must be a tuple of positive ints such as "
                             f"(1, 28, 28), got {value!r}")
    return shape


def build_header(model: Layer, *, input_shape: Sequence[int] | None = None,
                 mean: Any = None, std: Any = None, class_names: Sequence[str] | None = None,
                 metadata: dict[str, Any] | None = None) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The ``model.json`` content and the weight arrays that :func:`save` writes."""
    if not isinstance(model, Layer):
        raise ModelFileError(f"save: expected an edu_cnn Layer or Sequential, got "
                             f"{type(model).__name__}")
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
            raise ModelFileError(f"save: class_names must be a list of strings, got {class_names!r}")
        class_names = list(class_names)
    if metadata is None:
        metadata = getattr(model, "metadata", None) or {}
    try:
        metadata = json.loads(json.dumps(dict(metadata), allow_nan=False))
    except (TypeError, ValueError) as error:
        raise ModelFileError(f"save: metadata must be plain JSON (str, numbers, lists, dicts): "
                             f"{error}") from None

    header = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "architecture": architecture,
        "input_shape": list(shape) if shape else None,
        "preprocessing": preprocessing.to_json() if preprocessing else None,
        "class_names": class_names,
        "metadata": metadata,
        "weights": {name: {"shape": list(a.shape), "dtype": a.dtype.str,
                           "sha256": _array_digest(a)} for name, a in weights.items()},
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


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def save(model: Layer, path: str | os.PathLike[str], *, input_shape: Sequence[int] | None = None,
         mean: Any = None, std: Any = None, class_names: Sequence[str] | None = None,
         metadata: dict[str, Any] | None = None) -> Path:
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

    Returns
    -------
    Path
        The path written.

    When an argument is ``None`` and ``model`` carries the attribute of the same name
    (a model returned by :func:`load` does), that value is kept.
    """
    path = Path(path)
    header, weights = build_header(model, input_shape=input_shape, mean=mean, std=std,
                                   class_names=class_names, metadata=metadata)
    json_bytes = json.dumps(header, indent=2, ensure_ascii=False).encode("utf-8")
    with atomic_write(path, "save") as handle, zipfile.ZipFile(handle, "w") as archive:
        _zip_member(archive, MODEL_JSON, json_bytes)
        _zip_member(archive, WEIGHTS_NPZ, _npz_bytes(weights))
    return path


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], where: str = "atomic_write") -> Iterator[BinaryIO]:
    """Write ``path`` all at once or not at all.

    Yields a binary file in the same folder; when the ``with`` block ends without an
    error the data are flushed to disk (``fsync``) and the temporary file is renamed onto
    ``path`` (``os.replace`` is atomic). On any error the temporary file is removed and
    ``path`` keeps its previous content.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ModelFileError(f"{where}: the folder {str(folder)!r} does not exist")
    # not a `with` here: the file must outlive its handle until os.replace has run
    handle = tempfile.NamedTemporaryFile(dir=folder, prefix=f".{path.name}.",  # noqa: SIM115
                                         suffix=".tmp", delete=False)
    temp = Path(handle.name)
    try:
        with handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _fsync_folder(folder)


# -- reading ----------------------------------------------------------------------------------
def _fail(path: Path, message: str) -> ModelFileError:
    return ModelFileError(f"{path}: {message}")


def _read_member(archive: zipfile.ZipFile, name: str, limit: int, path: Path) -> bytes:
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise _fail(path, f"not an edu-cnn model file: it has no {name} "
                          f"(members: {', '.join(archive.namelist()) or 'none'})") from None
    if info.file_size > limit:
        raise _fail(path, f"{name} claims {info.file_size} bytes, more than the {limit} "
                          f"a model file may hold")
    try:
        with archive.open(info) as member:
            data = member.read(limit + 1)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as error:
        raise _fail(path, f"the file is corrupted: {name} cannot be read ({error})") from None
    if len(data) > limit:
        raise _fail(path, f"{name} is larger than the {limit} bytes a model file may hold")
    return data


def _open_archive(path: Path) -> tuple[dict[str, Any], bytes]:
    """The parsed (unchecked) JSON and the raw weights.npz bytes."""
    if not path.exists():
        raise ModelFileError(f"{path}: no such model file")
    if path.is_dir():
        raise ModelFileError(f"{path}: is a folder, not a model file")
    try:
        with zipfile.ZipFile(path) as archive:
            json_bytes = _read_member(archive, MODEL_JSON, MAX_JSON_BYTES, path)
            npz_bytes = _read_member(archive, WEIGHTS_NPZ, MAX_WEIGHT_BYTES, path)
    except zipfile.BadZipFile:
        raise _fail(path, "not an edu-cnn model file, or a truncated one: it is not a "
                          "complete zip archive") from None
    try:
        header = json.loads(json_bytes.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise _fail(path, f"{MODEL_JSON} is not valid JSON ({error})") from None
    except RecursionError:
        raise _fail(path, f"{MODEL_JSON} is nested too deeply to be a model") from None
    return header, npz_bytes


def _check_header(header: Any, path: Path) -> dict[str, Any]:
    if not isinstance(header, dict) or header.get("format") != FORMAT_NAME:
        found = header.get("format") if isinstance(header, dict) else type(header).__name__
        raise _fail(path, f"not an edu-cnn model file: format is {found!r}, "
                          f"expected {FORMAT_NAME!r}")
    version = header.get("format_version")
    if version != FORMAT_VERSION:
        raise _fail(path, f"unsupported format version {version!r}: this edu_cnn reads "
                          f"version {FORMAT_VERSION} (saved by a different edu_cnn?)")
    for key, kind in (("architecture", dict), ("weights", dict), ("metadata", dict)):
        if not isinstance(header.get(key), kind):
            raise _fail(path, f"{MODEL_JSON} is damaged: '{key}' should be a "
                              f"{kind.__name__}, got {type(header.get(key)).__name__}")
    return header


def read_header(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The model description stored in a file, checked for format and version.

    Reads ``model.json`` only; the weights are not checked (use :func:`load`).
    """
    path = Path(path)
    header, _ = _open_archive(path)
    return _check_header(header, path)


def _size_bound(config: dict[str, Any]) -> int:
    """The product of every integer argument (each at least 1): an upper bound on the number
    of weights a layer allocates (in·out·kh·kw for a convolution, in·out for Linear), known
    before the constructor allocates anything."""
    bound = 1
    for value in config.values():
        for v in value if isinstance(value, tuple) else (value,):
            if isinstance(v, int) and not isinstance(v, bool):
                bound *= max(abs(v), 1)
    return bound


def _build(spec: Any, where: str, known: dict[str, type[Layer]], path: Path) -> Layer:
    """A layer from its JSON description, using only registered classes."""
    if not isinstance(spec, dict) or not isinstance(spec.get("type"), str):
        raise _fail(path, f"{MODEL_JSON} is damaged: {where} has no layer 'type'")
    kind = spec["type"]
    cls = known.get(kind)
    if cls is None:
        raise _fail(path, f"unknown layer type {kind!r} at {where}; this edu_cnn knows "
                          f"{', '.join(sorted(known))}")
    config = spec.get("config", {})
    if not isinstance(config, dict):
        raise _fail(path, f"{MODEL_JSON} is damaged: {where} ({kind}) has a config that is "
                          f"not an object")
    config = {k: tuple(v) if isinstance(v, list) else v for k, v in config.items()}
    if "rng" in config:
        raise _fail(path, f"{MODEL_JSON} is damaged: {where} ({kind}) sets 'rng', which is "
                          f"never stored")
    size = _size_bound(config)
    if size > MAX_LAYER_ELEMENTS:
        raise _fail(path, f"{where} ({kind}) asks for arrays of up to {size:,} numbers, more "
                          f"than the {MAX_LAYER_ELEMENTS:,} a model file may hold per layer")
    args: list[Layer] = []
    if "layers" in spec:
        if not isinstance(spec["layers"], list):
            raise _fail(path, f"{MODEL_JSON} is damaged: {where}.layers is not a list")
        args = [_build(child, f"layer {i}" if where == "the model" else f"{where}.{i}",
                       known, path) for i, child in enumerate(spec["layers"])]
    try:
        if "rng" in inspect.signature(cls).parameters:
            # initial weights are overwritten at once: don't consume edu_cnn's generator
            config["rng"] = np.random.default_rng(0)
        return cls(*args, **config)
    except (TypeError, ValueError, AttributeError, KeyError, IndexError, OverflowError,
            MemoryError) as error:  # whatever a constructor says about bad arguments
        raise _fail(path, f"{where} ({kind}) cannot be built from its stored arguments "
                          f"{spec.get('config')!r}: {error}") from None


def _leaf_layers(layer: Layer, prefix: str = "") -> Iterator[tuple[str, Layer]]:
    """(key prefix, layer) for every non-container layer: ``("0.", Conv2d…)``, …"""
    children = _children(layer)
    if children is None:
        yield prefix, layer
        return
    for i, child in enumerate(children):
        yield from _leaf_layers(child, f"{prefix}{i}.")


def _read_weights(npz_bytes: bytes, header: dict[str, Any], path: Path) -> dict[str, np.ndarray]:
    try:  # an .npz is a zip too: its members must not unpack to more than we allow
        with zipfile.ZipFile(io.BytesIO(npz_bytes)) as npz_zip:
            unpacked = sum(info.file_size for info in npz_zip.infolist())
    except zipfile.BadZipFile as error:
        raise _fail(path, f"{WEIGHTS_NPZ} is corrupted ({error})") from None
    if unpacked > MAX_UNPACKED_WEIGHT_BYTES:
        raise _fail(path, f"{WEIGHTS_NPZ} would unpack to {unpacked:,} bytes, more than the "
                          f"{MAX_UNPACKED_WEIGHT_BYTES:,} a model file may hold")
    try:
        with np.load(io.BytesIO(npz_bytes), allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except ValueError as error:
        if "pickle" in str(error).lower():
            raise _fail(path, "the weights contain a pickled Python object; model files "
                              "hold plain numbers only, so it was refused") from None
        raise _fail(path, f"{WEIGHTS_NPZ} is corrupted ({error})") from None
    except (zipfile.BadZipFile, OSError, EOFError, KeyError) as error:
        raise _fail(path, f"{WEIGHTS_NPZ} is corrupted ({error})") from None
    listed = header["weights"]
    missing = sorted(set(listed) - set(arrays))
    extra = sorted(set(arrays) - set(listed))
    if missing or extra:
        raise _fail(path, f"the weights do not match {MODEL_JSON}: "
                          + "; ".join(filter(None, [missing and f"missing {missing}",
                                                    extra and f"unexpected {extra}"])))
    for name, array in arrays.items():
        if not np.issubdtype(array.dtype, np.floating):
            raise _fail(path, f"weight {name} has dtype {array.dtype}; model files hold "
                              f"floating-point weights only")
        entry = listed[name]
        if not isinstance(entry, dict):
            raise _fail(path, f"{MODEL_JSON} is damaged: weights.{name} is not an object")
        if list(array.shape) != entry.get("shape"):
            raise _fail(path, f"weight {name} has shape {array.shape} but {MODEL_JSON} "
                              f"says {tuple(entry.get('shape') or ())}")
        if _array_digest(array) != entry.get("sha256"):
            raise _fail(path, f"checksum mismatch for weight {name}: the file was modified "
                              f"or corrupted after it was saved")
    return arrays


def load(path: str | os.PathLike[str]) -> Layer:
    """Load a model saved by :func:`save`, checking everything before building it.

    Returns
    -------
    Layer
        The model in evaluation mode, with ``input_shape``, ``preprocessing``,
        ``class_names`` and ``metadata`` attributes set from the file.

    Raises
    ------
    ModelFileError
        For a missing, truncated, corrupted, tampered or wrong-version file, an unknown
        layer type, or weights of the wrong names or shapes – the message says which.
    """
    path = Path(path)
    raw_header, npz_bytes = _open_archive(path)
    header = _check_header(raw_header, path)
    arrays = _read_weights(npz_bytes, header, path)
    model = _build(header["architecture"], "the model", layer_types(), path)

    expected: set[str] = set()
    for prefix, layer in _leaf_layers(model):
        own = layer.named_parameters()
        shapes = {**{k: p.shape for k, p in own.items()},
                  **{k: np.shape(b) for k, b in layer.named_buffers().items()}}  # running stats
        if not shapes:
            continue
        state = {}
        for name, shape in shapes.items():
            key = prefix + name
            expected.add(key)
            if key not in arrays:
                raise _fail(path, f"weight {key} of {layer!r} is missing from the file")
            if arrays[key].shape != shape:
                raise _fail(path, f"weight {key} has shape {arrays[key].shape} but "
                                  f"{layer!r} needs {shape}")
            state[name] = arrays[key]
        layer.load_state_dict(state)
        for name, parameter in own.items():  # keep float64 weights float64
            parameter.data = np.ascontiguousarray(state[name])
            parameter.grad = np.zeros_like(parameter.data)
    unused = sorted(set(arrays) - expected)
    if unused:
        raise _fail(path, f"the file has weights no layer uses: {unused}")

    try:
        input_shape = _shape_tuple(header.get("input_shape"))
        pre = header.get("preprocessing")
        preprocessing = Preprocessing.from_values(pre["mean"], pre["std"]) if pre else None
    except (ModelFileError, KeyError, TypeError) as error:
        raise _fail(path, f"{MODEL_JSON} is damaged: {error}") from None
    class_names = header.get("class_names")
    if class_names is not None and not (isinstance(class_names, list)
                                        and all(isinstance(c, str) for c in class_names)):
        raise _fail(path, f"{MODEL_JSON} is damaged: class_names is not a list of strings")

    model.eval()
    model.input_shape = input_shape
    model.preprocessing = preprocessing
    model.class_names = class_names
    model.metadata = header["metadata"]
    return model


__all__ = [
    "FORMAT_VERSION",
    "SUFFIX",
    "ModelFileError",
    "Preprocessing",
    "atomic_write",
    "build_header",
    "layer_types",
    "load",
    "read_header",
    "register_layer",
    "save",
]
