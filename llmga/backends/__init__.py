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
from llmga.backends._spec import (
    BACKEND_OPTIONS,
    SPEC_FORMS,
    embedded_spec,
    make_backend,
    parse_spec,
    read_replies,
    spec_kind,
    spec_with,
)
from llmga.backends._usage import Usage
from llmga.backends.replay import ReplayBackend

__all__ = [
    "BACKEND_OPTIONS",
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
    "embedded_spec",
    "make_backend",
    "parse_spec",
    "read_replies",
    "spec_kind",
    "spec_with",
    "strip_thinking",
]
