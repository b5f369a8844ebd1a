from __future__ import annotations

import numpy as np
import pytest

from llmga.backends import ReplayBackend
from llmga.chem import canonical
from llmga.config import Config
from llmga.data import zinc250k
from llmga.engine import GeneticAlgorithm, Recipe
from llmga.objectives import get_objective
from llmga.operators import Child, GraphMutation, LLMCrossover, LLMMutation, Parent, PromptOptions, VariationContext

PARENT_A = "CC(C)(C)c1ccc2occ(CC(=O)Nc3ccccc3F)c2c1"
PARENT_B = "C[C@@H]1CC(Nc2cncc(-c3nncn3C)c2)C[C@@H](C)C1"
KIDS = [
    "CC(C)(C)c1ccc2occ(CC(=O)Nc3ccccc3Cl)c2c1",
    "CC(C)(C)c1ccc2occ(CC(=O)Nc3ccccc3)c2c1",
    "CC(C)(C)c1ccc2occ(CC(=O)Nc3ccccc3O)c2c1",
    "CC(C)(C)c1ccc2occ(CC(=O)Nc3ccccc3N)c2c1",
    "CC(C)c1ccc2occ(CC(=O)Nc3ccccc3F)c2c1",
]


def tagged(*smiles: str) -> str:
    return "\n".join(f"<smiles>{s}</smiles>" for s in smiles)


def context(**kw) -> VariationContext:
    base = dict(objective="qed", description="QED drug-likeness", direction="maximize", best_score=0.91)
    return VariationContext(**{**base, **kw})


def test_one_backend_call_per_generation_and_k_children_per_group():
    backend = ReplayBackend([tagged(*KIDS[:3])])
    op = LLMMutation(backend, k=3)
    groups = [[Parent(PARENT_A, 0.6, 1)] for _ in range(5)]
    out = op.apply(groups, np.random.default_rng(0), context())
    assert len(backend.batches[0]) == 5  # the whole generation in one call
    assert out[0] == [canonical(s) for s in KIDS[:3]]
    # The other groups got the same reply: repeats within the batch are dropped, the
    # second round asks again only for the four groups still short, then graph GA fills in.
    assert [len(b) for b in backend.batches] == [5, 4]
    assert all(isinstance(c, Child) and c.operator == "graph_mutation(fallback)" for c in out[1])
    assert len(out) == 5 and all(len(kids) == 3 for kids in out)


def test_parents_scored_molecules_and_invalid_text_are_dropped_then_filled_by_fallback():
    scored = canonical(KIDS[1])
    backend = ReplayBackend([tagged(PARENT_A, KIDS[1], "C1CC((", KIDS[2]) + "\n<smiles>CC</smiles>"])
    records = []
    op = LLMMutation(backend, k=3, max_rounds=1, log=records.append)
    (kids,) = op.apply([[Parent(PARENT_A, 0.6, 7)]], np.random.default_rng(0), context(is_scored={scored}.__contains__))
    assert kids[0] == canonical(KIDS[2])  # the only new, valid, filter-passing child
    assert [c.operator for c in kids[1:]] == ["graph_mutation(fallback)"] * 2
    (rec,) = records
    assert rec["parsed"] == 5 and rec["valid"] == 4 and rec["new"] == 1  # CC is valid but too small
    assert rec["parents"] == "7" and rec["operator"] == "llm_mutation" and rec["backend"] == "replay"
    assert "<smiles>" in rec["reply"] and PARENT_A in rec["prompt"]


def test_a_reply_that_is_a_parent_without_its_stereo_centres_is_not_new():
    flat_b = "CC1CC(Nc2cncc(-c3nncn3C)c2)CC(C)C1"  # PARENT_B, stereo dropped
    records = []
    op = LLMMutation(ReplayBackend([tagged(flat_b, KIDS[0])]), k=2, max_rounds=1, log=records.append)
    (kids,) = op.apply([[Parent(PARENT_B, 0.6, 3)]], np.random.default_rng(0), context())
    assert kids[0] == canonical(KIDS[0]) and records[0]["valid"] == 2 and records[0]["new"] == 1


def test_backend_errors_and_garbage_fall_back_and_are_logged():
    backend = ReplayBackend([TimeoutError("read timed out"), "I cannot help with that."])
    records = []
    op = LLMCrossover(backend, k=2, max_rounds=2, log=records.append)
    with pytest.warns(RuntimeWarning, match=r"1 of 1 requests to replay:replay failed in generation 0 \(TimeoutError"):
        (kids,) = op.apply([[Parent(PARENT_A, 0.5, 1), Parent(PARENT_B, 0.4, 2)]], np.random.default_rng(1), context())
    assert all(isinstance(c, Child) and c.operator == "graph_crossover(fallback)" for c in kids if c is not None)
    assert [r["error"] for r in records] == ["TimeoutError: read timed out", ""]
    assert records[1]["parsed"] == 0


