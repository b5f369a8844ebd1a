"""The variation seam: operators turn groups of parents into children, a generation at a time."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from llmga.executors import Executor, SerialExecutor

if TYPE_CHECKING:
    from llmga.engine import Evaluation

__all__ = ["Child", "Operator", "Parent", "VariationContext", "fallback_children", "is_fallback"]

_FALLBACK = "(fallback)"


def is_fallback(label: str) -> bool:
    """Whether an operator label names a fallback child (:func:`fallback_children`): made by another
    operator in a slot the labelled one left empty."""
    return label.endswith(_FALLBACK)


@dataclass(frozen=True)
class Parent:
    """A parent molecule as operators see it: canonical SMILES, its score and its call number.

    ``call`` is the 1-based index of the oracle call that scored it (0 when it
    was never scored, e.g. an intermediate child being mutated).
    """

    smiles: str
    score: float = math.nan
    call: int = 0


@dataclass(frozen=True)
class Child:
    """A child with its own provenance label, for operators that mix sources.

    An LLM operator that fills a failed slot with a graph-GA child returns
    ``Child(smiles, "graph_crossover(fallback)")`` so the run records who made it.
    """

    smiles: str
    operator: str


def _never(smiles: str) -> bool:
    return False


@dataclass(frozen=True)
class VariationContext:
    """What an operator may want to know about the run when it proposes children.

    LLM operators put the objective and scores into prompts. ``executor``
    runs CPU-bound per-group work on the run's cores: operators that use it
    must give each group its own seed (drawn from ``rng``) so that children
    do not depend on the number of workers. ``is_scored(canonical_smiles)``
    tells whether a molecule was already scored in this run, so an operator
    can avoid proposing repeats (which cost no oracle call but waste a slot).
    """

    objective: str = ""
    description: str = ""
    direction: str = "maximize"
    best_score: float = math.nan
    generation: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    executor: Executor = field(default_factory=SerialExecutor)
    is_scored: Callable[[str], bool] = _never
    population: Sequence[Parent] = ()


class Operator(ABC):
    """A batched variation operator (crossover, mutation, or anything in between).

    Contract:

    * ``arity`` is the number of parents in each group (2 for crossover, 1
      for mutation); ``children_per_group`` is how many children it returns
      for each group (an LLM may propose several per prompt).
    * :meth:`apply` receives **all** parent groups of one generation at once
      and returns one list per group, in the same order, of length
      ``children_per_group``; an entry is a SMILES string, a :class:`Child`
      (a SMILES with its own provenance label), or ``None`` where that child
      could not be made. Batch-level work (one model call for the
      whole generation) belongs inside :meth:`apply`.
    * Randomness comes only from ``rng``: with the same groups and the same
      generator state, a deterministic operator returns the same children.
    * Children are untrusted: the engine parses, canonicalises and filters
      them; an operator need not, but should not return its parents.
    * :meth:`tell` (optional, a no-op by default) is how an operator learns:
      after every generation, the initial population included, the engine
      tells it that generation's new evaluations — every oracle call the
      generation made, whoever proposed it, in call order — with the
      population they left. Each evaluation is told exactly once, in the same
      order for the same seed, and a resumed run tells them again from the
      first (the run is retraced), so an operator that learns from them ends
      in the same state. Work that needs random numbers belongs in the next
      :meth:`apply`, which gets the run's generator.
    """

    name: str = "operator"
    arity: int = 1
    children_per_group: int = 1
    #: True when every child is already the canonical SMILES of a valid molecule
    #: (the operator checked it); the engine then skips its own check.
    validated_output: bool = False

    @abstractmethod
    def apply(
        self,
        groups: Sequence[Sequence[Parent]],
        rng: np.random.Generator,
        context: VariationContext,
    ) -> Sequence[Sequence[str | Child | None]]:
        """Propose children for every group of parents; ``None`` where one failed."""

    def tell(self, evaluations: Sequence[Evaluation], context: VariationContext) -> None:  # noqa: B027
        """Learn from one generation's new evaluations; ``context`` describes the run after it
        (``context.population``: the population they left, best first; ``context.generation``: the
        generation just scored, 0 for the initial population)."""

    def card(self) -> dict[str, Any]:
        """A JSON-serialisable description of this operator's settings."""
        return {"name": self.name, "arity": self.arity, "children_per_group": self.children_per_group}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} arity={self.arity}>"


def fallback_children(
    fallback: Operator, groups: Sequence[Sequence[Parent]], rng: np.random.Generator, context: VariationContext
) -> list[Child | None]:
    """One child of ``fallback`` per group, labelled ``<name>(fallback)``, from one batched call.

    Model operators use it to fill the slots their model left empty.
    """
    if not groups:
        return []
    label = f"{fallback.name}{_FALLBACK}"
    out: list[Child | None] = []
    for row in fallback.apply(groups, rng, context):
        kid = row[0]
        text = kid.smiles if isinstance(kid, Child) else kid
        out.append(Child(text, label) if text else None)
    return out
