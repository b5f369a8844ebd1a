"""The embedded model shipped in the package (llmga/data/lm)."""

from __future__ import annotations

import hashlib
import json

import numpy as np

from llmga.chem import canonical
from llmga.data import zinc250k
from llmga.lm import EMBEDDED_DIR, EmbeddedLM
from llmga.operators import Child, LMMutation, Parent, VariationContext


def test_shipped_model_matches_its_card():
    card = json.loads((EMBEDDED_DIR / "model_card.json").read_text())
    weights = (EMBEDDED_DIR / "model.safetensors").read_bytes()
    assert hashlib.sha256(weights).hexdigest() == card["weights_sha256"]
    assert len(weights) < 25 * 2**20
    assert card["command"].startswith("llmga train-lm") and card["steps"] == 6000
    assert card["sample_quality"]["valid"] >= 0.95
    lm = EmbeddedLM.load()
    assert lm.model.n_params() == card["parameters"]


def test_shipped_model_edits_50_zinc_parents_into_valid_new_molecules():
    parents = list(zinc250k()[1000:1050])
    lm = EmbeddedLM.load()
    edits = lm.edit(parents, np.random.default_rng(0), keep=(0.55, 0.85))
    valid = [e for e in edits if e.smiles]
    assert len(valid) / len(edits) >= 0.95
    assert sum(e.smiles != p for e, p in zip(edits, parents, strict=True) if e.smiles) / len(valid) >= 0.85
    again = lm.edit(parents, np.random.default_rng(0), keep=(0.55, 0.85))
    assert [e.smiles for e in again] == [e.smiles for e in edits]
    op = LMMutation(lm)
    canon = [canonical(p) for p in parents[:20]]
    out = op.apply([[Parent(p)] for p in canon], np.random.default_rng(1), VariationContext())
    from_model = [k for (k,) in out if isinstance(k, str)]
    assert len(from_model) >= 18
    for (kid,), parent in zip(out, canon, strict=True):
        text = kid.smiles if isinstance(kid, Child) else kid
        assert text is not None and text != parent and canonical(text) == text
