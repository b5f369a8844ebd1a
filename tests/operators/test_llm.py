from __future__ import annotations

import dataclasses
import time
import warnings

import numpy as np
import pytest

from llmga import build_engine
from llmga.backends import Backend, Completion, ReplayBackend, Usage
from llmga.chem import canonical
from llmga.config import Config
from llmga.data import zinc250k
from llmga.engine import Recipe
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
    ga = build_engine(get_objective("qed"), config, zinc250k()[:500], recipes=recipes)
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
    assert records[0]["new"] == 1 and records[0]["reply_chars"] == len(tagged(KIDS[0])) + 5_000_000


# ------------------------------------------------------------ issue 16: reasoning models, timing, deadlines
class Scripted(Backend):
    """A backend that answers each batch with the next completions of a script (copies)."""

    name = "scripted"
    model = "script"

    def __init__(self, script, delay=0.0):
        self.script = list(script)
        self.delay = delay
        self.params = []

    def generate(self, prompts, params):
        self.params.append(params)
        time.sleep(self.delay)
        batch, self.script = self.script[: len(prompts)], self.script[len(prompts) :]
        return [dataclasses.replace(c, texts=list(c.texts), finish_reasons=list(c.finish_reasons)) for c in batch]


def test_reasoning_models_thinking_is_stripped_before_parsing():
    replies = [
        f"<think>maybe <smiles>{KIDS[3]}</smiles>? no.</think>\n{tagged(KIDS[0])}",
        f"the template opened the thinking: <smiles>{KIDS[4]}</smiles></think>{tagged(KIDS[1])}",
        f"<think>cut while thinking about <smiles>{KIDS[2]}</smiles>",
    ]
    records = []
    op = LLMMutation(ReplayBackend(replies), k=1, max_rounds=1, log=records.append)
    out = op.apply([[Parent(PARENT_A, 0.5, i)] for i in range(3)], np.random.default_rng(0), context())
    assert out[0] == [canonical(KIDS[0])] and out[1] == [canonical(KIDS[1])]
    assert isinstance(out[2][0], Child) and out[2][0].operator == "graph_mutation(fallback)"
    assert [r["parsed"] for r in records] == [1, 1, 0]
    assert "<think>" in records[0]["reply"]  # the log keeps what the model wrote


def test_each_call_record_has_its_own_send_time_finish_reason_and_failure_kind():
    script = [
        Completion(texts=[tagged(KIDS[0])], finish_reasons=["stop"], sent_at=1000.0),
        Completion(texts=[""], finish_reasons=["length"], sent_at=1002.5),  # a reasoning model that never answered
        Completion(error="RateLimitError: slow down", error_kind="rate_limit", sent_at=1003.0),
        Completion(error="deadline: too late", error_kind="deadline"),  # never sent
    ]
    records = []
    op = LLMMutation(Scripted(script), k=1, max_rounds=1, log=records.append)
    before = time.time()
    with pytest.warns(RuntimeWarning, match=r"3 of 4 requests to scripted:script failed"):
        op.apply([[Parent(PARENT_A, 0.5, i)] for i in range(4)], np.random.default_rng(0), context())
    assert [r["time"] for r in records[:3]] == [1000.0, 1002.5, 1003.0] and records[3]["time"] >= before
    assert [r["finish_reason"] for r in records] == ["stop", "length", "", ""]
    assert [r["error_kind"] for r in records] == ["", "length", "rate_limit", "deadline"]
    assert "--max-new-tokens" in records[1]["error"] and records[0]["error"] == ""
    assert [r["reply_chars"] for r in records] == [len(tagged(KIDS[0])), 0, 0, 0]
    usage = Usage()
    for record in records:
        usage.add(record)
    s = usage.summary()
    assert s["llm_errors"] == 3 and s["llm_failures"] == {"deadline": 1, "length": 1, "rate_limit": 1}
    assert s["llm_truncated"] == 1 and s["llm_failed_share"] == 0.75
    assert usage.failures_text() == "deadline 1, length 1, rate_limit 1"


