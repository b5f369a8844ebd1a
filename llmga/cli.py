"""The ``llmga`` command line: a thin layer over :func:`llmga.optimize`.

Every ``optimize`` flag is generated from a :class:`~llmga.config.Config`
field (``--mutation-rate`` ↔ ``mutation_rate``), so the two cannot drift apart.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import signal
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from llmga._signals import graceful_interrupt
from llmga.config import ALIAS_HELP, PMO_BUDGET, PRESET_HELP, PRESETS, Config, field_type
from llmga.errors import ConfigError, LLMGAError

__all__ = ["NOT_CONFIG", "build_parser", "main"]

_TYPES: dict[str, type] = {"int": int, "float": float, "str": str}
# The flags of `llmga optimize` that are not Config fields.
NOT_CONFIG = ("command", "quiet", "config", "resume", "log_json", "preset")


def _default_note(help_text: str, default: object) -> str:
    return "" if default in (None, "") or "default" in help_text else f" (default: {default})"


def _add_config_flags(
    parser: argparse.ArgumentParser,
    exclude: tuple[str, ...] = (),
    defaults: dict[str, Any] | None = None,
    cls: type = Config,
) -> None:
    for field in dataclasses.fields(cls):
        if field.name in exclude:
            continue
        flag = "--" + field.name.replace("_", "-")
        default = (defaults or {}).get(field.name, field.default)
        kwargs: dict[str, Any] = {
            "dest": field.name,
            "type": field_type(field, cls),
            "default": argparse.SUPPRESS,
            "help": field.metadata.get("help", "") + _default_note(field.metadata.get("help", ""), default),
        }
        if kwargs["type"] is bool:
            kwargs.pop("type")
            kwargs["action"] = argparse.BooleanOptionalAction
            kwargs["help"] = field.metadata.get("help", "")
        if "choices" in field.metadata:
            kwargs["choices"] = field.metadata["choices"]
        parser.add_argument(flag, **kwargs)
    if cls is Config and "llm" not in exclude:
        # Backend options of older versions, kept as flags: folded into --llm (see llmga.config.LLM_ALIASES).
        for name, (kind, help_text) in ALIAS_HELP.items():
            flag = "--" + name.replace("_", "-")
            parser.add_argument(flag, dest=name, type=kind, default=argparse.SUPPRESS, help=help_text)


def _run_command(sub: Any, name: str, help_text: str, description: str, run_help: str) -> argparse.ArgumentParser:
    """A subcommand whose first argument is a run or campaign folder (``RUN``)."""
    parser: argparse.ArgumentParser = sub.add_parser(name, help=help_text, description=description)
    parser.add_argument("run", metavar="RUN", help=run_help)
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="llmga",
        description="Molecular design by evolution: a genetic algorithm with pluggable objectives.",
    )
    parser.add_argument("--version", action="version", version=f"llmga {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    opt = sub.add_parser(
        "optimize",
        help="run the genetic algorithm on an objective",
        description="Run the genetic algorithm and write a run folder (configuration, every "
        "oracle call, per-generation statistics, best molecules, PMO metrics).",
    )
    _add_config_flags(opt)
    opt.add_argument("--preset", choices=tuple(PRESETS), default=None, help=PRESET_HELP)
    opt.add_argument(
        "--config",
        metavar="FILE.toml",
        default=None,
        help="campaign file: TOML whose keys are these options (flags given here override it)",
    )
    opt.add_argument(
        "--resume",
        metavar="DIR",
        default=None,
        help="continue the stopped run in DIR (Ctrl-C, SIGTERM, kill -9, power cut) with its own configuration: "
        "nothing it scored is scored again",
    )
    opt.add_argument("--quiet", action="store_true", help="print only the final summary line")
    opt.add_argument(
        "--log-json",
        action="store_true",
        help="print one JSON line per generation (and one at the end) instead of the progress bar",
    )
    camp = sub.add_parser(
        "campaign",
        help="ask/tell campaigns: `campaign new` makes one (scores come from the lab, not a function)",
        description="Make an ask/tell campaign folder; then `llmga ask` proposes batches and `llmga tell` "
        "records their measured scores.",
    )
    camp_sub = camp.add_subparsers(dest="campaign_command", metavar="new", required=True)
    new = camp_sub.add_parser("new", help="make a campaign folder", description="Make an ask/tell campaign folder.")
    new.add_argument("run", metavar="RUN", help="the campaign folder to make")
    new.add_argument("--objective-name", required=True, help="what is measured, e.g. assay_ic50")
    new.add_argument("--description", default="", help="what the measurement is, for LLM prompts")
    _add_config_flags(new, exclude=("objective", "objectives", "pareto", "out", "budget", "offspring", "max_time"))
    ask = _run_command(
        sub,
        "ask",
        "propose a batch of molecules for a campaign (recorded as pending)",
        "Propose --n new molecules with the campaign's engine and operators from everything told so far; they "
        "are recorded as pending and written to --out (CSV: smiles, batch, operator, parents).",
        "a campaign folder",
    )
    ask.add_argument("--n", type=int, required=True, help="molecules to propose")
    ask.add_argument("--out", default=None, metavar="FILE.csv", help="where to write the batch (default: stdout)")
    tell = _run_command(
        sub,
        "tell",
        "record measured scores for a campaign's pending molecules",
        "Record scores from a CSV with a smiles column and a score column (named score or after the objective). "
        "Molecules never asked for, already told or not valid are reported, not recorded.",
        "a campaign folder",
    )
    tell.add_argument("results", metavar="RESULTS.csv", help="CSV with smiles and score columns")
    tell.add_argument(
        "--accept-unknown", action="store_true", help="also record molecules no ask proposed (measured elsewhere)"
    )
    rep = _run_command(
        sub,
        "report",
        "plots, a molecule grid and one self-contained HTML page for a run",
        "Write PNG figures (optimisation curve with the Top-10 AUC, scores per generation, operator shares of "
        "children and survivors, LLM validity/novelty/latency, Pareto front), a grid of the 24 best molecules "
        "and report.html (every image embedded) for a run folder.",
        "a run folder (finished, stopped or running)",
    )
    rep.add_argument("--out", default=None, metavar="DIR", help="where to write (default: RUN/report)")
    cmp_ = sub.add_parser(
        "compare",
        help="overlay the top-10 curves of several runs, or of a benchmark's runs (mean ± std over seeds)",
        description="Overlay the top-10 mean against oracle calls of run folders (one line each) or of benchmark "
        "folders (their runs grouped by task, mean ± std over seeds); writes compare.png and compare.html.",
    )
    cmp_.add_argument("runs", nargs="+", metavar="RUN", help="run folders or benchmark folders")
    cmp_.add_argument("--out", required=True, metavar="DIR", help="where to write compare.png and compare.html")
    cmp_.add_argument("--k", type=int, default=10, help="top-k mean to compare (default: 10)")
    exp = _run_command(
        sub,
        "export",
        "write a run's tables (CSV or Parquet) from its store, e.g. after a kill -9",
        "Write evaluations, generations, llm_calls and prescreen tables of a run folder from its store "
        "(run.sqlite); works on a running, stopped or finished run.",
        "a run folder",
    )
    exp.add_argument("--format", default="csv", choices=("csv", "parquet"), help="table format (parquet needs pyarrow)")
    objs = sub.add_parser(
        "objectives",
        help="list the objectives: built-in, PMO, installed plug-ins, and those of a file",
        description="List every objective by name with its direction, source (built-in, PMO, plug-in: PACKAGE "
        "for packages registering the entry-point group llmga.objectives, file) and description.",
    )
    objs.add_argument(
        "--path", action="append", default=[], metavar="FILE.py", help="also list the objectives this file defines"
    )

    score = sub.add_parser(
        "score",
        help="score a file of molecules with an objective",
        description="Score every molecule of a .smi/.txt/.csv file with an objective (built-in, PMO, "
        "file.py:fn, module:fn). Writes smiles,score,reason (NaN and a reason where a molecule cannot "
        "be scored) to --out, or to standard output.",
    )
    score.add_argument(
        "file", metavar="FILE", help="molecules: .smi/.txt (one SMILES per line) or .csv, optionally .gz"
    )
    score.add_argument("--objective", required=True, help="objective spec, as for `llmga optimize`")
    score.add_argument("--smiles-col", default=None, help="CSV column holding the SMILES (default: 'smiles')")
    score.add_argument("--out", default=None, help="CSV to write (default: standard output)")
    score.add_argument("--workers", type=int, default=0, help="processes (0: one per available core)")
    score.add_argument(
        "--neutralize", action="store_true", help="also neutralise charges when the molecules are standardised"
    )

    bench = sub.add_parser(
        "benchmark",
        help="run tasks × seeds and summarise them as PMO does",
        description="Run every task × seed as an ordinary run folder under --out, write summary.csv and "
        "print mean ± std of the Top-10 AUC per task and the sum over tasks. Re-running the same "
        "command skips finished runs.",
    )
    bench.add_argument(
        "--tasks", required=True, help="comma-separated objective names, or a tag: pmo (all 23 PMO tasks)"
    )
    bench.add_argument("--seeds", default="0", help="comma-separated seeds (default: 0)")
    bench.add_argument("--out", required=True, help="benchmark folder")
    bench.add_argument("--jobs", type=int, default=1, help="runs in parallel (each identical to its serial run)")
    bench.add_argument("--compare", default=None, help="CSV of reference Top-10 AUC (task,auc) to show beside ours")
    bench.add_argument("--preset", choices=tuple(PRESETS), default=None, help=PRESET_HELP)
    _add_config_flags(bench, exclude=("objective", "seed", "out"), defaults={"budget": PMO_BUDGET})

    from llmga.lm import TrainSettings  # torch is imported only when training runs

    train = sub.add_parser(
        "train-lm",
        help="train or fine-tune the embedded chemical language model",
        description="Train a small GPT over SELFIES from scratch, or fine-tune one (--init embedded|DIR) on "
        "your own molecules. Deterministic per seed for a given --steps; writes a Hugging Face GPT-2 folder "
        "with model_card.json (data hash, steps, losses, sample quality, command).",
    )
    _add_config_flags(train, cls=TrainSettings)

    from llmga.objectives.models import TrainModelSettings  # scikit-learn is imported only when training runs

    model = sub.add_parser(
        "train-model",
        help="train a property model on your data, to optimise with --objective model:DIR",
        description="Train a random forest (regression or classification) on Morgan count fingerprints and "
        "RDKit 2D descriptors of the molecules of a CSV, report scaffold-split cross-validated metrics, and "
        "write a model folder (model, training fingerprints, model_card.json) for --objective model:DIR.",
    )
    model.add_argument("data", metavar="DATA.csv", help="CSV with a SMILES column and a target column")
    _add_config_flags(model, cls=TrainModelSettings, exclude=("data",))
    return parser


class _ProgressObserver:
    """A rich progress bar: oracle calls of the budget, generation, best and top-10 so far, LLM calls and
    tokens, elapsed time and ETA."""

    def __init__(self, progress: Progress, budget: int) -> None:
        self.progress = progress
        self.task = progress.add_task("optimizing", total=budget, best="-", top10="-", gen=0, llm="")
        self.started = False
        self.llm_calls = 0
        self.llm_tokens = 0

    def on_evaluations(self, evaluations: list[Any]) -> None:
        if not self.started:  # only once the run really starts, not before bad input is reported
            self.progress.start()
            self.started = True
        self.progress.advance(self.task, len(evaluations))

    def on_llm_call(self, record: dict[str, Any]) -> None:
        self.llm_calls += 1
        self.llm_tokens += int(record.get("tokens_in") or 0) + int(record.get("tokens_out") or 0)
        self.progress.update(self.task, llm=f"  LLM {self.llm_calls} calls {self.llm_tokens:,} tokens")

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


class _JsonObserver:
    """``--log-json``: one JSON line per generation on standard output (for batch jobs and log collectors)."""

    def __init__(self) -> None:
        self.llm_calls = 0
        self.llm_tokens = 0

    def on_evaluations(self, evaluations: list[Any]) -> None:
        pass

    def on_llm_call(self, record: dict[str, Any]) -> None:
        self.llm_calls += 1
        self.llm_tokens += int(record.get("tokens_in") or 0) + int(record.get("tokens_out") or 0)

    def on_generation(self, report: Any) -> None:
        line = {"event": "generation", **report.record, "llm_calls": self.llm_calls, "llm_tokens": self.llm_tokens}
        _print_json(line)

    def close(self) -> None:
        pass


def _print_json(data: dict[str, Any]) -> None:
    from llmga.store import dumps

    sys.stdout.write(dumps(data) + "\n")
    sys.stdout.flush()


def _version() -> str:
    from llmga import __version__

    return __version__


def _said(label: str, style: str, message: object) -> Text:
    """``label: message`` with the label styled and the message shown verbatim (never read as rich markup)."""
    return Text.assemble((label, style), " ", str(message))


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _cmd_optimize(args: argparse.Namespace, console: Console) -> int:
    from llmga._optimize import optimize
    from llmga.config import read_campaign

    options = {k: v for k, v in vars(args).items() if k not in NOT_CONFIG}
    if args.resume:
        if options or args.config or args.preset:
            flags = ["--" + k.replace("_", "-") for k in options]
            given = ", ".join(flags) or ("--config" if args.config else "--preset")
            raise ConfigError(
                f"--resume continues a run with its own configuration; drop {given} (start a new run to change it)"
            )
        from llmga.store import saved_config

        config = Config.from_dict(saved_config(args.resume))
    else:
        if args.config:
            options = read_campaign(args.config) | options
        config = (Config.from_preset(args.preset) if args.preset else Config()).replace(**options)
    observers: list[_ProgressObserver | _JsonObserver] = []
    if args.log_json:
        observers.append(_JsonObserver())
    elif not args.quiet:
        progress = Progress(
            TextColumn("[bold]gen {task.fields[gen]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn(
                "calls  best [green]{task.fields[best]}[/]  top-10 [cyan]{task.fields[top10]}[/]{task.fields[llm]}"
            ),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        observers.append(_ProgressObserver(progress, config.budget))
    try:
        with graceful_interrupt() as stop:
            if args.resume:
                from llmga._optimize import resume

                result = resume(args.resume, observers=observers, stop=stop)
            else:
                result = optimize(config=config, observers=observers, stop=stop)
    except KeyboardInterrupt:
        console.print(
            _said(
                "interrupted:",
                "yellow",
                "everything scored so far is in the run folder; continue with `llmga optimize --resume DIR`",
            ),
            soft_wrap=True,
        )
        return 130
    finally:
        for obs in observers:
            obs.close()
    s = result.summary
    if args.log_json:
        _print_json(
            {"event": "finished", "run": str(result.path), **{k: v for k, v in s.items() if not isinstance(v, dict)}}
        )
        return 130 if s.get("status") == "interrupted" else 0
    if s.get("status") == "interrupted":
        console.print(
            _said(
                "interrupted",
                "yellow",
                f"after {s.get('calls')} oracle calls; everything scored is in {result.path}; "
                f"continue with: llmga optimize --resume {result.path}",
            ),
            soft_wrap=True,
        )
        return 130
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
    if s.get("llm_calls") is not None:
        cost = s.get("llm_cost_usd")
        metrics.add_row(
            "LLM calls / tokens in+out",
            f"{s['llm_calls']} / {s['llm_tokens_in']}+{s['llm_tokens_out']}" + (f" (${cost:.4f})" if cost else ""),
        )
        metrics.add_row(
            "LLM latency p50 / p95 (s)",
            f"{_fmt(s.get('llm_latency_p50_s'), 3)} / {_fmt(s.get('llm_latency_p95_s'), 3)}",
        )
        metrics.add_row("LLM validity / novelty", f"{_fmt(s.get('llm_validity'), 2)} / {_fmt(s.get('llm_novelty'), 2)}")
        metrics.add_row("LLM share of survivors", _fmt(s.get("llm_share_of_survivors"), 2))
    metrics.add_row("generations", str(s.get("generations")))
    metrics.add_row("stopped by", str(s.get("stop_reason")))
    metrics.add_row("run folder", str(result.path))
    console.print(metrics)
    return 0


def _cmd_campaign(args: argparse.Namespace, console: Console) -> int:
    from llmga._campaign import Campaign

    excluded = {"command", "campaign_command", "run", "objective_name", "description"}
    options = {k: v for k, v in vars(args).items() if k not in excluded}
    campaign = Campaign.create(args.run, objective_name=args.objective_name, description=args.description, **options)
    told = len(campaign.told)
    console.print(
        f"campaign {args.run}: {campaign.objective_name} ({campaign.config.direction})"
        + (f", {told} measured molecules from --init" if told else "")
        + f"; next: llmga ask {args.run} --n 24 --out batch.csv",
        soft_wrap=True,
    )
    return 0


def _cmd_ask(args: argparse.Namespace, console: Console) -> int:
    from llmga._campaign import Campaign

    batch = Campaign(args.run).ask(args.n)
    if args.out:
        batch.to_csv(args.out, index=False)
        console.print(f"{len(batch)} molecules (batch {batch['batch'].iloc[0] if len(batch) else '-'}) in {args.out}")
    else:
        sys.stdout.write(batch.to_csv(index=False))
    return 0


def _cmd_tell(args: argparse.Namespace, console: Console) -> int:
    from llmga._campaign import Campaign

    report = Campaign(args.run).tell(args.results, accept_unknown=args.accept_unknown)
    console.print(str(report), soft_wrap=True)
    return 0


def _cmd_report(args: argparse.Namespace, console: Console) -> int:
    from llmga.report import report

    page = report(args.run, args.out)
    console.print(f"report: {page} (figures beside it)", soft_wrap=True)
    return 0


def _cmd_compare(args: argparse.Namespace, console: Console) -> int:
    from llmga.report import compare

    page = compare(args.runs, args.out, k=args.k)
    console.print(f"comparison: {page}", soft_wrap=True)
    return 0


def _cmd_export(args: argparse.Namespace, console: Console) -> int:
    from llmga.store import export

    for path in export(args.run, fmt=args.format):
        console.print(str(path), soft_wrap=True)
    return 0


def _cmd_objectives(args: argparse.Namespace, console: Console) -> int:
    from llmga.objectives import available, file_objectives

    table = Table(title="Objectives")
    table.add_column("name", overflow="fold")
    table.add_column("direction")
    table.add_column("source", overflow="fold")
    table.add_column("description")
    entries = available(describe=True)
    for path in args.path:
        entries |= file_objectives(path)
    for name, entry in entries.items():
        table.add_row(name, entry.direction, entry.source, entry.description)
    console.print(table)
    return 0


def _cmd_score(args: argparse.Namespace, console: Console, err: Console) -> int:
    from llmga.errors import LLMGAError
    from llmga.scoring import score_file

    try:
        frame = score_file(
            args.objective, args.file, smiles_col=args.smiles_col, out=args.out, workers=args.workers,
            neutralize=args.neutralize,
        )  # fmt: skip
    except LLMGAError as exc:
        if args.out and getattr(exc, "partial", None) is not None:
            err.print(_said("partial results", "yellow", f"written to {args.out}"), soft_wrap=True)
        raise
    if args.out is None:
        sys.stdout.write(frame.to_csv(index=False, na_rep="NaN"))
    scored = int(frame["score"].notna().sum())
    invalid = int(frame["reason"].str.startswith("invalid SMILES").sum())
    changed = int(frame.attrs.get("standardization", {}).get("changed", 0))
    values = frame["score"].dropna()
    stats = f"; min {values.min():.4g}, mean {values.mean():.4g}, max {values.max():.4g}" if scored else ""
    err.print(
        f"{args.objective}: scored {scored} of {len(frame)} molecules ({invalid} invalid SMILES, "
        f"{len(frame) - scored - invalid} unscorable, {changed} changed by standardisation){stats}"
        + (f"; wrote {args.out}" if args.out else ""),
        soft_wrap=True,
    )
    return 0


def _cmd_benchmark(args: argparse.Namespace, console: Console) -> int:
    from llmga.benchmark import (
        benchmark_config,
        check_settings,
        load_reference,
        parse_seeds,
        parse_tasks,
        run_benchmark,
        task_table,
    )

    tasks, seeds = parse_tasks(args.tasks), parse_seeds(args.seeds)
    reference = load_reference(args.compare) if args.compare else None
    skip = ("command", "tasks", "seeds", "out", "jobs", "compare", "preset")
    options = {k: v for k, v in vars(args).items() if k not in skip}
    if args.preset:
        options = PRESETS[args.preset] | options
    if args.jobs > 1:
        options.setdefault("workers", 1)  # parallel runs share the cores; results do not depend on it
    config = benchmark_config(**options)
    check_settings(args.out, config)
    total = len(tasks) * len(seeds)
    progress = Progress(
        TextColumn("[bold]benchmark"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("runs"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
    )
    task_id = progress.add_task("runs", total=total)

    def on_done(task: str, seed: int, row: dict[str, Any] | None) -> None:
        progress.advance(task_id)
        if row is None:
            progress.console.print(f"  {task} s{seed}: already finished, skipped")
        else:
            progress.console.print(
                f"  {task} s{seed}: top-10 AUC {_fmt(row['top10_auc'], 3)}  "
                f"({_fmt(row['wall_s'], 1)} s, oracle {_fmt(row['oracle_s'], 1)} s)"
            )

    interrupted = _said(
        "interrupted:",
        "yellow",
        f"finished runs and {args.out}/summary.csv are kept; run the same command again to continue",
    )
    try:
        with progress, graceful_interrupt() as stop:
            summary = run_benchmark(tasks, seeds, args.out, config=config, jobs=args.jobs, on_done=on_done, stop=stop)
    except KeyboardInterrupt:
        console.print(interrupted, soft_wrap=True)
        return 130
    if stop():
        console.print(interrupted, soft_wrap=True)
        return 130
    table = task_table(summary, reference)
    out = Table(
        title=f"Top-10 AUC, budget {config.budget}, {len(seeds)} seed(s); Top-1/100 AUC in {args.out}/summary.csv"
    )
    out.add_column("task")
    out.add_column("runs", justify="right")
    out.add_column("Top-10 AUC", justify="right")
    out.add_column("wall s", justify="right")
    out.add_column("oracle s", justify="right")
    if reference is not None:
        out.add_column(f"ref ({Path(args.compare).stem})", justify="right")
        out.add_column("ratio", justify="right")
    for task, row in table.iterrows():
        std = row["top10_auc_std"]
        cells = [
            str(task),
            str(int(row["runs"])),
            f"{row['top10_auc_mean']:.3f}" + ("" if math.isnan(std) else f" ± {std:.3f}"),
            f"{row['wall_s']:.1f}",
            f"{row['oracle_s']:.1f}",
        ]
        if reference is not None:
            cells += [_fmt(float(row["reference"]), 3), _fmt(float(row["ratio"]), 3)]
        out.add_row(*cells, end_section=(task == table.index[-2]))
    console.print(out)
    return 0


def _cmd_train_model(args: argparse.Namespace, console: Console) -> int:
    from llmga.objectives.models import TrainModelSettings, train_model

    settings = TrainModelSettings(**{k: v for k, v in vars(args).items() if k != "command"})
    command = "llmga " + " ".join(sys.argv[1:]) if sys.argv[1:2] == ["train-model"] else ""
    report = train_model(settings, command=command)
    shown = ", ".join(f"{k} {v:.3f}" for k, v in report.metrics.items())
    console.print(
        f"wrote {report.out}: {report.molecules} molecules ({report.skipped} rows skipped); scaffold-split "
        f"cross-validation: {shown}. Optimise it with --objective model:{report.out}",
        soft_wrap=True,
    )
    return 0


def _cmd_train_lm(args: argparse.Namespace, console: Console) -> int:
    from llmga.lm import TrainSettings, train_lm

    settings = TrainSettings(**{k: v for k, v in vars(args).items() if k != "command"})
    settings.check()

    def show(row: dict[str, Any]) -> None:
        given = f", given its bits {row['heldout_given_bits']:.3f}" if "heldout_given_bits" in row else ""
        console.print(
            f"step {row['step']}: loss {row['loss']:.3f}, held-out {row['heldout']:.3f}{given} "
            f"({row['seconds']:.0f} s)",
            soft_wrap=True,
        )

    command = "llmga " + " ".join(sys.argv[1:]) if sys.argv[1:2] == ["train-lm"] else ""
    report = train_lm(settings, command=command, progress=show)
    quality = report.sample_quality
    console.print(
        f"wrote {report.out}: {report.steps} steps ({report.epochs} epochs, {report.seconds:.0f} s, "
        f"{report.tokens_per_s:.0f} tokens/s), held-out loss {report.heldout_loss:.3f}; samples "
        f"{quality.get('valid', math.nan):.1%} valid, {quality.get('unique', math.nan):.1%} unique, "
        f"{quality.get('novel', math.nan):.1%} novel",
        soft_wrap=True,
    )
    return 0


_COMMANDS: dict[str, Callable[[argparse.Namespace, Console], int]] = {
    "optimize": _cmd_optimize,
    "objectives": _cmd_objectives,
    "benchmark": _cmd_benchmark,
    "train-lm": _cmd_train_lm,
    "train-model": _cmd_train_model,
    "export": _cmd_export,
    "report": _cmd_report,
    "compare": _cmd_compare,
    "campaign": _cmd_campaign,
    "ask": _cmd_ask,
    "tell": _cmd_tell,
}


def main(argv: Sequence[str] | None = None, *, exiting: bool = False) -> int:
    """Run one command; its exit code. ``exiting`` (the ``llmga`` command itself, which exits next): once
    the command was interrupted, further Ctrl-C presses are ignored while the process exits. Pressed
    again and again, as users do, one would otherwise land after the command returned, and the process
    would die of SIGINT instead of exiting with 130."""
    code = _main(argv, exiting)
    if exiting and code == 130:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    return code


def entry() -> None:
    """The ``llmga`` console command."""
    try:
        code = main(exiting=True)
    except KeyboardInterrupt:  # pressed in the instant between the command's end and the line above
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        code = 130
    sys.exit(code)


def _main(argv: Sequence[str] | None, exiting: bool) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # Nothing printed is read as rich markup: messages, paths and SMILES ([nH], [Na+], 'llmga[vllm]')
    # appear verbatim; styles are applied with Text spans (_said).
    console = Console(markup=False)
    err = Console(stderr=True, markup=False)
    if args.command is None:
        parser.print_help()
        return 2
    warnings.simplefilter("default")
    with warnings.catch_warnings():
        warnings.showwarning = lambda message, category, *a, **k: err.print(
            _said("warning:", "yellow", message), soft_wrap=True
        )
        try:
            if args.command == "score":
                return _cmd_score(args, console, err)
            return _COMMANDS[args.command](args, console)
        except ConfigError as exc:
            err.print(_said("error:", "bold red", exc), soft_wrap=True)
            return 2
        except LLMGAError as exc:
            err.print(_said("error:", "bold red", exc), soft_wrap=True)
            return 1
        except KeyboardInterrupt:  # a second Ctrl-C while a command was already stopping: still no traceback
            if exiting:
                signal.signal(signal.SIGINT, signal.SIG_IGN)  # stopping now: a third press must not cut the message
            err.print(_said("interrupted:", "yellow", "everything finished so far is kept"), soft_wrap=True)
            return 130


if __name__ == "__main__":
    entry()
