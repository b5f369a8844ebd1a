"""External programs as objectives: ``--objective 'exec:./dock.sh'``.

For each batch llmga runs the command once per chunk (``workers`` chunks at
a time), writes the chunk as CSV with the columns ``id,smiles`` to the
program's standard input, or to a file whose path replaces ``{input}`` in
the command, and reads a CSV with the columns ``id,score`` (``smiles,score``
also works) from its standard output, or from the file that replaces
``{output}``. The program may be anything: a docking script (AutoDock Vina,
Gnina), a quantum-chemistry driver, a call to a web service.

A program that exits non-zero, runs past ``timeout`` seconds (its whole
process group is killed), leaves molecules out of its output or writes
something that is not a number gives NaN for the molecules concerned, never
a crashed run; every such molecule and its reason is kept in
:attr:`ExternalObjective.failures` and reported once per batch as a warning.
"""

from __future__ import annotations

import csv
import io
import math
import os
import shlex
import signal
import subprocess
import tempfile
import time
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from llmga.errors import ObjectiveError
from llmga.objectives._base import Objective, check_direction

__all__ = ["ExternalObjective", "external_from_spec"]

_TAIL = 300  # characters of a failing program's standard error kept in its reason


class ExternalObjective(Objective):
    """Scores molecules by running an external program (see the module docstring)."""

    parallel = False  # it runs its own worker processes

    def __init__(
        self,
        command: str,
        *,
        timeout: float = 600.0,
        workers: int = 1,
        chunk: int | None = None,
        direction: str = "maximize",
        name: str | None = None,
        description: str | None = None,
    ) -> None:
        self.argv = shlex.split(command)
        if not self.argv:
            raise ObjectiveError("exec: objective needs a command, e.g. exec:./dock.sh")
        program = Path(self.argv[0])
        if ("/" in self.argv[0] or program.suffix) and not program.exists():
            raise ObjectiveError(f"exec: program {self.argv[0]!r} does not exist; check the path (from {Path.cwd()})")
        if not timeout > 0:
            raise ObjectiveError(f"exec: timeout={timeout!r}: give a positive number of seconds")
        if workers < 1:
            raise ObjectiveError(f"exec: workers={workers!r}: give at least 1")
        self.command = command
        self.timeout = float(timeout)
        self.workers = int(workers)
        self.chunk = chunk
        self.direction = check_direction(direction)
        # Named after the script when the command runs one through an interpreter (python dock.py).
        script = next((Path(a) for a in self.argv[1:] if not a.startswith("-") and Path(a).is_file()), program)
        self.name = name or f"exec:{script.name}"
        self.description = description or f"score written by the external program `{command}`"
        self.failures: list[tuple[str, str]] = []  # (smiles, reason) of every molecule that got NaN
        self.seconds = 0.0

    def __call__(self, smiles: Sequence[str]) -> np.ndarray:
        smiles = list(smiles)
        if not smiles:
            return np.zeros(0)
        size = self.chunk or max(1, math.ceil(len(smiles) / self.workers))
        chunks = [list(range(i, min(i + size, len(smiles)))) for i in range(0, len(smiles), size)]
        out = np.full(len(smiles), np.nan)
        reasons: dict[int, str] = {}
        clock = time.perf_counter()
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            results = pool.map(lambda idx: self._run([smiles[i] for i in idx]), chunks)
            for idx, (scores, why) in zip(chunks, results, strict=True):
                for j, i in enumerate(idx):
                    out[i] = scores[j]
                    if why[j]:
                        reasons[i] = why[j]
        self.seconds += time.perf_counter() - clock
        if reasons:
            self.failures.extend((smiles[i], r) for i, r in sorted(reasons.items()))
            first = min(reasons)
            warnings.warn(
                f"{self.name}: {len(reasons)} of {len(smiles)} molecules got no score (NaN); "
                f"first: {smiles[first]!r}: {reasons[first]}",
                RuntimeWarning,
                stacklevel=2,
            )
        return out

    def _run(self, batch: list[str]) -> tuple[list[float], list[str]]:
        """Run the program on ``batch``: a score (NaN on failure) and a reason ("" if scored) per molecule."""
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(["id", "smiles"])
        writer.writerows((i, s) for i, s in enumerate(batch))
        with tempfile.TemporaryDirectory(prefix="llmga-exec-") as tmp:
            argv = [a.replace("{input}", str(Path(tmp) / "input.csv")) for a in self.argv]
            argv = [a.replace("{output}", str(Path(tmp) / "output.csv")) for a in argv]
            uses_input = any("{input}" in a for a in self.argv)
            uses_output = any("{output}" in a for a in self.argv)
            if uses_input:
                (Path(tmp) / "input.csv").write_text(text.getvalue())
            stdout = self._execute(argv, "" if uses_input else text.getvalue())
            if isinstance(stdout, _Failed):
                return [math.nan] * len(batch), [str(stdout)] * len(batch)
            if uses_output:
                path = Path(tmp) / "output.csv"
                if not path.is_file():
                    return [math.nan] * len(batch), ["the program wrote no {output} file"] * len(batch)
                stdout = path.read_text()
        return _parse_scores(stdout, batch)

    def _execute(self, argv: list[str], stdin: str) -> str:
        """Run ``argv``; its standard output, or (as a ``_Failed``) why it failed."""
        try:
            proc = subprocess.Popen(  # noqa: S603 - the user's own command, run without a shell
                argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                start_new_session=True,
            )
        except OSError as exc:
            return _Failed(f"could not start {argv[0]!r}: {exc}")
        try:
            stdout, stderr = proc.communicate(stdin, timeout=self.timeout)
        except subprocess.TimeoutExpired:
            with_group = getattr(os, "killpg", None)
            try:
                if with_group is not None:
                    with_group(proc.pid, signal.SIGKILL)
                else:  # pragma: no cover - Windows
                    proc.kill()
            except ProcessLookupError:
                pass
            proc.communicate()
            return _Failed(f"timed out after {self.timeout:g} s")
        if proc.returncode != 0:
            tail = (stderr or "").strip()[-_TAIL:]
            return _Failed(f"exited with status {proc.returncode}" + (f": {tail}" if tail else ""))
        return stdout

    def card(self) -> dict[str, Any]:
        return super().card() | {"command": self.command, "timeout": self.timeout, "workers": self.workers}


