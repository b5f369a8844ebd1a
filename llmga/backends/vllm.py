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

from llmga.backends._base import Backend, BackendError, Completion, GenerationParams, Prompt

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
    """A vLLM engine in this process."""

    name = "vllm"

    def __init__(self, model: str, *, chat: bool = True, gpu_memory_utilization: float = 0.85, **engine: Any) -> None:
        vllm = _import_vllm()
        _require_gpu()
        self._vllm = vllm
        self.model = model
        self.chat = chat
        try:
            self.engine = vllm.LLM(model=model, gpu_memory_utilization=gpu_memory_utilization, **engine)
        except Exception as exc:
            raise BackendError(f"vLLM could not load {model!r}: {type(exc).__name__}: {exc}") from exc

    def generate(self, prompts: Sequence[Prompt], params: GenerationParams) -> list[Completion]:
        sampling = self._vllm.SamplingParams(
            n=params.n,
            temperature=params.temperature,
            top_p=params.top_p,
            max_tokens=params.max_new_tokens,
            seed=params.seed,
        )
        began = time.perf_counter()
        if self.chat:
            conversations = [[{"role": m.role, "content": m.content} for m in p.messages] for p in prompts]
            results = self.engine.chat(conversations, sampling, use_tqdm=False)
        else:
            results = self.engine.generate([p.text() for p in prompts], sampling, use_tqdm=False)
        latency = (time.perf_counter() - began) / max(len(prompts), 1)
        return [
            Completion(
                texts=[o.text for o in r.outputs],
                tokens_in=len(r.prompt_token_ids or []),
                tokens_out=sum(len(o.token_ids) for o in r.outputs),
                latency_s=latency,
            )
            for r in results
        ]

    def card(self) -> dict[str, str]:
        return {"backend": self.name, "model": self.model}
