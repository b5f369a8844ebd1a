"""ruff and mypy are part of the test suite, so CI enforces them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, check=False)


def test_ruff_clean():
    proc = _run("ruff", "check", "llmga", "tests", "benchmarks", "objectives", "scripts")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_mypy_clean():
    proc = _run("mypy")
    assert proc.returncode == 0, proc.stdout + proc.stderr
