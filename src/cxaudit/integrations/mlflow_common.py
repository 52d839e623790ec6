"""Tracking URI, reachability and error translation shared by the MLflow integration.

The tracking URI is always set explicitly: the ``--tracking-uri`` option, else
``MLFLOW_TRACKING_URI``, else MLflow 3's own default ``sqlite:///mlflow.db``.
Nothing here depends on ``./mlruns`` (the file store is in maintenance mode).
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

from cxaudit.errors import CxauditError, InputError

DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"
#: Seconds to wait for ``/health`` before declaring a tracking server unreachable.
HEALTH_TIMEOUT = 5.0


class TrackingError(CxauditError):
    """The tracking server could not record the audit (unreachable, refused, ...).

    Exit code 1: the local reports exist, but the gate must not pass on a record
    that was never written.
    """

    exit_code = 1


def resolve_tracking_uri(explicit: str | None = None) -> str:
    """The tracking URI to use: explicit, else ``MLFLOW_TRACKING_URI``, else SQLite."""
    return explicit or os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI


@contextmanager
def using_tracking(explicit: str | None = None) -> Iterator[str]:
    """Point MLflow at the tracking URI for the block, then restore what was there.

    ``mlflow.set_tracking_uri`` is global and also exports ``MLFLOW_TRACKING_URI``;
    a library call must not leave the caller's process pointed elsewhere.
    """
    import mlflow

    # Progress bars would interleave with the audit's own output; users can turn them on.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    # MLflow writes "View run ... at: URL" to stdout when a run ends; stdout is cxaudit's
    # (the verdict, or JSON lines with --log-format json). cxaudit reports the run id itself.
    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
    previous = os.environ.get("MLFLOW_TRACKING_URI")
    uri = resolve_tracking_uri(explicit)
    mlflow.set_tracking_uri(uri)
    try:
        yield uri
    finally:
        mlflow.set_tracking_uri(previous)  # None: back to MLflow's own default


def unreachable_reason(uri: str, timeout: float = HEALTH_TIMEOUT) -> str | None:
    """Why an ``http(s)`` tracking server does not answer ``/health``; None when it does.

    MLflow's own client retries for minutes before giving up; this probe answers
    in at most ``timeout`` seconds. Non-HTTP URIs (SQLite, databricks) are not probed.
    """
    if not uri.startswith(("http://", "https://")):
        return None
    try:
        with urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=timeout) as response:
            if response.status == 200:
                return None
            return f"/health answered HTTP {response.status}"
    except urllib.error.HTTPError as exc:
        return f"/health answered HTTP {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return f"{type(reason).__name__}: {reason}"


def require_existing_store(uri: str, what: str) -> None:
    """Refuse (exit 2) to look ``what`` up in a SQLite store that does not exist.

    Opening ``sqlite:///mlflow.db`` creates the file and its tables; a lookup of a model
    that cannot exist must not leave an empty tracking store in the working folder.
    """
    if not uri.startswith("sqlite:///"):
        return
    path = uri[len("sqlite:///"):].split("?", 1)[0]
    if path and path != ":memory:" and not os.path.exists(path):
        raise InputError(f"{what}: there is no MLflow tracking store at {uri} (no {path})",
                         hint="pass --tracking-uri (or set MLFLOW_TRACKING_URI) to the store "
                              "that holds the model")


def require_reachable(uri: str, *, doing: str) -> None:
    """Raise :class:`InputError` (exit 2) when the tracking server does not answer."""
    reason = unreachable_reason(uri)
    if reason is not None:
        raise InputError(f"cannot reach the MLflow tracking server at {uri} to {doing} ({reason})",
                         hint="start the server, or pass --tracking-uri / set MLFLOW_TRACKING_URI")


def mlflow_error_code(exc: BaseException) -> str | None:
    """The MLflow error code of an exception (e.g. ``RESOURCE_DOES_NOT_EXIST``), if any."""
    code = getattr(exc, "error_code", None)
    return str(code) if code else None
