"""Language-model backends: one tiny boundary (prompts in, texts out) and its implementations."""

from __future__ import annotations

from llmga.backends._base import Backend, BackendError, Completion, GenerationParams, Message, Prompt
from llmga.backends._spec import SPEC_FORMS, is_embedded, make_backend, read_replies
from llmga.backends._usage import Usage
from llmga.backends.replay import ReplayBackend

__all__ = [
    "SPEC_FORMS",
    "Backend",
    "BackendError",
    "Completion",
    "GenerationParams",
    "Message",
    "Prompt",
    "ReplayBackend",
    "Usage",
    "is_embedded",
    "make_backend",
    "read_replies",
]
