"""Language-model backends: one tiny boundary (prompts in, texts out) and its implementations."""

from __future__ import annotations

from llmga.backends._base import Backend, BackendError, Completion, GenerationParams, Message, Prompt
from llmga.backends.replay import ReplayBackend

__all__ = ["Backend", "BackendError", "Completion", "GenerationParams", "Message", "Prompt", "ReplayBackend"]
