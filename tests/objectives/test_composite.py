from __future__ import annotations

import json
import math

import numpy as np
import pytest

from llmga.errors import ObjectiveError
from llmga.objectives import get_objective
from llmga.objectives.composite import TRANSFORMS, Component, CompositeObjective
from tests.conftest import ASPIRIN, CAFFEINE, IBUPROFEN

X = np.array([0.0, 2.0, 4.0, 6.0, 8.0])


def test_transforms_have_the_shapes_their_names_promise():
    sig = TRANSFORMS["sigmoid"](X, 2.0, 6.0, 0.25)
    assert sig[2] == pytest.approx(0.5) and sig[0] < 0.01 and sig[4] > 0.99 and np.all(np.diff(sig) > 0)
    np.testing.assert_allclose(TRANSFORMS["reverse_sigmoid"](X, 2.0, 6.0, 0.25), 1 - sig)
    window = TRANSFORMS["double_sigmoid"](X, 2.0, 6.0, 0.25)
    assert window[2] > 0.95 and window[0] < 0.05 and window[4] < 0.05
    np.testing.assert_array_equal(TRANSFORMS["step"](X, 2.0, 6.0, 0.25), [0, 1, 1, 1, 0])
    np.testing.assert_allclose(TRANSFORMS["clip"](X, 2.0, 6.0, 0.25), [0, 0, 0.5, 1, 1])


def test_aggregates_combine_components_as_defined():
    qed, logp = get_objective("qed"), get_objective("logp")
    mols = [ASPIRIN, CAFFEINE, IBUPROFEN]
    q, lp = qed(mols), logp(mols)
    d_logp = TRANSFORMS["clip"](lp, 0.0, 5.0, 0.25)
    parts = [
        Component(qed, weight=2.0, transform="clip", low=0.0, high=1.0),
        Component(logp, transform="clip", high=5.0),
    ]
    np.testing.assert_allclose(CompositeObjective(parts, "sum")(mols), (2 * q + d_logp) / 3)
    np.testing.assert_allclose(CompositeObjective(parts, "geometric")(mols), (q**2 * d_logp) ** (1 / 3))
    np.testing.assert_allclose(CompositeObjective(parts, "product")(mols), q**2 * d_logp)
    raw = CompositeObjective([Component(qed), Component(get_objective("sa"))], "sum")
    np.testing.assert_allclose(raw(mols), (q - get_objective("sa")(mols)) / 2)  # minimised SA enters negated
    assert set(raw.last_components) == {"qed", "sa"}
    assert math.isnan(raw(["not a molecule"])[0])


def test_a_campaign_table_and_a_json_spec_build_the_same_objective(tmp_path):
    from llmga.config import Config, read_campaign

    path = tmp_path / "c.toml"
    path.write_text(
        '[objective]\nname = "composite"\naggregate = "geometric"\ncomponents = [\n'
        '  {objective = "qed", transform = "sigmoid", low = 0.3, high = 0.8, weight = 2},\n'
        '  {objective = "sa", transform = "reverse_sigmoid", low = 2.5, high = 5.0},\n]\n'
    )
    config = Config(**read_campaign(path))
    assert config.objective.startswith("composite:")
    objective = get_objective(config.objective)
    assert objective.aggregate == "geometric" and [c.weight for c in objective.components] == [2.0, 1.0]
    assert objective.description == "geometric of 2 x sigmoid(qed), 1 x reverse_sigmoid(sa)"
    again = get_objective("composite:" + json.dumps(json.loads(config.objective[len("composite:") :])))
    np.testing.assert_allclose(again([ASPIRIN]), objective([ASPIRIN]))
    assert 0 < objective([ASPIRIN])[0] < 1


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("composite:{", "composite objective: "),
        ('composite:{"components": [{"objective": "qed"}], "aggregate": "max"}', "aggregate 'max' is not valid"),
        ('composite:{"components": [{"objective": "qed"}], "aggregate": "geometric"}', "give 'qed' a transform"),
        ('composite:{"components": [{"objective": "qed", "transfrom": "clip"}]}', "key 'transfrom' is not valid"),
        ('composite:{"components": [{"objective": "qed", "transform": "cosine"}]}', "transform 'cosine'"),
        ('composite:{"components": [{"objective": "qedd"}]}', "unknown objective 'qedd'"),
    ],
)
def test_bad_composites_name_the_problem(spec, message):
    with pytest.raises(ObjectiveError, match=message):
        get_objective(spec)
