from __future__ import annotations

import numpy as np
import pytest

from llmga.engine import select
from llmga.engine._selection import _proportional_weights


def test_proportional_matches_pmo_for_non_negative_scores():
    np.testing.assert_allclose(_proportional_weights(np.array([1.0, 3.0])), [0.25, 0.75])


def test_negative_fitness_is_shifted_so_the_best_is_most_likely():
    # e.g. logP values below zero, or a minimised score (fitness = -score)
    w = _proportional_weights(np.array([-3.0, -1.0, 1.0]))
    np.testing.assert_allclose(w, [0.0, 2 / 6, 4 / 6])
    np.testing.assert_allclose(_proportional_weights(np.array([-2.0, -2.0])), [0.5, 0.5])


@pytest.mark.parametrize("method", ["proportional", "rank", "tournament"])
def test_selection_prefers_fitter_members_and_is_seeded(method):
    fitness = np.array([-5.0, 0.0, 1.0, 10.0])
    picks = select(fitness, 4000, np.random.default_rng(0), method)
    counts = np.bincount(picks, minlength=4)
    assert counts[3] > counts[2] > counts[0]
    again = select(fitness, 4000, np.random.default_rng(0), method)
    np.testing.assert_array_equal(picks, again)


def test_unknown_method():
    with pytest.raises(ValueError, match="unknown selection method 'best'"):
        select([1.0], 1, np.random.default_rng(0), "best")


def test_quantile_selection_draws_equally_from_log_spaced_top_fractions():
    fitness = -np.arange(120.0)  # member 0 is the best, 119 the worst; sign does not matter
    picks = select(fitness, 25_000, np.random.default_rng(0), "quantile")
    counts = np.bincount(picks, minlength=120) / len(picks)
    tops = np.maximum(1, np.ceil(np.logspace(-3, 0, 25) * 120).astype(int))
    expected = np.array([np.sum((i < tops) / tops) for i in range(120)]) / 25
    assert expected[0] == pytest.approx(0.426, abs=0.001)  # the best: the 10 smallest fractions hold only it
    assert counts[0] == pytest.approx(expected[0], abs=0.01)
    assert counts[60] == pytest.approx(expected[60], abs=0.002)
    assert counts[119] > 0  # everyone keeps a chance
    assert len(select(fitness, 7, np.random.default_rng(1), "quantile")) == 7
