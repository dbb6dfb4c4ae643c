"""Run a repository script (``benchmarks/*.py``) in a subprocess from the repo root, as a
user would, and fail with its output when it exits non-zero; or load it as a module."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[1]


def run_script(script: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    r = subprocess.run(
        [sys.executable, script, *map(str, args)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    return r


def load_script(script: str, name: str) -> ModuleType:
    """Import a repository script (e.g. ``benchmarks/compare_runs.py``) as module ``name``."""
    spec = importlib.util.spec_from_file_location(name, REPO / script)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod
