from __future__ import annotations

from rdkit import DataStructs

from llmga.chem import morgan


def test_morgan_fingerprints_compare_molecules_and_refuse_invalid_ones():
    ethanol, same, phenol = morgan("CCO"), morgan("OCC"), morgan("c1ccccc1O")
    assert ethanol is not None and same is not None and phenol is not None
    assert ethanol.GetNumBits() == 2048
    assert DataStructs.TanimotoSimilarity(ethanol, same) == 1.0
    assert DataStructs.TanimotoSimilarity(ethanol, phenol) < 0.3
    assert morgan("not a molecule") is None and morgan(None) is None
