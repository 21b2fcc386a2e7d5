"""MNIST and Fashion-MNIST: the cache, Debian's package, the mirrors, the shipped sample.

:func:`load_mnist` and :func:`load_fashion_mnist` look in this order:

1. the cache folder ``<data_dir>/mnist`` (``<data_dir>/fashion-mnist``), where
   ``data_dir`` is ``EDU_CNN_DATA`` or the per-user cache folder; each file is checked
   against its published checksum – the ``.gz`` as published, a ``.gz`` re-compressed by
   another tool whose content is the published one, or the uncompressed IDX file – and a
   damaged one is moved aside as ``*.damaged`` (never deleted: it may be a user's copy)
   and fetched again;
2. for Fashion-MNIST, Debian's package ``dataset-fashion-mnist``
   (``/usr/share/datasets/fashion-mnist``), checked too;
3. a download from the public mirrors, tried in turn (unless ``EDU_CNN_OFFLINE=1``);
4. the small real sample shipped with the course, with a :class:`SampleDataWarning`
   that says how to get the full set.

Where the checksums come from
-----------------------------
MNIST's original site publishes no checksums. The SHA-256 of the four ``.gz`` files
below is the one TensorFlow Datasets records for them (and many projects repeat); the MD5
is torchvision's. Both are checked on every download and every load from the cache.
(No copy of MNIST was reachable here to recompute them.)

Fashion-MNIST's publisher (Zalando Research, the project's README) publishes **MD5 only**.
We check that MD5 *and* a SHA-256 of the same ``.gz`` files. The SHA-256 values are the
ones many projects record; we confirmed them ourselves: Debian's package holds the same
deflate streams with a normalised gzip header (no file name, another time stamp), and
putting the original header back (file name, time stamps 2017-08-31 10:50:06/27 UTC)
gives files with exactly the publisher's MD5 and these SHA-256 (see
``tests/test_data_mnist.py``). Beware: another set of Fashion-MNIST SHA-256 values
(``08dc20ab…`` for the training images) circulates; it does not match the published MD5.
For Debian's copy we check the SHA-256 of the *decompressed* IDX files.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import warnings
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from edu_cnn import settings
from edu_cnn.data.batches import train_val_split
from edu_cnn.data.download import DEFAULT_TIMEOUT, RemoteFile, fetch_file, verify_file
from edu_cnn.data.errors import (
    ChecksumError,
    DataError,
    DataFormatError,
    DownloadError,
    SampleDataWarning,
)
from edu_cnn.data.idx import decompress, parse_idx

__all__ = [
    "DEBIAN_FASHION_MNIST_DIR",
    "FASHION_MNIST",
    "MNIST",
    "Dataset",
    "DatasetSpec",
    "load_dataset",
    "load_fashion_mnist",
    "load_mnist",
]

#: Where Debian's ``dataset-fashion-mnist`` package puts the four files.
DEBIAN_FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")

_ROLES = ("train images", "train labels", "test images", "test labels")


@dataclass(frozen=True)
class DatasetSpec:
    """Everything needed to find, check and describe one MNIST-format data set.

    ``files`` and ``raw_sha256`` are in the order train images, train labels,
    test images, test labels. Tests build their own spec (with
    :func:`dataclasses.replace`) to point the loader at a local server.
    """

    name: str
    folder: str
    files: tuple[RemoteFile, RemoteFile, RemoteFile, RemoteFile]
    raw_sha256: tuple[str, str, str, str]
    mirrors: tuple[str, ...]
    class_names: tuple[str, ...]
    sample_prefix: str
    debian_dir: Path | None = None
    debian_package: str | None = None


MNIST = DatasetSpec(
    name="MNIST",
    folder="mnist",
    files=(
        RemoteFile(
            "train-images-idx3-ubyte.gz",
            sha256="440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
            md5="f68b3c2dcbeaaa9fbdd348bbdeb94873",
            size=9_912_422,
        ),
        RemoteFile(
            "train-labels-idx1-ubyte.gz",
            sha256="3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
            md5="d53e105ee54ea40749a09fcbcd1e9432",
            size=28_881,
        ),
        RemoteFile(
            "t10k-images-idx3-ubyte.gz",
            sha256="8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
            md5="9fb629c4189551a2d022fa330f9573f3",
            size=1_648_877,
        ),
        RemoteFile(
            "t10k-labels-idx1-ubyte.gz",
            sha256="f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
            md5="ec29112dd5afa0611ce80d1b7f02629c",
            size=4_542,
        ),
    ),
    raw_sha256=(
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    ),
    # HTTPS only: MNIST's original page (http://yann.lecun.com/exdb/mnist) serves no
    # HTTPS and now often refuses downloads, so it is not a mirror here.
    mirrors=(
        "https://ossci-datasets.s3.amazonaws.com/mnist",
        "https://storage.googleapis.com/cvdf-datasets/mnist",
    ),
    class_names=tuple(str(digit) for digit in range(10)),
    sample_prefix="mnist",
)

FASHION_MNIST = DatasetSpec(
    name="Fashion-MNIST",
    folder="fashion-mnist",
    # Zalando publishes MD5 only; the SHA-256 belongs to the files with that MD5 (see above).
    files=(
        RemoteFile(
            "train-images-idx3-ubyte.gz",
            sha256="3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
            md5="8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            size=26_421_880,
        ),
        RemoteFile(
            "train-labels-idx1-ubyte.gz",
            sha256="a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
            md5="25c81989df183df01b3e8a0aad5dffbe",
            size=29_515,
        ),
        RemoteFile(
            "t10k-images-idx3-ubyte.gz",
            sha256="346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
            md5="bef4ecab320f06d8554ea6380940ec79",
            size=4_422_102,
        ),
        RemoteFile(
            "t10k-labels-idx1-ubyte.gz",
            sha256="67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
            md5="bb300cfdad3c16e7a12a480ee83cd310",
            size=5_148,
        ),
    ),
    # SHA-256 of the decompressed IDX files (checked against Debian's package).
    raw_sha256=(
        "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    ),
    # HTTPS first. Zalando's own S3 website endpoint has no HTTPS; it is kept, last,
    # because nothing fetched is kept or read before its SHA-256 and MD5 match the values
    # above: someone on the path can only make the download fail (bounded by the size cap
    # and the deadline), not change the data.
    mirrors=(
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion",
        "https://storage.googleapis.com/tensorflow/tf-keras-datasets",
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com",
    ),
    class_names=(
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ),
    sample_prefix="fashion-mnist",
    debian_dir=DEBIAN_FASHION_MNIST_DIR,
    debian_package="dataset-fashion-mnist",
)


@dataclass(frozen=True, eq=False, repr=False)
class Dataset:
    """A train/test split of an image classification data set.

    Attributes
    ----------
    x_train, x_test : numpy.ndarray
        uint8 images (N, 28, 28) in 0…255, or float32 (N, 1, 28, 28) in [0, 1]
        when loaded with ``as_float=True``.
    y_train, y_test : numpy.ndarray
        int64 class indices (N,).
    class_names : tuple of str
        ``class_names[k]`` is the name of class ``k``.
    source : str
        Where the arrays came from: ``"cache"``, ``"debian"``, ``"download"`` or ``"sample"``.
    name : str
        The data set's name, e.g. ``"MNIST"``.
    location : str
        The folder (or package resource) the files were read from.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]
    source: str
    name: str = "data set"
    location: str = field(default="", compare=False)

    def subset(
        self, n_train: int | None = None, n_test: int | None = None, seed: int = 0
    ) -> Dataset:
        """A smaller copy with about ``n_train`` / ``n_test`` examples, classes kept balanced.

        For short runs (``EDU_CNN_FAST=1``, a first try on a laptop). ``None`` keeps a part
        whole; counts are rounded per class, so the result can differ by a few examples.

        Examples
        --------
        >>> small = data.subset(2000, 500)          # doctest: +SKIP
        """
        parts = {}
        for part, n in (("train", n_train), ("test", n_test)):
            x, y = getattr(self, f"x_{part}"), getattr(self, f"y_{part}")
            if n is not None and (
                isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1
            ):
                raise ValueError(
                    f"Dataset.subset: n_{part} must be a positive integer or None, got {n!r}"
                )
            if n is not None and n < len(y):
                _, x, _, y = train_val_split(
                    x, y, val_fraction=n / len(y), seed=seed, stratify=True
                )
            parts[part] = (x, y)
        return replace(
            self,
            x_train=parts["train"][0],
            y_train=parts["train"][1],
            x_test=parts["test"][0],
            y_test=parts["test"][1],
        )

    def __repr__(self) -> str:
        def row(label: str, array: np.ndarray) -> str:
            values = f"{array.min()}…{array.max()}" if array.size else "empty"
            if array.dtype.kind == "f":
                values = (
                    f"{float(array.min()):.2f}…{float(array.max()):.2f}" if array.size else "empty"
                )
            return f"  {label:<8} {array.dtype!s:<8} {array.shape!s:<19} values {values}"

        lines = [
            (
                f"{self.name} from {self.source!r}: "
                f"{len(self.y_train):,} training and {len(self.y_test):,} test images"
            ),
            row("x_train", self.x_train),
            row("y_train", self.y_train),
            row("x_test", self.x_test),
            row("y_test", self.y_test),
            f"  classes  {', '.join(self.class_names)}",
        ]
        return "\n".join(lines)


