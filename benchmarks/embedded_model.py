"""The embedded chemical language model as a mutation operator, side by side with graph-GA mutation.

What it measures, on the same parents (``--parents`` ZINC 250k molecules drawn
with ``--seed``), in one run:

* load time of the model folder (target: under 1 s);
* for each ``keep`` (the locality knob: share of a parent's random SELFIES kept
  before the model writes the rest): the share of children that are valid
  molecules, that differ from their parent, their mean Tanimoto similarity
  to the parent (Morgan radius 2, 2048 bits), and the share that pass the
  graph GA's size/ring filters (what the operator keeps);
* speed: valid, new children per second when the model edits a whole
  generation (``--batch`` parents in one call), over ``--repeats`` calls;
* graph-GA mutation (Jensen's, as PMO uses) on the same parents: the same
  figures, on one core;
* crossover, on random ZINC pairs and on related pairs (a parent and a ZINC
  molecule at Tanimoto 0.3-0.6, as pairs in an evolving population are): the
  model's crossover from a prefix of A plus the bits of A's prefix and a
  region of B, and from ``<bos>`` given bits of both; as a control the same
  prefix of A completed without any condition (what B's bits add); and graph
  crossover. Columns: valid, differ from both parents, mean Tanimoto of the
  child to A and to B, to the nearer and the farther parent, filter pass
  rate, new children per second.

Targets (issue 6): >= 95% valid, >= 95% different from the parent, mean
Tanimoto tunable from ~0.7 to ~0.35 by ``keep``, >= 200 valid new children
per second for a whole generation on 2 cores, load under 1 s; crossover
children >= 90% valid with mean Tanimoto >= 0.3 to each parent.

    .venv/bin/python benchmarks/embedded_model.py                 # the packaged model
    .venv/bin/python benchmarks/embedded_model.py --model runs/my-lm --parents 100
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
from rdkit import DataStructs

from llmga.chem import morgan, to_mol
from llmga.data import zinc250k
from llmga.lm import EmbeddedLM
from llmga.operators.graph_ga import MoleculeFilter, crossover, mutate
from llmga.operators.lm import keep_range


def _tanimoto(a: str, b: str) -> float:
    fa, fb = morgan(a), morgan(b)
    return float(DataStructs.TanimotoSimilarity(fa, fb)) if fa is not None and fb is not None else float("nan")


def _stats(parents: list[str], children: list[str | None], rng: np.random.Generator) -> dict[str, float]:
    ok = MoleculeFilter()
    valid = [(p, c) for p, c in zip(parents, children, strict=True) if c]
    new = [(p, c) for p, c in valid if c != p]
    sims = [_tanimoto(p, c) for p, c in new]
    passing = [c for _, c in new if (m := to_mol(c)) is not None and ok(m, rng)]
    n = len(parents)
    return {
        "valid": len(valid) / n,
        "different": len(new) / max(1, len(valid)),
        "tanimoto": float(np.mean(sims)) if sims else float("nan"),
        "passes_filter": len(passing) / n,
        "unique": len(set(passing)) / max(1, len(passing)),
    }


def _cross_line(
    label: str, pairs: list[tuple[str, str]], kids: list[str | None], rng: np.random.Generator, per_s: float
) -> str:
    """valid, differ, Tanimoto to A / to B, to the nearer / farther parent, filter pass, children per second."""
    ok = MoleculeFilter()
    valid = [(a, b, k) for (a, b), k in zip(pairs, kids, strict=True) if k]
    new = [(a, b, k) for a, b, k in valid if k not in (a, b)]
    sims = np.array([(_tanimoto(a, k), _tanimoto(b, k)) for a, b, k in new]).reshape(-1, 2)
    passing = [k for _, _, k in new if (m := to_mol(k)) is not None and ok(m, rng)]
    to_a, to_b = (float(np.mean(sims[:, j])) if len(sims) else float("nan") for j in (0, 1))
    near = float(np.mean(sims.max(axis=1))) if len(sims) else float("nan")
    far = float(np.mean(sims.min(axis=1))) if len(sims) else float("nan")
    return (
        f"{label:<34}{len(valid) / len(pairs):>7.1%}{len(new) / max(1, len(valid)):>7.1%}"
        f"{to_a:>6.2f}/{to_b:<5.2f}{near:>6.2f}/{far:<5.2f}{len(passing) / len(pairs):>7.1%}{per_s:>8.0f}"
    )


def _timed(make: Callable[[int], list[str | None]], pairs: list[tuple[str, str]], repeats: int) -> float:
    """New children per second of ``make(seed)`` (a whole batch per call) over ``repeats`` calls."""
    made, clock = 0, time.perf_counter()
    for r in range(repeats):
        made += sum(1 for (a, b), k in zip(pairs, make(r), strict=True) if k and k not in (a, b))
    return made / (time.perf_counter() - clock)


def _related_pairs(parents: list[str], pool: list[str], low: float, high: float) -> list[tuple[str, str]]:
    """Each parent with a pool molecule at Tanimoto ``low``-``high`` (pairs as a GA population makes them)."""
    fps = [morgan(p) for p in pool]
    fps_ok = [f for f in fps if f is not None]
    pool_ok = [p for p, f in zip(pool, fps, strict=True) if f is not None]
    out = []
    for parent in parents:
        sims = np.asarray(DataStructs.BulkTanimotoSimilarity(morgan(parent), fps_ok))
        hits = np.flatnonzero((sims >= low) & (sims <= high))
        if len(hits):
            out.append((parent, pool_ok[int(hits[np.argmax(sims[hits])])]))
    return out


def _crossover_rows(lm: EmbeddedLM, label: str, pairs: list[tuple[str, str]], args: argparse.Namespace) -> None:
    """The model's crossover, the same prefix of A without B's bits, and graph crossover, on ``pairs``."""
    rng = np.random.default_rng(args.seed)
    batch = (pairs * (args.batch // len(pairs) + 1))[: args.batch]
    print(f"-- {label}: {len(pairs)} pairs, mean Tanimoto A-B {np.mean([_tanimoto(a, b) for a, b in pairs]):.2f}")
    if lm.crosses:
        for from_prefix in (True, False):
            name = "lm_crossover " + ("A prefix + bits" if from_prefix else "bits of A and B")

            def cross(seed: int, pp: list[tuple[str, str]], fp: bool = from_prefix) -> list[str | None]:
                return [e.smiles for e in lm.cross(pp, np.random.default_rng(seed), from_prefix=fp)]

            kids = cross(args.seed, pairs)
            print(_cross_line(name, pairs, kids, rng, _timed(lambda r: cross(r, batch), batch, args.repeats)))
    else:
        print(f"{'lm_crossover':<34}this model has no fingerprint adapter (trained with --crossover-share 0)")
    # Control: the same share of A kept, the rest written with no condition (what B's bits add).
    window = (0.35, 0.65)
    kids = [e.smiles for e in lm.edit([a for a, _ in pairs], np.random.default_rng(args.seed), keep=window)]
    print(_cross_line("control: A prefix, no bits", pairs, kids, rng, float("nan")))
    clock = time.perf_counter()
    kids = [crossover(a, b, np.random.default_rng(args.seed + i), MoleculeFilter()) for i, (a, b) in enumerate(pairs)]
    seconds = time.perf_counter() - clock
    per_s = sum(1 for k, (a, b) in zip(kids, pairs, strict=True) if k and k not in (a, b)) / seconds
    print(_cross_line("graph_crossover (1 core)", pairs, kids, rng, per_s))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="model folder (default: the packaged embedded model)")
    parser.add_argument("--parents", type=int, default=200, help="ZINC parents to edit")
    parser.add_argument("--keeps", default="0.97,0.9,0.8,0.7,0.5,0.3", help="values of the locality knob")
    parser.add_argument("--batch", type=int, default=70, help="parents per model call (a generation)")
    parser.add_argument("--repeats", type=int, default=5, help="model calls timed for the speed figure")
    parser.add_argument("--pool", type=int, default=20000, help="ZINC molecules searched for related pairs")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    pool = zinc250k()
    parents = [pool[int(i)] for i in rng.choice(len(pool), size=args.parents, replace=False)]
    parents = [s for s in (to_mol(p) and p for p in parents) if s]

    started = time.perf_counter()
    lm = EmbeddedLM.load(args.model)
    load_s = time.perf_counter() - started
    print(f"model: {lm.path} ({lm.model.n_params():,} parameters), load {load_s:.2f} s")

    header = f"{'operator':<28}{'valid':>8}{'differ':>8}{'tanimoto':>10}{'filter':>8}{'unique':>8}{'kids/s':>9}"
    print(header)
    print("-" * len(header))
    for keep in (float(k) for k in args.keeps.split(",")):
        window = keep_range(keep)
        edits = lm.edit(parents, np.random.default_rng(args.seed), keep=window)
        stats = _stats(parents, [e.smiles for e in edits], rng)
        batch = (parents * (args.batch // len(parents) + 1))[: args.batch]
        made, clock = 0, time.perf_counter()
        for r in range(args.repeats):
            out = lm.edit(batch, np.random.default_rng(r), keep=window)
            made += sum(1 for p, e in zip(batch, out, strict=True) if e.smiles and e.smiles != p)
        per_s = made / (time.perf_counter() - clock)
        print(
            f"{'lm_mutation keep=' + str(keep):<28}{stats['valid']:>8.1%}{stats['different']:>8.1%}"
            f"{stats['tanimoto']:>10.3f}{stats['passes_filter']:>8.1%}{stats['unique']:>8.1%}{per_s:>9.0f}"
        )

    clock = time.perf_counter()
    kids = [mutate(p, np.random.default_rng(args.seed + i), MoleculeFilter()) for i, p in enumerate(parents)]
    per_s = len([k for k, p in zip(kids, parents, strict=True) if k and k != p]) / (time.perf_counter() - clock)
    stats = _stats(parents, kids, rng)
    print(
        f"{'graph_mutation (1 core)':<28}{stats['valid']:>8.1%}{stats['different']:>8.1%}"
        f"{stats['tanimoto']:>10.3f}{stats['passes_filter']:>8.1%}{stats['unique']:>8.1%}{per_s:>9.0f}"
    )
    print("targets: valid >= 95%, differ >= 95%, tanimoto ~0.7 .. ~0.35 across keep, >= 200 kids/s, load < 1 s")

    # Crossover: the model writes a child given both parents.
    print()
    print(f"{'crossover':<34}{'valid':>7}{'differ':>7}{'T to A/B':>12}{'near/far':>11}{'filter':>7}{'kids/s':>8}")
    pairs = list(zip(parents, parents[1:] + parents[:1], strict=True))
    _crossover_rows(lm, "random ZINC pairs", pairs, args)
    others = [pool[int(i)] for i in rng.choice(len(pool), size=args.pool, replace=False)]
    _crossover_rows(lm, "related pairs (Tanimoto 0.3-0.6)", _related_pairs(parents, others, 0.3, 0.6), args)
    print("crossover target: >= 90% valid, mean Tanimoto >= 0.3 to each parent (T to A and to B)")


if __name__ == "__main__":
    main()
