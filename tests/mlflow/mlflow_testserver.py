"""Start and stop a real ``mlflow server`` for the integration tests.

One server per test session: 127.0.0.1, a free port, ``--workers 1``, a SQLite
backend and an artifact root in a temporary directory, and
``MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false`` (it starts in about 15 s instead of
35 s). A fresh SQLite store spends seconds on migrations, so the first session
keeps a copy of the freshly migrated, empty database and later sessions start
from that copy. The server runs in its own process group, so stopping it also
stops its uvicorn worker.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _die_with_parent() -> None:
    """Linux: SIGTERM the server if the test process dies without stopping it."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _template_path() -> Path:
    from importlib.metadata import version

    return Path(tempfile.gettempdir()) / f"cxaudit-mlflow-{version('mlflow')}-empty.db"


class MlflowServer:
    """A running ``mlflow server``; use as a context manager or call start/stop."""

    def __init__(self, root: Path, port: int | None = None) -> None:
        self.root = Path(root)
        self.port = port or free_port()
        self.uri = f"http://127.0.0.1:{self.port}"
        self.db = self.root / "mlflow.db"
        self.log = self.root / "server.log"
        self.process: subprocess.Popen | None = None
        self._fresh_db = False

    def start(self) -> MlflowServer:
        """Launch the server (returns at once; :meth:`wait` blocks until it answers)."""
        self.root.mkdir(parents=True, exist_ok=True)
        template = _template_path()
        if template.is_file() and not self.db.exists():
            shutil.copyfile(template, self.db)
        self._fresh_db = not self.db.exists()
        env = dict(os.environ, MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false")
        env.pop("MLFLOW_TRACKING_URI", None)
        command = [sys.executable, "-m", "mlflow", "server",
                   "--backend-store-uri", f"sqlite:///{self.db}",
                   "--artifacts-destination", str(self.root / "artifacts"),
                   "--host", "127.0.0.1", "--port", str(self.port), "--workers", "1"]
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(command, cwd=self.root, env=env, stdout=log,
                                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            start_new_session=True,
                                            preexec_fn=_die_with_parent if sys.platform.startswith(
                                                "linux") else None)
        return self

    def healthy(self) -> bool:
        """True when ``/health`` answers 200."""
        try:
            with urllib.request.urlopen(self.uri + "/health", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    def wait(self, timeout: float = 120.0) -> MlflowServer:
        """Block until the server answers; raise with its log if it dies or times out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"mlflow server exited ({self.process.returncode}):\n"
                                   + self.log.read_text(errors="replace")[-3000:])
            if self.healthy():
                if self._fresh_db:
                    self._keep_template()
                return self
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"mlflow server not healthy after {timeout:.0f} s:\n"
                           + self.log.read_text(errors="replace")[-3000:])

    def _keep_template(self) -> None:
        # Nothing has been written yet: the file is an empty, migrated store.
        template = _template_path()
        partial = template.with_suffix(f".{os.getpid()}.part")
        shutil.copyfile(self.db, partial)
        os.replace(partial, template)
        self._fresh_db = False

    def stop(self, timeout: float = 20.0) -> None:
        """Stop the server and its helper processes (the whole process group)."""
        if self.process is None or self.process.poll() is not None:
            return
        group = os.getpgid(self.process.pid)
        os.killpg(group, signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(group, signal.SIGKILL)
            self.process.wait(timeout=5)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:  # helpers exit a few seconds after the parent
            try:
                os.killpg(group, 0)
            except ProcessLookupError:
                return
            time.sleep(0.2)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)

    def __enter__(self) -> MlflowServer:
        return self.start().wait()

    def __exit__(self, *exc: object) -> None:
        self.stop()
