"""A damaged run store (garbage written into it, cut short, not a database): one clear error, nothing changed."""

from __future__ import annotations

import hashlib
import os
import shutil

import pytest

import llmga
from llmga.cli import main
from llmga.errors import LLMGAError
from llmga.store import STORE_FILE, StoreError


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    out = tmp_path_factory.mktemp("damaged") / "run"
    llmga.optimize("qed", budget=150, population=20, offspring=20, seed=3, llm="none", workers=1, out=str(out))
    return out


def _damage(path, how: str) -> None:
    size = path.stat().st_size
    with open(path, "r+b") as fh:
        if how == "garbage-in-the-middle":
            fh.seek(size // 4)
            fh.write(bytes(range(256)) * (size // 512))  # the middle half of the file
        elif how == "truncated":
            fh.truncate(size // 2)
        elif how == "garbage-header":
            fh.write(b"this is no SQLite database" * 8)
        elif how == "empty":
            fh.truncate(0)


def _digests(folder) -> dict[str, str]:
    """Every file's digest but the lock's (it names the last process that tried) and SQLite's -wal/-shm."""
    skip = {"run.lock", STORE_FILE + "-wal", STORE_FILE + "-shm"}
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.name not in skip}


DAMAGES = ["garbage-in-the-middle", "truncated", "garbage-header", "empty"]


@pytest.fixture(params=DAMAGES)
def damaged(request, finished, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(finished, out)
    _damage(out / STORE_FILE, request.param)
    return out


def _one_error_line(capsys, out) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    (line,) = [line for line in err.splitlines() if line.startswith("error:")]
    assert str(out / STORE_FILE) in line
    return line


@pytest.mark.parametrize("command", ["resume", "export"])
def test_the_cli_on_a_damaged_store_prints_one_error_and_changes_nothing(damaged, command, capsys):
    before = _digests(damaged)
    argv = ["optimize", "--resume", str(damaged), "--quiet"] if command == "resume" else ["export", str(damaged)]
    assert main(argv) == 1
    text = _one_error_line(capsys, damaged)
    assert "damaged" in text and "evaluations.csv" in text and "start a new run" in text
    assert _digests(damaged) == before  # the store and its exports as they were


def test_llmga_load_of_a_damaged_store_raises_a_store_error_naming_it(damaged):
    result = llmga.load(damaged)
    with pytest.raises(StoreError, match=r"run\.sqlite.* damaged.*evaluations\.csv.*start a new run") as info:
        result.evaluations  # noqa: B018 - the store is read here
    assert isinstance(info.value, LLMGAError) and str(damaged / STORE_FILE) in str(info.value)
    assert "\n" not in str(info.value)


def test_a_damaged_store_without_exports_says_so(finished, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(finished, out)
    for csv in out.glob("*.csv"):
        os.unlink(csv)
    _damage(out / STORE_FILE, "garbage-in-the-middle")
    with pytest.raises(StoreError, match="no CSV exports beside it"):
        llmga.resume(out)
