from __future__ import annotations

import math

import numpy as np
import pytest

from llmga.metrics import mean_pairwise_similarity, top_k_auc, top_k_curve, top_k_mean


def staircase() -> np.ndarray:
    # 250 calls: score 1 for calls 1-100, 2 for 101-200, 3 for 201-250.
    return np.array([1.0] * 100 + [2.0] * 100 + [3.0] * 50)


def test_top1_auc_of_hand_built_buffer_with_early_stop_extension():
    # Checkpoints at 100 and 200 calls (top-1 = 1 and 2), trapezoids from 0:
    #   100*(1+0)/2 + 100*(2+1)/2 = 200; last partial interval 50*(3+2)/2 = 125;
    #   flat extension (1000-250)*3 = 2250; total 2575 / budget 1000.
    assert top_k_auc(staircase(), 1, 1000) == pytest.approx(2.575)
    assert top_k_auc(staircase(), 1, 1000, finish=False) == pytest.approx(0.325)


def test_top10_auc_hand_computed():
    scores = np.arange(1.0, 151.0)  # call i scores i
    # Checkpoint 100: top-10 mean = mean(91..100) = 95.5. End (150): mean(141..150) = 145.5.
    # 100*95.5/2 + 50*(145.5+95.5)/2 + (200-150)*145.5 = 4775 + 6025 + 7275 = 18075.
    assert top_k_auc(scores, 10, 200) == pytest.approx(18075 / 200)


def test_run_that_uses_the_whole_budget_has_no_extension():
    scores = np.full(300, 0.5)
    # Checkpoints 100, 200; final segment 100 at 0.5: 100*0.25 + 100*0.5 + 100*0.5 = 125.
    assert top_k_auc(scores, 10, 300) == pytest.approx(125 / 300)
    # Scores past the budget are ignored.
    assert top_k_auc(np.concatenate([scores, [99.0]]), 10, 300) == pytest.approx(125 / 300)


def test_fewer_than_k_scores_average_what_exists():
    assert top_k_mean([3.0, 1.0], 10) == pytest.approx(2.0)
    assert top_k_auc([2.0, 4.0], 10, 2, freq=100) == pytest.approx((2 * 3.0 / 2) / 2)


def test_nan_scores_never_enter_the_top_k():
    assert top_k_mean([np.nan, 1.0, 5.0], 1) == 5.0
    assert math.isnan(top_k_mean([np.nan], 1))
    assert top_k_auc([np.nan] * 50 + [1.0] * 50, 1, 100) == pytest.approx(0.5)


def test_minimised_scores_mirror_maximised():
    s = staircase()
    assert top_k_mean(-s, 10, "minimize") == pytest.approx(-3.0)
    assert top_k_auc(-s, 1, 1000, direction="minimize") == pytest.approx(-2.575)


def test_curve_matches_brute_force(rng):
    scores = rng.normal(size=537)
    checkpoints = [1, 5, 100, 200, 537]
    brute = [np.mean(np.sort(scores[:n])[::-1][:10]) for n in checkpoints]
    np.testing.assert_allclose(top_k_curve(scores, 10, checkpoints), brute)


def test_bad_budget():
    with pytest.raises(ValueError, match="budget must be positive"):
        top_k_auc([1.0], 1, 0)


def test_mean_pairwise_similarity_is_1_for_one_molecule_and_low_for_unrelated_ones():
    assert mean_pairwise_similarity(["CCO", "OCC"]) == pytest.approx(1.0)  # one molecule, two spellings
    aspirin, caffeine, ibuprofen = "CC(=O)Oc1ccccc1C(=O)O", "Cn1cnc2c1c(=O)n(C)c(=O)n2C", "CC(C)Cc1ccc(C(C)C(=O)O)cc1"
    unrelated = mean_pairwise_similarity([aspirin, caffeine, ibuprofen, "not a molecule"])
    assert 0.0 < unrelated < 0.2  # three pairs of unrelated drugs; the invalid SMILES is left out
    assert math.isnan(mean_pairwise_similarity([aspirin]))
