"""Graph mutation near Jensen's size cap: making every product first vs counting matches first.

Jensen's filter rejects a molecule whose heavy-atom count is not below a cap
drawn from N(39.15, 3.5). A run that mutates for many generations drifts to
parents of 45-50 atoms (a gsk3b run with probability-matched shares had a
population mean of 44.7), where almost every edit fails the size draw for every
one of its products -- after RDKit's ``RunReactants`` built them all. llmga's
``mutate`` counts the template matches instead (one product per match, all of
the same size) and makes the products only once a size draw passes.

This script mutates the same parents with the same seeds both ways and prints
the seconds, the ratio and whether every mutant is identical:

* ``large``: parents grown from ZINC 250k by mutation under a looser cap
  (mean 60) to 47-52 heavy atoms, as in that run;
* ``zinc``: ZINC 250k molecules as drawn (mostly below the cap's mean, where
  the products are made at once as before).

    python benchmarks/graph_mutation.py [--parents 40] [--tries 25]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from unittest import mock

import numpy as np
from rdkit import Chem, rdBase

from llmga.data import zinc250k
from llmga.operators import graph_ga
from llmga.operators.graph_ga import MoleculeFilter, mutate


def _make_every_product(mol: Chem.Mol, rxn: object, ok: MoleculeFilter, rng: np.random.Generator) -> Chem.Mol | None:
    """The path before counting: run the edit, then check its products in a random order."""
    products = [p[0] for p in rxn.RunReactants((mol,))]  # type: ignore[attr-defined]
    return graph_ga._pick_passing(products, lambda m: ok(m, rng), rng)


def grow(seeds: Sequence[str], low: int, high: int, rng: np.random.Generator) -> list[str]:
    """Parents of ``low``..``high`` heavy atoms, grown from ``seeds`` by mutation under a looser cap."""
    loose = MoleculeFilter(size_mean=60.0)
    out = []
    for smiles in seeds:
        current = smiles
        for _ in range(400):
            child = mutate(current, rng, loose)
            if child is None:
                continue
            n = Chem.MolFromSmiles(child).GetNumHeavyAtoms()
            if n <= high:
                current = child
            if n >= low and n <= high:
                break
        if low <= Chem.MolFromSmiles(current).GetNumHeavyAtoms() <= high:
            out.append(current)
    return out


def timed(
    parents: Sequence[str], tries: int, path: Callable[..., Chem.Mol | None]
) -> tuple[float, list[str | None]]:
    """Seconds and mutants of ``tries`` mutations of each parent (seeded per parent and try) on ``path``."""
    mutants: list[str | None] = []
    with mock.patch.object(graph_ga, "_mutant", path):
        start = time.perf_counter()
        for i, parent in enumerate(parents):
            for t in range(tries):
                mutants.append(mutate(parent, np.random.default_rng([i, t])))
        return time.perf_counter() - start, mutants


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parents", type=int, default=40, help="parents per set (default 40)")
    parser.add_argument("--tries", type=int, default=25, help="mutations per parent (default 25)")
    args = parser.parse_args()
    rdBase.DisableLog("rdApp.*")

    rng = np.random.default_rng(0)
    pool = zinc250k()
    drawn = [pool[int(i)] for i in rng.choice(len(pool), size=4 * args.parents, replace=False)]
    sets = {
        "large": grow(drawn[: 2 * args.parents], 47, 52, rng)[: args.parents],
        "zinc": drawn[2 * args.parents : 3 * args.parents],
    }
    fast_path = graph_ga._mutant
    print(f"{'parents':<8}{'n':>4}{'atoms':>7}{'mutants':>9}{'every product s':>17}{'count first s':>15}"
          f"{'ratio':>7}  identical")
    for name, parents in sets.items():
        atoms = np.mean([Chem.MolFromSmiles(s).GetNumHeavyAtoms() for s in parents])
        slow_s, slow = timed(parents, args.tries, _make_every_product)
        fast_s, fast = timed(parents, args.tries, fast_path)
        made = sum(m is not None for m in fast)
        print(f"{name:<8}{len(parents):>4}{atoms:>7.1f}{made:>9}{slow_s:>17.2f}{fast_s:>15.2f}"
              f"{slow_s / fast_s:>7.1f}  {'yes' if slow == fast else 'NO'}")


if __name__ == "__main__":
    main()
