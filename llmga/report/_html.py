"""Writing reports: the figures as PNG files, a grid of the best molecules, and one HTML page that embeds them."""

from __future__ import annotations

import base64
import html
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from llmga.errors import LLMGAError
from llmga.report import _plots

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from llmga.result import RunResult

__all__ = ["compare", "molecule_grid", "render_html", "report"]

MANIFEST = "report.json"
PAGE = "report.html"
_GRID = 24


def molecule_grid(smiles: Sequence[str], legends: Sequence[str], per_row: int = 4, size: int = 260) -> bytes:
    """PNG bytes of ``smiles`` drawn by RDKit in a grid, each with its legend (drawn with MolDraw2DCairo,
    so the result is PNG bytes whether or not IPython is around)."""
    from rdkit import Chem
    from rdkit.Chem.Draw import rdMolDraw2D

    keep = [(m, leg) for m, leg in ((Chem.MolFromSmiles(s), leg) for s, leg in zip(smiles, legends, strict=True)) if m]
    if not keep:
        raise LLMGAError("no molecule to draw")
    rows = -(-len(keep) // per_row)
    columns = min(per_row, len(keep))
    drawer = rdMolDraw2D.MolDraw2DCairo(columns * size, rows * size, size, size)
    drawer.DrawMolecules([m for m, _ in keep], legends=[leg for _, leg in keep])
    drawer.FinishDrawing()
    return bytes(drawer.GetDrawingText())


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return "-" if math.isnan(value) else f"{value:.4g}"
    return str(value)


def _save(fig: Figure, path: Path) -> dict[str, Any]:
    """Write ``fig`` as PNG; what it holds (axes, and per axes its lines and filled areas), for the manifest."""
    axes = [
        {
            "title": ax.get_title(),
            "lines": len(ax.lines),
            "points": [int(np.size(line.get_xdata())) for line in ax.lines],
            "collections": len(ax.collections),
            "patches": len(ax.patches),
        }
        for ax in fig.axes
        if ax.get_visible()
    ]
    fig.savefig(path, format="png")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return {"file": path.name, "axes": axes}


def report(run: str | Path | RunResult, out: str | Path | None = None) -> Path:
    """Write a run's report into ``out`` (default ``RUN/report``): PNG figures, ``molecules.png``,
    ``report.html`` (self-contained: every image embedded) and ``report.json`` (what each figure holds).
    Returns the HTML page's path."""
    from llmga.result import RunResult, load

    result = run if isinstance(run, RunResult) else load(run)
    folder = Path(out) if out is not None else result.path / "report"
    folder.mkdir(parents=True, exist_ok=True)
    figures: dict[str, dict[str, Any]] = {}
    drawers = {
        "curve": _plots.curve_figure,
        "scores": _plots.score_figure,
        "operators": _plots.operator_figure,
        "llm": _plots.llm_figure,
        "pareto": _plots.pareto_figure,
    }
    for name, draw in drawers.items():
        fig = draw(result)
        if fig is not None:
            figures[name] = _save(fig, folder / f"{name}.png")
    top = result.best(_GRID)
    if len(top):
        legends = [f"#{i + 1}  {row.score:.4g}  {row.operator}" for i, row in enumerate(top.itertuples())]
        (folder / "molecules.png").write_bytes(molecule_grid(top["smiles"].tolist(), legends))
        figures["molecules"] = {"file": "molecules.png", "molecules": len(top)}
    (folder / MANIFEST).write_text(json.dumps({"run": str(result.path), "figures": figures}, indent=2) + "\n")
    page = folder / PAGE
    page.write_text(render_html(result, folder, figures, top))
    return page


def _image(folder: Path, name: str, alt: str) -> str:
    data = base64.b64encode((folder / name).read_bytes()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _table(rows: Sequence[tuple[str, Any]]) -> str:
    body = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(_fmt(v))}</td></tr>" for k, v in rows)
    return f"<table class='kv'>{body}</table>"


_CSS = """
body { font-family: -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 1100px;
       color: #222; padding: 0 1em; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; }
h2 { font-size: 1.15em; margin-top: 1.8em; border-bottom: 1px solid #ddd; }
.sub { color: #666; margin-top: 0; } img { max-width: 100%; } .row { display: flex; flex-wrap: wrap; gap: 1em; }
table { border-collapse: collapse; font-size: 0.88em; } td, th { padding: 0.25em 0.7em; border-bottom: 1px solid #eee;
text-align: left; vertical-align: top; } table.kv th { color: #555; font-weight: 600; }
td.smiles { font-family: ui-monospace, Menlo, Consolas, monospace; word-break: break-all; }
"""


def render_html(result: RunResult, folder: Path, figures: dict[str, dict[str, Any]], top: pd.DataFrame) -> str:
    """The report page: summary, figures and molecules, with every image embedded as base64 PNG."""
    s = result.summary
    summary = [
        ("objective", f"{result.config.objective} ({result.direction})"),
        ("status / stopped by", f"{s.get('status', 'running or killed')} / {s.get('stop_reason', '-')}"),
        (
            "oracle calls / budget",
            f"{s.get('calls', len(result.evaluations))} / {s.get('budget', result.config.budget)}",
        ),
        ("Top-1 / Top-10 / Top-100 AUC", " / ".join(_fmt(s.get(f"top{k}_auc")) for k in (1, 10, 100))),
        ("best score", s.get("best_score")),
        ("best molecule", s.get("best_smiles")),
        ("final top-10 mean", s.get("top10_mean")),
        ("generations", s.get("generations")),
        ("elapsed (s)", s.get("elapsed_s")),
    ]
    if s.get("llm_calls") is not None:
        summary += [
            ("LLM calls / tokens in+out", f"{s['llm_calls']} / {s.get('llm_tokens_in')}+{s.get('llm_tokens_out')}"),
            ("LLM validity / novelty", f"{_fmt(s.get('llm_validity'))} / {_fmt(s.get('llm_novelty'))}"),
        ]
    shares = s.get("operator_shares") or {}
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>llmga report: {html.escape(result.path.name)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(result.config.objective)}</h1>",
        f"<p class='sub'>run folder {html.escape(str(result.path))}</p>",
        "<h2>Summary</h2>",
        _table(summary),
    ]
    captions = {
        "curve": "Optimisation curve",
        "scores": "Scores per generation",
        "operators": "Which operators made the molecules",
        "llm": "Language-model calls",
        "pareto": "Pareto front",
    }
    for name, caption in captions.items():
        if name in figures:
            parts += [f"<h2>{caption}</h2>", _image(folder, figures[name]["file"], caption)]
    if shares:
        rows = "".join(
            f"<tr><td>{html.escape(label)}</td><td>{_fmt(v.get('mean'))}</td><td>{_fmt(v.get('final'))}</td>"
            f"<td>{_fmt(v.get('survival'))}</td></tr>"
            for label, v in shares.items()
        )
        parts.append(
            "<h3>Operator shares (adaptive selection)</h3><table><tr><th>recipe</th><th>mean share</th>"
            f"<th>final share</th><th>children surviving</th></tr>{rows}</table>"
        )
    if "molecules" in figures:
        parts += [f"<h2>Top {len(top)} molecules</h2>", _image(folder, "molecules.png", "best molecules")]
        rows = "".join(
            f"<tr><td>{i + 1}</td><td>{_fmt(float(r['score']))}</td>"
            f"<td class='smiles'>{html.escape(str(r['smiles']))}</td><td>{int(r['call'])}</td>"
            f"<td>{int(r['generation'])}</td><td>{html.escape(str(r['operator']))}</td></tr>"
            for i, r in enumerate(top.to_dict("records"))
        )
        parts.append(
            "<table><tr><th>#</th><th>score</th><th>SMILES</th><th>call</th><th>generation</th><th>operator</th></tr>"
            f"{rows}</table>"
        )
    config = sorted((k, v) for k, v in result.config.to_dict().items() if v not in (None, ""))
    parts += ["<h2>Configuration</h2>", _table(config), "</body></html>"]
    return "\n".join(parts)


