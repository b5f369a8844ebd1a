from __future__ import annotations

import math
import pickle

import numpy as np

from llmga.objectives import available, get_objective
from llmga.objectives.pmo import GUACAMOL_TASKS, MODEL_TASKS, PMO_TASKS
from tests.conftest import ASPIRIN

CELECOXIB = "Cc1ccc(-c2cc(C(F)(F)F)nn2-c2ccc(S(N)(=O)=O)cc2)cc1"


def test_all_23_pmo_tasks_are_registered_with_the_pmo_tag():
    assert len(PMO_TASKS) == 23
    assert sorted(PMO_TASKS) == sorted([*GUACAMOL_TASKS, *MODEL_TASKS, "qed"])
    registry = available()
    tagged = sorted(name for name, entry in registry.items() if "pmo" in entry.tags)
    assert tagged == sorted(PMO_TASKS)
    for name in PMO_TASKS:
        entry = registry[name]
        assert entry.description and entry.direction == "maximize"
        obj = get_objective(name)
        assert obj.name == name and obj.description == entry.description


def test_pmo_objectives_score_batches_and_survive_pickling():
    for name in ("celecoxib_rediscovery", "drd2", "deco_hop"):
        obj = get_objective(name)
        scores = obj([CELECOXIB, "not a smiles", ASPIRIN])
        assert math.isnan(scores[1]) and 0.0 <= scores[0] <= 1.0
        clone = pickle.loads(pickle.dumps(obj))  # what worker processes receive
        np.testing.assert_array_equal(clone([CELECOXIB, ASPIRIN]), scores[[0, 2]])
    assert get_objective("celecoxib_rediscovery")([CELECOXIB])[0] == 1.0


def test_model_objective_does_not_ship_its_arrays_to_workers():
    drd2 = get_objective("drd2")
    drd2([ASPIRIN])  # loads the model
    assert len(pickle.dumps(drd2)) < 10_000


def test_every_pmo_task_has_a_prompt_card_saying_what_it_rewards():
    for name in PMO_TASKS:
        card = get_objective(name).prompt_card()
        assert len(card) > 60, name
    osimertinib = get_objective("osimertinib_mpo").prompt_card()
    assert "geometric mean" in osimertinib and "FCFP4" in osimertinib and "TPSA" in osimertinib
    assert "0.8" in osimertinib and "osimertinib (COc1cc" in osimertinib
    assert "C7H8N2O2" in get_objective("isomers_c7h8n2o2").prompt_card()
    hop = get_objective("deco_hop").prompt_card()
    assert "must NOT contain the substructure (SMARTS) CS([#6])(=O)=O" in hop
    for name in ("albuterol_similarity", "median2", "sitagliptin_mpo"):
        hidden = get_objective(name).prompt_card(hide_names=True).lower()
        assert not any(drug in hidden for drug in ("albuterol", "tadalafil", "sildenafil", "sitagliptin"))
