"""Fingerprint conditions of the embedded model: which Morgan bits a written molecule should have.

A crossing model reads, beside its tokens, a 2048-bit Morgan fingerprint
(radius 2, the bits of :func:`llmga.chem.morgan`) through a small adapter,
and learns to write a molecule that has those bits. Training shows it the
bits of a connected *region* of the molecule it is about to write (from a
few atoms up to all of them), so it learns to keep the environments it is
given and to complete the rest as ZINC chemistry would. A crossover child
is then written from the bits of a region of one parent joined with the
bits of the complementary share of the other: no token copying is needed,
which a model of this size does not learn on a CPU budget.

An all-zero condition means "no condition": the model writes as the plain
language model does.
"""

from __future__ import annotations

from collections import deque

import numpy as np
from rdkit import Chem
from rdkit.Chem import rdFingerprintGenerator

from llmga.chem import morgan_generator, to_mol

__all__ = ["CONDITION_BITS", "crossover_condition", "region_bits"]

CONDITION_BITS = 2048  # the width of llmga.chem.morgan


def _bit_centres(mol: Chem.Mol) -> dict[int, list[int]]:
    """Each set Morgan bit and the atoms at the centre of the environments that set it."""
    info = rdFingerprintGenerator.AdditionalOutput()
    info.AllocateBitInfoMap()
    morgan_generator().GetFingerprint(mol, additionalOutput=info)
    return {int(bit): [int(atom) for atom, _ in envs] for bit, envs in info.GetBitInfoMap().items()}


def _region(mol: Chem.Mol, start: int, size: int) -> set[int]:
    """``size`` atoms connected to ``start``, in breadth-first order (a contiguous part of the molecule)."""
    seen = {start}
    queue = deque([start])
    order: list[int] = []
    while queue and len(order) < size:
        atom = queue.popleft()
        order.append(atom)
        for nb in mol.GetAtomWithIdx(atom).GetNeighbors():
            j = nb.GetIdx()
            if j not in seen:
                seen.add(j)
                queue.append(j)
    return set(order)


def region_bits(smiles: str | Chem.Mol, rng: np.random.Generator, share: float) -> np.ndarray | None:
    """Sorted Morgan bits of a random connected region holding ``share`` of the molecule's heavy atoms.

    A bit belongs to the region when one of the environments that set it is
    centred on a region atom. ``share`` 1 gives the whole fingerprint.
    ``None`` when the molecule does not parse.
    """
    mol = to_mol(smiles)
    if mol is None or mol.GetNumAtoms() == 0:
        return None
    centres = _bit_centres(mol)
    n = mol.GetNumAtoms()
    if share >= 1.0:
        return np.array(sorted(centres), dtype=np.int64)
    size = max(1, round(share * n))
    atoms = _region(mol, int(rng.integers(n)), size)
    return np.array(sorted(b for b, at in centres.items() if any(a in atoms for a in at)), dtype=np.int64)


def crossover_condition(
    a: str | Chem.Mol, b: str | Chem.Mol, rng: np.random.Generator, share: float
) -> np.ndarray | None:
    """The bits of a region of ``a`` holding ``share`` of its atoms joined with those of a region of ``b``
    holding the rest's share of its atoms."""
    bits_a = region_bits(a, rng, share)
    bits_b = region_bits(b, rng, 1.0 - share)
    if bits_a is None or bits_b is None:
        return None
    return np.union1d(bits_a, bits_b)
