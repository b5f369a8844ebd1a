"""Run folders: what a run writes, and how it is read back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from llmga.store._run_folder import (
    BEST_FILE,
    CONFIG_FILE,
    EVALUATION_COLUMNS,
    EVALUATIONS_FILE,
    GENERATIONS_FILE,
    LLM_CALL_COLUMNS,
    LLM_CALLS_FILE,
    PARETO_FILE,
    POPULATION_FILE,
    RUN_FILE,
    SUMMARY_FILE,
    RunFolder,
    default_run_dir,
    evaluation_table,
    export,
    write_json,
)
from llmga.store._sqlite import STORE_FILE, RunStore, StoreError, StoreLockedError, clean, dumps

__all__ = [
    "BEST_FILE",
    "CONFIG_FILE",
    "EVALUATIONS_FILE",
    "EVALUATION_COLUMNS",
    "GENERATIONS_FILE",
    "LLM_CALLS_FILE",
    "LLM_CALL_COLUMNS",
    "PARETO_FILE",
    "POPULATION_FILE",
    "RUN_FILE",
    "STORE_FILE",
    "SUMMARY_FILE",
    "RunFolder",
    "RunStore",
    "StoreError",
    "StoreLockedError",
    "clean",
    "default_run_dir",
    "dumps",
    "evaluation_table",
    "export",
    "saved_config",
    "write_json",
]


def saved_config(folder: str | Path) -> dict[str, Any]:
    """The configuration a run (or campaign) folder was started with, read from its store (as a dict)."""
    store = RunStore.open(folder)
    try:
        return store.config()
    finally:
        store.close()
