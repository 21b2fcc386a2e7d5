"""Fixtures for the browser tests: Debian's Chromium driven by Playwright, a throwaway
JupyterLab server, and a local HTTP server for the slide decks.

Nothing here downloads a browser: Playwright drives ``/usr/bin/chromium`` (installed from
Debian by ``scripts/ensure_chromium.sh`` when missing and we are root). Where Chromium
cannot be had, every browser test skips and says why.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from .paths import LAB_CONFIG, NOTEBOOKS, REPO, SLIDES_OUT, chapter_notebooks

CHROMIUM = Path(os.environ.get("EDU_CNN_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
# What the chapters run with in CI (the stored outputs were made with the same settings).
COURSE_ENV = {"EDU_CNN_OFFLINE": "1", "EDU_CNN_FAST": "1"}
# One BLAS thread per kernel: Chromium and the Jupyter server share the 2 cores with the
# kernel, and OpenBLAS threads that spin-wait for a busy core made chapter 7's training
# 9x slower in JupyterLab (31 s instead of 3.5 s) than with a single thread.
BLAS_ENV = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --------------------------------------------------------------------------- Chromium
@pytest.fixture(scope="session")
def chromium_executable() -> Path:
    """Debian's Chromium, installed on first use when we may (root + apt-get)."""
    if not CHROMIUM.exists():
        subprocess.run([str(REPO / "scripts" / "ensure_chromium.sh")], timeout=900, check=False)
    if not CHROMIUM.exists():
        pytest.skip(
            f"browser tests need Chromium at {CHROMIUM}, which is missing and could not be "
            "installed here (scripts/ensure_chromium.sh needs root and apt-get); "
            "install Debian's 'chromium' package"
        )
    return CHROMIUM


@pytest.fixture(scope="session")
def browser(chromium_executable: Path) -> Iterator[object]:
    """One headless Chromium for the whole session (each test opens its own context)."""
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="the playwright package is missing (requirements-test.txt)"
    )
    os.environ["PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD"] = "1"
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(chromium_executable), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield chromium
        finally:
            chromium.close()


# --------------------------------------------------------------------------- JupyterLab
@dataclass
class Lab:
    """A running JupyterLab: where it is, how to reach it, where its notebooks live."""

    url: str
    token: str
    root: Path  # the server's root folder: a copy of notebooks/ (and images/) lives here
    log: Path
    process: subprocess.Popen = field(repr=False)

    def api(self, method: str, path: str) -> object:
        """Call the Jupyter server's REST API; return the decoded JSON (or None)."""
        request = urllib.request.Request(
            f"{self.url}{path}",
            method=method,
            headers={"Authorization": f"token {self.token}"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read()
        return json.loads(body) if body else None

    def shutdown_kernel_of(self, notebook_path: str) -> None:
        """Stop the kernel of one notebook (relative path) so kernels do not pile up."""
        for session in self.api("GET", "/api/sessions") or []:
            if session.get("path") == notebook_path:
                self.api("DELETE", f"/api/sessions/{session['id']}")

    def log_tail(self, lines: int = 40) -> str:
        return _tail(self.log, lines)


def _write_lab_settings(settings_dir: Path) -> None:
    """User settings for the test: every cell rendered. (No news or update prompt comes
    from ``jupyter-config/``, the configuration ``make lab`` uses, not from here.)"""
    settings = {
        # Render every cell (JupyterLab 4 otherwise skips off-screen cells), so the test
        # can read every output without scrolling.
        # recordTiming: each cell's run time lands in the saved copy (to find slow cells).
        "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {
            "windowingMode": "none",
            "recordTiming": True,
        },
    }
    for relative, value in settings.items():
        path = settings_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory, chromium_executable: Path) -> Iterator[Lab]:
    """JupyterLab on 127.0.0.1 with a token, a free port and throwaway config dirs.

    The server's root is a temporary copy of ``notebooks/`` (and ``images/`` beside it),
    so running the chapters never touches the outputs stored in the repository. The
    server runs with ``EDU_CNN_OFFLINE=1 EDU_CNN_FAST=1`` and is stopped by its PID at the
    end, also when a test fails.
    """
    base = tmp_path_factory.mktemp("jupyterlab")
    root = base / "course"
    shutil.copytree(
        NOTEBOOKS, root / "notebooks", ignore=shutil.ignore_patterns(".ipynb_checkpoints")
    )
    if (REPO / "images").is_dir():
        shutil.copytree(REPO / "images", root / "images")
    dirs = {
        name: base / name
        for name in ("config", "data", "runtime", "settings", "workspaces", "ipython")
    }
    for folder in dirs.values():
        folder.mkdir()
    _write_lab_settings(dirs["settings"])
    env = dict(os.environ)
    env.update(COURSE_ENV)
    env.update(BLAS_ENV)
    env.update(
        JUPYTER_CONFIG_DIR=str(dirs["config"]),
        # `make lab`'s own configuration: no news, update or extension-manager prompt
        JUPYTER_CONFIG_PATH=str(LAB_CONFIG),
        JUPYTER_DATA_DIR=str(dirs["data"]),
        JUPYTER_RUNTIME_DIR=str(dirs["runtime"]),
        JUPYTERLAB_SETTINGS_DIR=str(dirs["settings"]),
        JUPYTERLAB_WORKSPACES_DIR=str(dirs["workspaces"]),
        IPYTHONDIR=str(dirs["ipython"]),
        PYTHONUNBUFFERED="1",
    )
    env.pop("JUPYTER_TOKEN", None)
    port = free_port()
    token = secrets.token_hex(24)
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--ServerApp.open_browser=False",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    log = base / "jupyterlab.log"
    process = start_server(command, log, cwd=root, env=env)
    server = Lab(f"http://127.0.0.1:{port}", token, root, log, process)
    try:
        wait_until_ready("JupyterLab", process, log, lambda: server.api("GET", "/api/status"))
        yield server
    finally:
        stop_server(process)


