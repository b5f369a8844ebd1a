"""A backend wrapper that records every completion and can answer from an earlier record (resumed runs)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

from llmga.backends._base import Backend, Completion, GenerationParams, Prompt, strip_thinking
from llmga.errors import ResumeError
from llmga.prompting import MAX_REPLY_CHARS

__all__ = ["RecordedBackend", "stored_completion"]

_FIELDS = frozenset(f.name for f in dataclasses.fields(Completion))


def stored_completion(completion: Completion, max_chars: int = MAX_REPLY_CHARS) -> dict[str, Any]:
    """``completion`` as the record keeps it: a text longer than ``max_chars`` is kept as the parser reads it.

    That is its answer (reasoning-model thinking stripped) cut at
    ``max_chars`` — the reply parser never reads further, so the stored text
    parses to the same children — and ``text_chars`` keeps the length of
    every text as the model wrote it. Shorter texts are kept whole.
    """
    saved = dataclasses.asdict(completion)
    if any(len(t) > max_chars for t in completion.texts):
        saved["text_chars"] = list(completion.text_chars) or [len(t) for t in completion.texts]
        saved["texts"] = [strip_thinking(t)[:max_chars] if len(t) > max_chars else t for t in completion.texts]
    return saved


class RecordedBackend(Backend):
    """Wraps ``inner``: each completion goes to ``record([(prompt text, completion dict), ...])``.

    ``replay`` (the pairs an earlier run recorded, in order) answers the
    first prompts without asking ``inner``; a prompt that is not the one
    recorded at its place raises :class:`~llmga.errors.ResumeError`. So a
    resumed run gets the replies its first part got, even from a model that
    does not sample the same twice, and pays for no token twice. Replies are
    recorded as :func:`stored_completion` keeps them (a 10 MB reply takes
    ``max_chars`` characters of the store, not 10 MB).
    """

    def __init__(
        self,
        inner: Backend,
        record: Callable[[list[tuple[str, dict[str, Any]]]], None],
        replay: Sequence[tuple[str, dict[str, Any]]] = (),
        *,
        max_chars: int = MAX_REPLY_CHARS,
    ) -> None:
        self.inner = inner
        self.name = inner.name
        self.model = inner.model
        self._record = record
        self._replay = list(replay)
        self._next = 0
        self.max_chars = max_chars

    def generate(self, prompts: Sequence[Prompt], params: GenerationParams) -> list[Completion]:
        out: list[Completion] = []
        for prompt in prompts:
            if self._next >= len(self._replay):
                break
            text, saved = self._replay[self._next]
            if text != prompt.text():
                raise ResumeError(
                    f"the resumed run left its record at language-model prompt {self._next + 1}: it now asks "
                    f"{prompt.text()[:80]!r}..., the record has {text[:80]!r}... (was llmga, the prompt "
                    "templates or the objective changed since the run started?); the record is unchanged"
                )
            out.append(Completion(**{k: v for k, v in saved.items() if k in _FIELDS}))
            self._next += 1
        rest = list(prompts[len(out) :])
        if rest:
            fresh = self.inner.generate(rest, params)
            self._record(
                [(p.text(), stored_completion(c, self.max_chars)) for p, c in zip(rest, fresh, strict=True)]
            )
            self._next += len(rest)
            out.extend(fresh)
        return out

    def preflight(self, params: GenerationParams) -> None:
        self.inner.preflight(params)  # never recorded: it is not one of the run's prompts

    def close(self) -> None:
        self.inner.close()

    def card(self) -> dict[str, str]:
        return self.inner.card()
