"""From ``--llm SPEC`` to a backend: the one place where backend specs are understood."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from llmga.backends._base import Backend, BackendError
from llmga.backends.replay import ReplayBackend

if TYPE_CHECKING:
    from llmga.config import Config

__all__ = [
    "BACKEND_OPTIONS",
    "SPEC_FORMS",
    "embedded_spec",
    "make_backend",
    "parse_spec",
    "read_replies",
    "spec_kind",
    "spec_with",
]

EMBEDDED_DTYPES = ("auto", "float32", "bfloat16")
SPEC_FORMS = "none, embedded, lm:DIR, openai:MODEL, hf:MODEL_OR_DIR, vllm:MODEL, replay:FILE"

# Each backend's own options, written after its spec: ``openai:MODEL?base_url=URL&concurrency=4``,
# ``embedded?device=cuda``. A type, or the tuple of the values allowed.
BACKEND_OPTIONS: dict[str, dict[str, type | tuple[str, ...]]] = {
    # The embedded model (packaged, or lm:DIR): where it samples and learns (cpu, auto, cuda, cuda:N), and
    # its arithmetic (auto: bfloat16 where the device has it natively, else float32).
    "embedded": {"device": str, "dtype": EMBEDDED_DTYPES},
    "lm": {"device": str, "dtype": EMBEDDED_DTYPES},
    "openai": {"base_url": str, "api_key_env": str, "concurrency": int},
    "hf": {"device": ("auto", "cpu", "cuda"), "batch_size": int},
    "vllm": {
        "gpu_memory_utilization": float,
        "tensor_parallel_size": int,
        "max_model_len": int,
        "dtype": str,
        "enforce_eager": bool,
    },
    "replay": {},
}


def _typed(spec: str, kind: str, key: str, text: str) -> Any:
    """An option's text as its type, or a BackendError naming it and what it takes."""
    allowed = BACKEND_OPTIONS[kind].get(key)
    if allowed is None:
        took = ", ".join(BACKEND_OPTIONS[kind]) or "none"
        raise BackendError(f"--llm {spec!r}: {kind} backends take no option {key!r}; their options: {took}")
    if isinstance(allowed, tuple):
        if text not in allowed:
            raise BackendError(f"--llm {spec!r}: {key}={text!r} is not one of {', '.join(allowed)}")
        return text
    if allowed is bool:
        if text.lower() not in ("true", "false", "1", "0"):
            raise BackendError(f"--llm {spec!r}: {key}={text!r}; give true or false")
        return text.lower() in ("true", "1")
    if allowed in (int, float):
        try:
            value = allowed(text)
        except ValueError:
            raise BackendError(f"--llm {spec!r}: {key}={text!r} is not a number; e.g. {key}=4") from None
        if not value > 0:
            raise BackendError(f"--llm {spec!r}: {key}={text!r}; give a positive number")
        return value
    if not text:
        raise BackendError(f"--llm {spec!r}: {key} is empty; give a value or leave it out")
    return text


def parse_spec(spec: str) -> tuple[str, str, dict[str, Any]]:
    """A text backend's spec as ``(kind, target, options)``, each option checked against the kind's
    (:data:`BACKEND_OPTIONS`): ``"openai:gpt-4o-mini?concurrency=4"`` -> ``("openai", "gpt-4o-mini",
    {"concurrency": 4})``."""
    spec = spec.strip()
    kind, sep, rest = spec.partition(":")
    if spec == "embedded" or spec.startswith("embedded?"):  # the packaged model: no target
        kind, sep, rest = "embedded", ":", "packaged" + spec[len("embedded") :]
    target, _, query = rest.partition("?")
    if not sep or not target:
        raise BackendError(f"--llm {spec!r} is not understood; use one of: {SPEC_FORMS}")
    if kind not in BACKEND_OPTIONS:
        raise BackendError(f"--llm {spec!r}: unknown backend {kind!r}; use one of: {SPEC_FORMS}")
    options: dict[str, Any] = {}
    for part in query.split("&") if query else []:
        key, eq, text = part.partition("=")
        if not eq:
            head = "embedded" if kind == "embedded" else f"{kind}:{target}"
            raise BackendError(f"--llm {spec!r}: option {part!r} needs a value, as in {head}?{part}=VALUE")
        options[unquote(key)] = _typed(spec, kind, unquote(key), unquote(text))
    return kind, target, options


