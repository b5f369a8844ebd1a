"""The ``llmga`` command line: a thin layer over :func:`llmga.optimize`.

Every ``optimize`` flag is generated from a :class:`~llmga.config.Config`
field (``--mutation-rate`` ↔ ``mutation_rate``), so the two cannot drift apart.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
import types
import typing
import warnings
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from llmga.config import Config
from llmga.errors import ConfigError, LLMGAError

__all__ = ["build_parser", "main"]

_TYPES: dict[str, type] = {"int": int, "float": float, "str": str}


def _field_type(field: dataclasses.Field[Any]) -> type:
    """The scalar type of a Config field, from its (string) annotation."""
    hints = typing.get_type_hints(Config)
    hint = hints[field.name]
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        hint = args[0]
    return hint if isinstance(hint, type) else str


def _add_config_flags(parser: argparse.ArgumentParser) -> None:
    for field in dataclasses.fields(Config):
        flag = "--" + field.name.replace("_", "-")
        default = field.default
        kwargs: dict[str, Any] = {
            "dest": field.name,
            "type": _field_type(field),
            "default": argparse.SUPPRESS,
            "help": f"{field.metadata.get('help', '')} (default: {default})",
        }
        if "choices" in field.metadata:
            kwargs["choices"] = field.metadata["choices"]
        parser.add_argument(flag, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="llmga",
        description="Molecular design by evolution: a genetic algorithm with pluggable objectives.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    opt = sub.add_parser(
        "optimize",
        help="run the genetic algorithm on an objective",
        description="Run the genetic algorithm and write a run folder (configuration, every "
        "oracle call, per-generation statistics, best molecules, PMO metrics).",
    )
    _add_config_flags(opt)
    opt.add_argument("--quiet", action="store_true", help="print only the final summary line")
    sub.add_parser("objectives", help="list the registered objectives", description="List the registered objectives.")
    return parser


class _ProgressObserver:
    """Shows a rich progress bar: oracle calls of the budget, best and top-10 so far."""

    def __init__(self, progress: Progress, budget: int) -> None:
        self.progress = progress
        self.task = progress.add_task("optimizing", total=budget, best="-", top10="-", gen=0)
        self.started = False

    def on_evaluations(self, evaluations: list[Any]) -> None:
        if not self.started:  # only once the run really starts, not before bad input is reported
            self.progress.start()
            self.started = True
        self.progress.advance(self.task, len(evaluations))

    def close(self) -> None:
        if self.started:
            self.progress.stop()

    def on_generation(self, report: Any) -> None:
        self.progress.update(
            self.task,
            completed=report.calls,
            best=f"{report.best_score:.4g}",
            top10=f"{report.top10_mean:.4g}",
            gen=report.generation,
        )


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _cmd_optimize(args: argparse.Namespace, console: Console) -> int:
    from llmga._optimize import optimize

    options = {k: v for k, v in vars(args).items() if k not in ("command", "quiet")}
    config = Config(**options)
    observers: list[_ProgressObserver] = []
    if not args.quiet:
        progress = Progress(
            TextColumn("[bold]gen {task.fields[gen]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("calls  best [green]{task.fields[best]}[/]  top-10 [cyan]{task.fields[top10]}[/]"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        observers.append(_ProgressObserver(progress, config.budget))
    try:
        result = optimize(config=config, observers=observers)
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/]: everything scored so far is in the run folder")
        return 130
    finally:
        for obs in observers:
            obs.close()
    s = result.summary
    if args.quiet:
        console.print(
            f"{result.path}  best {_fmt(s.get('best_score'))}  top-10 {_fmt(s.get('top10_mean'))}  "
            f"top-10 AUC {_fmt(s.get('top10_auc'))}  calls {s.get('calls')}",
            soft_wrap=True,
        )
        return 0
    table = Table(title=f"Top molecules — {config.objective} ({result.direction})")
    for col in ("rank", "score", "SMILES", "call", "operator"):
        if col == "SMILES":
            table.add_column(col, overflow="fold")  # whole SMILES, never truncated: users copy them
        else:
            table.add_column(col, justify="right" if col in ("rank", "score", "call") else "left", no_wrap=True)
    top = result.best(10)
    rows = zip(
        top["score"].tolist(), top["smiles"].tolist(), top["call"].tolist(), top["operator"].tolist(), strict=True
    )
    for rank, (score, smiles, call, operator) in enumerate(rows, start=1):
        table.add_row(str(rank), _fmt(float(score)), str(smiles), str(call), str(operator))
    console.print(table)
    metrics = Table(title="PMO metrics", show_header=False)
    metrics.add_column("metric")
    metrics.add_column("value", justify="right", overflow="fold")
    for label, key in (
        ("Top-1 AUC", "top1_auc"),
        ("Top-10 AUC", "top10_auc"),
        ("Top-100 AUC", "top100_auc"),
        ("final Top-10 mean", "top10_mean"),
        ("best of initial population", "init_best"),
        ("best found", "best_score"),
    ):
        metrics.add_row(label, _fmt(s.get(key)))
    metrics.add_row("oracle calls / budget", f"{s.get('calls')} / {s.get('budget')}")
    metrics.add_row("generations", str(s.get("generations")))
    metrics.add_row("stopped by", str(s.get("stop_reason")))
    metrics.add_row("run folder", str(result.path))
    console.print(metrics)
    return 0


def _cmd_objectives(console: Console) -> int:
    from llmga.objectives import available

    table = Table(title="Objectives")
    table.add_column("name")
    table.add_column("direction")
    table.add_column("source")
    table.add_column("description")
    for name, entry in available().items():
        table.add_row(name, entry.direction, entry.source, entry.description)
    console.print(table)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    console = Console()
    err = Console(stderr=True)
    if args.command is None:
        parser.print_help()
        return 2
    warnings.simplefilter("default")
    with warnings.catch_warnings():
        warnings.showwarning = lambda message, category, *a, **k: err.print(
            f"[yellow]warning:[/] {message}", soft_wrap=True
        )
        try:
            if args.command == "optimize":
                return _cmd_optimize(args, console)
            return _cmd_objectives(console)
        except ConfigError as exc:
            err.print(f"[bold red]error:[/] {exc}", soft_wrap=True)
            return 2
        except LLMGAError as exc:
            err.print(f"[bold red]error:[/] {exc}", soft_wrap=True)
            return 1


if __name__ == "__main__":
    sys.exit(main())