def start_server(command: list[str], log: Path, **popen: object) -> subprocess.Popen:
    """Start a server process in its own session, its output (both streams) in ``log``."""
    with log.open("wb") as log_file:
        return subprocess.Popen(
            command, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True, **popen
        )


def wait_until_ready(
    name: str,
    process: subprocess.Popen,
    log: Path,
    ready: Callable[[], object],
    timeout: float = 60.0,
    poll: float = 0.3,
) -> None:
    """Call ``ready()`` until it stops failing to connect; fail the test, with the end of
    the server's log, if the server exits or is not ready within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            pytest.fail(f"{name} exited with {process.returncode}:\n{_tail(log)}")
        try:
            ready()
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            if time.monotonic() > deadline:
                pytest.fail(f"{name} not ready after {timeout:g} s:\n{_tail(log)}")
            time.sleep(poll)


def _tail(log: Path, lines: int = 40) -> str:
    text = log.read_text(errors="replace") if log.exists() else ""
    return "\n".join(text.splitlines()[-lines:])


def stop_server(process: subprocess.Popen) -> None:
    """Stop a server we started: SIGTERM to its PID, then SIGKILL if it lingers."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


# --------------------------------------------------------------------------- slide decks
class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@dataclass
class StaticServer:
    url: str
    folder: Path
    notebooks: list[Path]  # the chapters whose decks are there


@pytest.fixture(scope="session")
def slides_server(chromium_executable: Path) -> Iterator[StaticServer]:
    """``build/slides/`` over HTTP on 127.0.0.1 (a free port), built first if missing."""
    notebooks = chapter_notebooks()
    if not notebooks:
        pytest.skip("no chapter notebooks (notebooks/NN_*.ipynb) yet, so no slide decks")
    index = SLIDES_OUT / "index.html"
    index_text = index.read_text(encoding="utf-8") if index.exists() else ""
    stale = any(
        f'href="{nb.stem}.slides.html"' not in index_text
        or not (SLIDES_OUT / f"{nb.stem}.slides.html").exists()
        or (SLIDES_OUT / f"{nb.stem}.slides.html").stat().st_mtime < nb.stat().st_mtime
        for nb in notebooks
    )
    if stale and shutil.which("npm") is None and not (SLIDES_OUT / "assets").is_dir():
        pytest.skip(
            "npm is not installed, so reveal.js and MathJax cannot be installed for "
            "the offline decks; install Node.js and npm (e.g. apt-get install npm) "
            "or run `make slides` where npm is available"
        )
    if stale:
        subprocess.run(
            [sys.executable, str(REPO / "scripts" / "build_slides.py"), "--out", str(SLIDES_OUT)]
            + [str(nb) for nb in notebooks],
            check=True,
            timeout=600,
        )
    handler = functools.partial(_QuietHandler, directory=str(SLIDES_OUT))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield StaticServer(f"http://127.0.0.1:{httpd.server_address[1]}", SLIDES_OUT, notebooks)
    finally:
        httpd.shutdown()
        httpd.server_close()
