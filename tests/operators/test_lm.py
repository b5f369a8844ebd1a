from __future__ import annotations

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


def test_lm_crossover_children_hold_pieces_of_both_parents(tiny_lm_dir):
    from rdkit import DataStructs
    from rdkit.Chem import rdFingerprintGenerator

    from llmga.chem import to_mol
    from llmga.operators import LMCrossover

    fp = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
    calls = []
    op = LMCrossover(str(tiny_lm_dir), log=calls.append)
    groups = [[Parent(a, 1.0, 1), Parent(b, 1.0, 2)] for a in PARENTS for b in PARENTS if a != b]
    out = op.apply(groups, np.random.default_rng(3), VariationContext())
    assert len(out) == len(groups)
    sims = []
    for (kid,), (a, b) in zip(out, groups, strict=True):
        if isinstance(kid, str):
            assert kid not in (a.smiles, b.smiles)
            f = fp.GetFingerprint(to_mol(kid))
            sims.append(
                (
                    DataStructs.TanimotoSimilarity(f, fp.GetFingerprint(to_mol(a.smiles))),
                    DataStructs.TanimotoSimilarity(f, fp.GetFingerprint(to_mol(b.smiles))),
                )
            )
    assert len(sims) >= len(groups) // 2
    # A tiny test model writes long random tails, so similarities are low; every child still shares
    # substructure with both parents.
    assert np.mean([s[0] > 0 and s[1] > 0 for s in sims]) > 0.9
    assert calls[0]["operator"] == "lm_crossover" and calls[0]["parents"].count(",") == calls[0]["asked"]


def test_keep_range_is_centred_and_narrows_near_the_ends():
    import pytest

    from llmga.operators.lm import keep_range

    assert keep_range(0.7) == pytest.approx((0.55, 0.85))
    assert keep_range(0.97) == pytest.approx((0.96, 0.98))
    assert keep_range(0.0) == pytest.approx((0.02, 0.02))
    assert keep_range(1.0) == pytest.approx((0.98, 0.98))
    with pytest.raises(ValueError, match="between 0 and 1"):
        keep_range(1.5)
