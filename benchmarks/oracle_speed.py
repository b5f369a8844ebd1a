"""Seconds to score ZINC molecules with each PMO oracle, on one core and on all cores.

    python benchmarks/oracle_speed.py [--n 10000] [--tasks pmo] [--workers 0]

For every task it scores the same N ZINC 250k molecules twice through
``llmga.scoring.score_smiles`` — serially, then with worker processes — checks
that both give identical scores, and prints both times and their ratio.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from rich.console import Console
from rich.table import Table

from llmga.benchmark import parse_tasks
from llmga.data import zinc250k
from llmga.executors import available_cores
from llmga.scoring import score_smiles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10_000, help="molecules to score")
    parser.add_argument("--tasks", default="pmo", help="comma-separated tasks or a tag (default: pmo)")
    parser.add_argument("--workers", type=int, default=0, help="processes for the parallel pass (0: all cores)")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    zinc = zinc250k()
    smiles = [zinc[i] for i in rng.choice(len(zinc), size=args.n, replace=False)]
    workers = args.workers or available_cores()
    table = Table(title=f"Scoring {args.n} ZINC molecules ({workers} workers for the parallel pass)")
    for col in ("task", "serial s", "parallel s", "speed-up", "identical", "ms / molecule (serial)"):
        table.add_column(col, justify="left" if col == "task" else "right")
    total_serial = total_parallel = 0.0
    for task in parse_tasks(args.tasks):
        start = time.perf_counter()
        serial = score_smiles(task, smiles, workers=1)
        t_serial = time.perf_counter() - start
        start = time.perf_counter()
        parallel = score_smiles(task, smiles, workers=workers)
        t_parallel = time.perf_counter() - start
        same = np.array_equal(serial["score"].to_numpy(), parallel["score"].to_numpy(), equal_nan=True)
        total_serial += t_serial
        total_parallel += t_parallel
        table.add_row(
            task,
            f"{t_serial:.2f}",
            f"{t_parallel:.2f}",
            f"{t_serial / t_parallel:.2f}x",
            "yes" if same else "NO",
            f"{1000 * t_serial / args.n:.3f}",
        )
    table.add_row(
        "all", f"{total_serial:.1f}", f"{total_parallel:.1f}", f"{total_serial / total_parallel:.2f}x", "", ""
    )
    Console().print(table)


if __name__ == "__main__":
    main()
