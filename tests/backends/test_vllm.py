from __future__ import annotations

import importlib.util

import pytest

import llmga
from llmga.backends import BackendError, GenerationParams, Prompt

HAS_VLLM = importlib.util.find_spec("vllm") is not None


@pytest.mark.skipif(HAS_VLLM, reason="vLLM is installed here")
def test_missing_vllm_is_a_clear_error_before_any_oracle_call(tmp_path):
    with pytest.raises(BackendError, match=r"needs vLLM on a CUDA GPU: pip install 'llmga\[vllm\]'"):
        llmga.optimize("qed", llm="vllm:Qwen/Qwen2.5-0.5B-Instruct", out=str(tmp_path / "r"))
    assert not (tmp_path / "r").exists()


@pytest.mark.gpu
@pytest.mark.skipif(not HAS_VLLM, reason="needs vLLM and a CUDA GPU")
def test_vllm_generates_a_batch(tmp_path):  # pragma: no cover - runs on GPU machines only
    import torch

    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU")
    from llmga.backends import GenerationParams, Prompt
    from llmga.backends.vllm import VLLMBackend
    from llmga.testing import save_tiny_gpt2

    path = save_tiny_gpt2(tmp_path / "gpt2")
    backend = VLLMBackend(str(path), chat=False, gpu_memory_utilization=0.3)
    out = backend.generate([Prompt.chat("CCO>>")] * 8, GenerationParams(n=4, max_new_tokens=16, seed=0))
    assert len(out) == 8 and all(len(c.texts) == 4 for c in out)


class _Engine:
    """Stands in for vllm.LLM (which needs a CUDA GPU): a chat template without a system role, like Gemma's."""

    def __init__(self):
        self.conversations = []

    def chat(self, conversations, sampling, use_tqdm=False):
        from types import SimpleNamespace

        from jinja2.exceptions import TemplateError

        self.conversations.append(conversations)
        self.sampling = sampling
        if any(m["role"] == "system" for c in conversations for m in c):
            raise TemplateError("System role not supported")
        out = SimpleNamespace(text="<smiles>CCO</smiles>", token_ids=[1, 2], finish_reason="length")
        return [SimpleNamespace(outputs=[out] * sampling.n, prompt_token_ids=[1, 2, 3]) for _ in conversations]


def test_vllm_folds_the_system_role_once_and_honours_deadline_and_reasoning_budget():
    import time
    from types import SimpleNamespace

    from llmga.backends.vllm import VLLMBackend

    backend = VLLMBackend.__new__(VLLMBackend)  # no GPU here: the engine is the stand-in above
    backend._vllm = SimpleNamespace(SamplingParams=lambda **kw: SimpleNamespace(**kw))
    backend.model, backend.chat, backend.fold_system, backend.reasoning_tokens = "gemma", True, False, 100
    backend.engine = _Engine()
    prompts = [Prompt.chat("make kids", system="You are a chemist."), Prompt.chat("more", system="S")]
    out = backend.generate(prompts, GenerationParams(n=2, max_new_tokens=20))
    assert backend.fold_system and [len(c.texts) for c in out] == [2, 2] and out[0].finish_reasons == ["length"] * 2
    assert backend.engine.conversations[1][0] == [{"role": "user", "content": "You are a chemist.\n\nmake kids"}]
    assert backend.engine.sampling.max_tokens == 20 + 100  # room for the reasoning model's thinking
    backend.generate(prompts[:1], GenerationParams())
    assert len(backend.engine.conversations) == 3  # folded at once: no second refusal
    late = backend.generate(prompts, GenerationParams(deadline=time.monotonic() - 1))
    assert [c.error_kind for c in late] == ["deadline", "deadline"] and len(backend.engine.conversations) == 3
