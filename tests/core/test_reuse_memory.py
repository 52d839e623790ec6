"""The console audit keeps freed memory for reuse (cxaudit.lean.reuse_freed_memory):
a second column-sized temporary reuses the first one's pages instead of faulting in new
ones. Measured in a fresh process by its page faults; other processes are unchanged."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

PROBE = textwrap.dedent("""
    import resource, sys
    import numpy as np
    from cxaudit.lean import reuse_freed_memory
    if sys.argv[1] == "reuse":
        assert reuse_freed_memory()
    np.ones(20_000_000)  # 160 MB, freed at once
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(5):
        np.ones(20_000_000)
    print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
""")


def faults(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True,
                         check=True, timeout=120)
    return int(out.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc mallopt")
def test_freed_temporaries_are_reused_instead_of_faulted_in_again():
    default, reused = faults("default"), faults("reuse")
    # Default: every 160 MB temporary is mapped afresh (thousands of faults each, fewer
    # with transparent huge pages); reused: the first one's pages serve the others.
    assert default > 5 * 70, default
    assert reused < default / 5, (reused, default)


def test_arrow_allocates_through_the_same_malloc_unless_told_otherwise():
    probe = ("import os, sys; from cxaudit.lean import reuse_freed_memory; "
             "reuse_freed_memory(); import pyarrow; print(pyarrow.default_memory_pool()"
             ".backend_name)")
    env = {k: v for k, v in __import__("os").environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    chosen = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            check=True, env=env, timeout=120).stdout.strip()
    assert chosen == ("system" if sys.platform.startswith("linux") else chosen)
    told = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True, env={**env, "ARROW_DEFAULT_MEMORY_POOL": "mimalloc"},
                          timeout=120).stdout.strip()
    assert told == "mimalloc"


def test_only_the_console_audit_asks_for_it(monkeypatch):
    import cxaudit.cli
    from cxaudit import lean
    from cxaudit.cli.audit import _lean_imports

    calls = []
    monkeypatch.setattr(lean, "reuse_freed_memory", lambda: calls.append(1) or True)
    monkeypatch.setattr(cxaudit.cli, "CONSOLE", False)
    _lean_imports("missing.yaml", None)
    assert calls == []
    monkeypatch.setattr(cxaudit.cli, "CONSOLE", True)
    monkeypatch.setattr(lean, "SKIPPED", set())
    _lean_imports("missing.yaml", None)
    assert calls == [1]
