"""One generation's children: each recipe's operators applied in one batch, then parsed and labelled."""

from __future__ import annotations

import math
from collections.abc import Container, Sequence

import numpy as np

from llmga.chem import canonical
from llmga.engine._oracle import Candidate
from llmga.engine._survival import Individual
from llmga.errors import OperatorError
from llmga.executors import Executor
from llmga.filters import FilterSet
from llmga.operators import Child, Operator, Parent, Recipe, VariationContext

__all__ = ["breed", "initial_candidates"]

_Kid = tuple[str | Child | None, tuple[int, ...], str]  # a child, its parents' calls, who made it


def _text(kid: str | Child | None) -> str:
    """The SMILES text of an operator's child ("" when there is none)."""
    if isinstance(kid, Child):
        return kid.smiles
    return kid if isinstance(kid, str) else ""


def _label(kid: str | Child | None, default: str) -> str:
    """Who made a child: its own label if it carries one, else the operator's name."""
    return kid.operator if isinstance(kid, Child) else default


def _apply(
    op: Operator, groups: list[list[Parent]], rng: np.random.Generator, ctx: VariationContext
) -> list[list[str | Child | None]]:
    out = op.apply(groups, rng, ctx)
    if not isinstance(out, (list, tuple)) or len(out) != len(groups):
        got = len(out) if isinstance(out, (list, tuple)) else type(out).__name__
        raise OperatorError(
            f"operator {op.name!r} returned {got} child lists for {len(groups)} parent groups; "
            "Operator.apply must return one list per group, in order"
        )
    return [list(kids) if isinstance(kids, (list, tuple)) else [None] for kids in out]


def _recipe_batch(
    recipe: Recipe,
    n: int,
    source: Sequence[Individual],
    rng: np.random.Generator,
    ctx: VariationContext,
) -> tuple[list[_Kid], list[bool]]:
    """``n`` children of one recipe from parents drawn from ``source``, and whether each was validated."""
    batch: list[_Kid]
    if recipe.crossover is not None:
        op = recipe.crossover
        n_groups = math.ceil(n / max(op.children_per_group, 1))
        picks = rng.integers(len(source), size=(n_groups, op.arity))
        groups = [[source[i].as_parent() for i in row] for row in picks]
        outs = _apply(op, groups, rng, ctx)
        batch = [(kid, tuple(p.call for p in g), op.name) for g, kids in zip(groups, outs, strict=True) for kid in kids]
        batch = batch[:n]
        valid = [op.validated_output] * len(batch)
        rate = recipe.mutation_rate
    else:
        picks = rng.integers(len(source), size=n)
        batch = [(source[i].smiles, (source[i].call,), "") for i in picks]
        valid = [True] * len(batch)  # population members: scored canonical SMILES
        rate = 1.0
    mut = recipe.mutation
    if mut is not None:
        draws = rng.random(len(batch))
        chosen = [i for i, (kid, _, _) in enumerate(batch) if kid is not None and draws[i] < rate]
        if chosen:
            outs = _apply(mut, [[Parent(_text(batch[i][0]))] for i in chosen], rng, ctx)
            for i, kids in zip(chosen, outs, strict=True):
                kid, parents, name = batch[i]
                name = _label(kid, name)
                batch[i] = (kids[0] if kids else None, parents, f"{name}+{mut.name}" if name else mut.name)
                valid[i] = mut.validated_output
    return batch, valid


def breed(
    recipes: Sequence[Recipe],
    counts: Sequence[int],
    population: Sequence[Individual],
    pool: Sequence[Individual],
    rng: np.random.Generator,
    ctx: VariationContext,
    executor: Executor,
) -> tuple[list[Candidate], list[int]]:
    """``counts[i]`` children of each recipe, in recipe order, as candidates (valid molecules only, each
    with the index of its recipe). Parents come from the mating ``pool`` or, for an elite recipe, from the
    best of ``population``. Children an operator did not validate are untrusted: they are parsed and
    canonicalised (on ``executor``)."""
    children: list[_Kid] = []
    checked: list[bool] = []
    origin: list[int] = []
    for index, (recipe, n) in enumerate(zip(recipes, counts, strict=True)):
        if n == 0:
            continue
        source = population[: recipe.elite] if recipe.elite else pool
        batch, valid = _recipe_batch(recipe, n, source, rng, ctx)
        children.extend(batch)
        checked.extend(valid)
        origin.extend([index] * len(batch))
    texts = [_text(kid) for kid, _, _ in children]
    unchecked = [i for i, ok in enumerate(checked) if not ok]
    smiles_list: list[str | None] = [t or None for t in texts]
    for i, smiles in zip(unchecked, executor.map(canonical, [texts[i] for i in unchecked]), strict=True):
        smiles_list[i] = smiles
    candidates, origins = [], []
    for smiles, (kid, parents, name), index in zip(smiles_list, children, origin, strict=True):
        if smiles is not None:
            candidates.append(Candidate(smiles, _label(kid, name), parents))
            origins.append(index)
    return candidates, origins


def initial_candidates(
    pool: Sequence[str], size: int, rng: np.random.Generator, filters: FilterSet, exclude: Container[str] = ()
) -> tuple[list[Candidate], int]:
    """Up to ``size`` distinct valid molecules of ``pool``, in a random order drawn from ``rng``, that pass
    ``filters`` and are not in ``exclude``; and how many failed a filter."""
    candidates: list[Candidate] = []
    seen: set[str] = set()
    rejected = 0
    for i in rng.permutation(len(pool)):
        smiles = canonical(pool[int(i)])
        if smiles is not None and smiles not in seen and smiles not in exclude:
            seen.add(smiles)
            if filters and not filters.passes(smiles):
                rejected += 1
                continue
            candidates.append(Candidate(smiles, "init"))
            if len(candidates) == size:
                break
    return candidates, rejected
