"""Language-model backends: one tiny boundary (prompts in, texts out) and its implementations."""

from __future__ import annotations

from llmga.backends._base import (
    ERROR_KINDS,
    TRANSIENT_KINDS,
    Backend,
    BackendError,
    Completion,
    GenerationParams,
    Message,
    Prompt,
    strip_thinking,
)
from llmga.backends._recorded import RecordedBackend
from llmga.backends._spec import SPEC_FORMS, is_embedded, make_backend, read_replies
from llmga.backends._usage import Usage
from llmga.backends.replay import ReplayBackend

__all__ = [
    "ERROR_KINDS",
    "SPEC_FORMS",
    "TRANSIENT_KINDS",
    "Backend",
    "BackendError",
    "Completion",
    "GenerationParams",
    "Message",
    "Prompt",
    "RecordedBackend",
    "ReplayBackend",
    "Usage",
    "is_embedded",
    "make_backend",
    "read_replies",
    "strip_thinking",
]
