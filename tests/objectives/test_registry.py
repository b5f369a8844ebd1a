from __future__ import annotations

import math
import textwrap

import numpy as np
import pytest

from llmga.errors import ObjectiveError
from llmga.objectives import (
    REGISTRY,
    FunctionObjective,
    Objective,
    available,
    check_scores,
    get_objective,
    objective,
    parse_spec,
    register,
)
from tests.conftest import ASPIRIN, CAFFEINE


def test_every_builtin_has_a_description_and_direction():
    names = set(available())
    assert {"logp", "qed", "sa", "plogp", "mw", "tpsa", "similarity"} <= names
    for entry in available().values():
        assert entry.description and entry.direction in ("maximize", "minimize")


def test_unknown_name_suggests_close_names():
    with pytest.raises(ObjectiveError, match=r"unknown objective 'lgop'; did you mean 'logp'"):
        get_objective("lgop")


@pytest.mark.parametrize(
    ("spec", "name", "kwargs"),
    [
        ("logp", "logp", {}),
        ("similarity(target=CC(=O)O)", "similarity", {"target": "CC(=O)O"}),
        ("similarity(target='C1=CC=CC=C1', radius=3)", "similarity", {"target": "C1=CC=CC=C1", "radius": 3}),
        ("x(a=1.5, b=true, c=[N+](=O)[O-])", "x", {"a": 1.5, "b": True, "c": "[N+](=O)[O-]"}),
    ],
)
def test_parse_spec(spec, name, kwargs):
    assert parse_spec(spec) == (name, kwargs)


def test_bad_arguments_are_named():
    with pytest.raises(
        ObjectiveError, match=r"'similarity' takes target, radius, n_bits; got unknown argument 'smiles'"
    ):
        get_objective("similarity(smiles=CCO)")
    with pytest.raises(ObjectiveError, match=r"needs argument 'target'"):
        get_objective("similarity")
    with pytest.raises(ObjectiveError, match=r"'logp' takes no arguments"):
        get_objective("logp(x=1)")
    with pytest.raises(ObjectiveError, match=r"not key=value"):
        get_objective("similarity(CCO)")


def test_direction_override_does_not_touch_the_original():
    mw = get_objective("mw", direction="minimize")
    assert mw.direction == "minimize"
    assert get_objective("mw").direction == "maximize"


def test_objective_instances_and_callables_are_accepted():
    obj = get_objective("qed")
    assert get_objective(obj) is obj

    def heavy_atoms(smiles: str) -> float:
        """Number of characters, a stand-in score."""
        return float(len(smiles))

    wrapped = get_objective(heavy_atoms)
    assert isinstance(wrapped, FunctionObjective)
    assert wrapped.name == "heavy_atoms"
    assert wrapped.description == "Number of characters, a stand-in score."
    np.testing.assert_array_equal(wrapped(["CC", "CCO"]), [2.0, 3.0])


def test_file_plugin_loads_function_and_decorated_objective(tmp_path, monkeypatch):
    plugin = tmp_path / "my_obj.py"
    plugin.write_text(
        textwrap.dedent(
            """
            from llmga import objective

            def n_atoms(smiles):
                return smiles.count("C")

            @objective(batched=True, direction="minimize", description="length")
            def length(smiles):
                return [len(s) for s in smiles]
            """
        )
    )
    f = get_objective(f"{plugin}:n_atoms")
    np.testing.assert_array_equal(f(["CCO", "CCCC"]), [2.0, 4.0])
    g = get_objective(f"{plugin}:length")
    assert g.direction == "minimize" and g.description == "length"
    np.testing.assert_array_equal(g(["CCO", "C"]), [3.0, 1.0])
    monkeypatch.chdir(tmp_path)
    assert get_objective("my_obj.py:n_atoms")(["CC"])[0] == 2.0


def test_shipped_example_objectives_load_and_score():
    score = get_objective("objectives/druglike.py:score")
    values = score([ASPIRIN, CAFFEINE, "nonsense"])
    assert values[0] == pytest.approx(0.5501, abs=1e-3)  # aspirin logP 1.31: inside the window
    assert values[1] == pytest.approx(0.5385 - 0.2 * (1 + 1.0293), abs=1e-3)  # caffeine below it
    assert math.isnan(values[2])
    small = get_objective("objectives/druglike.py:small_and_polar")
    assert small.direction == "minimize"
    assert small([ASPIRIN])[0] == pytest.approx(13 - 6.36, abs=1e-6)


