"""Any OpenAI-compatible HTTP server: OpenAI, vLLM serve, ``transformers serve``, llama.cpp, Ollama.

Requests for one batch go out concurrently (``concurrency`` at a time). Each
asks for ``n`` completions; a server that ignores ``n`` (``transformers
serve`` does) is detected from its reply and topped up with repeated
requests. Rate limits, server errors and timeouts are retried with backoff
by the openai client (``max_retries``); a prompt that still fails comes back
as a completion with ``error`` set, so the operator falls back to graph GA.
A rejected API key or an unreachable server raises :class:`BackendError`
before any oracle call is spent. The key is read from the environment and
never stored.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from llmga.backends._base import Backend, BackendError, Completion, GenerationParams, Prompt

__all__ = ["OpenAIBackend"]

_INSTALL_HINT = "the openai backend needs the openai package: pip install 'llmga[openai]' (or pip install openai)"


def _import_openai() -> Any:
    try:
        import openai
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise BackendError(_INSTALL_HINT) from exc
    return openai


class OpenAIBackend(Backend):
    """Chat (or plain text) completions from an OpenAI-compatible endpoint."""

    name = "openai"

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        concurrency: int = 8,
        timeout: float = 120.0,
        max_retries: int = 3,
        chat: bool = True,
        check: bool = True,
    ) -> None:
        openai = _import_openai()
        self._openai = openai
        self.model = model
        self.base_url = base_url
        self.chat = chat
        self.concurrency = max(1, concurrency)
        key = os.environ.get(api_key_env)
        if not key:
            if base_url is None:
                raise BackendError(
                    f"no API key: set {api_key_env} (or name another variable with --api-key-env), "
                    "or point --base-url at a local OpenAI-compatible server"
                )
            key = "not-needed"  # local servers accept any key
        self._client = openai.OpenAI(api_key=key, base_url=base_url, timeout=timeout, max_retries=max_retries)
        self.n_ignored = False  # learned from replies: the server returns one choice whatever n is
        if check:
            self.check()

    def check(self) -> None:
        """Reach the server and find the model, or raise :class:`BackendError` naming the fix."""
        where = self.base_url or "the OpenAI API"
        try:
            models = [m.id for m in self._client.models.list()]
        except self._openai.AuthenticationError as exc:
            raise BackendError(f"{where} rejected the API key ({exc.status_code}); set a valid key") from exc
        except (self._openai.APIConnectionError, self._openai.APITimeoutError) as exc:
            raise BackendError(
                f"cannot reach {where} ({type(exc).__name__}); is the server running and --base-url right?"
            ) from exc
        except self._openai.APIStatusError:
            return  # some servers do not list models; the first request will tell
        if models and self.model not in models:
            raise BackendError(f"{where} does not serve model {self.model!r}; it serves: {', '.join(models[:20])}")

    def _request(self, prompt: Prompt, params: GenerationParams, n: int) -> tuple[list[str], int, int]:
        common: dict[str, Any] = {
            "model": self.model,
            "n": n,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "max_tokens": params.max_new_tokens,
        }
        if params.seed is not None:
            common["seed"] = params.seed
        if self.chat:
            messages = [{"role": m.role, "content": m.content} for m in prompt.messages]
            response = self._client.chat.completions.create(messages=messages, **common)
            texts = [c.message.content or "" for c in response.choices]
        else:
            response = self._client.completions.create(prompt=prompt.text(), **common)
            texts = [c.text or "" for c in response.choices]
        usage = getattr(response, "usage", None)
        tokens_in = int(getattr(usage, "prompt_tokens", 0) or 0)
        tokens_out = int(getattr(usage, "completion_tokens", 0) or 0)
        return texts, tokens_in, tokens_out

    def _one(self, prompt: Prompt, params: GenerationParams) -> Completion:
        start = time.perf_counter()
        completion = Completion()
        try:
            while len(completion.texts) < params.n:
                want = 1 if self.n_ignored else params.n - len(completion.texts)
                texts, tokens_in, tokens_out = self._request(prompt, params, want)
                if want > 1 and len(texts) < want:
                    self.n_ignored = True  # ask one at a time from now on
                if not texts:
                    completion.error = "empty reply (no choices)"
                    break
                completion.texts.extend(texts)
                completion.tokens_in += tokens_in
                completion.tokens_out += tokens_out
        except self._openai.AuthenticationError as exc:
            raise BackendError(
                f"{self.base_url or 'the OpenAI API'} rejected the API key ({exc.status_code}); "
                "set OPENAI_API_KEY or the variable named by --api-key-env"
            ) from exc
        except self._openai.NotFoundError as exc:
            raise BackendError(f"model {self.model!r} not found at {self.base_url or 'the OpenAI API'}") from exc
        except (self._openai.APIError, ValueError, AttributeError, TypeError) as exc:
            # API errors left after the client's retries, or a reply that is not a completion
            # (a proxy's HTML page, say): this prompt fails, the operator falls back.
            completion.error = f"{type(exc).__name__}: {str(exc)[:300]}"
        completion.texts = completion.texts[: params.n]
        completion.latency_s = time.perf_counter() - start
        return completion

    def generate(self, prompts: Sequence[Prompt], params: GenerationParams) -> list[Completion]:
        if not prompts:
            return []
        with ThreadPoolExecutor(min(self.concurrency, len(prompts))) as pool:
            return list(pool.map(lambda p: self._one(p, params), prompts))

    def close(self) -> None:
        self._client.close()

    def card(self) -> dict[str, str]:
        return {"backend": self.name, "model": self.model, "base_url": self.base_url or "https://api.openai.com/v1"}