def spec_with(spec: str, **options: Any) -> str:
    """``spec`` with ``options`` set (added or replaced, checked as :func:`parse_spec` checks them)."""
    kind, target, current = parse_spec(spec)
    merged = current | {k: v for k, v in options.items() if v is not None}
    texts = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in merged.items()}
    query = "&".join(f"{k}={quote(v, safe=':/@.-_~')}" for k, v in texts.items())
    out = ("embedded" if kind == "embedded" else f"{kind}:{target}") + (f"?{query}" if query else "")
    parse_spec(out)
    return out


def read_replies(path: str | Path) -> list[str]:
    """Canned replies from a text file: replies separated by lines holding only ``---``."""
    p = Path(path)
    if not p.is_file():
        raise BackendError(f"replay file {str(path)!r} does not exist; give a text file of replies separated by ---")
    replies: list[str] = []
    current: list[str] = []
    for line in p.read_text().splitlines():
        if line.strip() == "---":
            replies.append("\n".join(current))
            current = []
        else:
            current.append(line)
    replies.append("\n".join(current))
    replies = [r for r in replies if r.strip()]
    if not replies:
        raise BackendError(f"replay file {str(path)!r} holds no reply")
    return replies


def spec_kind(spec: str) -> str:
    """What an ``--llm`` spec names: ``"none"`` (no model), ``"embedded"`` (the embedded chemical LM:
    ``embedded`` or ``lm:DIR``, run by its own operators) or ``"text"`` (a backend that turns prompts
    into texts)."""
    spec = spec.strip()
    if spec in ("", "none"):
        return "none"
    embedded = spec == "embedded" or spec.startswith(("embedded?", "lm:"))
    return "embedded" if embedded else "text"


def embedded_spec(spec: str) -> tuple[str | None, str, str]:
    """The model folder (``None``: the packaged model), device and dtype of an embedded-model spec:
    ``"embedded"`` -> ``(None, "cpu", "auto")``, ``"lm:runs/m?device=cuda"`` -> ``("runs/m", "cuda", "auto")``."""
    kind, target, options = parse_spec(spec)
    if kind not in ("embedded", "lm"):
        raise BackendError(f"--llm {spec!r} is not the embedded model; give embedded or lm:DIR")
    folder = None if kind == "embedded" else target
    return folder, str(options.get("device", "cpu")), str(options.get("dtype", "auto"))


def make_backend(config: Config) -> Backend | None:
    """The backend ``config.llm`` names (``None`` for ``none``), checked before any oracle call.

    The spec's own options (``?key=value&...``, :data:`BACKEND_OPTIONS`) go to its backend; the request
    timeout, retries and reasoning options of ``config`` go to the backends that use them.
    """
    spec = config.llm.strip()
    if spec_kind(spec) != "text":
        return None  # the embedded model is not a text backend: its operators run it directly
    kind, target, options = parse_spec(spec)
    if config.reasoning_effort and kind != "openai":
        raise BackendError(
            f"--reasoning-effort is sent to OpenAI-compatible servers only (--llm openai:MODEL), not to --llm {spec}; "
            "leave it out"
        )
    if kind == "replay":
        return ReplayBackend(read_replies(target), model=Path(target).name)
    if kind == "openai":
        from llmga.backends.openai import OpenAIBackend

        return OpenAIBackend(
            target,
            base_url=options.get("base_url"),
            api_key_env=options.get("api_key_env", "OPENAI_API_KEY"),
            concurrency=options.get("concurrency", 8),
            timeout=config.llm_timeout,
            max_retries=config.llm_retries,
            chat=config.prompt_style == "chat",
            reasoning_effort=config.reasoning_effort,
            reasoning_tokens=config.reasoning_tokens,
        )
    if kind == "hf":
        from llmga.backends.hf import HFBackend

        return HFBackend(
            target,
            **options,
            chat=config.prompt_style == "chat",
            reasoning_tokens=config.reasoning_tokens,
        )
    if kind == "vllm":
        from llmga.backends.vllm import VLLMBackend

        return VLLMBackend(
            target, chat=config.prompt_style == "chat", reasoning_tokens=config.reasoning_tokens, **options
        )
    raise AssertionError(f"backend kind {kind!r} has options but no constructor")
