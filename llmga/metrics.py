"""PMO metrics: Top-K AUC under an oracle budget, exactly as PMO's reference computes it.

PMO (Gao et al. 2022, "Sample Efficiency Matters") logs the mean of the K best
scores found so far after every ``freq`` oracle calls, integrates that curve
over the number of calls with the trapezoid rule (starting from 0 at call 0),
closes the last partial interval at the run's final top-K mean, extends the
curve flat to the budget when the run stopped early, and divides by the
budget. Scores are taken in call order; NaN scores never enter a top-K.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence

import numpy as np

__all__ = ["mean_pairwise_similarity", "top_k_auc", "top_k_curve", "top_k_mean"]


def _oriented(scores: Sequence[float] | np.ndarray, direction: str) -> np.ndarray:
    arr = np.asarray(scores, dtype=float)
    if direction not in ("maximize", "minimize"):
        raise ValueError(f"direction {direction!r} is not valid: use 'maximize' or 'minimize'")
    return arr if direction == "maximize" else -arr


def top_k_mean(scores: Sequence[float] | np.ndarray, k: int, direction: str = "maximize") -> float:
    """Mean of the ``k`` best finite scores (fewer if fewer exist; NaN if none)."""
    arr = _oriented(scores, direction)
    arr = arr[np.isfinite(arr)]
    if arr.size == 0:
        return float("nan")
    best = np.sort(arr)[::-1][:k] if arr.size <= k else np.partition(arr, arr.size - k)[arr.size - k :]
    value = float(np.mean(best))
    return value if direction == "maximize" else -value


def top_k_curve(
    scores: Sequence[float] | np.ndarray, k: int, checkpoints: Sequence[int], direction: str = "maximize"
) -> np.ndarray:
    """Top-``k`` mean of the first ``n`` scores for each ``n`` in ascending ``checkpoints``."""
    arr = _oriented(scores, direction)
    heap: list[float] = []
    total = 0.0
    out = np.full(len(checkpoints), np.nan)
    pos = 0
    for j, n in enumerate(checkpoints):
        for value in arr[pos:n]:
            if not np.isfinite(value):
                continue
            if len(heap) < k:
                heapq.heappush(heap, value)
                total += value
            elif value > heap[0]:
                total += value - heapq.heapreplace(heap, value)
        pos = max(pos, n)
        if heap:
            out[j] = total / len(heap)
    return out if direction == "maximize" else -out


def top_k_auc(
    scores: Sequence[float] | np.ndarray,
    k: int,
    budget: int,
    *,
    freq: int = 100,
    finish: bool = True,
    direction: str = "maximize",
) -> float:
    """PMO's Top-``k`` AUC of ``scores`` (in call order) under ``budget`` calls.

    Only the first ``budget`` scores count. With ``finish`` (as in PMO's final
    report), a run that used fewer calls than the budget is extended flat at
    its final top-``k`` mean. For ``direction="minimize"`` the AUC of the
    negated scores is negated back, so lower is better.
    """
    if budget <= 0:
        raise ValueError(f"budget must be positive, got {budget}")
    arr = _oriented(scores, direction)[:budget]
    n = len(arr)
    if n == 0:
        return float("nan")
    checkpoints = list(range(freq, min(n, budget), freq))
    curve = top_k_curve(arr, k, [*checkpoints, n])
    area, prev, called = 0.0, 0.0, 0
    for idx, now in zip(checkpoints, curve[:-1], strict=True):
        area += freq * (now + prev) / 2
        prev, called = now, idx
    final = curve[-1]
    area += (n - called) * (final + prev) / 2
    if finish and n < budget:
        area += (budget - n) * final
    value = area / budget
    return float(value if direction == "maximize" else -value)


def mean_pairwise_similarity(smiles: Sequence[str]) -> float:
    """Mean Tanimoto similarity of every pair of ``smiles`` (Morgan radius 2, 2048 bits): 1 when all are one
    molecule, near 0.1 for unrelated drug-like molecules. Of a run's top 100 it tells whether a high score
    came with a collapse onto one scaffold (internal diversity is 1 minus it). Invalid SMILES are left out;
    NaN when fewer than 2 remain."""
    from rdkit import DataStructs

    from llmga.chem import morgan

    fps = [fp for fp in (morgan(s) for s in smiles) if fp is not None]
    if len(fps) < 2:
        return float("nan")
    total = sum(sum(DataStructs.BulkTanimotoSimilarity(fp, fps[i + 1 :])) for i, fp in enumerate(fps[:-1]))
    return float(total / (len(fps) * (len(fps) - 1) / 2))