def _display_path(path: Path) -> str:
    """``path`` with the home folder written as ``~`` (same text on every machine)."""
    try:
        return "~/" + path.relative_to(Path.home()).as_posix()
    except ValueError:
        return str(path)


def _to_arrays(
    contents: Sequence[bytes], names: Sequence[str], spec: DatasetSpec, as_float: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Decode the four IDX payloads and check that they fit together."""
    arrays = [parse_idx(data, name) for data, name in zip(contents, names, strict=True)]
    out = []
    for images_at in (0, 2):
        images, labels = arrays[images_at], arrays[images_at + 1]
        image_name, label_name = names[images_at], names[images_at + 1]
        if images.ndim != 3 or images.dtype != np.uint8:
            raise DataFormatError(
                f"{image_name}: expected uint8 images of shape (N, H, W), got "
                f"{images.dtype} {images.shape}. Delete the file and fetch it again."
            )
        if labels.ndim != 1 or len(labels) != len(images):
            raise DataFormatError(
                f"{label_name}: expected {len(images)} labels (one per image in "
                f"{image_name}), got shape {labels.shape}. Delete both files and fetch them again."
            )
        if labels.size and int(labels.max()) >= len(spec.class_names):
            raise DataFormatError(
                f"{label_name}: label {int(labels.max())} out of range for "
                f"{len(spec.class_names)} classes. Delete the file and fetch it again."
            )
        if as_float:
            images = (images.astype(np.float32) / np.float32(255.0))[:, None, :, :]
        out += [images, labels.astype(np.int64)]
    return out[0], out[1], out[2], out[3]


#: The largest decompressed IDX file read from the cache (Fashion-MNIST's training images
#: are 47 MB); a gzip bomb put in the cache stops here.
MAX_IDX_BYTES = 128 * 1024 * 1024


def _gunzip_bounded(path: Path, limit: int = MAX_IDX_BYTES) -> bytes | None:
    """The decompressed content of a gzip file, or ``None`` if it is not valid gzip or
    would decompress to more than ``limit`` bytes.
    """
    try:
        with gzip.open(path, "rb") as handle:
            data = handle.read(limit + 1)
    except (OSError, EOFError, zlib.error):
        return None
    return data if len(data) <= limit else None


def _move_aside(path: Path, problem: str) -> None:
    """Never delete a file a user may have put in the cache: rename it ``*.damaged``
    (``*.damaged.1``, … if taken) and say so; a read-only cache just skips it.
    """
    target = path.with_name(path.name + ".damaged")
    n = 0
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.damaged.{n}")
    try:
        path.rename(target)
    except OSError as error:
        warnings.warn(
            f"{path}: {problem}. It is not used; it could not be moved aside "
            f"({error.strerror or error}), so it stays where it is.",
            RuntimeWarning,
            stacklevel=5,
        )
        return
    warnings.warn(
        f"{path}: {problem}. Moved aside to {target.name} (nothing is deleted); "
        "it is fetched again when the network is available.",
        RuntimeWarning,
        stacklevel=5,
    )


def _from_cache(folder: Path, spec: DatasetSpec) -> tuple[dict[str, bytes], list[str]]:
    """The checked IDX contents the cache holds (by ``.gz`` name), and the names it lacks.

    For each file, in order: the ``.gz`` as published (its SHA-256 / MD5); a ``.gz``
    re-compressed by another tool whose decompressed content has the published raw SHA-256;
    the uncompressed IDX file (``train-images-idx3-ubyte``) with that SHA-256. A file that
    is none of these is moved aside (``*.damaged``), never deleted.
    """
    found: dict[str, bytes] = {}
    missing = []
    for remote, raw_sha in zip(spec.files, spec.raw_sha256, strict=True):
        gz = folder / remote.name
        raw = folder / remote.name.removesuffix(".gz")
        content = None
        if gz.is_file():
            try:
                verify_file(gz, remote)
                content = _gunzip_bounded(gz)
            except ChecksumError as error:
                data = _gunzip_bounded(gz)
                if data is not None and hashlib.sha256(data).hexdigest() == raw_sha:
                    content = data  # the published content, compressed by another tool
                else:
                    _move_aside(
                        gz,
                        f"{error}".split(". The file")[0]
                        + " and its content is not the published one either",
                    )
        if content is None and raw.is_file() and raw.stat().st_size <= MAX_IDX_BYTES:
            data = raw.read_bytes()
            if hashlib.sha256(data).hexdigest() == raw_sha:
                content = data
            else:
                _move_aside(
                    raw,
                    f"SHA-256 is {hashlib.sha256(data).hexdigest()}, expected "
                    f"{raw_sha} (the published uncompressed {spec.name} file)",
                )
        if content is None:
            missing.append(remote.name)
        else:
            found[remote.name] = content
    return found, missing


def _from_debian(spec: DatasetSpec, as_float: bool) -> Dataset | None:
    """Read Debian's copy if it is installed and its content has the expected SHA-256."""
    if spec.debian_dir is None:
        return None
    paths = [spec.debian_dir / remote.name for remote in spec.files]
    if not all(path.is_file() for path in paths):
        return None
    contents = []
    for path, expected in zip(paths, spec.raw_sha256, strict=True):
        data = decompress(path.read_bytes(), str(path))
        if hashlib.sha256(data).hexdigest() != expected:
            warnings.warn(
                f"{path}: content differs from the published {spec.name} file "
                f"(SHA-256 of the decompressed data is not {expected}); ignoring Debian's "
                f"copy. Reinstall it with: apt-get install --reinstall {spec.debian_package}",
                RuntimeWarning,
                stacklevel=4,
            )
            return None
        contents.append(data)
    arrays = _to_arrays(contents, [str(p) for p in paths], spec, as_float)
    return Dataset(*arrays, spec.class_names, "debian", spec.name, str(spec.debian_dir))


def _sample_file_names(spec: DatasetSpec) -> list[str]:
    return [f"{spec.sample_prefix}-{remote.name}" for remote in spec.files]


def _from_sample(spec: DatasetSpec, as_float: bool, reason: str, folder: Path) -> Dataset:
    """The small sample shipped inside the package, with a warning saying how to get more."""
    sample_dir = resources.files("edu_cnn.data") / "sample"
    names = _sample_file_names(spec)
    contents = []
    for name in names:
        resource = sample_dir / name
        if not resource.is_file():
            raise DataError(
                f"{spec.name}: the full data set is not available ({reason}) and the "
                f"shipped sample file edu_cnn/data/sample/{name} is missing too. Reinstall "
                "edu-cnn, or connect to the internet and unset EDU_CNN_OFFLINE."
            )
        contents.append(decompress(resource.read_bytes(), f"edu_cnn/data/sample/{name}"))
    arrays = _to_arrays(contents, names, spec, as_float)
    files = ", ".join(remote.name for remote in spec.files)
    debian = (
        f" On Debian or Ubuntu, `apt-get install {spec.debian_package}` also provides it."
        if spec.debian_package
        else ""
    )
    # warn_explicit with a fixed location: the printed line is the same on every machine
    # and in every kernel (a notebook's stored outputs are compared by nbval).
    warnings.warn_explicit(
        f"{spec.name}: using the small sample shipped with edu-cnn ({len(arrays[1]):,} "
        f"training and {len(arrays[3]):,} test images) because {reason}\nTo get the full "
        f"data set, connect to the internet, unset EDU_CNN_OFFLINE and load it again; or "
        f"copy the files {files} into {_display_path(folder)}.{debian}",
        SampleDataWarning,
        filename="edu_cnn.data",
        lineno=0,
        module="edu_cnn.data.mnist",
    )
    return Dataset(*arrays, spec.class_names, "sample", spec.name, "edu_cnn/data/sample")


def load_dataset(
    spec: DatasetSpec,
    *,
    as_float: bool = False,
    data_dir: str | os.PathLike[str] | None = None,
    mirrors: Sequence[str] | None = None,
    download: bool = True,
    progress: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
    sample: bool | None = None,
) -> Dataset:
    """Load an MNIST-format data set: cache, Debian, mirrors, then the shipped sample.

    Parameters
    ----------
    spec : DatasetSpec
        Which data set (:data:`MNIST`, :data:`FASHION_MNIST`, or one a test builds).
    as_float : bool
        False: uint8 images (N, 28, 28) in 0…255. True: float32 (N, 1, 28, 28) in [0, 1],
        ready for ``Conv2d``.
    data_dir : path, optional
        The cache folder; default :func:`edu_cnn.settings.data_dir` (``EDU_CNN_DATA``).
        The files live in ``data_dir / spec.folder``.
    mirrors : sequence of str, optional
        Base URLs to download from, tried in turn; default ``spec.mirrors``.
    download : bool
        False never touches the network (as ``EDU_CNN_OFFLINE=1`` does).
    progress : bool
        Show a progress bar while downloading.
    timeout : float
        Seconds to wait for a mirror before trying the next one.
    sample : bool, optional
        True: use the shipped sample straight away. The default follows ``EDU_CNN_FAST``:
        the short setting of the notebooks (and the tests, whose stored outputs nbval
        compares) must see the same images on every machine, whatever its cache holds.

    Returns
    -------
    Dataset
        With ``source`` telling where the data came from.

    Raises
    ------
    DataError
        A local problem the sample cannot hide: the cache folder cannot be written
        (full disk, no permission) – the message names the file and what to do.
    """
    if mirrors is not None:
        spec = replace(spec, mirrors=tuple(mirrors))
    root = Path(data_dir) if data_dir is not None else settings.data_dir()
    folder = root / spec.folder
    names = [str(folder / remote.name) for remote in spec.files]

    if settings.fast_mode() if sample is None else sample:
        reason = (
            "EDU_CNN_FAST=1 asks for the short setting (unset it to use the full set)."
            if sample is None
            else "sample=True was given."
        )
        return _from_sample(spec, as_float, reason, folder)

    # 1. the cache
    found, missing = _from_cache(folder, spec)
    if not missing:
        contents = [found[remote.name] for remote in spec.files]
        arrays = _to_arrays(contents, names, spec, as_float)
        return Dataset(*arrays, spec.class_names, "cache", spec.name, str(folder))

    # 2. Debian's package
    debian = _from_debian(spec, as_float)
    if debian is not None:
        return debian

    # 3. the mirrors
    if settings.offline() or not download:
        reason = (
            "EDU_CNN_OFFLINE=1 forbids downloads"
            if settings.offline()
            else ("download=False was given")
        )
        return _from_sample(spec, as_float, f"{reason} and the cache has no complete copy.", folder)
    try:
        for remote in spec.files:
            if remote.name in missing:
                fetch_file(remote, spec.mirrors, folder, timeout=timeout, progress=progress)
    except DownloadError as error:
        details = "".join(f"\n  - {failure}" for failure in error.failures) or f" {error}"
        return _from_sample(spec, as_float, f"the download failed:{details}", folder)
    contents = [
        found[remote.name]
        if remote.name in found
        else decompress((folder / remote.name).read_bytes(), str(folder / remote.name))
        for remote in spec.files
    ]
    arrays = _to_arrays(contents, names, spec, as_float)
    return Dataset(*arrays, spec.class_names, "download", spec.name, str(folder))


def load_mnist(**options: Any) -> Dataset:
    """The MNIST handwritten digits: 60,000 training and 10,000 test images, 28×28.

    Looks in the cache, then downloads (checked by SHA-256 and MD5); offline it returns
    the small sample shipped with the course and warns. The keyword arguments
    (``as_float``, ``data_dir``, ``mirrors``, ``download``, ``progress``, ``timeout``,
    ``sample``) are those of :func:`load_dataset`.

    Examples
    --------
    >>> data = load_mnist(as_float=True)      # doctest: +SKIP
    >>> data.x_train.shape                     # doctest: +SKIP
    (60000, 1, 28, 28)
    """
    return load_dataset(MNIST, **options)


def load_fashion_mnist(**options: Any) -> Dataset:
    """Zalando's Fashion-MNIST: 70,000 28×28 images of clothes in 10 classes.

    Looks in the cache, then in Debian's ``dataset-fashion-mnist`` package, then
    downloads; offline it returns the small sample shipped with the course and warns.
    The keyword arguments are those of :func:`load_dataset`, as for :func:`load_mnist`.
    """
    return load_dataset(FASHION_MNIST, **options)