def test_prompt_shows_objective_direction_parents_scores_and_k():
    backend = ReplayBackend([tagged(*KIDS[:2])])
    op = LLMCrossover(backend, k=2)
    op.apply(
        [[Parent(PARENT_A, 0.512, 1), Parent(PARENT_B, 0.3, 2)]],
        np.random.default_rng(0),
        context(direction="minimize"),
    )
    prompt = backend.prompts[0]
    assert prompt.messages[0].role == "system"
    user = prompt.messages[-1].content
    assert "QED drug-likeness" in user and "lower" in user and "0.91" in user
    assert f"<smiles>{PARENT_A}</smiles> score 0.512" in user and "exactly 2 SMILES" in user


def test_plain_style_samples_k_completions_of_one_child():
    backend = ReplayBackend(KIDS)
    op = LLMMutation(backend, k=4, options=PromptOptions(style="plain"))
    (kids,) = op.apply([[Parent(PARENT_A, 0.5, 1)]], np.random.default_rng(0), context())
    assert backend.prompts[0].text() == f"{PARENT_A}>>"
    assert kids == [canonical(s) for s in KIDS[:4]]


def test_hidden_objective_name():
    backend = ReplayBackend([tagged(KIDS[0])])
    op = LLMMutation(backend, k=1, options=PromptOptions(hide_objective_name=True))
    op.templates.texts["mutation"] = "Objective: [$objective] $parents $k"
    op.apply([[Parent(PARENT_A, 0.5, 1)]], np.random.default_rng(0), context(objective="celecoxib_rediscovery"))
    assert "Objective: []" in backend.prompts[0].text()


def test_llm_operator_in_a_run_labels_children_and_spends_no_call_on_repeats():
    replies = [tagged(*KIDS[i:] + KIDS[:i]) for i in range(5)]
    backend = ReplayBackend(replies)
    config = Config(budget=300, population=20, offspring=12, max_generations=3, workers=1)
    recipes = [Recipe(LLMMutation(backend, k=4), None, share=1.0), Recipe(None, GraphMutation(), share=1.0)]
    ga = GeneticAlgorithm(get_objective("qed"), config, zinc250k()[:500], recipes=recipes)
    result = ga.run()
    labels = {e.operator for e in result.evaluations if e.generation > 0}
    assert "llm_mutation" in labels and "graph_mutation(fallback)" in labels
    assert len(backend.batches) >= 3  # every generation asked the model, in batches
    assert all(len(batch) <= 2 for batch in backend.batches)  # 6 LLM children / k=4 -> 2 groups
    smiles = [e.smiles for e in result.evaluations]
    assert len(smiles) == len(set(smiles))


def test_invalid_k():
    with pytest.raises(ValueError, match="at least 1"):
        LLMMutation(ReplayBackend(["x"]), k=0)


def test_prompt_cards_reach_the_prompt_and_names_can_be_withheld():
    from llmga.objectives import get_objective

    obj = get_objective("celecoxib_rediscovery")
    ctx = context(
        objective=obj.name,
        description=obj.description,
        extra={"card": obj.prompt_card(), "card_hidden": obj.prompt_card(hide_names=True)},
    )
    shown = ReplayBackend([tagged(KIDS[0])])
    LLMMutation(shown, k=1).apply([[Parent(PARENT_A, 0.5, 1)]], np.random.default_rng(0), ctx)
    text = shown.prompts[0].text()
    assert "celecoxib" in text and "ECFP4" in text and "CC1=CC=C(C=C1)C1=CC(=NN1" in text
    hidden = ReplayBackend([tagged(KIDS[0])])
    LLMMutation(hidden, k=1, options=PromptOptions(hide_objective_name=True)).apply(
        [[Parent(PARENT_A, 0.5, 1)]], np.random.default_rng(0), ctx
    )
    text = hidden.prompts[0].text()
    assert "celecoxib" not in text.lower() and "ECFP4" in text and "CC1=CC=C(C=C1)C1=CC(=NN1" in text


def test_huge_replies_are_clipped_in_the_call_log():
    records = []
    backend = ReplayBackend([tagged(KIDS[0]) + "x" * 5_000_000])
    LLMMutation(backend, k=1, log=records.append).apply(
        [[Parent(PARENT_A, 0.5, 1)]], np.random.default_rng(0), context()
    )
    assert len(records[0]["reply"]) < 21_000 and "truncated: 5000" in records[0]["reply"]
    assert records[0]["new"] == 1
