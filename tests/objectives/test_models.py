"""Trained property models: llmga train-model and --objective model:DIR."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from rdkit.Chem import rdMolDescriptors

from llmga.chem import to_mol
from llmga.cli import main
from llmga.data import zinc250k
from llmga.errors import LLMGAError, ObjectiveError
from llmga.objectives import get_objective
from llmga.objectives.models import ModelObjective, TrainModelSettings, scaffold_folds, train_model

TRAIN, HELD = zinc250k()[:400], zinc250k()[5000:5100]


def _tpsa(smiles):
    return [rdMolDescriptors.CalcTPSA(to_mol(s)) for s in smiles]


@pytest.fixture(scope="module")
def tpsa_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("model")
    data = folder / "tpsa.csv"
    values: list[object] = list(_tpsa(TRAIN))
    values[3] = "n/a"  # a row without a number is skipped, not fatal
    frame = pd.DataFrame({"SMILES": TRAIN, "TPSA": values})
    frame.to_csv(data, index=False)
    report = train_model(
        TrainModelSettings(
            data=str(data), out=str(folder / "tpsa"), smiles_col="SMILES", target_col="TPSA", trees=100, workers=1
        )
    )
    assert report.molecules == 399 and report.skipped == 1
    return report


def test_a_model_of_tpsa_predicts_held_out_molecules(tpsa_model):
    objective = get_objective(f"model:{tpsa_model.out}")
    pred = objective(HELD)
    truth = np.array(_tpsa(HELD))
    r2 = 1 - np.sum((truth - pred) ** 2) / np.sum((truth - truth.mean()) ** 2)
    assert r2 > 0.8
    assert tpsa_model.metrics["r2"] > 0.7  # scaffold-split cross-validation on the training set
    card = json.loads((tpsa_model.out / "model_card.json").read_text())
    assert card["cv"]["split"] == "Bemis-Murcko scaffold groups" and card["data"]["molecules"] == 399
    assert card["versions"]["scikit-learn"] and len(card["check_set"]) == 20
    assert np.isnan(objective(["not a molecule"])[0])


def test_uncertainty_ucb_and_domain_modes(tpsa_model):
    mean = get_objective(f"model:{tpsa_model.out}")(HELD[:10])
    spread = get_objective(f"model:{tpsa_model.out}?mode=uncertainty")(HELD[:10])
    ucb = get_objective(f"model:{tpsa_model.out}?mode=ucb&kappa=2")(HELD[:10])
    assert (spread > 0).all()
    np.testing.assert_allclose(ucb, mean + 2 * spread)
    low = get_objective(f"model(path={tpsa_model.out}, mode=ucb, kappa=2, direction=minimize)")(HELD[:10])
    np.testing.assert_allclose(low, mean - 2 * spread)
    domain = get_objective(f"model:{tpsa_model.out}?mode=domain")
    assert domain([TRAIN[0]])[0] == 1.0  # a training molecule is inside the domain
    far = domain(["C1CCC2(CC1)OOC2"])[0]
    assert 0 <= far < 0.5


def test_a_model_folder_is_verified_on_load(tpsa_model, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(tpsa_model.out, copy)
    card = json.loads((copy / "model_card.json").read_text())
    card["check_set"][0]["mean"] += 1.0  # what another scikit-learn giving other numbers would look like
    (copy / "model_card.json").write_text(json.dumps(card))
    with pytest.raises(ObjectiveError, match="predicts its check molecules differently"):
        ModelObjective(str(copy))
    (copy / "model.joblib").write_bytes(b"junk")
    with pytest.raises(ObjectiveError, match="does not match its model card"):
        ModelObjective(str(copy))
    with pytest.raises(ObjectiveError, match=r"is not a model folder .*llmga train-model"):
        get_objective(f"model:{tmp_path / 'nothing'}")
    with pytest.raises(ObjectiveError, match=r"'mode=best' is not understood|model mode 'best'"):
        get_objective(f"model:{tpsa_model.out}?mode=best")


def test_a_model_objective_pickles_without_its_forest(tpsa_model):
    import pickle

    objective = get_objective(f"model:{tpsa_model.out}")
    data = pickle.dumps(objective)
    assert len(data) < 10_000  # the path, not the model
    np.testing.assert_allclose(pickle.loads(data)(HELD[:5]), objective(HELD[:5]))


def test_scaffold_folds_keep_a_scaffold_in_one_fold():
    mols = ["c1ccccc1C", "c1ccccc1CC", "c1ccccc1O", "C1CCNCC1C", "C1CCNCC1O", "CCO", "CCN"]
    folds = scaffold_folds(mols, 3)
    assert len(set(folds[:3].tolist())) == 1 and len(set(folds[3:5].tolist())) == 1
    assert folds[0] != folds[3]


def test_train_model_command_then_optimize_the_model(tmp_path, capsys):
    data = tmp_path / "hits.csv"
    tpsa = _tpsa(TRAIN[:120])
    pd.DataFrame({"smiles": TRAIN[:120], "active": [int(t > 60) for t in tpsa], "tpsa": tpsa}).to_csv(data, index=False)
    out = tmp_path / "clf"
    code = main(["train-model", str(data), "--target-col", "active", "--task", "classification", "--out", str(out),
                 "--trees", "50", "--workers", "1"])  # fmt: skip
    assert code == 0
    assert "roc_auc" in capsys.readouterr().out
    run = tmp_path / "run"
    assert main(["optimize", "--objective", f"model:{out}", "--budget", "60", "--llm", "none", "--quiet",
                 "--out", str(run)]) == 0  # fmt: skip
    scores = pd.read_csv(run / "evaluations.csv")["score"]
    assert scores.between(0, 1).all()
    assert main(["train-model", str(data), "--target-col", "missing", "--out", str(out)]) == 1
    assert "has no column 'missing' (--target-col); its columns are: smiles, active, tpsa" in capsys.readouterr().err
    with pytest.raises(LLMGAError, match="needs 0/1 targets"):
        train_model(TrainModelSettings(data=str(data), out=str(out), task="classification", target_col="tpsa"))
