"""Small functional helpers over RDKit, used everywhere molecules are touched.

Every function takes SMILES or an RDKit ``Mol`` and never raises on a bad
molecule: it returns ``None`` instead, so callers decide what a failure means.
RDKit's own error log is silenced only inside :func:`quiet_rdkit` blocks.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator

from rdkit import Chem, DataStructs, rdBase
from rdkit.Chem import rdFingerprintGenerator

__all__ = ["canonical", "flat", "morgan", "morgan_generator", "quiet_rdkit", "to_mol", "to_smiles"]


@contextlib.contextmanager
def quiet_rdkit() -> Iterator[None]:
    """Block RDKit's log messages for the duration of the ``with`` block.

    Operators and the engine make many candidate molecules that are expected
    to fail sanitisation; their messages would drown the user's terminal.
    """
    blocker = rdBase.BlockLogs()
    try:
        yield
    finally:
        del blocker


def to_mol(smiles: str | Chem.Mol | None) -> Chem.Mol | None:
    """Parse ``smiles`` into a sanitised ``Mol``; ``None`` if it is not a valid molecule."""
    if smiles is None:
        return None
    if isinstance(smiles, Chem.Mol):
        return smiles
    if not isinstance(smiles, str) or not smiles.strip():
        return None
    with quiet_rdkit():
        return Chem.MolFromSmiles(smiles.strip())


def to_smiles(mol: Chem.Mol | None) -> str | None:
    """Canonical isomeric SMILES of ``mol``; ``None`` if RDKit cannot write it."""
    if mol is None:
        return None
    try:
        with quiet_rdkit():
            smiles: str = Chem.MolToSmiles(mol)
    except (RuntimeError, ValueError):
        return None
    return smiles or None


def canonical(smiles: str | Chem.Mol | None) -> str | None:
    """Canonical SMILES of a SMILES string or ``Mol``; ``None`` if invalid or empty."""
    return to_smiles(to_mol(smiles))


@functools.lru_cache(maxsize=4096)
def flat(smiles: str) -> str | None:
    """Canonical SMILES without stereochemistry (cached): the 2D molecule, as the embedded model writes it."""
    mol = to_mol(smiles)
    return None if mol is None else Chem.MolToSmiles(mol, isomericSmiles=False)


@functools.cache
def morgan_generator() -> rdFingerprintGenerator.FingerprintGenerator64:
    """The Morgan generator behind :func:`morgan` (radius 2, 2048 bits), for counts or bit information."""
    return rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)


def morgan(smiles: str | Chem.Mol | None) -> DataStructs.ExplicitBitVect | None:
    """Morgan fingerprint (radius 2, 2048 bits) of a SMILES string or ``Mol``; ``None`` if invalid."""
    mol = to_mol(smiles)
    return morgan_generator().GetFingerprint(mol) if mol is not None else None
