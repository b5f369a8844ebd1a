from __future__ import annotations

import shutil

import numpy as np
import pytest

from llmga.chem import canonical
from llmga.errors import LLMGAError
from llmga.lm import EmbeddedLM
from tests.conftest import ASPIRIN, CAFFEINE, IBUPROFEN, PARACETAMOL

PARENTS = [ASPIRIN, CAFFEINE, IBUPROFEN, PARACETAMOL]


def test_edits_are_valid_molecules_that_keep_part_of_their_parent(tiny_lm_dir):
    lm = EmbeddedLM.load(tiny_lm_dir)
    edits = lm.edit(PARENTS * 5, np.random.default_rng(0), keep=(0.5, 0.9))
    assert len(edits) == 20
    made = [e for e in edits if e.smiles]
    assert len(made) >= 18
    for e in made:
        assert canonical(e.smiles) == e.smiles
        assert 1 <= e.kept < e.length
        assert 0.45 <= e.kept / e.length <= 0.95
    assert lm.calls == 1  # one batched model call for the whole generation


def test_same_seed_same_children_and_other_seed_other_children(tiny_lm_dir):
    lm = EmbeddedLM.load(tiny_lm_dir)
    first = [e.smiles for e in lm.edit(PARENTS, np.random.default_rng(7))]
    again = [e.smiles for e in lm.edit(PARENTS, np.random.default_rng(7))]
    other = [e.smiles for e in lm.edit(PARENTS, np.random.default_rng(8))]
    assert first == again
    assert first != other


def test_keep_sets_locality(tiny_lm_dir):
    lm = EmbeddedLM.load(tiny_lm_dir)
    close = lm.edit(PARENTS * 10, np.random.default_rng(0), keep=(0.85, 0.95))
    far = lm.edit(PARENTS * 10, np.random.default_rng(0), keep=(0.05, 0.15))
    assert np.mean([e.kept / e.length for e in close]) > 0.8
    assert np.mean([e.kept / e.length for e in far]) < 0.2
    assert np.mean([e.written for e in far]) > np.mean([e.written for e in close])


def test_an_altered_or_missing_model_is_refused(tmp_path, tiny_lm_dir):
    copy = tmp_path / "copy"
    shutil.copytree(tiny_lm_dir, copy)
    weights = copy / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(LLMGAError, match="does not match its model card"):
        EmbeddedLM.load(copy)
    with pytest.raises(LLMGAError, match="no language model in"):
        EmbeddedLM.load(tmp_path / "empty")


def test_a_prompt_completed_in_a_batch_of_other_lengths_equals_it_completed_alone(tiny_lm_dir):
    lm = EmbeddedLM.load(tiny_lm_dir)
    bos = lm.vocab.bos
    prompts = [[bos, 10, 11, 12, 13, 14, 15], [bos], [bos, 20, 21, 22]]
    greedy = 1e-6  # sampling at this temperature is arg-max
    together = lm.complete(prompts, seed=0, temperature=greedy, max_new_tokens=30)
    for prompt, tail in zip(prompts, together, strict=True):
        assert lm.complete([prompt], seed=1, temperature=greedy, max_new_tokens=30) == [tail]
        assert 0 < len(tail) <= 30 and lm.vocab.eos not in tail


def test_crossover_writes_one_child_per_pair_from_both_parents_bits_in_one_call(tiny_lm_dir):
    lm = EmbeddedLM.load(tiny_lm_dir)
    assert lm.crosses
    pairs = [(a, b) for a in PARENTS for b in PARENTS if a != b]
    edits = lm.cross(pairs, np.random.default_rng(0))
    assert len(edits) == len(pairs) and lm.calls == 1
    made = [e for e in edits if e.smiles]
    assert len(made) >= 10
    for e, (a, _) in zip(edits, pairs, strict=True):
        assert e.parent == a and e.bits > 10  # given bits of both parents
        assert 0.3 <= e.kept / e.length <= 0.7  # a prefix of A's SELFIES, the rest written by the model
    assert [e.smiles for e in lm.cross(pairs, np.random.default_rng(0))] == [e.smiles for e in edits]
    from_bos = lm.cross(pairs, np.random.default_rng(0), from_prefix=False)
    assert all(e.kept == 0 and e.bits > 10 for e in from_bos) and lm.calls == 3
    assert sum(1 for e in from_bos if e.smiles) >= 10


def test_the_condition_changes_what_the_model_writes(tiny_lm_dir):
    lm = EmbeddedLM.load(tiny_lm_dir)
    prompts = [[lm.vocab.bos]] * 4
    from llmga.lm._condition import region_bits

    bits = [region_bits(p, np.random.default_rng(0), 1.0) for p in PARENTS]
    plain = lm.complete(prompts, seed=3)
    given = lm.complete(prompts, seed=3, conditions=bits)
    assert plain != given
    assert lm.complete(prompts, seed=3, conditions=[None] * 4) == plain  # no condition: the plain model


