from __future__ import annotations

import numpy as np
import pytest

from llmga.engine._shares import SHARE_RULES, AdaptivePursuit, ProbabilityMatching, ShareRule


def test_fixed_shares_are_normalised_and_never_move():
    rule = ShareRule([1.0, 3.0])
    rule.update([1.0, 0.0])
    np.testing.assert_allclose(rule.shares, [0.25, 0.75])


def test_pursuit_converges_to_the_best_recipe_and_respects_the_floor():
    rule = AdaptivePursuit([0.5, 0.3, 0.2], alpha=0.5, beta=0.5, floor=0.05)
    for _ in range(30):
        rule.update([0.1, 0.6, 0.2])
    np.testing.assert_allclose(rule.shares, [0.05, 0.9, 0.05], atol=1e-6)
    # The winner changes: pursuit follows within a few generations.
    for _ in range(8):
        rule.update([0.9, 0.1, 0.2])
    assert np.argmax(rule.shares) == 0 and rule.shares[0] > 0.8
    assert rule.shares.sum() == pytest.approx(1.0)


def test_recipes_without_children_keep_their_estimate():
    rule = AdaptivePursuit([0.5, 0.5], alpha=0.5)
    rule.update([0.4, None])
    assert rule.quality[0] == 0.4 and np.isnan(rule.quality[1])
    assert rule.shares[0] > 0.5
    with pytest.raises(ValueError, match="between 0 and 1/2"):
        AdaptivePursuit([0.5, 0.5], floor=0.7)


def test_matching_gives_shares_in_proportion_to_credit_above_the_floor():
    rule = ProbabilityMatching([0.5, 0.3, 0.2], alpha=1.0, floor=0.05)
    rule.update([0.1, 0.6, 0.3])
    # 0.05 each, and the remaining 0.85 split 1 : 6 : 3
    np.testing.assert_allclose(rule.shares, [0.05 + 0.085, 0.05 + 0.51, 0.05 + 0.255])
    # An improving recipe gains share step by step instead of all at once (alpha 0.5).
    slow = ProbabilityMatching([0.5, 0.5], alpha=0.5, floor=0.05)
    slow.update([0.2, 0.2])
    shares = []
    for _ in range(4):
        slow.update([0.2, 0.6])
        shares.append(slow.shares[1])
    assert shares == sorted(shares) and 0.5 < shares[0] < shares[-1] < 0.05 + 0.9 * 0.75 + 1e-9
    assert slow.shares.sum() == pytest.approx(1.0)


def test_matching_starts_an_uncredited_recipe_at_the_mean_and_waits_for_any_credit():
    rule = ProbabilityMatching([0.25, 0.25, 0.5], alpha=1.0, floor=0.0)
    rule.update([0.0, 0.0, None])
    np.testing.assert_allclose(rule.shares, [0.25, 0.25, 0.5])  # nothing earned yet: no move
    rule.update([0.2, 0.4, None])
    np.testing.assert_allclose(rule.shares, [0.2, 0.4, 0.3] / np.float64(0.9))  # the third at the mean, 0.3
    with pytest.raises(ValueError, match="between 0 and 1/2"):
        ProbabilityMatching([0.5, 0.5], floor=0.7)
    assert set(SHARE_RULES) == {"pursuit", "matching"}


def test_the_config_knows_the_engine_s_share_rules_and_a_run_uses_the_one_it_names(tmp_path):
    import llmga
    from llmga.config import SHARE_RULE_NAMES

    assert set(SHARE_RULE_NAMES) == set(SHARE_RULES)
    runs = {
        rule: llmga.optimize(
            "qed", budget=160, population=20, offspring=20, llm="none", share_rule=rule, seed=0, workers=1,
            out=str(tmp_path / rule),
        ).history
        for rule in SHARE_RULES
    }  # fmt: skip
    shares = {rule: h[[c for c in h.columns if c.startswith("share:")]].iloc[-1] for rule, h in runs.items()}
    assert not np.allclose(shares["pursuit"].to_numpy(), shares["matching"].to_numpy())
    assert all(s.sum() == pytest.approx(1.0) for s in shares.values())


def test_place_credit_counts_survivors_or_weighs_them_by_the_place_they_take():
    from llmga.engine import CREDITS, place_credit

    population = ["CCO", "c1ccccc1", "CCN", "CCC"]  # best first
    origin = {"CCO": 1, "CCN": 0, "CCC": 0}  # c1ccccc1 was there before
    assert place_credit(population, origin, 2) == [2.0, 1.0]
    assert place_credit(population, origin, 2, "rank") == [2 / 4 + 1 / 4, 1.0]  # places 3 and 4; place 1
    assert place_credit(population, {}, 2, "rank") == [0.0, 0.0]
    with pytest.raises(ValueError, match=r"'best'.*survival, rank"):
        place_credit(population, origin, 2, "best")
    with pytest.raises(ValueError, match="'best'"):
        ShareRule([0.5, 0.5], credit="best")
    assert set(CREDITS) == {"survival", "rank"}


def test_rank_credit_moves_shares_toward_the_recipe_whose_children_lead(tmp_path):
    """Two recipes whose children survive equally often: by survival they earn the same; by rank the one
    whose children take the top places earns more."""
    from llmga.config import SHARE_CREDITS
    from llmga.engine import CREDITS, place_credit

    assert set(SHARE_CREDITS) == set(CREDITS)
    population = [f"C{'C' * i}O" for i in range(10)]
    origin = {s: 0 for s in population[:3]} | {s: 1 for s in population[-3:]}
    for credit, equal in (("survival", True), ("rank", False)):
        rule = ProbabilityMatching([0.5, 0.5], alpha=1.0, floor=0.05, credit=credit)
        rule.credit([10, 10], place_credit(population, origin, 2, rule.credit_by))
        assert bool(rule.shares[0] == pytest.approx(rule.shares[1])) is equal
    assert rule.shares[0] == pytest.approx(0.05 + 0.9 * 27 / 33)  # places 1-3 earn 2.7, places 8-10 0.6


def test_a_run_credits_by_the_rule_it_names(tmp_path):
    import llmga

    runs = {
        credit: llmga.optimize(
            "qed", budget=160, population=20, offspring=20, llm="none", share_credit=credit, seed=0, workers=1,
            out=str(tmp_path / credit),
        )
        for credit in ("survival", "rank")
    }  # fmt: skip
    survived = {c: r.history[[k for k in r.history.columns if k.startswith("survived:")]] for c, r in runs.items()}
    first = {c: s.iloc[1].to_numpy(dtype=float) for c, s in survived.items()}  # generation 1: same children
    assert np.all(first["rank"] <= first["survival"] + 1e-9) and np.any(first["rank"] < first["survival"])
    assert runs["rank"].config.share_credit == "rank"
