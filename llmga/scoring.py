"""Score a file of molecules with any objective — the very function a run optimises."""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from llmga.chem import StandardizationReport, StandardizationWarning, Standardized, standardize
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
    neutralize: bool = False,
) -> pd.DataFrame:
    """Score ``smiles`` (in order) and say why any molecule has no score.

    Every molecule is standardised first (:func:`llmga.chem.standardize`: a
    salt is scored as its parent, a mixture as its largest organic component;
    ``neutralize`` also neutralises charges), as when it enters a run; how
    many were changed or dropped is told in a :class:`~llmga.chem.StandardizationWarning`
    and kept in ``frame.attrs["standardization"]``.

    Returns a DataFrame with columns ``smiles`` (as given), ``score`` (NaN
    where there is none) and ``reason`` (empty when scored; ``invalid
    SMILES`` and why, e.g. ``invalid SMILES: longer than 2000 characters``,
    when no molecule was read). Each distinct molecule is scored once,
    whatever its spelling. If the objective fails, the
    :class:`~llmga.errors.LLMGAError` raised carries the rows computed so far
    as ``.partial``.
    """
    obj = get_objective(objective)
    executor = make_executor(workers)
    try:
        step = functools.partial(standardize, neutralize=neutralize)
        results: list[Standardized] = executor.map(step, smiles) if len(smiles) >= 1000 else [step(s) for s in smiles]
        report = StandardizationReport()
        for given, result in zip(smiles, results, strict=True):
            report.add(given, result)
        _warn(report)
        canon = [r.smiles for r in results]
        unique = list(dict.fromkeys(c for c in canon if c is not None))
        oracle = Oracle(obj, max(len(unique), 1), executor=executor)
        try:
            for start in range(0, len(unique), _CHUNK):
                oracle.evaluate([Candidate(s) for s in unique[start : start + _CHUNK]], generation=0)
                if progress is not None:
                    progress(min(start + _CHUNK, len(unique)), len(unique))
        except LLMGAError as exc:
            exc.partial = _frame(smiles, results, oracle, f"not scored: {exc}", report)  # type: ignore[attr-defined]
            raise
    finally:
        executor.close()
    return _frame(smiles, results, oracle, "", report)


def _warn(report: StandardizationReport) -> None:
    # Plain invalid SMILES are counted on the result line already; say what else happened.
    if not (report.changed or set(report.dropped) - {"invalid SMILES"}):
        return
    text = f"standardisation before scoring: {report}"
    if report.changed_examples:
        given, became = report.changed_examples[0]
        text += f"; e.g. {given!r} was scored as {became}"
    warnings.warn(text, StandardizationWarning, stacklevel=3)


def _frame(
    smiles: list[str], results: list[Standardized], oracle: Oracle, unscored: str, report: StandardizationReport
) -> pd.DataFrame:
    scores = np.full(len(results), np.nan)
    reasons: list[str] = []
    for i, result in enumerate(results):
        c = result.smiles
        ev = oracle.cache.get(c) if c is not None else None
        if c is None:
            why = result.reason or "invalid SMILES"
            reasons.append(why if why.startswith("invalid SMILES") else f"invalid SMILES: {why}")
        elif ev is None:
            reasons.append(unscored)
        elif math.isnan(ev.score):
            reasons.append(f"{oracle.objective.name} cannot score this molecule (NaN)")
        else:
            scores[i] = ev.score
            reasons.append("")
    frame = pd.DataFrame({"smiles": smiles, "score": scores, "reason": reasons})
    frame.attrs["standardization"] = report.as_dict()
    return frame


def score_file(
    objective: str | Objective | Callable[..., object],
    path: str | Path,
    *,
    smiles_col: str | None = None,
    out: str | Path | None = None,
    workers: int = 0,
    progress: Callable[[int, int], None] | None = None,
    neutralize: bool = False,
) -> pd.DataFrame:
    """Score every molecule of a .smi/.txt/.csv file; write ``smiles,score,reason`` to ``out`` if given.

    Molecules are standardised first, as in :func:`score_smiles`. If the
    objective fails part-way, whatever was scored is still written to
    ``out`` (the rest marked "not scored") before the error propagates.
    """
    rows = read_smiles_table(path, smiles_col)
    smiles = [text for _, text in rows]
    try:
        frame = score_smiles(objective, smiles, workers=workers, progress=progress, neutralize=neutralize)
    except LLMGAError as exc:
        partial = getattr(exc, "partial", None)
        if out is not None and partial is not None:
            partial.to_csv(out, index=False, na_rep="NaN")
        raise
    if out is not None:
        frame.to_csv(out, index=False, na_rep="NaN")
    return frame
