"""The 19 GuacaMol tasks of PMO against scores computed by the real ``guacamol`` package.

``tests/data/guacamol_reference.csv`` was written by
``scripts/make_guacamol_reference.py`` with guacamol 0.5.5; guacamol itself
is not needed here.
"""

from __future__ import annotations

import csv
import json
import math
import pickle
from pathlib import Path

import numpy as np
import pytest
from rdkit import Chem
from rdkit.Chem.Pharm2D import Generate, Gobbi_Pharm2D

from llmga.chem import quiet_rdkit
from llmga.objectives import Objective
from llmga.objectives.pmo import PMO_TASKS
from llmga.objectives.pmo._guacamol import (
    FINGERPRINTS,
    GUACAMOL_TASKS,
    Clipped,
    Gaussian,
    MaxGaussian,
    MinGaussian,
    Thresholded,
)
from tests.conftest import ASPIRIN, CAFFEINE, IBUPROFEN, PARACETAMOL

REFERENCE = Path(__file__).resolve().parents[2] / "data" / "guacamol_reference.csv"

TASKS = (
    "albuterol_similarity",
    "amlodipine_mpo",
    "celecoxib_rediscovery",
    "deco_hop",
    "fexofenadine_mpo",
    "isomers_c7h8n2o2",
    "isomers_c9h10n2o2pf2cl",
    "median1",
    "median2",
    "mestranol_similarity",
    "osimertinib_mpo",
    "perindopril_mpo",
    "ranolazine_mpo",
    "scaffold_hop",
    "sitagliptin_mpo",
    "thiothixene_rediscovery",
    "troglitazone_rediscovery",
    "valsartan_smarts",
    "zaleplon_mpo",
)

CELECOXIB = "CC1=CC=C(C=C1)C1=CC(=NN1C1=CC=C(C=C1)S(N)(=O)=O)C(F)(F)F"
HOP_START = "CCCOc1cc2ncnc(Nc3ccc4ncsc4c3)c2cc1S(=O)(=O)C(C)(C)C"
INVALID = ["C1CC(", "CC(C)(C)(C)(C)C", "", "   ", "not a molecule"]


@pytest.fixture(scope="module")
def reference() -> tuple[list[str], dict[str, np.ndarray]]:
    with open(REFERENCE, newline="") as fh:
        rows = list(csv.DictReader(fh))
    smiles = [row["smiles"] for row in rows]
    columns = {name: np.array([float(r[name]) if r[name] else math.nan for r in rows]) for name in TASKS}
    return smiles, columns


@pytest.fixture(scope="module")
def objectives() -> dict[str, Objective]:
    return {name: factory() for name, (factory, _) in GUACAMOL_TASKS.items()}


def test_the_19_tasks_are_the_rdkit_pmo_tasks_but_qed():
    assert tuple(GUACAMOL_TASKS) == TASKS
    assert set(TASKS) == set(PMO_TASKS) - {"qed", "drd2", "gsk3b", "jnk3"}


def test_reference_file_covers_the_tasks(reference):
    smiles, columns = reference
    assert len(smiles) >= 300
    for name in TASKS:
        values = columns[name]
        assert np.isnan(values).sum() == 2, name  # exactly the two invalid SMILES
        assert np.nanmin(values) >= 0.0 and np.nanmax(values) <= 1.0
    for name in TASKS:
        if "rediscovery" in name or "similarity" in name or name.startswith("isomers"):
            assert np.nanmax(columns[name]) == 1.0, name


@pytest.mark.parametrize("name", TASKS)
def test_matches_guacamol_on_every_reference_molecule(name, reference, objectives):
    smiles, columns = reference
    ours = objectives[name](smiles)
    expected = columns[name]
    assert ours.dtype == np.float64 and ours.shape == expected.shape
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(expected))
    np.testing.assert_allclose(ours, expected, rtol=1e-9, atol=1e-6)


@pytest.mark.parametrize("name", TASKS)
def test_names_descriptions_and_directions(name, objectives):
    obj = objectives[name]
    factory, description = GUACAMOL_TASKS[name]
    assert isinstance(obj, Objective)
    assert obj.name == name
    assert obj.direction == "maximize"
    assert obj.description == description
    assert description.strip() == description and "\n" not in description and len(description) > 40
    json.dumps(obj.card())  # saved with every run
    assert factory() is not obj  # a fresh instance each time


