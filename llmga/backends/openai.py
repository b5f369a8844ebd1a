"""Any OpenAI-compatible HTTP server: OpenAI, vLLM serve, ``transformers serve``, llama.cpp, Ollama.

Requests for one batch go out concurrently (``concurrency`` at a time). Each
asks for ``n`` completions; a server that ignores ``n`` (``transformers
serve`` does) or refuses ``n > 1`` (llama.cpp's server) is detected from its
reply and then asked one completion at a time. Servers differ in what they
take, and the backend adapts once and remembers: the token limit goes out as
``max_completion_tokens`` to OpenAI's own API and as ``max_tokens``
elsewhere (a 400 naming the parameter switches it); a chat template that
rejects the system role gets the system text folded into the user turn.

Only transient errors are retried: rate limits (429), server errors (5xx),
timeouts and broken connections, ``max_retries`` times with exponential
backoff (or the server's ``Retry-After``), each request waiting at most
``timeout`` seconds, and nothing past the batch's ``deadline``. A prompt
that still fails comes back as a completion with ``error`` and
``error_kind`` set, so the operator falls back to graph GA. Errors that can
never succeed raise :class:`BackendError` with the server's message and the
fix: a rejected key (401), a model the key may not use (403), an unknown
model (404) — and, in :meth:`OpenAIBackend.preflight` (one tiny completion
before any oracle call), any other rejected request (400, 422, a context
overflow). The key is read from the environment and never stored.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import threading
import time
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from llmga.backends._base import (
    DEFAULT_REASONING_TOKENS,
    TRANSIENT_KINDS,
    Backend,
    BackendError,
    Completion,
    GenerationParams,
    Prompt,
    reasoning_budget,
    rejects_system_role,
)

__all__ = ["PREFLIGHT_TOKENS", "OpenAIBackend"]

_INSTALL_HINT = "the openai backend needs the openai package: pip install 'llmga[openai]' (or pip install openai)"
PREFLIGHT_TOKENS = 8  # the preflight completion's token limit
_PREFLIGHT_SYSTEM = "You are a chemist. Answer in one word."
_PREFLIGHT_USER = "llmga preflight check: reply with the word ok."
_MAX_BACKOFF_S = 8.0
_MAX_RETRY_AFTER_S = 60.0
_TOKEN_PARAMS = ("max_tokens", "max_completion_tokens")
_REJECTED_WORDS = re.compile(
    r"unsupported|unrecogni[sz]ed|unknown|not supported|not permitted|not allowed|extra|instead"
)
_N_REFUSED = re.compile(
    r"only one completion choice|\bn\s*(>|must be|should be|can only be)\s*1|'n' (is )?not supported"
    r"|multiple (choices|completions) (are )?not supported",
    re.IGNORECASE,
)
_CONTEXT = re.compile(
    r"context[ _](length|window)|maximum context|too many tokens|prompt is too long|exceeds? the (model'?s )?"
    r"(maximum|max|context)",
    re.IGNORECASE,
)


def _import_openai() -> Any:
    try:
        import openai
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise BackendError(_INSTALL_HINT) from exc
    return openai


class _DeadlinePassed(Exception):
    """The batch's deadline came before this prompt was answered; ``last`` is the error seen before, if any."""

    def __init__(self, last: str | None = None) -> None:
        super().__init__(last)
        self.last = last


@dataclasses.dataclass
class _Reply:
    texts: list[str]
    finish: list[str]
    tokens_in: int
    tokens_out: int
    reasoning: int
    asked: int


def _server_message(exc: Any) -> str:
    """What the server said, from an openai status error: its JSON ``message`` (or FastAPI ``detail``)."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str) and inner["message"]:
            return str(inner["message"])
        if isinstance(inner, str) and inner:
            return inner
        if "detail" in body:
            detail = body["detail"]
            return detail if isinstance(detail, str) else json.dumps(detail)
    if isinstance(body, str) and body.strip():
        return body.strip()
    return str(getattr(exc, "message", "") or exc)


def _status_kind(status: int, message: str, code: str | None) -> str:
    """The ``error_kind`` of an HTTP error status."""
    if status == 429:
        return "rate_limit"
    if status == 408:
        return "timeout"
    if status == 409 or status >= 500:
        return "server_error"
    if code == "context_length_exceeded" or _CONTEXT.search(message):
        return "context_length"
    return "bad_request"


def _names_parameter(message: str, name: str) -> bool:
    """Whether a 400's message says that parameter ``name`` is not taken."""
    return bool(re.search(rf"\b{name}\b", message)) and bool(_REJECTED_WORDS.search(message.lower()))


