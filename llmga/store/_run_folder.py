"""A run folder: configuration, every oracle call, per-generation statistics, best molecules.

Tables are CSV (read them with ``pandas.read_csv``). Evaluations and
generations are appended and flushed as they happen, so a run that fails or
is interrupted keeps everything it computed.
"""

from __future__ import annotations

import csv
import json
import math
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from llmga.engine import Evaluation, GenerationReport
from llmga.errors import ConfigError

__all__ = ["EVALUATION_COLUMNS", "LLM_CALLS_FILE", "LLM_CALL_COLUMNS", "RunFolder", "default_run_dir"]

EVALUATION_COLUMNS = ("call", "smiles", "score", "generation", "operator", "parents")
CONFIG_FILE = "config.json"
RUN_FILE = "run.json"
EVALUATIONS_FILE = "evaluations.csv"
GENERATIONS_FILE = "generations.csv"
BEST_FILE = "best.csv"
POPULATION_FILE = "population.csv"
SUMMARY_FILE = "summary.json"
LLM_CALLS_FILE = "llm_calls.csv"
PRESCREEN_FILE = "prescreen.csv"
PARETO_FILE = "pareto_front.csv"
LLM_CALL_COLUMNS = (
    "time",
    "generation",
    "operator",
    "backend",
    "model",
    "template",
    "prompt",
    "reply",
    "tokens_in",
    "tokens_out",
    "latency_s",
    "asked",
    "parsed",
    "valid",
    "new",
    "parents",
    "error",
)


def default_run_dir(objective_name: str, seed: int, root: str | Path = "runs") -> Path:
    """``runs/<objective>-<YYYYmmdd-HHMMSS>-s<seed>``, made unique with a suffix if needed."""
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", objective_name).strip("_")[:40] or "run"
    base = Path(root) / f"{slug}-{time.strftime('%Y%m%d-%H%M%S')}-s{seed}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


def _json_default(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=_json_default, allow_nan=False) + "\n")
    tmp.replace(path)


def _clean(data: Any) -> Any:
    """Replace NaN/inf floats by None so the JSON is standard."""
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {k: _clean(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [_clean(v) for v in data]
    return data


class RunFolder:
    """Writes one run's folder; an engine observer."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._evals: IO[str] | None = None
        self._gens: IO[str] | None = None
        self._eval_writer: Any = None
        self._gen_writer: Any = None
        self._gen_fields: list[str] = []
        self._llm: IO[str] | None = None
        self._llm_writer: Any = None
        self._pre: IO[str] | None = None
        self._pre_writer: Any = None
        self._components: list[str] = []

    def create(self, config: dict[str, Any], run_info: dict[str, Any], components: Sequence[str] = ()) -> None:
        """Write the configuration and run card and open the tables; ``components`` names a Pareto run's
        objectives, each a column of ``evaluations.csv`` after the fixed ones."""
        if self.path.exists() and any(self.path.iterdir()):
            raise ConfigError(
                f"--out {str(self.path)!r} already holds files; choose a new folder (or delete that one) "
                "so no earlier run is overwritten"
            )
        self.path.mkdir(parents=True, exist_ok=True)
        write_json(self.path / CONFIG_FILE, _clean(config))
        write_json(self.path / RUN_FILE, _clean(run_info))
        self._evals = open(self.path / EVALUATIONS_FILE, "w", newline="")  # noqa: SIM115 - kept open for appends
        self._eval_writer = csv.writer(self._evals)
        self._components = list(components)
        self._eval_writer.writerow([*EVALUATION_COLUMNS, *self._components])
        self._evals.flush()

    def on_evaluations(self, evaluations: list[Evaluation]) -> None:
        assert self._evals is not None, "RunFolder.create() must be called first"
        self._eval_writer.writerows(
            (
                e.call,
                e.smiles,
                "" if math.isnan(e.score) else repr(e.score),
                e.generation,
                e.operator,
                " ".join(str(p) for p in e.parents),
                *("" if math.isnan(v) else repr(v) for v in e.components[: len(self._components)]),
            )
            for e in evaluations
        )
        self._evals.flush()

    def on_generation(self, report: GenerationReport) -> None:
        record = report.record
        if self._gens is None:
            self._gens = open(self.path / GENERATIONS_FILE, "w", newline="")  # noqa: SIM115
            self._gen_fields = list(record)
            self._gen_writer = csv.DictWriter(self._gens, fieldnames=self._gen_fields, extrasaction="ignore")
            self._gen_writer.writeheader()
        self._gen_writer.writerow({k: ("" if isinstance(v, float) and math.isnan(v) else v) for k, v in record.items()})
        self._gens.flush()

    def on_llm_call(self, record: dict[str, Any]) -> None:
        """Append one language-model call (a prompt and its reply) to ``llm_calls.csv``."""
        if self._llm is None:
            self._llm = open(self.path / LLM_CALLS_FILE, "w", newline="")  # noqa: SIM115
            self._llm_writer = csv.DictWriter(self._llm, fieldnames=LLM_CALL_COLUMNS, extrasaction="ignore")
            self._llm_writer.writeheader()
        self._llm_writer.writerow(record)
        self._llm.flush()

    def on_prescreen(self, rows: list[tuple[int, str, float, bool]]) -> None:
        """Append the prescreen scores of one generation's new children to ``prescreen.csv``."""
        if self._pre is None:
            self._pre = open(self.path / PRESCREEN_FILE, "w", newline="")  # noqa: SIM115
            self._pre_writer = csv.writer(self._pre)
            self._pre_writer.writerow(("generation", "smiles", "prescreen", "scored"))
        self._pre_writer.writerows(
            (g, smi, "" if math.isnan(score) else repr(score), int(kept)) for g, smi, score, kept in rows
        )
        self._pre.flush()

    def write_table(self, name: str, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
        with open(self.path / name, "w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(columns)
            writer.writerows(rows)

    def write_summary(self, summary: dict[str, Any]) -> None:
        write_json(self.path / SUMMARY_FILE, _clean(summary))

    def close(self) -> None:
        for fh in (self._evals, self._gens, self._llm, self._pre):
            if fh is not None and not fh.closed:
                fh.close()
