"""Where the time of a PMO-sized run goes: objective vs operators vs bookkeeping.

Runs QED for 10,000 unique oracle calls with PMO's Graph GA settings (patience
off so the whole budget is used), timing the objective and the operators, and
calls the rest "bookkeeping" (selection, canonicalisation, de-duplication,
survivors, statistics, run-folder writes, metrics).

Side by side, it replays the same evaluation stream through PMO's reference
bookkeeping pattern (re-sort the whole buffer after every oracle batch; every
100 calls compute Top-1/10/100 AUC from scratch and the mean SA score and
internal diversity of the top 100), which is where PMO's Graph GA spends most
of its ~60 s of bookkeeping per 10k calls.

    python benchmarks/engine_overhead.py [--budget 10000] [--objective qed]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Sequence

import numpy as np
from rdkit import Chem, DataStructs
from rdkit.Chem import rdFingerprintGenerator

from llmga import build_engine, summarize
from llmga.config import Config
from llmga.data import zinc250k
from llmga.engine import Recipe
from llmga.objectives import get_objective
from llmga.operators import GraphCrossover, GraphMutation, Operator, Parent, VariationContext
from llmga.store import RunFolder


class TimedOp(Operator):
    """Wall time of an operator's batched apply (including work on the workers)."""

    def __init__(self, inner: Operator) -> None:
        self.inner, self.seconds = inner, 0.0
        self.name, self.arity, self.children_per_group = inner.name, inner.arity, inner.children_per_group

    def apply(
        self, groups: Sequence[Sequence[Parent]], rng: np.random.Generator, context: VariationContext
    ) -> list[list[str | None]]:
        t = time.perf_counter()
        out = self.inner.apply(groups, rng, context)
        self.seconds += time.perf_counter() - t
        return out


def pmo_pattern_bookkeeping(stream: list[tuple[str, float]], batches: list[int], budget: int) -> float:
    """Seconds spent by PMO's bookkeeping pattern on the same stream of evaluations."""

    def top_auc(buffer: dict[str, list[float]], top_n: int) -> float:
        ordered = sorted(buffer.items(), key=lambda kv: kv[1][1])
        total, prev, called = 0.0, 0.0, 0
        for idx in range(100, min(len(buffer), budget), 100):
            now = float(
                np.mean([v[1][0] for v in sorted(ordered[:idx], key=lambda kv: kv[1][0], reverse=True)[:top_n]])
            )
            total += 100 * (now + prev) / 2
            prev, called = now, idx
        now = float(np.mean([v[1][0] for v in sorted(ordered, key=lambda kv: kv[1][0], reverse=True)[:top_n]]))
        total += (len(buffer) - called) * (now + prev) / 2
        return total / budget

    sa = get_objective("sa")
    gen = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)

    def log_top100(buffer: dict[str, list[float]]) -> None:
        top = [smi for smi, _ in sorted(buffer.items(), key=lambda kv: kv[1][0], reverse=True)[:100]]
        sa(top)
        fps = [gen.GetFingerprint(Chem.MolFromSmiles(s)) for s in top]
        sims = [DataStructs.BulkTanimotoSimilarity(fps[i], fps[i + 1 :]) for i in range(len(fps) - 1)]
        _ = 1 - float(np.mean([x for row in sims for x in row])) if len(fps) > 1 else 0.0

    start = time.perf_counter()
    buffer: dict[str, list[float]] = {}
    last_log, pos = 0, 0
    for size in batches:
        for smiles, score in stream[pos : pos + size]:
            buffer[smiles] = [score, len(buffer) + 1]
            if len(buffer) % 100 == 0 and len(buffer) > last_log:
                for k in (1, 10, 100):
                    top_auc(buffer, k)
                log_top100(buffer)
                last_log = len(buffer)
        pos += size
        buffer = dict(sorted(buffer.items(), key=lambda kv: kv[1][0], reverse=True))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget", type=int, default=10_000)
    parser.add_argument("--objective", default="qed")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=0, help="0: one per available core")
    args = parser.parse_args()

    objective = get_objective(args.objective)
    config = Config(objective=args.objective, budget=args.budget, patience=0, seed=args.seed, workers=args.workers)
    crossover, mutation = TimedOp(GraphCrossover()), TimedOp(GraphMutation())
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        folder = RunFolder(f"{tmp}/run")
        folder.create(config.to_dict(), {})
        ga = build_engine(
            objective, config, zinc250k(), recipes=[Recipe(crossover, mutation, 0.067)], observers=[folder]
        )
        scoring = 0.0
        score = ga.oracle._score

        def timed_score(batch: list[str]) -> np.ndarray:
            nonlocal scoring
            t = time.perf_counter()
            out = score(batch)
            scoring += time.perf_counter() - t
            return out

        ga.oracle._score = timed_score  # type: ignore[method-assign]
        result = ga.run()
        summary = summarize(result.evaluations, args.budget, objective.direction)
        folder.close()
        total = time.perf_counter() - t0
    stream = [(e.smiles, e.score) for e in result.evaluations]
    batches = [sum(1 for e in result.evaluations if e.generation == g) for g in range(result.generations + 1)]
    operators = crossover.seconds + mutation.seconds
    ours = total - scoring - operators
    reference = pmo_pattern_bookkeeping(stream, batches, args.budget)

    n = len(stream)
    print(
        f"objective {args.objective!r}, {n} oracle calls, {result.generations} generations, seed {args.seed}, "
        f"{ga.executor.workers} worker(s)"
    )
    print(f"  total wall time            {total:8.2f} s  ({1000 * total / n:.2f} ms per oracle call)")
    print(f"  objective (wall)           {scoring:8.2f} s")
    print(f"  operators (graph GA, wall) {operators:8.2f} s")
    print(f"  llmga bookkeeping          {ours:8.2f} s  ({ours / scoring:.2f}x the objective time)")
    print(f"  PMO-pattern bookkeeping    {reference:8.2f} s  (same evaluations replayed)")
    print(f"  bookkeeping ratio PMO/llmga {reference / ours:7.1f}x")
    print(f"  top-10 AUC {summary['top10_auc']:.4f}, final top-10 mean {summary['top10_mean']:.4f}")


if __name__ == "__main__":
    main()
