"""vLLM in-process on a GPU: the whole batch of prompts in one ``LLM.generate`` call with ``n`` samples each.

Install with ``pip install 'llmga[vllm]'`` on a machine with a CUDA GPU (vLLM's
PyPI wheels are CUDA builds). vLLM is imported only when this backend is
chosen. Encoder-decoder models (T5-family, BioT5, MolT5) are not supported by
vLLM: run them with the ``hf:`` backend.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from llmga.backends._base import (
    Backend,
    BackendError,
    Completion,
    GenerationParams,
    Prompt,
    reasoning_budget,
    rejects_system_role,
)

__all__ = ["VLLMBackend"]


def _import_vllm() -> Any:
    try:
        import vllm
    except ImportError as exc:
        raise BackendError(
            "the vllm backend needs vLLM on a CUDA GPU: pip install 'llmga[vllm]'. Without a GPU, use "
            "hf:MODEL (transformers on the CPU) or openai:MODEL with --base-url of a vLLM server elsewhere"
        ) from exc
    return vllm


def _require_gpu() -> None:
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - vLLM depends on torch
        raise BackendError("the vllm backend needs PyTorch with CUDA") from exc
    if not torch.cuda.is_available():
        raise BackendError("the vllm backend needs a CUDA GPU and PyTorch sees none; use hf:MODEL on the CPU")


class VLLMBackend(Backend):
    """A vLLM engine in this process.

    A chat template that rejects the system role (Gemma, older Mistral) gets
    the system text folded into the first user turn, learned once.
    """

    name = "vllm"

    def __init__(
        self,
        model: str,
        *,
        chat: bool = True,
        gpu_memory_utilization: float = 0.85,
        reasoning_tokens: int | None = None,
        **engine: Any,
    ) -> None:
        vllm = _import_vllm()
        _require_gpu()
        self._vllm = vllm
        self.model = model
        self.chat = chat
        self.fold_system = False
        self.reasoning_tokens = reasoning_budget(model, reasoning_tokens)
        try:
            self.engine = vllm.LLM(model=model, gpu_memory_utilization=gpu_memory_utilization, **engine)
        except Exception as exc:
            raise BackendError(f"vLLM could not load {model!r}: {type(exc).__name__}: {exc}") from exc

    def _chat(self, prompts: Sequence[Prompt], sampling: Any) -> Any:
        def conversations(fold: bool) -> list[list[dict[str, str]]]:
            shown = [p.folded() if fold else p for p in prompts]
            return [[{"role": m.role, "content": m.content} for m in p.messages] for p in shown]

        try:
            return self.engine.chat(conversations(self.fold_system), sampling, use_tqdm=False)
        except Exception as exc:  # jinja2's TemplateError, raised by the model's chat template
            has_system = any(m.role == "system" for p in prompts for m in p.messages)
            if self.fold_system or not has_system or not rejects_system_role(str(exc)):
                raise
            self.fold_system = True
            return self.engine.chat(conversations(True), sampling, use_tqdm=False)

    def generate(self, prompts: Sequence[Prompt], params: GenerationParams) -> list[Completion]:
        if params.deadline is not None and time.monotonic() >= params.deadline:
            late = "deadline: the generation's LLM deadline passed before this batch ran"
            return [Completion(error=late, error_kind="deadline") for _ in prompts]
        sampling = self._vllm.SamplingParams(
            n=params.n,
            temperature=params.temperature,
            top_p=params.top_p,
            max_tokens=params.max_new_tokens + self.reasoning_tokens,
            seed=params.seed,
        )
        sent = time.time()
        began = time.perf_counter()
        if self.chat:
            results = self._chat(prompts, sampling)
        else:
            results = self.engine.generate([p.text() for p in prompts], sampling, use_tqdm=False)
        latency = (time.perf_counter() - began) / max(len(prompts), 1)
        return [
            Completion(
                texts=[o.text for o in r.outputs],
                tokens_in=len(r.prompt_token_ids or []),
                tokens_out=sum(len(o.token_ids) for o in r.outputs),
                latency_s=latency,
                finish_reasons=[str(getattr(o, "finish_reason", "") or "") for o in r.outputs],
                sent_at=sent,
            )
            for r in results
        ]

    def card(self) -> dict[str, str]:
        return {"backend": self.name, "model": self.model}
