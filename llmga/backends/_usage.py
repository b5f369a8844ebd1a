"""What a run spent on its language model: calls, tokens, latency, cost."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Usage"]


@dataclass
class Usage:
    """Running totals over LLM call records (one record per prompt, as the LLM operators log them).

    Prices are USD per million tokens; :meth:`exceeded` names the first
    LLM budget reached (``max_llm_tokens`` or ``max_cost``), else ``None``.
    A call failed when its record has an ``error``; ``failures`` counts them
    by ``error_kind`` (``error`` where the record names none), and
    ``truncated`` counts calls with a reply cut by the token limit
    (``length`` among their ``finish_reason``).
    """

    price_in: float | None = None
    price_out: float | None = None
    max_tokens: int | None = None
    max_cost: float | None = None
    calls: int = 0
    errors: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    parsed: int = 0
    valid: int = 0
    new: int = 0
    asked: int = 0
    truncated: int = 0
    latencies: list[float] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)

    def add(self, record: dict[str, Any]) -> None:
        self.calls += 1
        if record.get("error"):
            self.errors += 1
            self.failures[str(record.get("error_kind") or "error")] += 1
        self.truncated += "length" in str(record.get("finish_reason") or "").split(",")
        self.tokens_in += int(record.get("tokens_in", 0))
        self.tokens_out += int(record.get("tokens_out", 0))
        self.parsed += int(record.get("parsed", 0))
        self.valid += int(record.get("valid", 0))
        self.new += int(record.get("new", 0))
        self.asked += int(record.get("asked", 0))
        self.latencies.append(float(record.get("latency_s", 0.0)))

    @property
    def tokens(self) -> int:
        return self.tokens_in + self.tokens_out

    @property
    def cost(self) -> float | None:
        if self.price_in is None or self.price_out is None:
            return None
        return (self.tokens_in * self.price_in + self.tokens_out * self.price_out) / 1e6

    @property
    def failed_share(self) -> float | None:
        """The share of calls that failed (``None`` before any call)."""
        return self.errors / self.calls if self.calls else None

    def failures_text(self) -> str:
        """The failures by reason, most frequent first: ``"timeout 3, rate_limit 1"``."""
        ranked = sorted(self.failures.items(), key=lambda kv: (-kv[1], kv[0]))
        return ", ".join(f"{kind} {count}" for kind, count in ranked)

    def exceeded(self) -> str | None:
        if self.max_tokens is not None and self.tokens >= self.max_tokens:
            return "max_llm_tokens"
        cost = self.cost
        if self.max_cost is not None and cost is not None and cost >= self.max_cost:
            return "max_cost"
        return None

    def summary(self) -> dict[str, Any]:
        lat = np.array(self.latencies) if self.latencies else np.array([math.nan])
        return {
            "llm_calls": self.calls,
            "llm_errors": self.errors,
            "llm_failures": dict(sorted(self.failures.items())),
            "llm_failed_share": self.failed_share,
            "llm_truncated": self.truncated,
            "llm_tokens_in": self.tokens_in,
            "llm_tokens_out": self.tokens_out,
            "llm_latency_p50_s": float(np.nanpercentile(lat, 50)) if self.latencies else None,
            "llm_latency_p95_s": float(np.nanpercentile(lat, 95)) if self.latencies else None,
            "llm_validity": self.valid / self.parsed if self.parsed else None,
            "llm_novelty": self.new / self.valid if self.valid else None,
            "llm_children_asked": self.asked,
            "llm_children_new": self.new,
            "llm_cost_usd": self.cost,
        }
