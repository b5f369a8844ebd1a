"""How a run result shows itself in Jupyter (``RunResult._repr_html_``)."""

from __future__ import annotations

import base64
import html
import io
from typing import TYPE_CHECKING

from llmga.report._html import _fmt, molecule_grid
from llmga.report._plots import curve_figure

if TYPE_CHECKING:
    from llmga.result import RunResult

__all__ = ["result_html"]


def _png(data: bytes, alt: str, width: int) -> str:
    return f'<img alt="{alt}" width="{width}" src="data:image/png;base64,{base64.b64encode(data).decode()}">'


def result_html(result: RunResult, top: int = 8) -> str:
    """A compact HTML view: key metrics, the curve, and the ``top`` best molecules drawn with their scores."""
    s = result.summary
    metrics = [
        ("objective", f"{result.config.objective} ({result.direction})"),
        ("status", s.get("status", "running or stopped")),
        ("calls / budget", f"{s.get('calls', len(result.evaluations))} / {s.get('budget', result.config.budget)}"),
        ("Top-10 AUC", _fmt(s.get("top10_auc"))),
        ("best", _fmt(s.get("best_score", result.best_score))),
        ("run folder", str(result.path)),
    ]
    rows = "".join(f"<tr><th style='text-align:left'>{k}</th><td>{html.escape(str(v))}</td></tr>" for k, v in metrics)
    parts = [f"<div><table>{rows}</table>"]
    if len(result.evaluations):
        fig = curve_figure(result)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        import matplotlib.pyplot as plt

        plt.close(fig)
        parts.append(_png(buffer.getvalue(), "optimisation curve", 520))
    best = result.best(top)
    if len(best):
        legends = [f"{row.score:.4g} ({row.operator})" for row in best.itertuples()]
        parts.append(_png(molecule_grid(best["smiles"].tolist(), legends, per_row=4, size=200), "best molecules", 800))
    parts.append("</div>")
    return "".join(parts)
