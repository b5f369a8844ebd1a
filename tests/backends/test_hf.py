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


# --------------------------------------------------------------------------- contexts and chat templates (issue 16)
NO_SYSTEM_TEMPLATE = (
    "{% for m in messages %}{% if m['role'] == 'system' %}{{ raise_exception('System role not supported') }}"
    "{% endif %}<{{ m['role'] }}>{{ m['content'] }}\n{% endfor %}{% if add_generation_prompt %}<assistant>{% endif %}"
)
BOS_TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}<assistant>{% endif %}"
)


def _save_chat_gpt2(path, *, n_positions=1024, template=None, add_bos=False):
    """A tiny random GPT-2 whose character tokenizer has ``template`` as chat template (and adds BOS itself)."""
    import torch
    from tokenizers import processors
    from transformers import GPT2Config, GPT2LMHeadModel

    from llmga.testing import char_tokenizer

    tok = char_tokenizer()
    if add_bos:
        core = tok.backend_tokenizer
        core.post_processor = processors.TemplateProcessing(
            single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", tok.bos_token_id)]
        )
    if template is not None:
        tok.chat_template = template
    torch.manual_seed(0)
    config = GPT2Config(
        vocab_size=len(tok), n_positions=n_positions, n_embd=32, n_layer=2, n_head=2,
        bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
    )  # fmt: skip
    GPT2LMHeadModel(config).save_pretrained(path)
    tok.save_pretrained(path)
    return path


def test_a_prompt_longer_than_the_context_is_a_clear_error_not_a_traceback(tmp_path):
    backend = HFBackend(str(_save_chat_gpt2(tmp_path / "short", n_positions=64)), device="cpu")
    prompts = [Prompt.chat("CCO>>"), Prompt.chat("C" * 60 + ">>"), Prompt.chat("c1ccccc1>>")]
    out = backend.generate(prompts, GenerationParams(n=2, max_new_tokens=12, seed=1))
    assert out[1].texts == [] and out[1].error_kind == "context_length"
    assert "62 tokens" in out[1].error and "context of 64 positions" in out[1].error and "12" in out[1].error
    assert [len(c.texts) for c in (out[0], out[2])] == [2, 2] and out[0].error is None
    assert all(set(c.finish_reasons) <= {"stop", "length"} and len(c.finish_reasons) == 2 for c in (out[0], out[2]))
    assert out[0].sent_at is not None


def test_a_template_without_a_system_role_gets_the_system_text_folded_in(tmp_path):
    backend = HFBackend(str(_save_chat_gpt2(tmp_path / "gemma", template=NO_SYSTEM_TEMPLATE)), device="cpu")
    assert backend.chat
    prompt = Prompt.chat("Propose two children.", system="You are a chemist.")
    (c,) = backend.generate([prompt], GenerationParams(n=1, max_new_tokens=4, seed=0))
    assert c.error is None and len(c.texts) == 1 and backend.fold_system
    rendered = "<user>You are a chemist.\n\nPropose two children.\n<assistant>"
    assert c.tokens_in == len(backend.tokenizer(rendered, add_special_tokens=False)["input_ids"])


def test_a_template_that_writes_bos_does_not_get_a_second_one(tmp_path):
    path = _save_chat_gpt2(tmp_path / "llama", template=BOS_TEMPLATE, add_bos=True)
    backend = HFBackend(str(path), device="cpu")
    assert backend.tokenizer("CC")["input_ids"][0] == backend.tokenizer.bos_token_id  # the tokenizer adds BOS ...
    (c,) = backend.generate([Prompt.chat("CCO", system="S")], GenerationParams(max_new_tokens=4, seed=0))
    rendered = "<system>S\n<user>CCO\n<assistant>"
    assert c.tokens_in == 1 + len(rendered)  # ... and the template wrote one: one BOS, not two