def test_a_generation_past_its_llm_deadline_falls_back_and_asks_the_same_prompts_as_without_one():
    from llmga.operators.llm import GenerationDeadline

    class Punctual(Scripted):
        def generate(self, prompts, params):  # a backend that keeps deadlines, as the real ones do
            late = params.deadline is not None and time.monotonic() >= params.deadline
            out = super().generate(prompts, params)
            return [Completion(error="deadline: too late", error_kind="deadline") for _ in prompts] if late else out

    def run(deadline):
        slow = Punctual([Completion(texts=[tagged(KIDS[0])], finish_reasons=["stop"])] * 8, delay=0.12)
        records = []
        op = LLMMutation(slow, k=2, max_rounds=2, deadline=deadline, log=records.append)
        groups = [[Parent(PARENT_A, 0.5, 1)], [Parent(PARENT_B, 0.5, 2)]]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            out = op.apply(groups, np.random.default_rng(0), context())
        return slow, records, out

    deadline = GenerationDeadline(0.1)
    slow, records, out = run(deadline)
    assert [p.deadline for p in slow.params] == [deadline.until(0)] * 2  # every batch is told the deadline
    assert [r["error_kind"] for r in records] == ["", "", "deadline", "deadline"]  # round 2 came too late
    assert out[0][0] == canonical(KIDS[0]) and all(c.operator.endswith("(fallback)") for c in out[0][1:] + out[1])
    unhurried, plain_records, _ = run(None)
    assert [p.deadline for p in unhurried.params] == [None, None]
    assert [r["prompt"] for r in plain_records] == [r["prompt"] for r in records]  # the same prompts, whatever the time
    assert [p.seed for p in unhurried.params] == [p.seed for p in slow.params]
    # The crossover of the same generation shares the deadline; the next generation starts anew.
    first = deadline.until(0)
    assert first == slow.params[0].deadline and deadline.until(1) > first


@pytest.mark.parametrize(
    ("neutralize", "child"),
    [(False, "O=C(Nc1ccccc1C(=O)[O-])c1ccccc1"), (True, "O=C(Nc1ccccc1C(=O)O)c1ccccc1")],
)
def test_salts_in_replies_become_their_parent_and_neutralize_reaches_the_parser(neutralize, child):
    backend = ReplayBackend([tagged("[Na+].O=C([O-])c1ccccc1NC(=O)c1ccccc1", "CC(=O)Nc1ccc(O)cc1.Cl")])
    op = LLMMutation(backend, k=2, max_rounds=1, options=PromptOptions(neutralize=neutralize))
    (kids,) = op.apply([[Parent(PARENT_A, 0.6, 1)]], np.random.default_rng(0), context())
    assert kids == [child, "CC(=O)Nc1ccc(O)cc1"]
    assert op.card()["neutralize"] is neutralize


def test_the_memo_is_written_when_the_generation_before_is_told_and_shared_once():
    from llmga.operators import ExperienceMemo
    from llmga.prompting import Templates

    records: list[dict] = []
    backend = ReplayBackend(["- keep the amide", tagged(KIDS[0])])
    memo = ExperienceMemo(backend, Templates.load(None), every=2, probability=1.0, log=records.append, seed=7)
    a, b = LLMMutation(backend, memo=memo, k=1, max_rounds=1), LLMCrossover(backend, memo=memo)
    population = [Parent(PARENT_A, 0.9, 1), Parent(PARENT_B, 0.5, 2)]
    a.tell([], context(generation=0, population=population))  # generation 1 is not due
    assert records == []
    a.tell([], context(generation=1, population=population))
    b.tell([], context(generation=1, population=population))  # the same memo: written once
    assert [(r["operator"], r["generation"]) for r in records] == [("llm_memo", 2)]
    assert memo.for_prompt(np.random.default_rng(0)) == "Lessons from earlier generations:\n- keep the amide"
    # apply() only reads the memo: its one backend call is the mutation's.
    kids = a.apply([[population[0]]], np.random.default_rng(0), context(generation=2, population=population))
    assert len(backend.prompts) == 2 and "Lessons from earlier generations" in backend.prompts[1].text()
    assert [k.smiles if isinstance(k, Child) else k for k in kids[0]] == [KIDS[0]]
