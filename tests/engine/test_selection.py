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
