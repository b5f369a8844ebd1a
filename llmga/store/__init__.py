"""Run folders: what a run writes, and how it is read back."""

from __future__ import annotations

from llmga.store._run_folder import (
    BEST_FILE,
    CONFIG_FILE,
    EVALUATION_COLUMNS,
    EVALUATIONS_FILE,
    GENERATIONS_FILE,
    LLM_CALL_COLUMNS,
    LLM_CALLS_FILE,
    POPULATION_FILE,
    RUN_FILE,
    SUMMARY_FILE,
    RunFolder,
    default_run_dir,
    export,
)
from llmga.store._sqlite import STORE_FILE, RunStore, StoreError, StoreLockedError

__all__ = [
    "BEST_FILE",
    "CONFIG_FILE",
    "EVALUATIONS_FILE",
    "EVALUATION_COLUMNS",
    "GENERATIONS_FILE",
    "LLM_CALLS_FILE",
    "LLM_CALL_COLUMNS",
    "POPULATION_FILE",
    "RUN_FILE",
    "STORE_FILE",
    "SUMMARY_FILE",
    "RunFolder",
    "RunStore",
    "StoreError",
    "StoreLockedError",
    "default_run_dir",
    "export",
]
