"""An in-memory backend that answers from canned replies: the test double of the LLM boundary."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from llmga.backends._base import Backend, Completion, GenerationParams, Prompt

__all__ = ["ReplayBackend"]

Reply = str | Exception


class ReplayBackend(Backend):
    """Answers prompts with canned replies, in order, cycling; records every batch it gets.

    ``replies`` is a list (each item a reply text, or an exception whose message
    becomes that completion's ``error``) or a function ``(prompt, i) -> reply``
    where ``i`` counts texts produced so far. Token counts are whitespace word
    counts, so accounting can be tested exactly. A ``TimeoutError`` reply
    fails with ``error_kind`` ``timeout``, any other exception with ``error``.
    """

    name = "replay"

    def __init__(self, replies: Sequence[Reply] | Callable[[Prompt, int], Reply], model: str = "replay") -> None:
        self.replies = replies
        self.model = model
        self.batches: list[list[Prompt]] = []
        self._count = 0

    @property
    def prompts(self) -> list[Prompt]:
        """Every prompt received, in order."""
        return [p for batch in self.batches for p in batch]

    def _next(self, prompt: Prompt) -> Reply:
        i = self._count
        self._count += 1
        if callable(self.replies):
            return self.replies(prompt, i)
        return self.replies[i % len(self.replies)]

    def generate(self, prompts: Sequence[Prompt], params: GenerationParams) -> list[Completion]:
        self.batches.append(list(prompts))
        out = []
        for prompt in prompts:
            start = time.perf_counter()
            completion = Completion(tokens_in=len(prompt.text().split()), sent_at=time.time())
            for _ in range(params.n):
                reply = self._next(prompt)
                if isinstance(reply, Exception):
                    kind = "timeout" if isinstance(reply, TimeoutError) else "error"
                    completion.fail(kind, f"{type(reply).__name__}: {reply}")
                    continue
                completion.texts.append(reply)
                completion.finish_reasons.append("stop")
                completion.tokens_out += len(reply.split())
            completion.latency_s = time.perf_counter() - start
            out.append(completion)
        return out
