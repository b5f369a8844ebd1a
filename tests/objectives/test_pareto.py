"""Objectives with several values: ``directions``, ``value_names``, the ``(n, k)`` output and its checks."""

from __future__ import annotations

import math

import numpy as np
import pytest

from llmga.errors import ObjectiveError
from llmga.objectives import Objective, check_values, get_objective
from llmga.objectives.pareto import ParetoObjective

SMILES = ["CCO", "c1ccccc1O", "CC(=O)Nc1ccc(O)cc1"]


class Length(Objective):
    name = "length"
    direction = "minimize"

    def __call__(self, smiles):
        return np.array([float(len(s)) for s in smiles])


class Local(Length):
    name = "local"
    parallel = False  # a GPU model, say: it must stay in the main process


def test_a_one_value_objective_declares_its_direction_and_name():
    obj = Length()
    assert obj.directions == ("minimize",)
    assert obj.value_names == ("length",)


def test_check_values_gives_an_n_by_k_float_matrix_with_nan_for_missing_values():
    out = check_values([[1, None], (2.5, float("inf")), np.array([3, -1])], SMILES, "two", 2)
    assert out.dtype == np.float64 and out.shape == (3, 2)
    assert out[0, 0] == 1.0 and math.isnan(out[0, 1]) and out[1, 0] == 2.5 and math.isnan(out[1, 1])
    assert out[2].tolist() == [3.0, -1.0]
    assert check_values(np.ones((0, 2)), [], "two", 2).shape == (0, 2)
    # One value per molecule: a 1-D array, or an (n, 1) one.
    assert check_values([1.0, 2.0, 3.0], SMILES, "one", 1).tolist() == [[1.0], [2.0], [3.0]]
    assert check_values(np.ones((3, 1)), SMILES, "one", 1).shape == (3, 1)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (np.ones(3), r"objective 'two' returned an array of shape \(3,\) for 3 molecules; .*shape \(3, 2\)"),
        (np.ones((3, 3)), r"objective 'two' returned an array of shape \(3, 3\) for 3 molecules; .*shape \(3, 2\)"),
        (np.ones((2, 2)), r"objective 'two' returned an array of shape \(2, 2\) for 3 molecules"),
        ([[1, 2], [3, 4]], r"objective 'two' returned 2 rows for 3 molecules; .*shape \(3, 2\)"),
        ([[1, 2], [3], [5, 6]], r"objective 'two' returned 1 values for 'c1ccccc1O'; .*2 values per molecule"),
        ([[1, 2], [3, "x"], [5, 6]], r"objective 'two' returned 'x' \(str\) for 'c1ccccc1O'"),
        ([1.0, 2.0, 3.0], r"objective 'two' returned 1.0 for 'CCO'; .*2 values per molecule"),
        (None, r"objective 'two' returned None for a batch of 3 molecules"),
    ],
)
def test_check_values_names_the_objective_the_shape_got_and_the_shape_wanted(values, message):
    with pytest.raises(ObjectiveError, match=message):
        check_values(values, SMILES, "two", 2)


def test_a_pareto_objective_returns_the_matrix_of_its_components_and_their_directions():
    qed, sa = get_objective("qed"), get_objective("sa")
    pareto = ParetoObjective([qed, sa])
    got = pareto(SMILES)
    np.testing.assert_array_equal(got, np.column_stack([qed(SMILES), sa(SMILES)]))
    assert pareto.directions == ("maximize", "minimize") and pareto.value_names == ("qed", "sa")
    assert pareto.direction == "maximize" and pareto.weights == (1.0, -1.0) and pareto.names == ["qed", "sa"]
    assert pareto([]).shape == (0, 2)
    assert not hasattr(pareto, "vectors")  # the values are the result, not a side channel
    assert pareto.parallel  # scored on worker processes like any objective
    assert not ParetoObjective([qed, Local()]).parallel  # ...unless a component must stay in this process


def test_a_pareto_objective_flattens_components_with_several_values_and_checks_their_output():
    class Two(Objective):
        name = "two"

        @property
        def directions(self):
            return ("maximize", "minimize")

        @property
        def value_names(self):
            return ("a", "b")

        def __call__(self, smiles):
            return np.ones(len(smiles))  # one value per molecule where two are declared

    pareto = ParetoObjective([Length(), Two()])
    assert pareto.directions == ("minimize", "maximize", "minimize")
    assert pareto.value_names == ("length", "a", "b")
    with pytest.raises(ObjectiveError, match=r"objective 'two' returned an array of shape \(3,\) .*\(3, 2\)"):
        pareto(SMILES)
    with pytest.raises(ObjectiveError, match=r"names an objective twice \(length, length\)"):
        ParetoObjective([Length(), Length()])
