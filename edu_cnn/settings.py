"""The environment variables the course reads, read in one place.

``EDU_CNN_FAST``    – ``1`` makes notebooks take their short setting (CI, a quick look).
``EDU_CNN_OFFLINE`` – ``1`` forbids any network access; data come from the cache,
                      Debian's package or the sample shipped with the course.
``EDU_CNN_DATA``    – the data cache folder.
"""

from __future__ import annotations

import os
from pathlib import Path

_TRUE = {"1", "true", "yes", "on"}


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in _TRUE


def fast_mode() -> bool:
    """True when the short (CI) setting is asked for with ``EDU_CNN_FAST=1``."""
    return _flag("EDU_CNN_FAST")


def offline() -> bool:
    """True when ``EDU_CNN_OFFLINE=1`` forbids network access."""
    return _flag("EDU_CNN_OFFLINE")


def data_dir() -> Path:
    """The data cache folder: ``EDU_CNN_DATA`` or the per-user cache folder."""
    configured = os.environ.get("EDU_CNN_DATA")
    if configured:
        return Path(configured).expanduser()
    if os.name == "nt":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / "edu-cnn"
