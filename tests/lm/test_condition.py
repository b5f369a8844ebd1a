from __future__ import annotations

import numpy as np

from llmga.chem import morgan
from llmga.lm._condition import crossover_condition, region_bits
from tests.conftest import ASPIRIN, CAFFEINE, IBUPROFEN


def _on(smiles):
    return set(morgan(smiles).GetOnBits())


def test_the_whole_region_is_the_morgan_fingerprint():
    bits = region_bits(IBUPROFEN, np.random.default_rng(0), 1.0)
    assert set(bits.tolist()) == _on(IBUPROFEN)
    assert bits.tolist() == sorted(bits.tolist())


def test_a_region_is_part_of_the_fingerprint_and_grows_with_its_share():
    rng = np.random.default_rng(1)
    full = _on(CAFFEINE)
    sizes = {share: np.mean([len(region_bits(CAFFEINE, rng, share)) for _ in range(20)]) for share in (0.2, 0.5, 0.8)}
    for share in sizes:
        assert set(region_bits(CAFFEINE, rng, share).tolist()) <= full
    assert sizes[0.2] < sizes[0.5] < sizes[0.8] < len(full)
    assert region_bits("not a molecule", rng, 0.5) is None


def test_a_crossover_condition_joins_bits_of_both_parents():
    rng = np.random.default_rng(2)
    a, b = _on(ASPIRIN), _on(IBUPROFEN)
    for _ in range(10):
        bits = set(crossover_condition(ASPIRIN, IBUPROFEN, rng, rng.uniform(0.35, 0.65)).tolist())
        assert bits <= a | b
        assert bits & (a - b) and bits & (b - a)  # something of each parent that the other lacks
    assert crossover_condition(ASPIRIN, "C1CC", rng, 0.5) is None
