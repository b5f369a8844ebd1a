"""Score a file of molecules with any objective — the very function a run optimises."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from llmga.chem import canonical
from llmga.data import read_smiles_table
from llmga.engine import Candidate, Oracle
from llmga.errors import LLMGAError
from llmga.executors import make_executor
from llmga.objectives import Objective, get_objective

__all__ = ["score_file", "score_smiles"]

_CHUNK = 2000


def score_smiles(
    objective: str | Objective | Callable[..., object],
    smiles: list[str],
    *,
    workers: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """Score ``smiles`` (in order) and say why any molecule has no score.

    Returns a DataFrame with columns ``smiles`` (as given), ``score`` (NaN
    where there is none) and ``reason`` (empty when scored). Each distinct
    molecule is scored once, whatever its spelling. If the objective fails,
    the :class:`~llmga.errors.LLMGAError` raised carries the rows computed
    so far as ``.partial``.
    """
    obj = get_objective(objective)
    executor = make_executor(workers)
    try:
        canon = executor.map(canonical, smiles) if len(smiles) >= 1000 else [canonical(s) for s in smiles]
        unique = list(dict.fromkeys(c for c in canon if c is not None))
        oracle = Oracle(obj, max(len(unique), 1), executor=executor)
        try:
            for start in range(0, len(unique), _CHUNK):
                oracle.evaluate([Candidate(s) for s in unique[start : start + _CHUNK]], generation=0)
                if progress is not None:
                    progress(min(start + _CHUNK, len(unique)), len(unique))
        except LLMGAError as exc:
            exc.partial = _frame(smiles, canon, oracle, f"not scored: {exc}")  # type: ignore[attr-defined]
            raise
    finally:
        executor.close()
    return _frame(smiles, canon, oracle, "")


def _frame(smiles: list[str], canon: list[str | None], oracle: Oracle, unscored: str) -> pd.DataFrame:
    scores = np.full(len(smiles), np.nan)
    reasons: list[str] = []
    for i, c in enumerate(canon):
        ev = oracle.cache.get(c) if c is not None else None
        if c is None:
            reasons.append("invalid SMILES")
        elif ev is None:
            reasons.append(unscored)
        elif math.isnan(ev.score):
            reasons.append(f"{oracle.objective.name} cannot score this molecule (NaN)")
        else:
            scores[i] = ev.score
            reasons.append("")
    return pd.DataFrame({"smiles": smiles, "score": scores, "reason": reasons})


def score_file(
    objective: str | Objective | Callable[..., object],
    path: str | Path,
    *,
    smiles_col: str | None = None,
    out: str | Path | None = None,
    workers: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """Score every molecule of a .smi/.txt/.csv file; write ``smiles,score,reason`` to ``out`` if given.

    If the objective fails part-way, whatever was scored is still written to
    ``out`` (the rest marked "not scored") before the error propagates.
    """
    rows = read_smiles_table(path, smiles_col)
    smiles = [text for _, text in rows]
    try:
        frame = score_smiles(objective, smiles, workers=workers, progress=progress)
    except LLMGAError as exc:
        partial = getattr(exc, "partial", None)
        if out is not None and partial is not None:
            partial.to_csv(out, index=False, na_rep="NaN")
        raise
    if out is not None:
        frame.to_csv(out, index=False, na_rep="NaN")
    return frame
