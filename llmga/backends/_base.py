"""The language-model boundary: a backend turns a batch of prompts into a batch of texts."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field

from llmga.errors import LLMGAError

__all__ = [
    "DEFAULT_REASONING_TOKENS",
    "ERROR_KINDS",
    "TRANSIENT_KINDS",
    "Backend",
    "BackendError",
    "Completion",
    "GenerationParams",
    "Message",
    "Prompt",
    "looks_like_reasoning_model",
    "reasoning_budget",
    "rejects_system_role",
    "strip_thinking",
]

DEFAULT_REASONING_TOKENS = 4096  # room for a reasoning model's hidden thinking, on top of --max-new-tokens

# Why a completion failed (``Completion.error_kind``). Deterministic kinds can never succeed when asked again;
# transient ones may (the backend has retried them already).
ERROR_KINDS = {
    "rate_limit": "the server's rate limit (HTTP 429) outlasted the retries",
    "server_error": "server errors (HTTP 5xx) outlasted the retries",
    "timeout": "the request timed out (--llm-timeout) on every retry",
    "connection": "the connection failed on every retry",
    "deadline": "the generation's LLM deadline (--llm-deadline) passed before the reply came",
    "bad_request": "the server rejected this request (HTTP 4xx)",
    "context_length": "the prompt does not fit the model's context",
    "bad_reply": "the server's reply was not a completion",
    "length": "the reply was cut by the token limit before any answer",
    "empty": "the server returned no choices",
    "error": "another error",
}
TRANSIENT_KINDS = frozenset({"rate_limit", "server_error", "timeout", "connection", "deadline"})

_THINK_BLOCK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_THINK_CLOSE = re.compile(r"</think>", re.IGNORECASE)
_THINK_OPEN = re.compile(r"<think>", re.IGNORECASE)
_SYSTEM_REJECTED = re.compile(
    r"system[ _-]?(role|message|prompt)?s?\b.{0,40}\b(not|un)[ -]?(supported|allowed|permitted)"
    r"|roles must alternate"
    r"|(not|un)[ -]?supported.{0,20}\bsystem\b",
    re.IGNORECASE | re.DOTALL,
)
_REASONING_NAME = re.compile(r"^(o[1-9](-|$)|gpt-5)|gpt-oss|deepseek-r1|reasoner|qwq|thinking", re.IGNORECASE)


def strip_thinking(text: str) -> str:
    """``text`` without a reasoning model's ``<think>…</think>`` sections.

    Also drops what comes before a lone ``</think>`` (templates that open the
    thinking in the prompt) and everything from an unclosed ``<think>`` on
    (a reply cut by the token limit while the model was still thinking).
    Idempotent: the result holds no ``<think>`` tag.
    """
    if "think>" not in text.lower():
        return text
    text = _THINK_BLOCK.sub("", text)
    closes = list(_THINK_CLOSE.finditer(text))
    if closes:
        text = text[closes[-1].end() :]
    opened = _THINK_OPEN.search(text)
    if opened:
        text = text[: opened.start()]
    return text.strip()


def rejects_system_role(message: str) -> bool:
    """Whether an error message says the chat template does not take a system message (Gemma, older Mistral)."""
    return bool(_SYSTEM_REJECTED.search(message))


def looks_like_reasoning_model(model: str) -> bool:
    """Whether a model name is of a reasoning family (o1/o3/o4, gpt-5, gpt-oss, DeepSeek-R1, QwQ, ``*thinking*``)."""
    return bool(_REASONING_NAME.search(model.strip().rsplit("/", 1)[-1]))


def reasoning_budget(model: str, reasoning_tokens: int | None) -> int:
    """Tokens added to ``max_new_tokens`` for hidden thinking: ``reasoning_tokens`` when given (at least 0),
    else :data:`DEFAULT_REASONING_TOKENS` for a model of a reasoning family and 0 for any other."""
    if reasoning_tokens is not None:
        return max(0, reasoning_tokens)
    return DEFAULT_REASONING_TOKENS if looks_like_reasoning_model(model) else 0


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

    def folded(self) -> Prompt:
        """The prompt with its system text folded into the first user turn, for templates without a system role.

        Its :meth:`text` is unchanged when the system message comes first.
        """
        system = [m.content for m in self.messages if m.role == "system"]
        if not system:
            return self
        rest = [m for m in self.messages if m.role != "system"]
        head = "\n\n".join(system)
        for i, message in enumerate(rest):
            if message.role == "user":
                rest[i] = Message("user", f"{head}\n\n{message.content}")
                break
        else:
            rest.insert(0, Message("user", head))
        return Prompt(tuple(rest))


@dataclass(frozen=True)
class GenerationParams:
    """Sampling settings for one batch: ``n`` completions per prompt.

    ``deadline`` is a :func:`time.monotonic` instant: a prompt not answered
    by then comes back with ``error_kind`` ``"deadline"`` (no request is sent
    after it, and one in flight is cut at it).
    """

    n: int = 1
    temperature: float = 1.0
    top_p: float = 1.0
    max_new_tokens: int = 256
    seed: int | None = None
    deadline: float | None = None


@dataclass
class Completion:
    """What one prompt produced: up to ``n`` texts, token counts and latency.

    ``error`` says why there are fewer texts than asked (a timeout, a
    rate limit that outlasted the retries, ...) and ``error_kind`` names the
    reason (a key of :data:`ERROR_KINDS`); the caller falls back.
    ``finish_reasons`` has one entry per text (``stop``, or ``length`` for a
    reply cut by the token limit); ``sent_at`` is the :func:`time.time` at
    which the request was sent (``None`` if it never was); ``text_chars`` the
    length of each text as the model wrote it, when the texts are stored
    shortened (empty otherwise).
    """

    texts: list[str] = field(default_factory=list)
    tokens_in: int = 0
    tokens_out: int = 0
    latency_s: float = 0.0
    error: str | None = None
    error_kind: str | None = None
    finish_reasons: list[str] = field(default_factory=list)
    sent_at: float | None = None
    text_chars: list[int] = field(default_factory=list)

    def fail(self, kind: str, message: str) -> None:
        """Mark this completion failed for ``kind`` (a key of :data:`ERROR_KINDS`)."""
        self.error_kind = kind
        self.error = message


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

    def preflight(self, params: GenerationParams) -> None:  # noqa: B027 - optional hook
        """Check, before any oracle call, that the run's requests can succeed at all.

        A backend behind a server sends one tiny completion with the run's
        ``params`` (``max_new_tokens`` kept small) through its usual request
        path and raises :class:`BackendError` with the server's message and
        the fix when the error can never go away (a rejected parameter,
        key or model); it only warns about transient errors. The preflight
        answer is never part of the run (it is not recorded and consumes no
        canned reply). In-process backends have nothing to check.
        """

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections, GPU memory or worker threads."""

    def card(self) -> dict[str, str]:
        """What to record about this backend in a run folder (never secrets)."""
        return {"backend": self.name, "model": self.model}
