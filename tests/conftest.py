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


class RealKernel:
    """A real IPython kernel (jupyter_client), driven the way a notebook drives it."""

    def __init__(self, manager, client) -> None:
        self.manager, self.client = manager, client

    def execute(self, code: str, during=None, timeout: float = 120) -> str:
        """Run ``code``; what it printed (tracebacks included) once the kernel is idle.

        ``during()``, if given, runs right after the request is sent – e.g. a click or an
        interrupt while the cell is still running.
        """
        msg_id = self.client.execute(code)
        if during is not None:
            during()
        text = []
        while True:
            msg = self.client.get_iopub_msg(timeout=timeout)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "stream":
                text.append(msg["content"]["text"])
            elif msg["msg_type"] == "error":
                text.append("\n".join(msg["content"]["traceback"]))
            elif msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                return "".join(text)


@pytest.fixture
def real_kernel():
    """A fresh python3 kernel (offline, as in the course), shut down after the test."""
    import os

    from jupyter_client.manager import start_new_kernel

    manager, client = start_new_kernel(
        kernel_name="python3", env={**os.environ, "EDU_CNN_OFFLINE": "1"}
    )
    try:
        yield RealKernel(manager, client)
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
