"""Unit tests run with a clean course environment.

`make test` sets EDU_CNN_FAST=1 and EDU_CNN_OFFLINE=1 for the notebooks (their stored
outputs were made that way); unit tests that depend on those settings set them
themselves, so every other test sees the defaults a student's kernel has.
"""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _default_course_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("EDU_CNN_FAST", "EDU_CNN_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
