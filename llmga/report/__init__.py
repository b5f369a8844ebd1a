"""Reports of runs: PNG figures, a molecule grid and one self-contained HTML page; comparisons of runs.

``llmga report RUN`` and ``llmga compare RUN ...`` are thin layers over
:func:`report` and :func:`compare`.
"""

from __future__ import annotations

from llmga.report._html import compare, molecule_grid, render_html, report
from llmga.report._notebook import result_html

__all__ = ["compare", "molecule_grid", "render_html", "report", "result_html"]
