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


def test_no_module_imports_another_packages_private_modules():
    """Subpackages talk through each other's public names (their __init__), never their _private modules
    (llmga's own top-level _modules, such as llmga._signals, are shared by all of it)."""
    import re

    pattern = re.compile(r"^\s*(?:from|import)\s+llmga\.(\w+)((?:\.\w+)*)", re.MULTILINE)
    offenders = []
    for path in sorted((ROOT / "llmga").rglob("*.py")):
        parts = path.relative_to(ROOT / "llmga").with_suffix("").parts
        home = parts[0] if len(parts) > 1 else None  # the subpackage this module belongs to
        for match in pattern.finditer(path.read_text()):
            package, rest = match.group(1), match.group(2)
            private = any(p.startswith("_") for p in rest.split(".") if p)
            if private and package != home:
                offenders.append(f"{path.relative_to(ROOT)}: {match.group(0).strip()}")
    assert not offenders, "\n".join(offenders)


def test_the_engine_takes_resolved_objects_only():
    """The engine never reads a Config or looks names up: llmga._optimize.build_engine resolves them."""
    import re

    config = r"from llmga\.config |import llmga\.config"
    banned = re.compile(rf"^\s*(?:{config}|from llmga\.objectives import .*get_objective)")
    offenders = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for path in sorted((ROOT / "llmga" / "engine").glob("*.py"))
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if banned.match(line)
    ]
    assert not offenders, "\n".join(offenders)
