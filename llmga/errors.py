"""Exceptions raised for bad input. Each message names the bad value and the fix."""

from __future__ import annotations

__all__ = ["ConfigError", "InitPopulationError", "LLMGAError", "ObjectiveError", "OperatorError", "ResumeError"]


class LLMGAError(Exception):
    """Base class of every error llmga raises on purpose (bad input, bad objective output)."""


class ConfigError(LLMGAError, ValueError):
    """A configuration value is out of range or of the wrong kind."""


class ObjectiveError(LLMGAError):
    """An objective could not be found, loaded, or returned unusable scores."""


class InitPopulationError(LLMGAError):
    """The initial-population file is missing, empty, or holds no valid molecule."""


class OperatorError(LLMGAError):
    """An operator broke its contract (wrong number of groups or children)."""


class ResumeError(LLMGAError):
    """A resumed run did not retrace its record (llmga, a model or an input changed since it started)."""
