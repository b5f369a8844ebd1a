"""Built-in objectives computed with RDKit: one-line descriptors and similarity."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from rdkit import Chem, DataStructs
from rdkit.Chem import QED, Crippen, Descriptors, rdFingerprintGenerator, rdMolDescriptors

from llmga.chem import canonical, to_mol
from llmga.errors import ObjectiveError
from llmga.objectives._base import MolObjective, Objective
from llmga.objectives._sascore import sa_score

__all__ = [
    "DESCRIPTORS",
    "SimilarityObjective",
    "descriptor_objective",
    "penalized_logp",
    "sa_score",
]

# Penalized logP standardisation: mean and standard deviation of each term over
# ZINC 250k, as used by JT-VAE (Jin et al. 2018) and GCPN (You et al. 2018).
_PLOGP_STATS = {
    "logp": (2.4570953396190123, 1.434324401111988),
    "sa": (-3.0525811293166134, 0.8335207024513095),
    "cycle": (-0.0485696876403053, 0.2860212110245455),
}


def _long_ring_penalty(mol: Chem.Mol) -> float:
    """Atoms by which the largest ring exceeds six (0 when no ring is larger)."""
    rings = mol.GetRingInfo().AtomRings()
    largest = max((len(r) for r in rings), default=0)
    return float(max(largest - 6, 0))


def penalized_logp(mol: Chem.Mol) -> float:
    """logP − SA − long-ring penalty, each term standardised over ZINC 250k."""
    terms = {
        "logp": Crippen.MolLogP(mol),  # type: ignore[attr-defined]  # RDKit stubs miss it
        "sa": -sa_score(mol),
        "cycle": -_long_ring_penalty(mol),
    }
    return float(sum((terms[k] - mu) / sd for k, (mu, sd) in _PLOGP_STATS.items()))


# RDKit defines several descriptors as lambdas or Boost functions, which cannot be sent to worker
# processes; these module-level wrappers can, so the built-ins are scored on every core.
def crippen_logp(mol: Chem.Mol) -> float:
    return float(Crippen.MolLogP(mol))  # type: ignore[attr-defined]  # RDKit stubs miss it


def molecular_weight(mol: Chem.Mol) -> float:
    return float(Descriptors.MolWt(mol))  # type: ignore[attr-defined]


def tpsa(mol: Chem.Mol) -> float:
    return float(rdMolDescriptors.CalcTPSA(mol))


# name -> (function of a Mol, direction, one-line description)
DESCRIPTORS: dict[str, tuple[Callable[[Chem.Mol], float], str, str]] = {
    "logp": (
        crippen_logp,
        "maximize",
        "Crippen octanol-water partition coefficient logP (higher is more lipophilic)",
    ),
    "qed": (QED.qed, "maximize", "Quantitative estimate of drug-likeness QED (Bickerton 2012), 0 to 1"),
    "sa": (sa_score, "minimize", "Synthetic accessibility score (Ertl 2009), 1 easy to 10 hard to make"),
    "plogp": (
        penalized_logp,
        "maximize",
        "Penalized logP: logP minus SA score minus long-ring penalty, each standardised on ZINC 250k",
    ),
    "mw": (
        molecular_weight,
        "maximize",
        "Molecular weight in g/mol (average atomic masses)",
    ),
    "tpsa": (tpsa, "maximize", "Topological polar surface area in square angstroms (Ertl 2000)"),
}


_CARDS = {
    "qed": (
        "QED (Bickerton 2012) is the geometric mean of desirability functions of eight properties fitted to "
        "oral drugs: molecular weight (best near 300), logP (near 2.5-3), H-bond acceptors and donors (few), "
        "polar surface area (near 50-90), rotatable bonds (few), aromatic rings (1-2) and structural alerts "
        "(none). Its maximum is about 0.948; small, rigid, drug-like molecules without reactive groups score highest."
    ),
    "sa": (
        "SA score (Ertl and Schuffenhauer 2009): fragment contributions learned from PubChem frequencies minus "
        "a complexity penalty for size, stereocentres, spiro and bridgehead atoms and macrocycles; 1 is easy "
        "to make, 10 very hard. Lower is better."
    ),
    "plogp": (
        "Penalized logP = standardised Crippen logP - standardised SA score - standardised count of atoms by "
        "which the largest ring exceeds six (JT-VAE's definition). Long lipophilic chains and halogenated "
        "aromatics raise it; large rings and hard-to-make structures lower it."
    ),
}


def descriptor_objective(name: str) -> MolObjective:
    """The built-in RDKit descriptor ``name`` (a key of :data:`DESCRIPTORS`) as an objective."""
    fn, direction, description = DESCRIPTORS[name]
    return MolObjective(fn, name=name, direction=direction, description=description, card=_CARDS.get(name, ""))


class SimilarityObjective(Objective):
    """Tanimoto similarity to a target molecule on Morgan fingerprints (radius 2, 2048 bits)."""

    direction = "maximize"

    def __init__(self, target: str, *, radius: int = 2, n_bits: int = 2048) -> None:
        mol = to_mol(target) if isinstance(target, str) else None
        if mol is None:
            raise ObjectiveError(
                f"similarity target {target!r} is not a valid SMILES; give one such as "
                "similarity(target=CC(=O)Oc1ccccc1C(=O)O)"
            )
        self.target = canonical(mol) or target
        self.radius = int(radius)
        self.n_bits = int(n_bits)
        self._gen = rdFingerprintGenerator.GetMorganGenerator(radius=self.radius, fpSize=self.n_bits)
        self._target_fp = self._gen.GetFingerprint(mol)
        self.name = "similarity"
        self.description = (
            f"Tanimoto similarity (Morgan radius {self.radius}, {self.n_bits} bits) "
            f"to the target molecule {self.target}"
        )

    @property
    def params(self) -> dict[str, Any]:
        return {"target": self.target, "radius": self.radius, "n_bits": self.n_bits}

    # RDKit's fingerprint generator cannot be pickled: worker processes rebuild it from the parameters.
    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k not in ("_gen", "_target_fp")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._gen = rdFingerprintGenerator.GetMorganGenerator(radius=self.radius, fpSize=self.n_bits)
        self._target_fp = self._gen.GetFingerprint(to_mol(self.target))

    def prompt_card(self, hide_names: bool = False) -> str:
        return (
            f"The score is the Tanimoto similarity (0 to 1) between the molecule's Morgan fingerprint "
            f"(radius {self.radius}, {self.n_bits} bits) and that of {self.target}; only the target itself scores 1."
        )

    def __call__(self, smiles: Sequence[str]) -> np.ndarray:
        out = np.full(len(smiles), np.nan)
        mols = [to_mol(s) for s in smiles]
        ok = [i for i, m in enumerate(mols) if m is not None]
        fps = [self._gen.GetFingerprint(mols[i]) for i in ok]
        if fps:
            out[ok] = DataStructs.BulkTanimotoSimilarity(self._target_fp, fps)
        return out