def test_module_plugin(tmp_path, monkeypatch):
    (tmp_path / "chem_scores.py").write_text("def carbons(smiles):\n    return smiles.count('C')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert get_objective("chem_scores:carbons")(["CCOC"])[0] == 3.0
    f = get_objective("llmga.objectives.rdkit:penalized_logp")
    assert isinstance(f, FunctionObjective)  # a Mol function called with SMILES fails per molecule ...
    with pytest.raises(ObjectiveError, match=r"(?s)raised .* on molecule 'CCO'"):
        f(["CCO"])  # ... and the error names the molecule


def test_plugin_errors_name_the_problem(tmp_path):
    with pytest.raises(ObjectiveError, match=r"objective file 'nope.py' does not exist"):
        get_objective("nope.py:f")
    plugin = tmp_path / "p.py"
    plugin.write_text("def good(s):\n    return 1.0\n")
    with pytest.raises(ObjectiveError, match=r"has no function 'bad'; it defines: good"):
        get_objective(f"{plugin}:bad")
    with pytest.raises(ObjectiveError, match=r"cannot import module 'no_such_pkg.mod'"):
        get_objective("no_such_pkg.mod:f")
    broken = tmp_path / "broken.py"
    broken.write_text("raise RuntimeError('boom')\n")
    with pytest.raises(ObjectiveError, match=r"importing objective file .* failed: RuntimeError: boom"):
        get_objective(f"{broken}:f")


def test_function_objective_errors_name_molecule_and_value():
    def picky(smiles):
        if smiles == "CCN":
            raise ValueError("no amines")
        return "high" if smiles == "CCS" else 1.0

    f = FunctionObjective(picky)
    with pytest.raises(ObjectiveError, match=r"raised ValueError: no amines on molecule 'CCN'"):
        f(["CCO", "CCN"])
    with pytest.raises(ObjectiveError, match=r"returned 'high' \(str\) for 'CCS'"):
        f(["CCS"])
    assert math.isnan(FunctionObjective(lambda s: None)(["C"])[0])


def test_check_scores_validates_length_and_type():
    with pytest.raises(ObjectiveError, match=r"returned 1 values for 2 molecules"):
        check_scores([1.0], ["C", "CC"], "x")
    with pytest.raises(ObjectiveError, match=r"returned None for a batch of 2"):
        check_scores(None, ["C", "CC"], "x")
    with pytest.raises(ObjectiveError, match=r"returned 'ab' \(str\) for 'CC'"):
        check_scores([1.0, "ab"], ["C", "CC"], "x")
    with pytest.raises(ObjectiveError, match=r"shape \(2, 1\)"):
        check_scores(np.ones((2, 1)), ["C", "CC"], "x")
    out = check_scores([1, None, float("inf")], ["C", "CC", "CCC"], "x")
    assert out[0] == 1.0 and math.isnan(out[1]) and math.isnan(out[2])


def test_register_a_custom_objective():
    class Length(Objective):
        name = "length"
        description = "SMILES length"

        def __call__(self, smiles):
            return np.array([len(s) for s in smiles], dtype=float)

    register("test-length", Length, description="SMILES length", direction="minimize")
    try:
        assert available()["test-length"].source == "plug-in"
        assert get_objective("test-length")(["CCO"])[0] == 3.0
    finally:
        del REGISTRY["test-length"]


def test_decorator_without_arguments():
    @objective
    def f(smiles):
        """One line."""
        return 2.0

    assert isinstance(f, Objective)
    assert f.description == "One line." and f(["C"])[0] == 2.0


def _sometimes_hangs(smiles: str) -> float:
    import time

    if smiles == "CCCC":
        time.sleep(60)
    return float(len(smiles))


def test_a_molecule_that_hangs_scores_nan_after_the_timeout_and_the_rest_are_scored():
    import time

    from llmga.objectives._timeout import TimeoutObjective

    limited = TimeoutObjective(FunctionObjective(_sometimes_hangs), timeout=1.0)
    clock = time.perf_counter()
    with pytest.warns(RuntimeWarning, match=r"'_sometimes_hangs' timed out after 1 s on molecule 'CCCC'"):
        scores = limited(["CC", "CCCC", "CCCCC"])
    assert time.perf_counter() - clock < 15
    assert scores[0] == 2.0 and math.isnan(scores[1]) and scores[2] == 5.0
    assert limited.failures == [("CCCC", "timed out after 1 s")]


def test_a_run_with_an_objective_timeout_goes_on_past_a_hanging_molecule(tmp_path):
    import llmga

    def slow_on_nitro(smiles: str) -> float:
        import time

        if "[N+](=O)[O-]" in smiles:
            time.sleep(30)
        return float(len(smiles))

    with pytest.warns(RuntimeWarning, match="timed out after 0.5 s"):
        result = llmga.optimize(
            slow_on_nitro, budget=150, seed=0, llm="none", objective_timeout=0.5, out=str(tmp_path / "run")
        )
    nitro = result.evaluations[result.evaluations["smiles"].str.contains(r"\[N\+\]\(=O\)\[O-\]", regex=True)]
    assert len(nitro) >= 1 and nitro["score"].isna().all()
    assert result.summary["calls"] == 150
