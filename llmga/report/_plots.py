"""The figures of a run report, drawn from a run's data (matplotlib, headless Agg backend).

Each function takes a :class:`~llmga.result.RunResult` (or plain frames) and
returns a matplotlib Figure, or ``None`` when the run has nothing to show
(no LLM, not a Pareto run). Nothing here writes files.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from llmga.metrics import top_k_curve

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from llmga.result import RunResult

__all__ = [
    "FAMILIES",
    "compare_figure",
    "curve_figure",
    "family",
    "llm_figure",
    "operator_figure",
    "pareto_figure",
    "score_figure",
]

# Where a child came from, for the operator plots: the first operator of its label decides.
FAMILIES = ("init", "graph GA", "embedded model", "LLM", "told")
_COLOURS = {"init": "#9e9e9e", "graph GA": "#1f77b4", "embedded model": "#2ca02c", "LLM": "#d62728", "told": "#ff7f0e"}


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:  # pragma: no cover - a core dependency
        raise ImportError("reports need matplotlib: pip install matplotlib") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def family(operator: str) -> str:
    """The operator family of an evaluation's ``operator`` label (``lm_mutation``, ``graph_crossover+...``)."""
    first = str(operator).split("+")[0]
    if first == "init":
        return "init"
    if first.endswith("(fallback)") or first.startswith("graph_"):
        return "graph GA"
    if first.startswith("lm_"):
        return "embedded model"
    if first.startswith("llm_"):
        return "LLM"
    return "told" if first == "told" else "graph GA"


def _integer_ticks(ax: Any) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def _checkpoints(n: int) -> list[int]:
    return [int(x) for x in np.unique(np.linspace(1, n, num=min(n, 400)).astype(int))]


def curve_figure(result: RunResult) -> Figure:
    """Best, top-10 and top-100 mean against oracle calls, with the Top-10 AUC in the title."""
    plt = _pyplot()
    ev = result.evaluations
    scores = ev["score"].to_numpy(dtype=float)
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    if len(scores):
        xs = _checkpoints(len(scores))
        for k, label, width in ((1, "best", 2.0), (10, "top-10 mean", 1.6), (100, "top-100 mean", 1.2)):
            ax.plot(xs, top_k_curve(scores, k, xs, result.direction), label=label, linewidth=width)
    budget = result.summary.get("budget") or result.config.budget
    auc = result.summary.get("top10_auc")
    title = f"{result.config.objective} ({result.direction})"
    if auc is not None and not (isinstance(auc, float) and math.isnan(auc)):
        title += f" — Top-10 AUC {auc:.4f} (budget {budget})"
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("oracle calls")
    ax.set_ylabel("score")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right" if result.direction == "maximize" else "upper right", fontsize=8)
    fig.tight_layout()
    return fig