class OpenAIBackend(Backend):
    """Chat (or plain text) completions from an OpenAI-compatible endpoint.

    ``timeout`` bounds each HTTP request (seconds), ``max_retries`` the
    retries of a transient error (the delay doubles from ``retry_delay``).
    ``reasoning_effort`` is sent when given. ``reasoning_tokens`` are added
    to each request's token limit for a reasoning model's hidden thinking:
    by default :data:`~llmga.backends._base.DEFAULT_REASONING_TOKENS` for a
    model of a reasoning family (o1/o3/o4, gpt-5, ...) or once the server
    reports reasoning tokens, else 0.
    """

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
        reasoning_effort: str | None = None,
        reasoning_tokens: int | None = None,
        retry_delay: float = 0.5,
    ) -> None:
        openai = _import_openai()
        self._openai = openai
        self.model = model
        self.base_url = base_url
        self.chat = chat
        self.concurrency = max(1, concurrency)
        self.timeout = float(timeout)
        self.max_retries = max(0, int(max_retries))
        self.retry_delay = max(0.0, float(retry_delay))
        self.reasoning_effort = reasoning_effort or None
        key = os.environ.get(api_key_env)
        if not key:
            if base_url is None:
                raise BackendError(
                    f"no API key: set {api_key_env} (or name another variable with --api-key-env), "
                    "or point --base-url at a local OpenAI-compatible server"
                )
            key = "not-needed"  # local servers accept any key
        # Retries are ours (only transient errors, bounded by the deadline), not the client's.
        self._client = openai.OpenAI(api_key=key, base_url=base_url, timeout=self.timeout, max_retries=0)
        official = base_url is None or "api.openai.com" in base_url
        self.token_param = "max_completion_tokens" if chat and official else "max_tokens"
        self._token_param_switched = False
        self._reasoning_given = reasoning_tokens is not None
        self.reasoning_tokens = reasoning_budget(model, reasoning_tokens)
        self.n_ignored = False  # learned from replies: the server returns one choice whatever n is
        self.n_refused = False  # learned from errors: the server answers n > 1 with an error
        self.fold_system = False  # learned from errors: the model's chat template rejects the system role
        self._lock = threading.Lock()
        if check:
            self.check()

    @property
    def where(self) -> str:
        return self.base_url or "the OpenAI API"

    def check(self) -> None:
        """Reach the server and find the model, or raise :class:`BackendError` naming the fix."""
        where = self.where
        try:
            models = [m.id for m in self._client.with_options(max_retries=self.max_retries).models.list()]
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

    # ------------------------------------------------------------------ one request
    def _request(self, prompt: Prompt, params: GenerationParams, n: int, timeout: float, limit: int) -> _Reply:
        body: dict[str, Any] = {"model": self.model, "n": n, "temperature": params.temperature}
        body[self.token_param if self.chat else "max_tokens"] = limit
        if params.top_p != 1.0:
            body["top_p"] = params.top_p  # 1.0 is every server's default, and reasoning models reject the field
        if params.seed is not None:
            body["seed"] = params.seed
        if self.chat:
            if self.reasoning_effort:
                body["reasoning_effort"] = self.reasoning_effort
            messages = [{"role": m.role, "content": m.content} for m in prompt.messages]
            response = self._client.chat.completions.create(messages=messages, timeout=timeout, **body)
            texts = [c.message.content or "" for c in response.choices]
        else:
            response = self._client.completions.create(prompt=prompt.text(), timeout=timeout, **body)
            texts = [c.text or "" for c in response.choices]
        finish = [str(getattr(c, "finish_reason", "") or "") for c in response.choices]
        usage = getattr(response, "usage", None)
        details = getattr(usage, "completion_tokens_details", None)
        return _Reply(
            texts=texts,
            finish=finish,
            tokens_in=int(getattr(usage, "prompt_tokens", 0) or 0),
            tokens_out=int(getattr(usage, "completion_tokens", 0) or 0),
            reasoning=int(getattr(details, "reasoning_tokens", 0) or 0),
            asked=n,
        )

    def _backoff(self, retries: int, exc: Any) -> float:
        """Seconds to wait before retry ``retries + 1``: the server's Retry-After, else doubling delays."""
        headers = getattr(getattr(exc, "response", None), "headers", None) or {}
        for name, scale in (("retry-after-ms", 1e-3), ("retry-after", 1.0)):
            raw: Any = headers.get(name)
            try:
                value = float(raw) * scale
            except (TypeError, ValueError):
                continue
            if 0 <= value <= _MAX_RETRY_AFTER_S:
                return value
        return float(min(self.retry_delay * 2**retries, _MAX_BACKOFF_S))

    def _adapt(self, exc: Any, message: str, prompt: Prompt, n: int, used: str, tried: set[str]) -> bool:
        """Learn from a rejected request what this server needs; True when the request should be sent again."""
        status = exc.status_code
        if status not in (400, 422, 500):
            return False
        if n > 1 and "n" not in tried and _N_REFUSED.search(message):
            tried.add("n")
            self.n_refused = True
            return True
        if self.chat and "system" not in tried and rejects_system_role(message):
            tried.add("system")
            if any(m.role == "system" for m in prompt.messages):
                self.fold_system = True
                return True
        if self.chat and "token_param" not in tried and _names_parameter(message, used):
            tried.add("token_param")
            with self._lock:
                if self.token_param == used and not self._token_param_switched:
                    self.token_param = _TOKEN_PARAMS[1 - _TOKEN_PARAMS.index(used)]
                    self._token_param_switched = True
                return self.token_param != used
        return False

    def _send(self, prompt: Prompt, params: GenerationParams, n: int, into: Completion, preflight: bool) -> _Reply:
        """One request (its retries and adaptations included); sets ``into.sent_at`` when it first goes out."""
        retries = 0
        tried: set[str] = set()
        last: str | None = None
        while True:
            timeout = self.timeout
            if params.deadline is not None:
                left = params.deadline - time.monotonic()
                if left <= 0:
                    raise _DeadlinePassed(last)
                timeout = min(timeout, left)
            if self.n_refused:
                n = 1
            used = self.token_param
            limit = params.max_new_tokens + (0 if preflight else self.reasoning_tokens)
            if into.sent_at is None:
                into.sent_at = time.time()
            try:
                return self._request(prompt.folded() if self.fold_system else prompt, params, n, timeout, limit)
            except self._openai.APIStatusError as exc:
                message = _server_message(exc)
                if self._adapt(exc, message, prompt, n, used, tried):
                    continue
                kind = _status_kind(exc.status_code, message, getattr(exc, "code", None))
                if kind not in TRANSIENT_KINDS or getattr(exc, "code", None) == "insufficient_quota":
                    raise
                last = f"{type(exc).__name__}: {str(exc)[:300]}"
                if retries >= self.max_retries:
                    raise
                delay = self._backoff(retries, exc)
            except (self._openai.APITimeoutError, self._openai.APIConnectionError) as exc:
                last = f"{type(exc).__name__}: {str(exc)[:300]}"
                if params.deadline is not None and time.monotonic() >= params.deadline:
                    raise _DeadlinePassed(last) from exc
                if retries >= self.max_retries:
                    raise
                delay = self._backoff(retries, exc)
            if params.deadline is not None and time.monotonic() + delay >= params.deadline:
                raise _DeadlinePassed(last)
            time.sleep(delay)
            retries += 1

    def _rejected(self, exc: Any, message: str) -> str:
        """The error text for a request the server will never accept: its message, and the fix."""
        lowered = message.lower()
        if "temperature" in lowered:
            fix = "this model takes only its default temperature: run with --temperature 1"
        elif "reasoning_effort" in lowered:
            fix = "leave out --reasoning-effort (or give a value the model takes)"
        elif _status_kind(exc.status_code, message, getattr(exc, "code", None)) == "context_length":
            fix = (
                "use a model with a longer context (llmga's prompts need a few hundred tokens plus "
                "--max-new-tokens) or lower --max-new-tokens"
            )
        else:
            fix = "check --llm, --base-url and the options the message names"
        return (
            f"{self.where} rejected a request for model {self.model!r} (HTTP {exc.status_code}): {message}; "
            f"{fix}. Nothing was scored."
        )

    def _one(self, prompt: Prompt, params: GenerationParams, *, preflight: bool = False) -> Completion:
        start = time.perf_counter()
        completion = Completion()
        openai = self._openai
        try:
            while len(completion.texts) < params.n:
                want = 1 if self.n_ignored or self.n_refused else params.n - len(completion.texts)
                reply = self._send(prompt, params, want, completion, preflight)
                if reply.asked > 1 and len(reply.texts) < reply.asked:
                    self.n_ignored = True  # ask one at a time from now on
                if not reply.texts:
                    completion.fail("empty", "empty reply (no choices)")
                    break
                completion.texts.extend(reply.texts)
                completion.finish_reasons.extend(reply.finish)
                completion.tokens_in += reply.tokens_in
                completion.tokens_out += reply.tokens_out
                if reply.reasoning > 0 and not self._reasoning_given and self.reasoning_tokens == 0:
                    self.reasoning_tokens = DEFAULT_REASONING_TOKENS  # the server says this model thinks
        except _DeadlinePassed as exc:
            completion.fail(
                "deadline",
                "deadline: the generation's LLM deadline passed before this prompt was answered"
                + (f" (last error: {exc.last})" if exc.last else ""),
            )
        except openai.AuthenticationError as exc:
            raise BackendError(
                f"{self.where} rejected the API key ({exc.status_code}); "
                "set OPENAI_API_KEY or the variable named by --api-key-env"
            ) from exc
        except openai.PermissionDeniedError as exc:
            raise BackendError(
                f"{self.where} refused access to model {self.model!r} (HTTP 403): {_server_message(exc)}; "
                "use a key (or project) that may use this model, or another model"
            ) from exc
        except openai.NotFoundError as exc:
            raise BackendError(
                f"model {self.model!r} not found at {self.where} (HTTP 404): {_server_message(exc)}; check the "
                "name in --llm openai:MODEL and --base-url"
            ) from exc
        except openai.APIStatusError as exc:
            message = _server_message(exc)
            kind = _status_kind(exc.status_code, message, getattr(exc, "code", None))
            if getattr(exc, "code", None) == "insufficient_quota":
                raise BackendError(f"{self.where}: {message}; add credit to the account or use another key") from exc
            if preflight and kind not in TRANSIENT_KINDS:
                raise BackendError(self._rejected(exc, message)) from exc
            completion.fail(kind, f"{type(exc).__name__}: {str(exc)[:300]}")
        except openai.APITimeoutError as exc:
            completion.fail("timeout", f"{type(exc).__name__}: {str(exc)[:300]}")
        except openai.APIConnectionError as exc:
            completion.fail("connection", f"{type(exc).__name__}: {str(exc)[:300]}")
        except (openai.APIError, ValueError, AttributeError, TypeError) as exc:
            # A reply that is not a completion (a proxy's HTML page, say): this prompt fails, the operator falls back.
            completion.fail("bad_reply", f"{type(exc).__name__}: {str(exc)[:300]}")
        completion.texts = completion.texts[: params.n]
        completion.finish_reasons = completion.finish_reasons[: params.n]
        completion.latency_s = time.perf_counter() - start
        return completion

    # ------------------------------------------------------------------ the Backend interface
    def preflight(self, params: GenerationParams) -> None:
        """One tiny completion (``PREFLIGHT_TOKENS`` tokens, the run's other ``params``): raise on errors that
        can never succeed, warn about transient ones. It also teaches the backend what the server needs."""
        prompt = Prompt.chat(_PREFLIGHT_USER, system=_PREFLIGHT_SYSTEM if self.chat else None)
        probe = dataclasses.replace(params, max_new_tokens=PREFLIGHT_TOKENS, deadline=None)
        completion = self._one(prompt, probe, preflight=True)
        if completion.error:
            warnings.warn(
                f"the preflight request to {self.where} (model {self.model!r}) failed: {completion.error}; "
                "this looks transient, so the run starts and graph GA makes the children of LLM calls that fail",
                RuntimeWarning,
                stacklevel=2,
            )

    def generate(self, prompts: Sequence[Prompt], params: GenerationParams) -> list[Completion]:
        if not prompts:
            return []
        with ThreadPoolExecutor(min(self.concurrency, len(prompts))) as pool:
            return list(pool.map(lambda p: self._one(p, params), prompts))

    def close(self) -> None:
        self._client.close()

    def card(self) -> dict[str, str]:
        card = {"backend": self.name, "model": self.model, "base_url": self.base_url or "https://api.openai.com/v1"}
        card |= {"timeout_s": str(self.timeout), "max_retries": str(self.max_retries)}
        if self.reasoning_effort:
            card["reasoning_effort"] = self.reasoning_effort
        return card
