"""From ``--llm SPEC`` to a backend: the one place where backend specs are understood."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from llmga.backends._base import Backend, BackendError
from llmga.backends.replay import ReplayBackend

if TYPE_CHECKING:
    from llmga.config import Config

__all__ = ["SPEC_FORMS", "is_embedded", "make_backend", "read_replies"]

SPEC_FORMS = "none, embedded, lm:DIR, openai:MODEL, hf:MODEL_OR_DIR, vllm:MODEL, replay:FILE"


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


def is_embedded(spec: str) -> bool:
    """Whether ``--llm`` names the embedded chemical LM (``embedded`` or ``lm:DIR``)."""
    return spec == "embedded" or spec.startswith("lm:")


def make_backend(config: Config) -> Backend | None:
    """The backend ``config.llm`` names (``None`` for ``none``), checked before any oracle call.

    The request timeout, retries and reasoning options of ``config`` go to the backends that use them.
    """
    spec = config.llm.strip()
    if spec in ("", "none") or is_embedded(spec):
        return None  # the embedded model is not a text backend: its operators run it directly
    kind, sep, target = spec.partition(":")
    if not sep or not target:
        raise BackendError(f"--llm {spec!r} is not understood; use one of: {SPEC_FORMS}")
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
            base_url=config.base_url,
            api_key_env=config.api_key_env,
            concurrency=config.llm_concurrency,
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
            device=config.device,
            chat=config.prompt_style == "chat",
            reasoning_tokens=config.reasoning_tokens,
        )
    if kind == "vllm":
        from llmga.backends.vllm import VLLMBackend

        return VLLMBackend(target, chat=config.prompt_style == "chat", reasoning_tokens=config.reasoning_tokens)
    raise BackendError(f"--llm {spec!r}: unknown backend {kind!r}; use one of: {SPEC_FORMS}")
