"""Data for the course: MNIST / Fashion-MNIST, toy sets, X-vs-O images, a photo,
normalisers and mini-batches.

Nothing here touches the network on import; only :func:`load_mnist` and
:func:`load_fashion_mnist` may download, and never with ``EDU_CNN_OFFLINE=1``.
"""

from edu_cnn.data.batches import iterate_minibatches, train_val_split
from edu_cnn.data.download import RemoteFile, fetch_file, verify_file
from edu_cnn.data.errors import (
    ChecksumError,
    DataError,
    DataFormatError,
    DownloadError,
    SampleDataWarning,
)
from edu_cnn.data.idx import parse_idx, read_idx, write_idx
from edu_cnn.data.images import sample_photo, to_gray
from edu_cnn.data.mnist import (
    FASHION_MNIST,
    MNIST,
    Dataset,
    DatasetSpec,
    load_dataset,
    load_fashion_mnist,
    load_mnist,
)
from edu_cnn.data.normalize import MeanNormalizer, MinMaxScaler, StandardScaler
from edu_cnn.data.toy import (
    LOGIC_GATES,
    HousePrices,
    circles,
    house_prices,
    linear_data,
    logic_gate,
    spirals,
    two_moons,
    xor_blobs,
)
from edu_cnn.data.xo import XO_CLASS_NAMES, xo_images, xo_prototype

__all__ = [
    "FASHION_MNIST",
    # toy sets
    "LOGIC_GATES",
    "MNIST",
    # X vs O, photo
    "XO_CLASS_NAMES",
    "ChecksumError",
    "DataError",
    "DataFormatError",
    # MNIST-format data sets
    "Dataset",
    "DatasetSpec",
    "DownloadError",
    "HousePrices",
    "MeanNormalizer",
    # preprocessing
    "MinMaxScaler",
    "RemoteFile",
    "SampleDataWarning",
    "StandardScaler",
    "circles",
    "fetch_file",
    "house_prices",
    "iterate_minibatches",
    "linear_data",
    "load_dataset",
    "load_fashion_mnist",
    "load_mnist",
    "logic_gate",
    "parse_idx",
    # files, downloads, errors
    "read_idx",
    "sample_photo",
    "spirals",
    "to_gray",
    "train_val_split",
    "two_moons",
    "verify_file",
    "write_idx",
    "xo_images",
    "xo_prototype",
    "xor_blobs",
]
