"""The language-model boundary: a backend turns a batch of prompts into a batch of texts."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field

from llmga.errors import LLMGAError

__all__ = ["Backend", "BackendError", "Completion", "GenerationParams", "Message", "Prompt"]


class BackendError(LLMGAError):
    """A backend cannot work at all (bad model spec, unreachable server, rejected key)."""


@dataclass(frozen=True)
class Message:
    """One chat message: ``role`` is ``system``, ``user`` or ``assistant``."""

    role: str
    content: str


@dataclass(frozen=True)
class Prompt:
    """A prompt as chat messages; plain (non-chat) models see :meth:`text`."""

    messages: tuple[Message, ...]

    @classmethod
    def chat(cls, user: str, system: str | None = None) -> Prompt:
        head = (Message("system", system),) if system else ()
        return cls((*head, Message("user", user)))

    def text(self) -> str:
        """The messages joined as plain text, for models without a chat template."""
        return "\n\n".join(m.content for m in self.messages)


@dataclass(frozen=True)
class GenerationParams:
    """Sampling settings for one batch: ``n`` completions per prompt."""

    n: int = 1
    temperature: float = 1.0
    top_p: float = 1.0
    max_new_tokens: int = 256
    seed: int | None = None


@dataclass
class Completion:
    """What one prompt produced: up to ``n`` texts, token counts and latency.

    ``error`` says why there are fewer texts than asked (a timeout, a
    rate limit that outlasted the retries, ...); the caller falls back.
    """

    texts: list[str] = field(default_factory=list)
    tokens_in: int = 0
    tokens_out: int = 0
    latency_s: float = 0.0
    error: str | None = None


class Backend(ABC):
    """A language model behind one method.

    Contract: :meth:`generate` takes a whole batch of prompts and returns one
    :class:`Completion` per prompt, in order, each with ``params.n`` texts —
    fewer only when that prompt failed, with ``error`` set. A failure of one
    prompt never raises; a backend that cannot work at all (unknown model,
    unreachable server, rejected API key) raises :class:`BackendError` with
    the fix. Backends know nothing of molecules, scores or the engine: text
    in, text out. Batching (one ``vllm.generate``, one padded
    ``transformers.generate``, concurrent HTTP requests) happens inside.
    """

    name: str = "backend"
    model: str = ""

    @abstractmethod
    def generate(self, prompts: Sequence[Prompt], params: GenerationParams) -> list[Completion]:
        """One completion per prompt, in order."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections, GPU memory or worker threads."""

    def card(self) -> dict[str, str]:
        """What to record about this backend in a run folder (never secrets)."""
        return {"backend": self.name, "model": self.model}
