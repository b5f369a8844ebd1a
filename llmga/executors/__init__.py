"""Executors: where batches of work (variation, scoring) run — one core or several."""

from __future__ import annotations

from llmga.executors._base import (
    Executor,
    ProcessExecutor,
    SerialExecutor,
    available_cores,
    by_value_modules,
    make_executor,
    send_by_value,
)

__all__ = [
    "Executor",
    "ProcessExecutor",
    "SerialExecutor",
    "available_cores",
    "by_value_modules",
    "make_executor",
    "send_by_value",
]
