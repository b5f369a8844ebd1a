"""How each generation's children are split among recipes: fixed shares, adaptive pursuit or probability matching.

Credit: after a generation, a recipe's reward is the share of the children
it was asked for that entered the population (new molecules that beat
enough of the population to survive). That is scale- and sign-free (it
works for any objective and direction) and charges a recipe for everything
it wastes: invalid children, repeats, molecules that score poorly. A child
another operator made in a slot the recipe left empty (a model's fallback,
``is_fallback``) earns it nothing: the model's recipe on a sitagliptin_mpo
run was credited for 16 generations of graph-GA fallbacks while the model
could read none of its parents.

With ``credit="rank"`` a survivor earns by the place it takes instead of 1:
``(P - place) / P`` in a population of ``P`` ranked best first (a new best
earns 1, a child that scrapes into the last place ``1/P``). Top-K AUC rewards
children near the top, and a recipe whose children only just survive (a
model that copies the population's middle) should not earn what one whose
children lead it does. Still scale- and sign-free.

Rule: adaptive pursuit (Thierens 2005). Each recipe keeps a running quality
estimate ``Q <- Q + alpha (reward - Q)``; the shares then move a step
``beta`` toward ``floor`` for every recipe but the best, which moves toward
``1 - (K - 1) floor``. We chose pursuit over probability matching because
rewards here drift (a fine-tuned model gets better; the GA's easy gains dry
up), and pursuit follows a new best recipe within a few generations while
probability matching spreads shares in proportion to small differences in
Q; over UCB because the decision is a split of ~70 children per generation,
not one pull at a time. The floor keeps every recipe alive so it can be
re-discovered. Deterministic: no random draws.

Probability matching (``--share-rule matching``) is kept beside it for
measurement: each recipe's share is the floor plus its part of the rest in
proportion to ``Q``. Pursuit is winner-take-all: in two gsk3b runs that
differed only in the model's arithmetic, graph mutation won 76 % of the
calls in one while the learning model's mutations (whose mean score rose
from 0.21 to 0.55 over the run) stayed near the floor, and the model's
mutations won in the other (top-10 AUC 0.827 against 0.872 at 7,824 calls): matching keeps
an improving recipe in play in proportion to what it earns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

__all__ = ["CREDITS", "SHARE_RULES", "AdaptivePursuit", "ProbabilityMatching", "ShareRule", "place_credit"]

CREDITS = ("survival", "rank")


def _check_credit(credit: str) -> None:
    if credit not in CREDITS:
        raise ValueError(f"share credit {credit!r}: choose one of {', '.join(CREDITS)}")


def place_credit(
    population: Sequence[str], origin: Mapping[str, int], recipes: int, credit: str = "survival"
) -> list[float]:
    """What each of ``recipes`` recipes earned: its children (``origin``: new SMILES -> recipe) among
    ``population`` (the survivors, best first), each 1 (``"survival"``) or ``(P - place) / P`` (``"rank"``,
    see the module docstring)."""
    _check_credit(credit)
    earned = [0.0] * recipes
    size = len(population)
    for place, smiles in enumerate(population):
        recipe = origin.get(smiles)
        if recipe is not None:
            earned[recipe] += 1.0 if credit == "survival" else (size - place) / size
    return earned


class ShareRule:
    """Fixed shares (the base class): ``update`` changes nothing."""

    def __init__(self, shares: Sequence[float], *, credit: str = "survival") -> None:
        _check_credit(credit)
        self.credit_by = credit  # how a survivor earns (place_credit)
        s = np.array([max(float(x), 0.0) for x in shares], dtype=float)
        self.shares = s / s.sum() if s.sum() > 0 else np.full(len(s), 1.0 / max(1, len(s)))
        self.quality = np.zeros(len(self.shares))

    def update(self, rewards: Sequence[float | None]) -> None:
        """Take one generation's rewards (``None`` for a recipe that made no children)."""

    def credit(self, made: Sequence[int], survived: Sequence[float]) -> list[float | None]:
        """Credit one generation (see the module docstring): recipe ``i`` made ``made[i]`` children, which
        earned ``survived[i]`` by entering the population (:func:`place_credit`); its reward is that over
        ``made[i]`` (``None`` when it made none). Updates the shares and returns the rewards. Runs and
        campaigns both credit through here."""
        rewards = [s / n if n else None for s, n in zip(survived, made, strict=True)]
        self.update(rewards)
        return rewards


class _Adaptive(ShareRule):
    """What both adaptive rules share: a floor, and a running quality ``Q <- Q + alpha (reward - Q)`` per
    recipe (NaN until it is first credited). Subclasses turn the qualities into shares in :meth:`_move`."""

    def __init__(self, shares: Sequence[float], *, alpha: float, floor: float, credit: str = "survival") -> None:
        super().__init__(shares, credit=credit)
        k = len(self.shares)
        if k > 1 and not 0.0 <= floor <= 1.0 / k:
            raise ValueError(f"share floor {floor} must lie between 0 and 1/{k} for {k} recipes")
        self.alpha = alpha
        self.floor = floor if k > 1 else 0.0
        self.quality = np.full(k, np.nan)

    def update(self, rewards: Sequence[float | None]) -> None:
        if len(self.shares) < 2:
            return
        for i, r in enumerate(rewards):
            if r is None:
                continue
            q = self.quality[i]
            self.quality[i] = r if np.isnan(q) else q + self.alpha * (r - q)
        self._move()

    def _move(self) -> None:
        raise NotImplementedError


class AdaptivePursuit(_Adaptive):
    """Adaptive pursuit of the best recipe, with a floor (see the module docstring)."""

    def __init__(
        self,
        shares: Sequence[float],
        *,
        alpha: float = 0.3,
        beta: float = 0.3,
        floor: float = 0.1,
        credit: str = "survival",
    ) -> None:
        super().__init__(shares, alpha=alpha, floor=floor, credit=credit)
        self.beta = beta
        self.ceiling = 1.0 - (len(self.shares) - 1) * self.floor
        # Start inside [floor, ceiling] so that the first steps already respect the floor.
        self.shares = np.clip(self.shares, self.floor, self.ceiling)
        self.shares /= self.shares.sum()

    def _move(self) -> None:
        if np.isnan(self.quality).all():
            return
        best = int(np.nanargmax(self.quality))
        target = np.full(len(self.shares), self.floor)
        target[best] = self.ceiling
        self.shares = self.shares + self.beta * (target - self.shares)
        self.shares /= self.shares.sum()


class ProbabilityMatching(_Adaptive):
    """Shares in proportion to each recipe's running quality, above a floor (see the module docstring)."""

    def __init__(
        self, shares: Sequence[float], *, alpha: float = 0.3, floor: float = 0.1, credit: str = "survival"
    ) -> None:
        super().__init__(shares, alpha=alpha, floor=floor, credit=credit)
        self.shares = np.clip(self.shares, self.floor, None)
        self.shares /= self.shares.sum()

    def _move(self) -> None:
        # A recipe not yet credited counts as the mean of those that were, so it is neither starved nor favoured.
        known = self.quality[~np.isnan(self.quality)]
        if known.size == 0 or known.sum() <= 0:
            return
        q = np.where(np.isnan(self.quality), known.mean(), self.quality)
        self.shares = self.floor + (1.0 - len(q) * self.floor) * q / q.sum()


# --share-rule NAME -> the adaptive rule (both take the initial shares and floor)
SHARE_RULES: dict[str, type[AdaptivePursuit] | type[ProbabilityMatching]] = {
    "pursuit": AdaptivePursuit,
    "matching": ProbabilityMatching,
}
