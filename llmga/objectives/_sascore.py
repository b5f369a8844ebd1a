"""Synthetic accessibility score (Ertl & Schuffenhauer, J. Cheminf. 2009, 1:8).

The score combines a fragment contribution — the mean, over the molecule's
Morgan radius-2 environments, of each environment's log-frequency in PubChem —
with a complexity penalty (size, stereocentres, spiro and bridgehead atoms,
macrocycles) and a symmetry correction, and maps the sum onto 1 (easy) .. 10
(hard). The fragment table is the one RDKit distributes in its Contrib
folder (``SA_Score/fpscores.pkl.gz``).
"""

from __future__ import annotations

import functools
import gzip
import math
import os
import pickle
from typing import Any

from rdkit import Chem, RDConfig
from rdkit.Chem import rdFingerprintGenerator, rdMolDescriptors

from llmga.errors import ObjectiveError

__all__ = ["sa_score"]

_UNKNOWN_FRAGMENT = -4.0  # contribution of an environment never seen in PubChem


def _table_path() -> str:
    return os.path.join(RDConfig.RDContribDir, "SA_Score", "fpscores.pkl.gz")


@functools.cache
def _fragment_scores() -> dict[int, float]:
    path = _table_path()
    if not os.path.exists(path):
        raise ObjectiveError(
            f"the SA-score fragment table {path} is missing; reinstall RDKit "
            "(`pip install --force-reinstall rdkit`), whose wheel ships it in Contrib/SA_Score"
        )
    with gzip.open(path, "rb") as fh:
        rows = pickle.load(fh)  # noqa: S301 - data file shipped by RDKit itself
    table: dict[int, float] = {}
    for row in rows:
        score = float(row[0])
        for bit in row[1:]:
            table[int(bit)] = score
    return table


@functools.cache
def _morgan2() -> Any:
    return rdFingerprintGenerator.GetMorganGenerator(radius=2)


def sa_score(mol: Chem.Mol) -> float:
    """Synthetic accessibility of ``mol`` between 1 (easy to make) and 10 (hard)."""
    table = _fragment_scores()
    counts = _morgan2().GetSparseCountFingerprint(mol).GetNonzeroElements()
    n_env = sum(counts.values())
    fragment = sum(table.get(bit, _UNKNOWN_FRAGMENT) * n for bit, n in counts.items())
    fragment /= max(n_env, 1)

    n_atoms = mol.GetNumAtoms()
    n_stereo = len(Chem.FindMolChiralCenters(mol, includeUnassigned=True))  # type: ignore[no-untyped-call]
    n_spiro = rdMolDescriptors.CalcNumSpiroAtoms(mol)
    n_bridge = rdMolDescriptors.CalcNumBridgeheadAtoms(mol)
    has_macrocycle = any(len(ring) > 8 for ring in mol.GetRingInfo().AtomRings())
    complexity = (
        (n_atoms**1.005 - n_atoms)
        + math.log10(n_stereo + 1)
        + math.log10(n_spiro + 1)
        + math.log10(n_bridge + 1)
        + (math.log10(2) if has_macrocycle else 0.0)
    )
    # Symmetric molecules have few distinct environments for their size.
    symmetry = 0.5 * math.log(n_atoms / len(counts)) if n_atoms > len(counts) else 0.0

    raw = fragment - complexity + symmetry
    low, high = -4.0, 2.5
    score = 11.0 - (raw - low + 1.0) / (high - low) * 9.0
    if score > 8.0:  # smooth the hard end
        score = 8.0 + math.log(score - 8.0)
    return min(max(score, 1.0), 10.0)
