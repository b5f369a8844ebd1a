from __future__ import annotations

import importlib.util
import math
import os

import numpy as np
import pytest
from rdkit import Chem, RDConfig
from rdkit.Chem import Crippen

from llmga.errors import ObjectiveError
from llmga.objectives import get_objective, penalized_logp, sa_score
from llmga.objectives.rdkit import SimilarityObjective
from tests.conftest import ASPIRIN, CAFFEINE, IBUPROFEN, PARACETAMOL


def _contrib_sascorer():
    """RDKit's own Contrib SA scorer, loaded from its file as an independent reference."""
    path = os.path.join(RDConfig.RDContribDir, "SA_Score", "sascorer.py")
    spec = importlib.util.spec_from_file_location("rdkit_contrib_sascorer", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        # Crippen logP, QED, MW and TPSA of four drugs (RDKit values, 4 decimals).
        ("logp", [1.3101, -1.0293, 3.0732, 1.3506]),
        ("qed", [0.5501, 0.5385, 0.8216, 0.5950]),
        ("mw", [180.159, 194.194, 206.285, 151.165]),
        ("tpsa", [63.60, 61.82, 37.30, 49.33]),
    ],
)
def test_descriptor_values_of_known_drugs(name, expected, drugs):
    scores = get_objective(name)(drugs)
    assert scores.dtype == float and scores.shape == (4,)
    np.testing.assert_allclose(scores, expected, atol=1e-3)


def test_sa_score_matches_published_range_and_rdkit_contrib(drugs):
    ref = _contrib_sascorer()
    ours = get_objective("sa")(drugs)
    theirs = [ref.calculateScore(Chem.MolFromSmiles(s)) for s in drugs]
    np.testing.assert_allclose(ours, theirs, atol=1e-9)
    # Aspirin and paracetamol are among the easiest molecules to make.
    assert ours[0] < 2.0 and ours[3] < 2.0


def test_sa_score_on_hard_natural_product_matches_contrib():
    ref = _contrib_sascorer()
    # Taxol-like core: many stereocentres, bridged rings -> hard to make.
    smi = (
        "CC1=C2[C@@]([C@]([C@H]([C@@H]3[C@]4([C@H](OC4)C[C@@H]([C@]3(C(=O)[C@@H]2OC(=O)C)C)O)OC(=O)C)"
        "OC(=O)c5ccccc5)(C[C@@H]1OC(=O)[C@H](O)[C@@H](NC(=O)c6ccccc6)c7ccccc7)O)(C)C"
    )
    mol = Chem.MolFromSmiles(smi)
    assert sa_score(mol) == pytest.approx(ref.calculateScore(mol), abs=1e-9)
    assert sa_score(mol) > 5


def test_sa_is_minimised_and_logp_maximised():
    assert get_objective("sa").direction == "minimize"
    assert get_objective("logp").direction == "maximize"


def test_penalized_logp_formula():
    # A 12-membered ring gets a long-ring penalty of 12 - 6 = 6.
    ring12 = Chem.MolFromSmiles("C1CCCCCCCCCCC1")
    logp = Crippen.MolLogP(ring12)
    expected = (
        (logp - 2.4570953396190123) / 1.434324401111988
        + (-sa_score(ring12) + 3.0525811293166134) / 0.8335207024513095
        + (-6 + 0.0485696876403053) / 0.2860212110245455
    )
    assert penalized_logp(ring12) == pytest.approx(expected, abs=1e-12)
    assert penalized_logp(ring12) < penalized_logp(Chem.MolFromSmiles("CCCCCCCCCCCC"))


def test_invalid_and_empty_smiles_score_nan(drugs):
    scores = get_objective("qed")(["not a smiles", "", ASPIRIN])
    assert math.isnan(scores[0]) and math.isnan(scores[1])
    assert scores[2] == pytest.approx(0.5501, abs=1e-4)


def test_similarity_to_target():
    sim = get_objective(f"similarity(target={ASPIRIN})")
    scores = sim([ASPIRIN, "OC(=O)c1ccccc1O", CAFFEINE, "xx"])
    assert scores[0] == pytest.approx(1.0)
    assert 0.3 < scores[1] < 1.0  # salicylic acid resembles aspirin
    assert scores[2] < 0.15
    assert math.isnan(scores[3])
    assert sim.params == {"target": ASPIRIN, "radius": 2, "n_bits": 2048}
    assert ASPIRIN in sim.description


def test_similarity_rejects_bad_target():
    with pytest.raises(ObjectiveError, match=r"similarity target 'C1CC' is not a valid SMILES"):
        SimilarityObjective("C1CC")


def test_stereo_does_not_change_2d_descriptors():
    assert get_objective("logp")([IBUPROFEN, "CC(C)Cc1ccc(cc1)C(C)C(=O)O"]).tolist() == pytest.approx(
        [3.0732] * 2, abs=1e-4
    )
    assert get_objective("mw")([PARACETAMOL])[0] == pytest.approx(151.165, abs=1e-3)


@pytest.mark.parametrize("spec", ["logp", "qed", "sa", "plogp", "mw", "tpsa", "similarity(target=CCO)"])
def test_built_in_objectives_can_be_sent_to_worker_processes(spec):
    import pickle

    objective = get_objective(spec)
    copy = pickle.loads(pickle.dumps(objective))
    smiles = ["CCO", "c1ccccc1O", "not a molecule"]
    np.testing.assert_array_equal(copy(smiles), objective(smiles))