def test_guidance_strengthens_the_condition_and_is_a_no_op_for_an_untrained_adapter(tiny_lm_dir):
    import torch

    from llmga.lm._condition import region_bits

    lm = EmbeddedLM.load(tiny_lm_dir)
    prompts = [[lm.vocab.bos]] * 4
    bits = [region_bits(p, np.random.default_rng(0), 1.0) for p in PARENTS]
    given = lm.complete(prompts, seed=3, conditions=bits)
    guided = lm.complete(prompts, seed=3, conditions=bits, guidance=3.0)
    assert guided != given and all(guided)
    assert lm.complete(prompts, seed=3, conditions=bits, guidance=3.0) == guided  # seeded
    # With the adapter's output at zero, conditioned and plain logits agree: guidance changes nothing.
    with torch.no_grad():
        lm.model.adapter.proj.weight.zero_()
        lm.model.adapter.proj.bias.zero_()
    plain = lm.complete(prompts, seed=3)
    assert lm.complete(prompts, seed=3, conditions=bits, guidance=3.0) == plain


def test_a_device_names_itself_and_what_is_valid_before_the_model_loads(tiny_lm_dir, monkeypatch):
    import torch

    assert EmbeddedLM.load(tiny_lm_dir, device="cpu").device == torch.device("cpu")
    with pytest.raises(LLMGAError, match=r"--device tpu9: not a torch device; use cpu, cuda, cuda:N or auto"):
        EmbeddedLM.load(tiny_lm_dir, device="tpu9")
    with pytest.raises(LLMGAError, match=r"--device meta: the model runs on cpu or cuda"):
        EmbeddedLM.load(tiny_lm_dir, device="meta")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert EmbeddedLM.load(tiny_lm_dir, device="auto").device == torch.device("cpu")  # no GPU: the CPU
    with pytest.raises(LLMGAError, match=r"--device cuda: torch sees no CUDA GPU here; use --device cpu"):
        EmbeddedLM.load(tiny_lm_dir, device="cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(LLMGAError, match=r"--device cuda:2: torch sees 1 GPU\(s\) here; use cuda:0 to cuda:0"):
        EmbeddedLM.load(tiny_lm_dir, device="cuda:2")


def test_dtype_auto_follows_the_cpu_and_float32_and_bfloat16_are_kept_apart(tiny_lm_dir):
    from llmga.lm._embedded import _bf16_ok

    assert EmbeddedLM.load(tiny_lm_dir).bf16 == _bf16_ok("cpu")
    single = EmbeddedLM.load(tiny_lm_dir, dtype="float32")
    half = EmbeddedLM.load(tiny_lm_dir, dtype="bfloat16")
    assert (single.bf16, half.bf16) == (False, True)
    prompts = [[single.vocab.bos, 10, 11, 12]] * 3
    assert single.complete(prompts, seed=4) == single.complete(prompts, seed=4)
    # The same seed in float32 and bfloat16 reads the prompts with other numbers: its logits differ.
    import torch

    ids = torch.tensor([prompts[0]])
    with torch.inference_mode():
        a, _ = single.model(ids)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            b, _ = half.model(ids)
    assert not torch.equal(a.float(), b.float())
    with pytest.raises(LLMGAError, match=r"dtype 'fp16': the embedded model computes in auto, float32 or bfloat16"):
        EmbeddedLM.load(tiny_lm_dir, dtype="fp16")


def test_a_bad_device_for_the_embedded_model_stops_a_run_before_any_oracle_call(tmp_path):
    import llmga

    with pytest.raises(LLMGAError, match=r"--device tpu9: not a torch device"):
        llmga.optimize("qed", llm="embedded?device=tpu9", budget=50, out=str(tmp_path / "r"))
    assert not (tmp_path / "r" / "evaluations.csv").exists()


def test_a_parent_with_a_token_the_model_does_not_know_is_cut_before_it(tiny_lm_dir):
    """Graph-GA children can hold atoms the model never saw (hypervalent sulfur, ``[SH1]``): the model
    rewrites from before the first such token instead of dropping the parent (which left the model's
    recipe to its fallback on a whole sitagliptin_mpo run)."""
    lm = EmbeddedLM.load(tiny_lm_dir)
    odd = "CC[SH](=O)(C)Cc1ccc(O)cc1"
    assert "[SH1]" not in lm.vocab.index and lm._random_ids(odd, np.random.default_rng(0)) is None
    edits = lm.edit([odd] * 40, np.random.default_rng(0), keep=(0.85, 0.95))
    prompted = [e for e in edits if e.length]  # a spelling that starts with [SH1] gets no prompt
    assert len(prompted) >= 20
    assert all(1 <= e.kept < e.length for e in prompted)
    assert np.mean([e.kept / e.length for e in prompted]) < 0.8  # cut before [SH1], not at 85-95 %
    made = [e.smiles for e in prompted if e.smiles]
    assert len(made) >= 15 and canonical(odd) not in made
    plain = lm.edit([PARACETAMOL] * 4, np.random.default_rng(0), keep=(0.85, 0.95))
    assert all(e.length and e.kept / e.length >= 0.8 for e in plain)  # known tokens: the share as drawn
