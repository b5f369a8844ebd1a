from __future__ import annotations

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

import llmga
from llmga.backends import BackendError, GenerationParams, Prompt
from llmga.backends.hf import HFBackend
from llmga.testing import save_tiny_gpt2, save_tiny_t5


@pytest.fixture(scope="module")
def gpt2_dir(tmp_path_factory):
    return save_tiny_gpt2(tmp_path_factory.mktemp("gpt2"))


@pytest.fixture(scope="module")
def t5_dir(tmp_path_factory):
    return save_tiny_t5(tmp_path_factory.mktemp("t5"))


@pytest.mark.parametrize("which", ["gpt2", "t5"])
def test_batched_generation_returns_n_texts_per_prompt(which, gpt2_dir, t5_dir):
    path = gpt2_dir if which == "gpt2" else t5_dir
    backend = HFBackend(str(path), device="cpu")
    assert backend.seq2seq is (which == "t5") and not backend.chat
    prompts = [Prompt.chat("CCO>>"), Prompt.chat("c1ccccc1CC(=O)O>>")]
    out = backend.generate(prompts, GenerationParams(n=3, max_new_tokens=12, seed=5))
    assert len(out) == 2 and all(len(c.texts) == 3 for c in out)
    assert out[0].tokens_in >= len("CCO>>")
    assert all(0 < c.tokens_out <= 3 * 12 for c in out)
    again = backend.generate(prompts, GenerationParams(n=3, max_new_tokens=12, seed=5))
    assert [c.texts for c in again] == [c.texts for c in out]  # seeded sampling is reproducible


def test_missing_model_directory_is_a_clear_error(tmp_path):
    with pytest.raises(BackendError, match=r"does not exist or holds no config\.json"):
        HFBackend(str(tmp_path / "nope"))


@pytest.mark.parametrize("which", ["gpt2", "t5"])
def test_end_to_end_run_with_a_tiny_local_model(which, gpt2_dir, t5_dir, tmp_path):
    path = gpt2_dir if which == "gpt2" else t5_dir
    result = llmga.optimize(
        "qed",
        budget=160,
        llm=f"hf:{path}",
        prompt_style="plain",
        children_per_call=2,
        max_new_tokens=24,
        out=str(tmp_path / "run"),
        workers=1,
    )
    s = result.summary
    assert s["calls"] == 160 and s["llm_calls"] > 0 and s["llm_tokens_out"] > 0
    assert (tmp_path / "run" / "llm_calls.csv").exists()
    # A random model writes gibberish: its slots are filled by graph-GA fallback children.
    assert any(op.endswith("(fallback)") for op in result.evaluations["operator"])