def _benchmark_groups(folder: Path) -> list[tuple[str, list[RunResult]]]:
    """The runs of a benchmark folder (``TASK/sSEED`` run folders), grouped by task."""
    from llmga.result import load

    groups: dict[str, list[RunResult]] = {}
    for config in sorted(folder.glob("*/s*/config.json")):
        run = config.parent
        if run.name.endswith(".interrupted"):
            continue
        groups.setdefault(run.parent.name, []).append(load(run))
    return list(groups.items())


def compare(runs: Sequence[str | Path], out: str | Path, *, labels: Sequence[str] | None = None, k: int = 10) -> Path:
    """Overlay the top-``k`` curves of runs (one line each), or of benchmark folders (their runs grouped by
    task, mean ± std over seeds). Writes ``compare.png`` and ``compare.html`` into ``out``; returns the page."""
    from llmga.result import load

    groups: list[tuple[str, list[RunResult]]] = []
    for i, item in enumerate(runs):
        path = Path(item)
        if (path / "config.json").exists():
            groups.append((labels[i] if labels else path.name, [load(path)]))
        elif (path / "summary.csv").exists():
            found = _benchmark_groups(path)
            if not found:
                raise LLMGAError(f"{str(path)!r} is a benchmark folder without finished runs")
            groups += [(f"{path.name}/{task}" if len(runs) > 1 else task, rs) for task, rs in found]
        else:
            raise LLMGAError(
                f"{str(path)!r} is neither a run folder (config.json) nor a benchmark folder (summary.csv); "
                "give folders made by `llmga optimize` or `llmga benchmark`"
            )
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    meta = _save(_plots.compare_figure(groups, k), folder / "compare.png")
    rows = "".join(
        f"<tr><td>{html.escape(label)}</td><td>{len(rs)}</td>"
        f"<td>{_fmt(_mean([r.summary.get(f'top{k}_auc') for r in rs]))}</td></tr>"
        for label, rs in groups
    )
    page = folder / "compare.html"
    page.write_text(
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>llmga compare</title><style>{_CSS}</style></head>"
        f"<body><h1>Comparison of {len(groups)} groups of runs</h1>{_image(folder, 'compare.png', 'comparison')}"
        f"<table><tr><th>runs</th><th>n</th><th>mean Top-{k} AUC</th></tr>{rows}</table></body></html>\n"
    )
    (folder / MANIFEST).write_text(
        json.dumps({"groups": [[label, [str(r.path) for r in rs]] for label, rs in groups], "figure": meta}, indent=2)
        + "\n"
    )
    return page


def _mean(values: Sequence[Any]) -> float:
    finite = [float(v) for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return sum(finite) / len(finite) if finite else math.nan
