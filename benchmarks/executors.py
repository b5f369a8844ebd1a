"""Executors side by side, and what the run store costs per evaluation.

    python benchmarks/executors.py [--n 10000] [--sleep 0.01] [--batch 70] [--workers 2]

Part 1 scores the same N ZINC molecules through the engine's budgeted
:class:`~llmga.engine.Oracle` (batches of ``--batch`` molecules, as one
generation's children arrive) with an objective that sleeps ``--sleep``
seconds per molecule (a stand-in for a slow oracle: docking, a model on a
remote GPU), on the serial executor, on ``--workers`` processes and on a
Dask LocalCluster of ``--workers`` workers. It checks that all three give the
same evaluations and prints wall time and the ratio to serial.

Part 2 commits the serial pass's evaluations to a run store (SQLite, WAL,
durable commits) in the chunks the Oracle hands them over in, and prints the
store's cost per evaluation next to RDKit's QED per molecule, measured in
the same run (target: the store under 5% of QED).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from llmga.chem import canonical
from llmga.data import zinc250k
from llmga.engine import Evaluation
from llmga.engine._oracle import Candidate, Oracle
from llmga.executors import Executor, make_executor
from llmga.objectives import FunctionObjective
from llmga.store import RunFolder

SLEEP = 0.01


def sleepy(smiles: str) -> float:
    """A slow oracle: a pause, then a deterministic score (the SMILES length)."""
    time.sleep(SLEEP)
    return float(len(smiles))


def _molecules(n: int) -> list[str]:
    rng = np.random.default_rng(0)
    zinc = zinc250k()
    out: dict[str, None] = {}
    for i in rng.permutation(len(zinc)):
        smi = canonical(zinc[int(i)])
        if smi is not None:
            out.setdefault(smi)
        if len(out) == n:
            break
    return list(out)


def _score_all(executor: Executor, smiles: list[str], batch: int) -> tuple[float, list[Evaluation]]:
    oracle = Oracle(FunctionObjective(sleepy), len(smiles), executor=executor)
    start = time.perf_counter()
    for i in range(0, len(smiles), batch):
        oracle.evaluate([Candidate(s) for s in smiles[i : i + batch]], generation=i // batch)
    return time.perf_counter() - start, oracle.records


def main() -> None:
    global SLEEP
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10_000, help="molecules to score")
    parser.add_argument("--sleep", type=float, default=0.01, help="seconds the objective sleeps per molecule")
    parser.add_argument("--batch", type=int, default=70, help="molecules per oracle batch (PMO's offspring)")
    parser.add_argument("--workers", type=int, default=2, help="processes / Dask workers")
    args = parser.parse_args()
    SLEEP = args.sleep
    console = Console()
    smiles = _molecules(args.n)

    table = Table(title=f"{args.n} evaluations of a {1000 * args.sleep:g} ms objective, batches of {args.batch}")
    for col in ("executor", "wall s", "ratio to serial", "ms / evaluation", "same evaluations"):
        table.add_column(col, justify="left" if col == "executor" else "right")
    reference: list[tuple[int, str, float]] | None = None
    serial_s = 0.0
    serial_records: list[Evaluation] = []
    for label, kind in (
        ("serial", "serial"),
        (f"processes({args.workers})", "processes"),
        (f"dask({args.workers})", "dask"),
    ):
        executor = make_executor(args.workers, kind)
        try:
            if kind == "dask":
                executor.map(abs, list(range(64)))  # start the LocalCluster before the clock runs
            seconds, records = _score_all(executor, smiles, args.batch)
        finally:
            executor.close()
        key = [(e.call, e.smiles, e.score) for e in records]
        if reference is None:
            reference, serial_s, serial_records = key, seconds, records
        table.add_row(
            label,
            f"{seconds:.1f}",
            f"{serial_s / seconds:.2f}x",
            f"{1000 * seconds / len(records):.2f}",
            "yes" if key == reference else "NO",
        )
    console.print(table)

    # Part 2: the store's cost per evaluation against QED's own.
    from rdkit.Chem import QED, MolFromSmiles

    sample = smiles[:2000]
    start = time.perf_counter()
    for smi in sample:
        QED.qed(MolFromSmiles(smi))
    qed_ms = 1000 * (time.perf_counter() - start) / len(sample)
    chunks: list[list[Evaluation]] = []
    for i in range(0, len(serial_records), args.batch):
        chunks.append(serial_records[i : i + args.batch])
    with tempfile.TemporaryDirectory() as tmp:
        folder = RunFolder(Path(tmp) / "run")
        folder.create({"seed": 0}, {"objective": {"name": "sleepy"}})
        start = time.perf_counter()
        for chunk in chunks:
            folder.on_evaluations(chunk)
        store_ms = 1000 * (time.perf_counter() - start) / len(serial_records)
        folder.close()
    store = Table(title="Run store cost per evaluation (durable SQLite commit per chunk)")
    for col in ("store ms / evaluation", "QED ms / molecule", "store / QED"):
        store.add_column(col, justify="right")
    store.add_row(f"{store_ms:.4f}", f"{qed_ms:.3f}", f"{100 * store_ms / qed_ms:.2f}%")
    console.print(store)
    console.print("target: store under 5% of QED's cost; results identical on every executor")


if __name__ == "__main__":
    main()
