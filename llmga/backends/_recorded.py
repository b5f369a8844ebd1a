"""A backend wrapper that records every completion and can answer from an earlier record (resumed runs)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

from llmga.backends._base import Backend, Completion, GenerationParams, Prompt
from llmga.errors import ResumeError

__all__ = ["RecordedBackend"]


class RecordedBackend(Backend):
    """Wraps ``inner``: each completion goes to ``record([(prompt text, completion dict), ...])``.

    ``replay`` (the pairs an earlier run recorded, in order) answers the
    first prompts without asking ``inner``; a prompt that is not the one
    recorded at its place raises :class:`~llmga.errors.ResumeError`. So a
    resumed run gets the replies its first part got, even from a model that
    does not sample the same twice, and pays for no token twice.
    """

    def __init__(
        self,
        inner: Backend,
        record: Callable[[list[tuple[str, dict[str, Any]]]], None],
        replay: Sequence[tuple[str, dict[str, Any]]] = (),
    ) -> None:
        self.inner = inner
        self.name = inner.name
        self.model = inner.model
        self._record = record
        self._replay = list(replay)
        self._next = 0

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
            out.append(Completion(**saved))
            self._next += 1
        rest = list(prompts[len(out) :])
        if rest:
            fresh = self.inner.generate(rest, params)
            self._record([(p.text(), dataclasses.asdict(c)) for p, c in zip(rest, fresh, strict=True)])
            self._next += len(rest)
            out.extend(fresh)
        return out

    def close(self) -> None:
        self.inner.close()

    def card(self) -> dict[str, str]:
        return self.inner.card()