def score_figure(result: RunResult, max_boxes: int = 40) -> Figure:
    """The scores of each generation's new molecules (box plots; at most ``max_boxes`` generations shown)."""
    plt = _pyplot()
    ev = result.evaluations.dropna(subset=["score"])
    gens = sorted(int(g) for g in ev["generation"].unique())
    if len(gens) > max_boxes:
        gens = [gens[int(i)] for i in np.unique(np.linspace(0, len(gens) - 1, max_boxes).astype(int))]
    data = [ev.loc[ev["generation"] == g, "score"].to_numpy() for g in gens]
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    if data:
        ax.boxplot(data, positions=range(len(gens)), widths=0.6, showfliers=False)
        step = max(1, len(gens) // 12)
        ax.set_xticks(range(0, len(gens), step), [str(g) for g in gens[::step]])
    ax.set_xlabel("generation (0: initial population)")
    ax.set_ylabel("score of new molecules")
    ax.set_title("Score distribution per generation", fontsize=10)
    ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    return fig


def operator_shares(result: RunResult) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per generation, the share of new molecules (children) and of the population (survivors) per family."""
    ev = result.evaluations
    fam = ev["operator"].map(family)
    children = pd.crosstab(ev["generation"], fam, normalize="index")
    children = children.loc[children.index > 0] if (children.index > 0).any() else children
    survivors = pd.DataFrame()
    populations = result.populations()
    if populations:
        by_call = dict(zip(ev["call"], fam, strict=True))
        rows = {g: pd.Series([by_call[c] for c in calls if c in by_call]).value_counts(normalize=True)
                for g, calls in populations.items() if calls}  # fmt: skip
        survivors = pd.DataFrame(rows).T.fillna(0.0).sort_index()

    def ordered(frame: pd.DataFrame) -> pd.DataFrame:
        """Families that made something here, in the fixed order (so colours and legends agree)."""
        return frame.reindex(columns=[f for f in FAMILIES if f in frame.columns and frame[f].sum() > 0])

    return ordered(children), ordered(survivors)


def operator_figure(result: RunResult) -> Figure:
    """Stacked shares per operator family over generations: of the children, and of the population."""
    plt = _pyplot()
    children, survivors = operator_shares(result)
    panels = [("new molecules (children)", children)] + (
        [("population (survivors)", survivors)] if len(survivors) else []
    )
    fig, axes = plt.subplots(len(panels), 1, figsize=(7, 2.8 * len(panels)), dpi=110, sharex=True, squeeze=False)
    for ax, (title, frame) in zip(axes[:, 0], panels, strict=True):
        if len(frame):
            ax.stackplot(
                frame.index.to_numpy(),
                *[frame[c].to_numpy() for c in frame.columns],
                labels=list(frame.columns),
                colors=[_COLOURS[c] for c in frame.columns],
                alpha=0.85,
            )
        ax.set_ylim(0, 1)
        ax.set_ylabel("share")
        ax.set_title(f"Operators: share of {title}", fontsize=10)
        ax.legend(loc="upper left", fontsize=7, ncol=len(frame.columns) or 1)
    axes[-1, 0].set_xlabel("generation")
    _integer_ticks(axes[-1, 0])
    fig.tight_layout()
    return fig


def llm_stats(calls: pd.DataFrame) -> pd.DataFrame:
    """Per generation and operator: validity (valid / parsed), novelty (new / valid) and median latency."""
    if calls.empty:
        return pd.DataFrame()
    calls = calls[calls["operator"].astype(str) != "lm_finetune"]
    grouped = calls.groupby("generation")
    out = pd.DataFrame(
        {
            "validity": grouped["valid"].sum() / grouped["parsed"].sum().replace(0, np.nan),
            "novelty": grouped["new"].sum() / grouped["valid"].sum().replace(0, np.nan),
            "latency_s": grouped["latency_s"].median(),
            "calls": grouped.size(),
        }
    )
    return out.sort_index()


def llm_figure(result: RunResult) -> Figure | None:
    """Language-model validity, novelty and latency per generation (None when the run used no model)."""
    stats = llm_stats(result.llm_calls)
    if stats.empty:
        return None
    plt = _pyplot()
    fig, axes = plt.subplots(3, 1, figsize=(7, 6.5), dpi=110, sharex=True)
    for ax, (column, label) in zip(
        axes, (("validity", "valid / parsed"), ("novelty", "new / valid"), ("latency_s", "median latency (s)")),
        strict=True,
    ):  # fmt: skip
        ax.plot(stats.index.to_numpy(), stats[column].to_numpy(), marker="o", markersize=3)
        ax.set_ylabel(label, fontsize=8)
        ax.grid(alpha=0.3)
        if column != "latency_s":
            ax.set_ylim(0, 1.05)
    axes[0].set_title(f"Language-model calls ({int(stats['calls'].sum())} in all)", fontsize=10)
    axes[-1].set_xlabel("generation")
    _integer_ticks(axes[-1])
    fig.tight_layout()
    return fig


def pareto_figure(result: RunResult) -> Figure | None:
    """The first two objectives of every molecule, the Pareto front marked (None for one-objective runs)."""
    names = result.objective_names()
    if len(names) < 2:
        return None
    plt = _pyplot()
    ev = result.evaluations.dropna(subset=names[:2])
    front = result.pareto_front()
    fig, ax = plt.subplots(figsize=(6, 5), dpi=110)
    ax.scatter(ev[names[0]], ev[names[1]], s=6, alpha=0.35, color="#9e9e9e", label="all molecules")
    if len(front):
        ordered = front.sort_values(names[0])
        ax.scatter(ordered[names[0]], ordered[names[1]], s=18, color="#d62728", label=f"Pareto front ({len(front)})")
    directions = {o["name"]: o["direction"] for o in (result.summary.get("pareto") or {}).get("objectives", [])}
    ax.set_xlabel(f"{names[0]} ({directions[names[0]]})" if names[0] in directions else names[0])
    ax.set_ylabel(f"{names[1]} ({directions[names[1]]})" if names[1] in directions else names[1])
    ax.set_title("Pareto front", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def compare_figure(groups: Sequence[tuple[str, Sequence[RunResult]]], k: int = 10) -> Figure:
    """Top-``k`` mean against oracle calls for groups of runs: one line per group (the mean over its runs,
    with a band of ± one standard deviation when it has several)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    for label, runs in groups:
        budget = max(int(r.summary.get("budget") or r.config.budget) for r in runs)
        xs = _checkpoints(budget)
        curves = []
        for run in runs:
            scores = run.evaluations["score"].to_numpy(dtype=float)
            curve = top_k_curve(scores, k, [min(x, len(scores)) for x in xs], run.direction)
            curves.append(curve)  # flat after the run stopped, as PMO's AUC extends it
        arr = np.vstack(curves)
        mean = np.nanmean(arr, axis=0)
        (line,) = ax.plot(xs, mean, label=f"{label} (n={len(runs)})", linewidth=1.6)
        if len(runs) > 1:
            std = np.nanstd(arr, axis=0)
            ax.fill_between(xs, mean - std, mean + std, color=line.get_color(), alpha=0.18)
    ax.set_xlabel("oracle calls")
    ax.set_ylabel(f"top-{k} mean")
    ax.set_title(f"Top-{k} mean against oracle calls", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