class _Failed(str):
    """A reason a program run failed (a ``str`` that is not standard output)."""


def _parse_scores(text: str, batch: list[str]) -> tuple[list[float], list[str]]:
    scores = [math.nan] * len(batch)
    reasons = ["missing from the program's output"] * len(batch)
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        return scores, ["the program's output was empty"] * len(batch)
    header = [h.strip().lower() for h in rows[0]]
    if "score" not in header or not ({"id", "smiles"} & set(header)):
        return scores, [f"the output's header {rows[0]!r} lacks id (or smiles) and score"] * len(batch)
    key_col = header.index("id") if "id" in header else header.index("smiles")
    score_col = header.index("score")
    by_smiles = {s: i for i, s in enumerate(batch)}
    for row in rows[1:]:
        if len(row) <= max(key_col, score_col):
            continue
        key = row[key_col].strip()
        if header[key_col] == "id":
            i = int(key) if key.isdigit() and int(key) < len(batch) else None
        else:
            i = by_smiles.get(key)
        if i is None:
            continue
        raw = row[score_col].strip()
        if not raw:
            scores[i], reasons[i] = math.nan, "the program left the score empty"
            continue
        try:
            value = float(raw)
        except ValueError:
            scores[i], reasons[i] = math.nan, f"score {raw!r} is not a number"
            continue
        if math.isinf(value):
            scores[i], reasons[i] = math.nan, f"score {raw!r} is not finite"
            continue
        scores[i], reasons[i] = value, "" if not math.isnan(value) else "the program gave NaN"
    return scores, reasons


def external_from_spec(text: str) -> ExternalObjective:
    """``exec:COMMAND`` (the rest of the spec is the command line) as an :class:`ExternalObjective`."""
    command = text.strip()[len("exec:") :].strip()
    return ExternalObjective(command)
