from __future__ import annotations

import importlib.util

import pytest

import llmga
from llmga.backends import BackendError

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