def test_known_values(objectives):
    celecoxib = objectives["celecoxib_rediscovery"]([CELECOXIB, Chem.MolToSmiles(Chem.MolFromSmiles(CELECOXIB))])
    np.testing.assert_array_equal(celecoxib, [1.0, 1.0])
    isomers = objectives["isomers_c7h8n2o2"](["NNC(=O)c1ccccc1O", "Cc1ccc([N+](=O)[O-])cc1N", "NC(=O)c1ccc(N)cc1O"])
    np.testing.assert_array_equal(isomers, [1.0, 1.0, 1.0])
    assert objectives["isomers_c9h10n2o2pf2cl"](["CC(Cl)c1ccc(NC(=O)NP(=O)(F)F)cc1"])[0] == 1.0
    # Deco hop on its own starting point: full pharmacophore similarity and scaffold, both old decorations.
    assert objectives["deco_hop"]([HOP_START])[0] == pytest.approx(0.5)
    # Scaffold hop on it: similarity and decoration kept, scaffold not yet replaced.
    assert objectives["scaffold_hop"]([HOP_START])[0] == pytest.approx(2 / 3)


def test_isomer_score_by_hand(objectives):
    # Benzene, C6H6, against C7H8N2O2 (19 atoms): C off by 1, H by 2, N by 2, O by 2, total by 7.
    terms = [math.exp(-0.5 * d**2) for d in (1, 2, 2, 2)] + [math.exp(-0.5 * (7 / 2) ** 2)]
    expected = math.prod(terms) ** (1 / 5)
    assert objectives["isomers_c7h8n2o2"](["c1ccccc1"])[0] == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("name", TASKS)
def test_invalid_smiles_score_nan(name, objectives):
    scores = objectives[name]([*INVALID, ASPIRIN])
    assert np.isnan(scores[:-1]).all()
    assert np.isfinite(scores[-1])


def test_batches_do_not_mix_molecules(objectives):
    drugs = [ASPIRIN, CAFFEINE, IBUPROFEN, PARACETAMOL, HOP_START]
    for name in ("osimertinib_mpo", "deco_hop", "sitagliptin_mpo"):
        obj = objectives[name]
        together = obj(drugs)
        alone = np.array([obj([s])[0] for s in drugs])
        np.testing.assert_array_equal(together, alone)
        np.testing.assert_array_equal(obj(drugs[::-1]), together[::-1])
        assert obj([]).shape == (0,)


def test_objectives_survive_pickling(objectives):
    drugs = [ASPIRIN, CAFFEINE, HOP_START]
    for name in ("deco_hop", "mestranol_similarity", "valsartan_smarts"):
        copy = pickle.loads(pickle.dumps(objectives[name]))
        np.testing.assert_array_equal(copy(drugs), objectives[name](drugs))


def test_pharmacophore_fingerprint_is_rdkit_gobbi_2d_bit_for_bit(reference):
    smiles, _ = reference
    kind = FINGERPRINTS["PHCO"]
    with quiet_rdkit():
        mols = [m for m in (Chem.MolFromSmiles(s) for s in [*smiles[::8], HOP_START]) if m is not None]
    for mol in mols:
        ours = kind.compute(mol)
        theirs = list(Generate.Gen2DFingerprint(mol, Gobbi_Pharm2D.factory).GetOnBits())
        assert ours is not None and list(ours) == theirs, Chem.MolToSmiles(mol)


def test_modifiers():
    x = np.array([0.0, 0.5, 1.0, 2.0, np.nan])
    np.testing.assert_allclose(Clipped(upper_x=0.5)(x), [0.0, 1.0, 1.0, 1.0, np.nan])
    np.testing.assert_allclose(Thresholded(0.5)(x), [0.0, 1.0, 1.0, 1.0, np.nan])
    np.testing.assert_allclose(MinGaussian(mu=1.0, sigma=1.0)(x), [1.0, 1.0, 1.0, math.exp(-0.5), np.nan])
    np.testing.assert_allclose(MaxGaussian(mu=1.0, sigma=1.0)(x), [math.exp(-0.5), math.exp(-0.125), 1, 1, np.nan])
    np.testing.assert_allclose(Gaussian(mu=1.0, sigma=0.5)(x), [math.exp(-2), math.exp(-0.5), 1, math.exp(-2), np.nan])
