from __future__ import annotations

import itertools

import numpy as np

from llmga.chem import canonical
from llmga.operators import Child, LMMutation, Parent, VariationContext
from tests.conftest import ASPIRIN, CAFFEINE, IBUPROFEN, PARACETAMOL

PARENTS = [canonical(s) for s in (ASPIRIN, CAFFEINE, IBUPROFEN, PARACETAMOL)]


def test_lm_mutation_gives_one_new_valid_child_per_parent_and_logs_its_calls(tiny_lm_dir):
    calls = []
    op = LMMutation(str(tiny_lm_dir), keep=0.7, log=calls.append)
    scored = {PARENTS[0]}
    ctx = VariationContext(is_scored=scored.__contains__, generation=3)
    groups = [[Parent(p, 1.0, i + 1)] for i, p in enumerate(PARENTS * 4)]
    out = op.apply(groups, np.random.default_rng(0), ctx)
    assert len(out) == len(groups) and all(len(kids) == 1 for kids in out)
    texts = [k.smiles if isinstance(k, Child) else k for (k,) in out if k is not None]
    assert len(set(texts)) == len(texts)  # no repeats within the batch
    for (kid,), group in zip(out, groups, strict=True):
        text = kid.smiles if isinstance(kid, Child) else kid
        assert text is None or (canonical(text) == text and text != group[0].smiles and text not in scored)
    from_model = [k for (k,) in out if isinstance(k, str)]
    assert len(from_model) >= len(groups) // 2
    assert calls and calls[0]["operator"] == "lm_mutation" and calls[0]["generation"] == 3
    assert calls[0]["asked"] == len(groups) and calls[0]["tokens_out"] > 0
    assert len(calls) <= 3  # at most max_rounds batched calls


def test_slots_the_model_cannot_fill_go_to_graph_mutation(tiny_lm_dir):
    op = LMMutation(str(tiny_lm_dir), max_rounds=0)  # the model is never asked
    out = op.apply([[Parent(PARENTS[2])]], np.random.default_rng(1), VariationContext())
    (kid,) = out[0]
    assert isinstance(kid, Child) and kid.operator == "graph_mutation(fallback)"
    assert op.card()["keep"] == 0.7


def test_lm_crossover_asks_the_model_once_per_round_with_both_parents(tiny_lm_dir):
    from llmga.operators import LMCrossover

    calls = []
    op = LMCrossover(str(tiny_lm_dir), log=calls.append)
    groups = [[Parent(a, 1.0, 1), Parent(b, 1.0, 2)] for a in PARENTS for b in PARENTS if a != b]
    out = op.apply(groups, np.random.default_rng(3), VariationContext())
    assert len(out) == len(groups)
    kids = [kid for (kid,) in out]
    made = [k for k in kids if isinstance(k, str)]
    assert made  # a 40-step model writes few children that pass the filters; the rest are fallbacks
    assert all(k not in (g[0].smiles, g[1].smiles) for k, g in zip(kids, groups, strict=True) if isinstance(k, str))
    assert len(set(made)) == len(made)
    fallbacks = [k for k in kids if not isinstance(k, str)]
    assert all(isinstance(k, Child) and k.operator == "graph_crossover(fallback)" for k in fallbacks)
    first = calls[0]
    assert first["operator"] == "lm_crossover" and first["template"].startswith("selfies-prefix of A")
    assert first["asked"] == len(groups) and first["parents"].count(",") == first["asked"]
    rounds = [c for c in calls if c["operator"] == "lm_crossover"]
    for before, after in itertools.pairwise(rounds):
        assert after["asked"] == before["asked"] - before["new"]  # only empty slots are asked again
    assert sum(c["new"] for c in rounds) == len(made)
    assert "keep" not in op.card()


def test_keep_range_is_centred_and_narrows_near_the_ends():
    import pytest

    from llmga.operators.lm import keep_range

    assert keep_range(0.7) == pytest.approx((0.55, 0.85))
    assert keep_range(0.97) == pytest.approx((0.96, 0.98))
    assert keep_range(0.0) == pytest.approx((0.02, 0.02))
    assert keep_range(1.0) == pytest.approx((0.98, 0.98))
    with pytest.raises(ValueError, match="between 0 and 1"):
        keep_range(1.5)


def test_a_child_that_is_its_parent_without_stereochemistry_is_not_new(tiny_lm_dir, monkeypatch):
    """The model writes 2D SMILES: the parent minus its stereo centres would cost an oracle call for nothing."""
    from llmga.chem import flat
    from llmga.lm import Edit, EmbeddedLM

    lm = EmbeddedLM.load(tiny_lm_dir)  # made to write only the parent with its stereo centres dropped
    monkeypatch.setattr(lm, "edit", lambda parents, rng, **kw: [Edit(flat(p), p, 1, 2) for p in parents])
    parent = "C[C@H](N)c1ccc(O)cc1"
    assert flat(parent) == "CC(N)c1ccc(O)cc1" != parent
    records = []
    op = LMMutation(lm, log=records.append)
    (kids,) = op.apply([[Parent(parent)]], np.random.default_rng(0), VariationContext(objective="x"))
    assert records[0]["valid"] == 1 and records[0]["new"] == 0  # valid, but not new
    assert kids[0] is None or "fallback" in kids[0].operator  # graph GA fills the slot instead
