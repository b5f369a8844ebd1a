from __future__ import annotations

import numpy as np
import pytest

from llmga.engine._shares import AdaptivePursuit, ShareRule


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
