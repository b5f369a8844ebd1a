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
  figures, on one core.

Targets (issue 6): >= 95% valid, >= 95% different from the parent, mean
Tanimoto tunable from ~0.7 to ~0.35 by ``keep``, >= 200 valid new children
per second for a whole generation on 2 cores, load under 1 s.

    .venv/bin/python benchmarks/embedded_model.py                 # the packaged model
    .venv/bin/python benchmarks/embedded_model.py --model runs/my-lm --parents 100
"""

from __future__ import annotations

import argparse
import time

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
    """valid, differ, Tanimoto to the nearer/farther parent, filter pass, unique, children per second."""
    ok = MoleculeFilter()
    valid = [(a, b, k) for (a, b), k in zip(pairs, kids, strict=True) if k]
    new = [(a, b, k) for a, b, k in valid if k not in (a, b)]
    sims = [sorted((_tanimoto(a, k), _tanimoto(b, k))) for a, b, k in new]
    passing = [k for _, _, k in new if (m := to_mol(k)) is not None and ok(m, rng)]
    near = float(np.mean([s[1] for s in sims])) if sims else float("nan")
    far = float(np.mean([s[0] for s in sims])) if sims else float("nan")
    return (
        f"{label:<28}{len(valid) / len(pairs):>8.1%}{len(new) / max(1, len(valid)):>8.1%}"
        f"{near:>5.2f}/{far:<4.2f}{len(passing) / len(pairs):>8.1%}{len(set(passing)) / max(1, len(passing)):>8.1%}"
        f"{per_s:>9.0f}"
    )


def _lm_crossover(
    lm: EmbeddedLM, pairs: list[tuple[str, str]], args: argparse.Namespace, rng: np.random.Generator
) -> None:
    edits = lm.cross(pairs, np.random.default_rng(args.seed))
    batch_pairs = (pairs * (args.batch // len(pairs) + 1))[: args.batch]
    made, clock = 0, time.perf_counter()
    for r in range(args.repeats):
        out = lm.cross(batch_pairs, np.random.default_rng(r))
        made += sum(1 for (a, b), e in zip(batch_pairs, out, strict=True) if e.smiles and e.smiles not in (a, b))
    per_s = made / (time.perf_counter() - clock)
    print(_cross_line("lm_crossover", pairs, [e.smiles for e in edits], rng, per_s))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="model folder (default: the packaged embedded model)")
    parser.add_argument("--parents", type=int, default=200, help="ZINC parents to edit")
    parser.add_argument("--keeps", default="0.97,0.9,0.8,0.7,0.5,0.3", help="values of the locality knob")
    parser.add_argument("--batch", type=int, default=70, help="parents per model call (a generation)")
    parser.add_argument("--repeats", type=int, default=5, help="model calls timed for the speed figure")
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

    # Crossover: the model writes a child given both parents (pairs of different ZINC parents).
    pairs = list(zip(parents, parents[1:] + parents[:1], strict=True))
    if lm.crosses:
        _lm_crossover(lm, pairs, args, rng)
    else:
        print(f"{'lm_crossover':<28}this model was trained without crossover examples (--crossover-share 0)")

    clock = time.perf_counter()
    kids = [crossover(a, b, np.random.default_rng(args.seed + i), MoleculeFilter()) for i, (a, b) in enumerate(pairs)]
    per_s = sum(1 for k, (a, b) in zip(kids, pairs, strict=True) if k and k not in (a, b))
    print(_cross_line("graph_crossover (1 core)", pairs, kids, rng, per_s / (time.perf_counter() - clock)))

    clock = time.perf_counter()
    kids = [mutate(p, np.random.default_rng(args.seed + i), MoleculeFilter()) for i, p in enumerate(parents)]
    per_s = len([k for k, p in zip(kids, parents, strict=True) if k and k != p]) / (time.perf_counter() - clock)
    stats = _stats(parents, kids, rng)
    print(
        f"{'graph_mutation (1 core)':<28}{stats['valid']:>8.1%}{stats['different']:>8.1%}"
        f"{stats['tanimoto']:>10.3f}{stats['passes_filter']:>8.1%}{stats['unique']:>8.1%}{per_s:>9.0f}"
    )
    print("targets: valid >= 95%, differ >= 95%, tanimoto ~0.7 .. ~0.35 across keep, >= 200 kids/s, load < 1 s;")
    print("crossover rows: tanimoto to the nearer/farther parent; target >= 0.3 to each, >= 90% valid")


if __name__ == "__main__":
    main()
