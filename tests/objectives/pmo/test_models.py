"""The PMO model oracles reproduce TDC's scikit-learn models, from verified files."""

from __future__ import annotations

import csv
import json
import math
import time
from pathlib import Path

import numpy as np
import pytest

from llmga.errors import ObjectiveError
from llmga.objectives import Objective
from llmga.objectives.pmo._models import (
    MODEL_TASKS,
    ModelFileError,
    ModelObjective,
    data_dir,
    load_model,
)

REFERENCE = Path(__file__).resolve().parents[2] / "data" / "pmo_model_reference.csv"
TASKS = ("drd2", "gsk3b", "jnk3")
FIX = r"reinstall llmga or rerun scripts/convert_pmo_models\.py"


@pytest.fixture(scope="module")
def reference() -> tuple[list[str], dict[str, np.ndarray]]:
    """SMILES and the original models' predictions (scripts/convert_pmo_models.py --reference)."""
    with REFERENCE.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    smiles = [row["smiles"] for row in rows]
    return smiles, {task: np.array([float(row[task]) for row in rows]) for task in TASKS}


def _copy_shipped(folder: Path, names: tuple[str, ...]) -> Path:
    folder.mkdir()
    for name in names:
        (folder / name).write_bytes(data_dir().joinpath(name).read_bytes())
    return folder


@pytest.mark.parametrize("task", TASKS)
def test_predictions_equal_the_original_models(task, reference):
    smiles, expected = reference
    got = MODEL_TASKS[task][0]()(smiles)
    assert got.shape == (len(smiles),)
    assert not np.isnan(got).any()
    np.testing.assert_allclose(got, expected[task], rtol=0, atol=1e-6)


def test_reference_covers_the_whole_probability_range(reference):
    smiles, expected = reference
    assert len(smiles) >= 1000
    for task in TASKS:
        assert (expected[task] > 0.9).sum() >= 5, task
        assert (expected[task] < 0.1).sum() >= 500, task


@pytest.mark.parametrize("task", TASKS)
def test_invalid_or_empty_smiles_score_nan(task):
    scores = MODEL_TASKS[task][0]()(["not a molecule", "", "C1CC", "   ", "CCO"])
    assert np.isnan(scores[:4]).all()
    assert 0.0 <= scores[4] <= 1.0


@pytest.mark.parametrize("task", TASKS)
def test_order_and_batch_do_not_matter(task, reference):
    smiles = reference[0]
    objective = MODEL_TASKS[task][0]()
    picked = [smiles[i] for i in (1040, 3, 1020, 500)]
    alone = np.array([objective([s])[0] for s in picked])
    np.testing.assert_allclose(objective(picked), alone, rtol=0, atol=1e-12)
    assert objective([]).shape == (0,)


def test_names_descriptions_and_directions():
    assert set(MODEL_TASKS) == set(TASKS)
    for task, (factory, description) in MODEL_TASKS.items():
        objective = factory()
        assert isinstance(objective, Objective)
        assert objective.name == task
        assert objective.direction == "maximize"
        assert objective.description == description
        assert description and "\n" not in description and description.startswith("Probability")
        json.dumps(objective.card())
    assert "DRD2" in MODEL_TASKS["drd2"][1]
    assert "GSK3" in MODEL_TASKS["gsk3b"][1]
    assert "JNK3" in MODEL_TASKS["jnk3"][1]


def test_unknown_task_is_refused():
    with pytest.raises(ObjectiveError, match="unknown PMO model"):
        ModelObjective("drd3", "no such model")


def test_altered_model_file_raises_a_clear_error(tmp_path):
    folder = _copy_shipped(tmp_path / "pmo", ("manifest.json", "jnk3.npz"))
    data = bytearray((folder / "jnk3.npz").read_bytes())
    data[len(data) // 2] ^= 0x01
    (folder / "jnk3.npz").write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match=rf"model file jnk3\.npz .*altered.*: {FIX}"):
        load_model("jnk3", folder)
    objective = ModelObjective("jnk3", MODEL_TASKS["jnk3"][1], folder=folder)
    with pytest.raises(ModelFileError, match=FIX):
        objective(["CCO"])
    assert np.isnan(objective(["not a molecule"])).all()  # nothing to score: no load, no error


def test_missing_model_file_or_manifest_raises_a_clear_error(tmp_path):
    folder = _copy_shipped(tmp_path / "pmo", ("manifest.json",))
    with pytest.raises(ModelFileError, match=rf"model file gsk3b\.npz is missing.*: {FIX}"):
        load_model("gsk3b", folder)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ModelFileError, match=rf"manifest.*missing.*: {FIX}"):
        load_model("drd2", empty)


def test_shipped_files_verify_and_load_quickly():
    for task in TASKS:
        start = time.perf_counter()
        model = load_model(task, data_dir())  # a folder: bypasses the per-process cache
        elapsed = time.perf_counter() - start
        assert elapsed < 2.0, f"{task} took {elapsed:.2f}s to load"
        assert load_model(task) is load_model(task)
        assert model is not load_model(task)
    assert math.isclose(MODEL_TASKS["drd2"][0]()(["CCO"])[0], MODEL_TASKS["drd2"][0]()(["OCC"])[0])
