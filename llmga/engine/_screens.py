"""What a generation's children pass before the oracle: the filters, then an optional prescreen.

Neither spends oracle calls. Molecules scored before always pass (the
oracle serves them from its cache, and a filter added on resume must not
change what a record replays).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Container, Sequence

import numpy as np

from llmga.engine._oracle import Candidate
from llmga.filters import FilterSet
from llmga.objectives import Objective, check_scores

__all__ = ["Prescreen", "screen"]


def screen(
    filters: FilterSet, candidates: list[Candidate], origins: list[int], scored: Container[str]
) -> tuple[list[Candidate], list[int], int]:
    """The candidates (and their recipes) that pass ``filters`` or were ``scored`` before; how many were dropped."""
    if not filters:
        return candidates, origins, 0
    kept = [(c, o) for c, o in zip(candidates, origins, strict=True) if c.smiles in scored or filters.passes(c.smiles)]
    return [c for c, _ in kept], [o for _, o in kept], len(candidates) - len(kept)


class Prescreen:
    """A cheap objective that ranks each generation's new children: only the best ``keep`` share of them
    (at least one) reaches the oracle. ``dropped`` counts the children it kept from it over the run."""

    def __init__(self, objective: Objective, keep: float) -> None:
        self.objective = objective
        self.keep = keep
        self.dropped = 0

    def __call__(
        self,
        candidates: list[Candidate],
        origins: list[int],
        scored: Container[str],
        generation: int,
        report: Sequence[Callable[..., object]] = (),
    ) -> tuple[list[Candidate], list[int], int]:
        """The candidates it keeps (molecules ``scored`` before always stay) and how many new ones it dropped.
        Every new child's prescreen score goes to each of ``report`` as ``(generation, smiles, score, kept)`` rows."""
        new = list(dict.fromkeys(c.smiles for c in candidates if c.smiles not in scored))
        if not new:
            return candidates, origins, 0
        scores = check_scores(self.objective(new), new, self.objective.name)
        sign = 1.0 if self.objective.direction == "maximize" else -1.0
        ranked = np.where(np.isnan(scores), -np.inf, sign * scores)
        n_keep = max(1, math.ceil(self.keep * len(new)))
        order = np.argsort(-ranked, kind="stable")
        kept = {new[int(i)] for i in order[:n_keep]}
        rows = [(generation, smi, float(sc), smi in kept) for smi, sc in zip(new, scores, strict=True)]
        for hook in report:
            hook(rows)
        out = [(c, o) for c, o in zip(candidates, origins, strict=True) if c.smiles in kept or c.smiles in scored]
        dropped = len(new) - len(kept)
        self.dropped += dropped
        return [c for c, _ in out], [o for _, o in out], dropped
