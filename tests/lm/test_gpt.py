from __future__ import annotations

import torch

from llmga.lm import GPT, GPTConfig


def test_our_gpt_and_transformers_gpt2_give_the_same_logits(tiny_lm_dir):
    from transformers import GPT2LMHeadModel

    ours = GPT.load(tiny_lm_dir)
    theirs = GPT2LMHeadModel.from_pretrained(tiny_lm_dir, dtype=torch.float32).eval()
    ids = torch.tensor([[1, 9, 12, 30, 7, 15, 22], [1, 40, 3, 18, 18, 9, 2]])
    with torch.no_grad():
        expected = theirs(ids).logits
        got, _ = ours(ids)
    torch.testing.assert_close(got, expected, atol=1e-4, rtol=1e-4)


def test_cached_steps_equal_one_full_pass():
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=20, n_positions=32, n_embd=16, n_layer=2, n_head=2)).eval()
    ids = torch.randint(0, 20, (3, 9))
    with torch.no_grad():
        full, _ = model(ids)
        logits, cache = model(ids[:, :4], model.new_cache(3, 9), start=0)
        steps = [logits]
        for t in range(4, 9):
            step, cache = model(ids[:, t : t + 1], cache, start=t)
            steps.append(step)
    torch.testing.assert_close(torch.cat(steps, dim=1), full, atol=1e-5, rtol=1e-5)


def test_left_padded_rows_give_the_logits_of_each_row_alone():
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=20, n_positions=32, n_embd=16, n_layer=2, n_head=2)).eval()
    rows = [torch.randint(1, 20, (n,)) for n in (7, 3, 5)]
    pads = torch.tensor([0, 4, 2])
    ids = torch.zeros(3, 7, dtype=torch.long)  # slot 0 pads: any token, never attended to
    for i, r in enumerate(rows):
        ids[i, int(pads[i]) :] = r
    nxt = torch.tensor([[4], [5], [6]])
    with torch.no_grad():
        logits, cache = model(ids, model.new_cache(3, 8), start=0, pads=pads)
        step, _ = model(nxt, cache, start=7, pads=pads)
        for i, r in enumerate(rows):
            alone, _ = model(torch.cat([r, nxt[i]])[None])
            torch.testing.assert_close(logits[i, int(pads[i]) :], alone[0, :-1], atol=1e-5, rtol=1e-5)
            torch.testing.assert_close(step[i, 0], alone[0, -1], atol=1e-5, rtol=1e-5)
    assert torch.isfinite(logits).all()


def test_the_hf_backend_loads_a_trained_model_folder_and_writes_selfies(tiny_lm_dir):
    import selfies as sf

    from llmga.backends import GenerationParams, Prompt
    from llmga.backends.hf import HFBackend
    from llmga.chem import canonical

    backend = HFBackend(str(tiny_lm_dir), device="cpu", chat=False)
    (completion,) = backend.generate(
        [Prompt.chat("<bos>[C][C][O]")], GenerationParams(n=2, temperature=1.0, max_new_tokens=20, seed=0)
    )
    assert len(completion.texts) == 2 and completion.tokens_out > 0
    for text in completion.texts:
        assert text == "" or text.startswith("[")  # SELFIES tokens, no special tokens
        assert canonical(sf.decoder("[C][C][O]" + text)) is not None


def test_a_new_adapter_changes_nothing_until_trained_and_then_conditions_each_row():
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=20, n_positions=32, n_embd=16, n_layer=2, n_head=2)).eval()
    ids = torch.randint(1, 20, (2, 6))
    bits = torch.zeros(2, 64)
    bits[0, [3, 9, 40]] = 1.0
    with torch.no_grad():
        plain, _ = model(ids)
        model.add_adapter(64)
        assert model.cfg.n_cond == 64
        fresh, _ = model(ids, cond=model.condition(bits))
        torch.testing.assert_close(fresh, plain)  # the output layer starts at zero
        torch.nn.init.normal_(model.adapter.proj.weight, std=0.5)
        given, _ = model(ids, cond=model.condition(bits))
    assert not torch.allclose(given[0], plain[0])  # row 0 has a condition
    torch.testing.assert_close(given[1], plain[1])  # row 1's all-zero fingerprint is no condition


def test_the_adapter_is_saved_beside_the_gpt2_weights_and_loaded_back(tmp_path):
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=20, n_positions=32, n_embd=16, n_layer=1, n_head=2, n_cond=64)).eval()
    torch.nn.init.normal_(model.adapter.proj.weight, std=0.5)
    model.save(tmp_path, bos=1, eos=2, pad=0)
    from safetensors.torch import load_file

    assert not any(k.startswith("adapter") for k in load_file(str(tmp_path / "model.safetensors")))
    back = GPT.load(tmp_path)
    bits = torch.zeros(1, 64)
    bits[0, 5] = 1.0
    ids = torch.tensor([[1, 4, 7]])
    rounded = model.half().float()  # the file holds float16 weights
    with torch.no_grad():
        got, _ = back(ids, cond=back.condition(bits))
        expected, _ = rounded(ids, cond=rounded.condition(bits))
    torch.testing.assert_close(got, expected)
    (tmp_path / "fingerprint_adapter.safetensors").unlink()
    import pytest

    with pytest.raises(ValueError, match=r"fingerprint_adapter\.safetensors is missing"):
        GPT.load(tmp_path)
