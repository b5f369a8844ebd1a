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
from rdkit.Chem import rdFingerprintGenerator

from llmga.chem import to_mol
from llmga.data import zinc250k
from llmga.lm import EmbeddedLM
from llmga.operators.graph_ga import MoleculeFilter, mutate
from llmga.operators.lm import keep_range

_FP = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)


def _fp(smiles: str) -> object:
    mol = to_mol(smiles)
    return _FP.GetFingerprint(mol) if mol is not None else None


def _stats(parents: list[str], children: list[str | None], rng: np.random.Generator) -> dict[str, float]:
    ok = MoleculeFilter()
    valid = [(p, c) for p, c in zip(parents, children, strict=True) if c]
    new = [(p, c) for p, c in valid if c != p]
    sims = [DataStructs.TanimotoSimilarity(_fp(p), _fp(c)) for p, c in new]
    passing = [c for _, c in new if (m := to_mol(c)) is not None and ok(m, rng)]
    n = len(parents)
    return {
        "valid": len(valid) / n,
        "different": len(new) / max(1, len(valid)),
        "tanimoto": float(np.mean(sims)) if sims else float("nan"),
        "passes_filter": len(passing) / n,
        "unique": len(set(passing)) / max(1, len(passing)),
    }


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

    for keep in (0.3, 0.45):
        window = keep_range(keep)
        pairs = list(zip(parents, parents[1:] + parents[:1], strict=True))
        clock = time.perf_counter()
        edits = lm.cross(pairs, np.random.default_rng(args.seed), keep=window)
        per_s = sum(1 for (a, b), e in zip(pairs, edits, strict=True) if e.smiles and e.smiles not in (a, b))
        per_s /= time.perf_counter() - clock
        sims = [
            (
                DataStructs.TanimotoSimilarity(_fp(a), _fp(e.smiles)),
                DataStructs.TanimotoSimilarity(_fp(b), _fp(e.smiles)),
            )
            for (a, b), e in zip(pairs, edits, strict=True)
            if e.smiles
        ]
        valid = len(sims) / len(pairs)
        sa, sb = (float(np.mean([x[i] for x in sims])) for i in (0, 1))
        print(f"{'lm_crossover keep=' + str(keep):<28}{valid:>8.1%}{'':>8}{sa:>5.2f}/{sb:<4.2f}{'':>16}{per_s:>9.0f}")

    clock = time.perf_counter()
    kids = [mutate(p, np.random.default_rng(args.seed + i), MoleculeFilter()) for i, p in enumerate(parents)]
    per_s = len([k for k, p in zip(kids, parents, strict=True) if k and k != p]) / (time.perf_counter() - clock)
    stats = _stats(parents, kids, rng)
    print(
        f"{'graph_mutation (1 core)':<28}{stats['valid']:>8.1%}{stats['different']:>8.1%}"
        f"{stats['tanimoto']:>10.3f}{stats['passes_filter']:>8.1%}{stats['unique']:>8.1%}{per_s:>9.0f}"
    )
    print("targets: valid >= 95%, differ >= 95%, tanimoto ~0.7 .. ~0.35 across keep, >= 200 kids/s, load < 1 s;")
    print("crossover: tanimoto to each parent (first/second) >= 0.3, >= 90% valid")


if __name__ == "__main__":
    main()
