"""The 19 RDKit-based GuacaMol tasks of the PMO benchmark, as llmga objectives.

PMO (Gao et al. 2022, "Sample Efficiency Matters") scores these tasks with
the oracles of the Therapeutics Data Commons, which wrap the goal-directed
benchmarks of GuacaMol (Brown et al. 2019). This module defines them again
from GuacaMol's definitions (its v2 suite): the same targets, fingerprints,
score modifiers, parameters and means, built from small parts:

* fingerprint kinds (``ECFP4``, ``ECFP6``, ``FCFP4``, ``FCFP6``, ``AP``,
  ``PHCO``) computed as GuacaMol computes them: unfolded count fingerprints
  for the Morgan and atom-pair kinds, and the Gobbi–Poppinger 2D pharmacophore
  bit set for ``PHCO``;
* score modifiers (:class:`Gaussian`, :class:`MinGaussian`,
  :class:`MaxGaussian`, :class:`Clipped`, :class:`Thresholded`);
* scorers (:class:`TanimotoScorer`, :class:`DescriptorScorer`,
  :class:`IsomerScorer`, :class:`SmartsScorer`) and their combinations
  (:class:`ArithmeticMean`, :class:`GeometricMean`).

Everything works on whole batches: each SMILES is parsed once per call, each
fingerprint kind and descriptor is computed once per molecule however many
terms use it, and target fingerprints are computed once per objective.
Molecules GuacaMol would give its "corrupt" score (-1) score NaN here.

:data:`GUACAMOL_TASKS` maps each task name to a factory and a one-line
description.
"""

from __future__ import annotations

import functools
import itertools
import re
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
from rdkit import Chem, DataStructs
from rdkit.Chem import Crippen, Descriptors, rdFingerprintGenerator, rdMolDescriptors

from llmga.chem import quiet_rdkit, to_mol
from llmga.errors import ObjectiveError
from llmga.objectives._base import Objective
from llmga.objectives._cards import render_spec

__all__ = [
    "DESCRIPTOR_FUNCTIONS",
    "FINGERPRINTS",
    "GUACAMOL_TASKS",
    "ArithmeticMean",
    "AtomCountScorer",
    "Clipped",
    "DescriptorScorer",
    "FingerprintKind",
    "Gaussian",
    "GeometricMean",
    "GuacamolObjective",
    "Identity",
    "IsomerScorer",
    "MaxGaussian",
    "MinGaussian",
    "Modifier",
    "MolBatch",
    "Pharm2DFingerprint",
    "Scorer",
    "SmartsScorer",
    "TanimotoScorer",
    "Thresholded",
    "make_task",
    "parse_formula",
]

Array = npt.NDArray[np.float64]
T = TypeVar("T")


# --------------------------------------------------------------------------
# A batch of parsed molecules with a per-call cache
# --------------------------------------------------------------------------


class MolBatch:
    """The valid molecules of one call, with whatever the scorers computed on them.

    Several terms of one score often need the same fingerprint or descriptor;
    :meth:`cached` computes each at most once per batch.
    """

    def __init__(self, mols: Sequence[Chem.Mol]) -> None:
        self.mols = list(mols)
        self._cache: dict[str, Any] = {}

    def __len__(self) -> int:
        return len(self.mols)

    def cached(self, key: str, compute: Callable[[], T]) -> T:
        """``compute()`` the first time ``key`` is asked for in this batch; the stored value after."""
        if key not in self._cache:
            self._cache[key] = compute()
        value: T = self._cache[key]
        return value


def _per_molecule(fn: Callable[[Chem.Mol], float], mols: Sequence[Chem.Mol]) -> Array:
    """``fn`` on each molecule as floats; NaN where it raises."""
    out = np.full(len(mols), np.nan)
    for i, mol in enumerate(mols):
        try:
            out[i] = float(fn(mol))
        except (ValueError, RuntimeError, ZeroDivisionError, OverflowError):
            continue
    return out


# --------------------------------------------------------------------------
# Score modifiers: map a raw value onto [0, 1]
# --------------------------------------------------------------------------


class Modifier(ABC):
    """Maps raw values (an array, NaN passing through) onto scores, usually in [0, 1]."""

    @abstractmethod
    def __call__(self, x: Array) -> Array:
        """The modified values."""

    @abstractmethod
    def spec(self) -> dict[str, Any]:
        """A JSON-serialisable description of this modifier."""


@dataclass(frozen=True)
class Identity(Modifier):
    """Leaves the value as it is."""

    def __call__(self, x: Array) -> Array:
        return np.asarray(x, dtype=float)

    def spec(self) -> dict[str, Any]:
        return {"type": "identity"}


@dataclass(frozen=True)
class Gaussian(Modifier):
    """A bell: 1.0 at ``mu``, falling off with width ``sigma`` on both sides."""

    mu: float
    sigma: float

    def __call__(self, x: Array) -> Array:
        z = (np.asarray(x, dtype=float) - self.mu) / self.sigma
        return np.exp(-0.5 * np.power(z, 2.0))

    def spec(self) -> dict[str, Any]:
        return {"type": "gaussian", "mu": float(self.mu), "sigma": float(self.sigma)}


@dataclass(frozen=True)
class MinGaussian(Modifier):
    """Half bell for "at most ``mu``": 1.0 up to ``mu``, Gaussian decay above it."""

    mu: float
    sigma: float

    def __call__(self, x: Array) -> Array:
        return Gaussian(self.mu, self.sigma)(np.maximum(np.asarray(x, dtype=float), self.mu))

    def spec(self) -> dict[str, Any]:
        return {"type": "min_gaussian", "mu": float(self.mu), "sigma": float(self.sigma)}


@dataclass(frozen=True)
class MaxGaussian(Modifier):
    """Half bell for "at least ``mu``": 1.0 from ``mu`` up, Gaussian decay below it."""

    mu: float
    sigma: float

    def __call__(self, x: Array) -> Array:
        return Gaussian(self.mu, self.sigma)(np.minimum(np.asarray(x, dtype=float), self.mu))

    def spec(self) -> dict[str, Any]:
        return {"type": "max_gaussian", "mu": float(self.mu), "sigma": float(self.sigma)}


@dataclass(frozen=True)
class Clipped(Modifier):
    """Linear ramp from (``lower_x``, ``low_score``) to (``upper_x``, ``high_score``), clipped to that range."""

    upper_x: float
    lower_x: float = 0.0
    high_score: float = 1.0
    low_score: float = 0.0

    def __post_init__(self) -> None:
        if not self.low_score < self.high_score or self.upper_x == self.lower_x:
            raise ObjectiveError(f"clipped modifier {self} needs low_score < high_score and upper_x != lower_x")

    def __call__(self, x: Array) -> Array:
        slope = (self.high_score - self.low_score) / (self.upper_x - self.lower_x)
        intercept = self.high_score - slope * self.upper_x
        return np.clip(slope * np.asarray(x, dtype=float) + intercept, self.low_score, self.high_score)

    def spec(self) -> dict[str, Any]:
        return {
            "type": "clipped",
            "upper_x": float(self.upper_x),
            "lower_x": float(self.lower_x),
            "high_score": float(self.high_score),
            "low_score": float(self.low_score),
        }


@dataclass(frozen=True)
class Thresholded(Modifier):
    """``min(x, threshold) / threshold``: linear up to ``threshold``, 1.0 beyond."""

    threshold: float

    def __call__(self, x: Array) -> Array:
        return np.minimum(np.asarray(x, dtype=float), self.threshold) / self.threshold

    def spec(self) -> dict[str, Any]:
        return {"type": "thresholded", "threshold": float(self.threshold)}


# --------------------------------------------------------------------------
# Fingerprints
# --------------------------------------------------------------------------


class FingerprintKind(ABC):
    """A fingerprint as GuacaMol computes it, with the Tanimoto similarity it uses."""

    name: str = ""

    @abstractmethod
    def compute(self, mol: Chem.Mol) -> Any:
        """The fingerprint of one molecule (``None`` if it cannot be computed)."""

    @abstractmethod
    def tanimoto(self, target: Any, fps: Sequence[Any]) -> Array:
        """Tanimoto similarity of ``target`` to each of ``fps`` (NaN where a fingerprint is ``None``)."""

    def compute_many(self, mols: Sequence[Chem.Mol]) -> list[Any]:
        """Fingerprints of ``mols``; ``None`` where one cannot be computed."""
        out: list[Any] = []
        for mol in mols:
            try:
                out.append(self.compute(mol))
            except (ValueError, RuntimeError):
                out.append(None)
        return out


class _CountFingerprint(FingerprintKind):
    """An unfolded count fingerprint from one of RDKit's fingerprint generators.

    GuacaMol uses RDKit's legacy ``GetMorganFingerprint`` /
    ``GetAtomPairFingerprint`` (sparse counts); the generators give the same
    features and counts, and Tanimoto on counts is sum(min) / sum(max).
    """

    def __init__(self, name: str, make: Callable[[], Any], summary: str) -> None:
        self.name = name
        self.summary = summary
        self._make = make

    @functools.cached_property
    def _generator(self) -> Any:
        return self._make()

    def compute(self, mol: Chem.Mol) -> Any:
        return self._generator.GetSparseCountFingerprint(mol)

    def tanimoto(self, target: Any, fps: Sequence[Any]) -> Array:
        out = np.full(len(fps), np.nan)
        ok = [i for i, fp in enumerate(fps) if fp is not None]
        if ok:
            out[ok] = DataStructs.BulkTanimotoSimilarity(target, [fps[i] for i in ok])
        return out


def _distance_bins(bins: Sequence[tuple[int, int]]) -> npt.NDArray[np.intp]:
    """Lookup table: topological distance -> index of its bin (-1 outside every bin)."""
    table = np.full(max(hi for _, hi in bins), -1, dtype=np.intp)
    for i, (lo, hi) in enumerate(bins):
        table[lo:hi] = i
    return table


def _bins_can_form_triangle(b1: tuple[int, int], b2: tuple[int, int], b3: tuple[int, int]) -> bool:
    """Whether three distance bins allow a triangle (upper ends of two reach the lower end of the third)."""
    return b1[1] + b2[1] >= b3[0] and b2[1] + b3[1] >= b1[0] and b3[1] + b1[1] >= b2[0]


class Pharm2DFingerprint(FingerprintKind):
    """Gobbi–Poppinger 2D pharmacophore fingerprint (``PHCO`` in GuacaMol), as a sorted array of bit ids.

    GuacaMol calls RDKit's ``Generate.Gen2DFingerprint`` with the
    ``Gobbi_Pharm2D`` signature factory, a pure-Python loop that takes a few
    milliseconds per molecule. This is the same fingerprint computed with
    array operations, bit for bit. The definition, from the factory:

    * eight single-atom feature families (acceptor, donor, acid, base,
      hydrophobe, aromatic and aliphatic ring-fusion atoms, unusual atom),
      sorted by name; feature family *f* at atom *a* is a point (*f*, *a*);
    * a pharmacophore is two or three points on distinct atoms whose pairwise
      shortest-path distances *d* all satisfy 2 <= d < 100, the distances put
      in bins [2,3), [3,4), ..., [7,8), [8,100);
    * its bit is fixed by the multiset of families and the binned distances;
      for three points with repeated families the distances are first put in
      a canonical order (RDKit's ``Utils.OrderTriangle``);
    * bits number two-point pharmacophores first (family pairs in
      lexicographic order, then distance bin), then three-point ones (family
      triples in lexicographic order, then the bin triples that can form a
      triangle, in lexicographic order).
    """

    name = "PHCO"
    summary = "Gobbi 2D pharmacophore fingerprint"

    @functools.cached_property
    def _tables(self) -> dict[str, Any]:
        from rdkit.Chem.Pharm2D import Gobbi_Pharm2D

        factory: Any = Gobbi_Pharm2D.factory
        if not (
            factory.shortestPathsOnly
            and not factory.useCounts
            and not factory.includeBondOrder
            and (factory.minPointCount, factory.maxPointCount) == (2, 3)
        ):  # pragma: no cover - RDKit's Gobbi factory has been fixed since 2003
            raise ObjectiveError("RDKit's Gobbi 2D pharmacophore factory has unexpected settings")
        families = factory.GetFeatFamilies()
        defs = factory.featFactory.GetFeatureDefs()
        patterns = []
        for family in families:
            smarts = [s for key, s in defs.items() if key.split(".", 1)[0] == family]
            if len(smarts) != 1:  # pragma: no cover - one definition per family in RDKit
                raise ObjectiveError(f"Gobbi family {family} has {len(smarts)} definitions, expected 1")
            patterns.append(Chem.MolFromSmarts(smarts[0]))
        bins = [tuple(b) for b in factory.GetBins()]
        n_fam, n_bins = len(families), len(bins)
        rank2 = np.full((n_fam, n_fam), -1, dtype=np.intp)
        for k, (a, b) in enumerate(itertools.combinations_with_replacement(range(n_fam), 2)):
            rank2[a, b] = k
        rank3 = np.full((n_fam, n_fam, n_fam), -1, dtype=np.intp)
        for k, (a, b, c) in enumerate(itertools.combinations_with_replacement(range(n_fam), 3)):
            rank3[a, b, c] = k
        triangles = [
            t
            for t in itertools.product(range(n_bins), repeat=3)
            if not factory.trianglePruneBins or _bins_can_form_triangle(bins[t[0]], bins[t[1]], bins[t[2]])
        ]
        scaffold = np.full((n_bins, n_bins, n_bins), -1, dtype=np.intp)
        for k, t in enumerate(triangles):
            scaffold[t] = k
        start3 = (n_fam * (n_fam + 1) // 2) * n_bins
        size = start3 + int(rank3.max() + 1) * len(triangles)
        if size != factory.GetSigSize():  # pragma: no cover - guards the numbering above
            raise ObjectiveError(f"2D pharmacophore numbering gives {size} bits, RDKit {factory.GetSigSize()}")
        return {
            "patterns": patterns,
            "bin_of": _distance_bins(bins),
            "min_d": bins[0][0],
            "max_d": bins[-1][1],
            "n_bins": n_bins,
            "rank2": rank2,
            "rank3": rank3,
            "scaffold": scaffold,
            "n_scaffolds": len(triangles),
            "start3": start3,
            "size": size,
        }

    @property
    def size(self) -> int:
        """Number of bits in the fingerprint."""
        size: int = self._tables["size"]
        return size

    def compute(self, mol: Chem.Mol) -> npt.NDArray[np.intp] | None:
        tb = self._tables
        fam_list: list[int] = []
        atom_list: list[int] = []
        for f, pattern in enumerate(tb["patterns"]):
            atoms = sorted(match[0] for match in mol.GetSubstructMatches(pattern))
            fam_list.extend([f] * len(atoms))
            atom_list.extend(atoms)
        if len(atom_list) < 2:
            return np.zeros(0, dtype=np.intp)
        fam = np.asarray(fam_list, dtype=np.intp)
        atom = np.asarray(atom_list, dtype=np.intp)
        dmat = Chem.GetDistanceMatrix(mol)[np.ix_(atom, atom)]
        ok = (dmat >= tb["min_d"]) & (dmat < tb["max_d"])  # also rules out a point paired with its own atom
        dist = np.where(ok, dmat, 0).astype(np.intp)
        ok = np.triu(ok, 1)
        bin_of, n_bins = tb["bin_of"], tb["n_bins"]

        # Two points p < q (points are ordered by family, then atom).
        p2, q2 = np.nonzero(ok)
        bits2 = tb["rank2"][fam[p2], fam[q2]] * n_bins + bin_of[dist[p2, q2]]

        # Three points p < q < r, every pair at an allowed distance.
        p, q, r = np.nonzero(ok[:, :, None] & ok[:, None, :] & ok[None, :, :])
        f0, f1, f2 = fam[p], fam[q], fam[r]
        d = np.stack([dist[p, q], dist[p, r], dist[q, r]], axis=1)
        d = d[np.arange(len(d))[:, None], self._canonical_order(f0, f1, f2, d)]
        scaffold = tb["scaffold"][bin_of[d[:, 0]], bin_of[d[:, 1]], bin_of[d[:, 2]]]
        if np.any(scaffold < 0):  # cannot happen for graph distances; RDKit would raise
            return None
        bits3 = tb["start3"] + tb["rank3"][f0, f1, f2] * tb["n_scaffolds"] + scaffold
        result: npt.NDArray[np.intp] = np.unique(np.concatenate([bits2, bits3]))
        return result

    @staticmethod
    def _canonical_order(
        f0: npt.NDArray[np.intp], f1: npt.NDArray[np.intp], f2: npt.NDArray[np.intp], d: npt.NDArray[np.intp]
    ) -> npt.NDArray[np.intp]:
        """Column order that puts the distances (d01, d02, d12) of each triangle in canonical order.

        Families come sorted (f0 <= f1 <= f2), so only repeated families need
        reordering; the rules are those of RDKit's ``Utils.OrderTriangle``.
        """
        order = np.tile(np.array([0, 1, 2], dtype=np.intp), (len(d), 1))
        d0, d1, d2 = d[:, 0], d[:, 1], d[:, 2]
        same3 = f0 == f2
        first2 = (f0 == f1) & ~same3
        last2 = (f1 == f2) & ~same3
        order[first2 & ~(d1 > d2)] = (0, 2, 1)
        order[last2 & ~(d0 > d1)] = (1, 0, 2)
        s0, s1, s2 = d0 + d1, d0 + d2, d1 + d2
        top = np.maximum(np.maximum(s0, s1), s2)
        c0 = same3 & (s0 == top)
        c1 = same3 & ~c0 & (s1 == top)
        c2 = same3 & ~c0 & ~c1
        order[c0 & ~(d0 > d1)] = (1, 0, 2)
        order[c1 & (d0 > d2)] = (0, 2, 1)
        order[c1 & ~(d0 > d2)] = (2, 0, 1)
        order[c2 & (d1 > d2)] = (1, 2, 0)
        order[c2 & ~(d1 > d2)] = (2, 1, 0)
        return order

    def tanimoto(self, target: Any, fps: Sequence[Any]) -> Array:
        mask = np.zeros(self.size, dtype=bool)
        mask[np.asarray(target, dtype=np.intp)] = True
        n_target = int(mask.sum())
        out = np.full(len(fps), np.nan)
        for i, bits in enumerate(fps):
            if bits is None:
                continue
            common = int(np.count_nonzero(mask[bits]))
            union = len(bits) + n_target - common
            out[i] = common / union if union else 0.0
        return out


def _morgan(radius: int, features: bool) -> Callable[[], Any]:
    def make() -> Any:
        invariants = rdFingerprintGenerator.GetMorganFeatureAtomInvGen() if features else None
        return rdFingerprintGenerator.GetMorganGenerator(radius=radius, atomInvariantsGenerator=invariants)

    return make


def _atom_pairs() -> Any:
    return rdFingerprintGenerator.GetAtomPairGenerator(maxDistance=10)


#: Fingerprint kinds by GuacaMol's name for them.
FINGERPRINTS: dict[str, FingerprintKind] = {
    "ECFP4": _CountFingerprint("ECFP4", _morgan(2, False), "ECFP4 (Morgan radius 2) count fingerprint"),
    "ECFP6": _CountFingerprint("ECFP6", _morgan(3, False), "ECFP6 (Morgan radius 3) count fingerprint"),
    "FCFP4": _CountFingerprint("FCFP4", _morgan(2, True), "FCFP4 (feature Morgan radius 2) count fingerprint"),
    "FCFP6": _CountFingerprint("FCFP6", _morgan(3, True), "FCFP6 (feature Morgan radius 3) count fingerprint"),
    "AP": _CountFingerprint("AP", _atom_pairs, "atom-pair count fingerprint (paths up to 10 bonds)"),
    "PHCO": Pharm2DFingerprint(),
}


def _fingerprint_kind(name: str) -> FingerprintKind:
    try:
        return FINGERPRINTS[name]
    except KeyError:
        raise ObjectiveError(f"unknown fingerprint {name!r}; use one of {', '.join(FINGERPRINTS)}") from None


# --------------------------------------------------------------------------
# Descriptors, as GuacaMol computes them
# --------------------------------------------------------------------------


def _count_rotatable(mol: Chem.Mol) -> float:
    return float(Descriptors.NumRotatableBonds(mol))  # type: ignore[attr-defined]


#: Descriptor name -> function of a Mol (the RDKit calls behind GuacaMol's ``utils.descriptors``).
DESCRIPTOR_FUNCTIONS: dict[str, Callable[[Chem.Mol], float]] = {
    "logp": Crippen.MolLogP,  # type: ignore[attr-defined]
    "tpsa": rdMolDescriptors.CalcTPSA,
    "bertz": Descriptors.BertzCT,
    "mol_weight": Descriptors.MolWt,  # type: ignore[attr-defined]
    "num_h_donors": Descriptors.NumHDonors,  # type: ignore[attr-defined]
    "num_h_acceptors": Descriptors.NumHAcceptors,  # type: ignore[attr-defined]
    "num_rotatable_bonds": _count_rotatable,
    "num_rings": rdMolDescriptors.CalcNumRings,
    "num_aromatic_rings": rdMolDescriptors.CalcNumAromaticRings,
    "qed": Descriptors.qed,
}


def _atom_census(mols: Sequence[Chem.Mol]) -> list[tuple[Counter[int], int]]:
    """Per molecule: atoms by atomic number with every hydrogen counted, and the total atom count.

    Equal to counting the atoms of ``Chem.AddHs(mol)``, which is what GuacaMol does.
    """
    out: list[tuple[Counter[int], int]] = []
    for mol in mols:
        counts: Counter[int] = Counter()
        hydrogens = 0
        for atom in mol.GetAtoms():
            counts[atom.GetAtomicNum()] += 1
            hydrogens += atom.GetTotalNumHs()
        counts[1] += hydrogens
        out.append((counts, sum(counts.values())))
    return out


_FORMULA_TOKEN = re.compile(r"([A-Z][a-z]*)(\d*)")


def parse_formula(formula: str) -> list[tuple[str, int]]:
    """``"C7H8N2O2"`` -> ``[("C", 7), ("H", 8), ("N", 2), ("O", 2)]`` (a missing count is 1)."""
    tokens = [(sym, int(n) if n else 1) for sym, n in _FORMULA_TOKEN.findall(formula)]
    table = Chem.GetPeriodicTable()
    for sym, _ in tokens:
        try:
            table.GetAtomicNumber(sym)
        except RuntimeError:
            raise ObjectiveError(f"molecular formula {formula!r} has an unknown element {sym!r}") from None
    if not tokens:
        raise ObjectiveError(f"molecular formula {formula!r} has no elements; write it like C7H8N2O2")
    return tokens


# --------------------------------------------------------------------------
# Scorers
# --------------------------------------------------------------------------


class Scorer(ABC):
    """One term of a GuacaMol score: a vector of values for a batch of valid molecules (NaN: cannot score)."""

    @abstractmethod
    def score(self, batch: MolBatch) -> Array:
        """Scores of ``batch.mols``."""

    @abstractmethod
    def spec(self) -> dict[str, Any]:
        """A JSON-serialisable description of this scorer."""


class TanimotoScorer(Scorer):
    """Tanimoto similarity to a target molecule on one fingerprint kind, then a modifier."""

    def __init__(self, target: str, fingerprint: str, modifier: Modifier | None = None) -> None:
        mol = to_mol(target)
        if mol is None:
            raise ObjectiveError(f"similarity target {target!r} is not a valid SMILES")
        self.target = target
        self.fingerprint = fingerprint
        self.modifier = modifier or Identity()
        self._kind = _fingerprint_kind(fingerprint)
        self._target_fp = self._kind.compute(mol)

    def score(self, batch: MolBatch) -> Array:
        kind = self._kind
        fps = batch.cached(f"fp:{kind.name}", lambda: kind.compute_many(batch.mols))
        return self.modifier(kind.tanimoto(self._target_fp, fps))

    def spec(self) -> dict[str, Any]:
        return {
            "type": "tanimoto",
            "target": self.target,
            "fingerprint": self.fingerprint,
            "modifier": self.modifier.spec(),
        }

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.target, self.fingerprint, self.modifier))


class DescriptorScorer(Scorer):
    """An RDKit descriptor (a key of :data:`DESCRIPTOR_FUNCTIONS`), then a modifier."""

    def __init__(self, descriptor: str, modifier: Modifier | None = None) -> None:
        if descriptor not in DESCRIPTOR_FUNCTIONS:
            raise ObjectiveError(f"unknown descriptor {descriptor!r}; use one of {', '.join(DESCRIPTOR_FUNCTIONS)}")
        self.descriptor = descriptor
        self.modifier = modifier or Identity()

    def score(self, batch: MolBatch) -> Array:
        fn = DESCRIPTOR_FUNCTIONS[self.descriptor]
        values = batch.cached(f"desc:{self.descriptor}", lambda: _per_molecule(fn, batch.mols))
        return self.modifier(values)

    def spec(self) -> dict[str, Any]:
        return {"type": "descriptor", "descriptor": self.descriptor, "modifier": self.modifier.spec()}


class AtomCountScorer(Scorer):
    """Number of atoms of one element (hydrogens included, implicit or not), then a modifier."""

    def __init__(self, element: str, modifier: Modifier | None = None) -> None:
        try:
            self.atomic_number = int(Chem.GetPeriodicTable().GetAtomicNumber(element))
        except RuntimeError:
            raise ObjectiveError(f"unknown element {element!r}") from None
        self.element = element
        self.modifier = modifier or Identity()

    def score(self, batch: MolBatch) -> Array:
        census = batch.cached("atoms", lambda: _atom_census(batch.mols))
        return self.modifier(np.array([counts[self.atomic_number] for counts, _ in census], dtype=float))

    def spec(self) -> dict[str, Any]:
        return {"type": "atom_count", "element": self.element, "modifier": self.modifier.spec()}


class IsomerScorer(Scorer):
    """Closeness to a molecular formula: 1.0 exactly for its isomers.

    The mean (geometric by default, as in GuacaMol v2) of a Gaussian on the
    count of each element of the formula (sigma 1) and one on the total
    number of atoms, hydrogens included (sigma 2). Elements outside the
    formula count only through the total.
    """

    def __init__(self, formula: str, mean: str = "geometric") -> None:
        if mean not in ("geometric", "arithmetic"):
            raise ObjectiveError(f"isomer mean {mean!r} is not valid: use 'geometric' or 'arithmetic'")
        self.formula = formula
        self.mean = mean
        self.elements = parse_formula(formula)
        table = Chem.GetPeriodicTable()
        self._terms = [(int(table.GetAtomicNumber(sym)), Gaussian(n, 1.0)) for sym, n in self.elements]
        self._total = Gaussian(sum(n for _, n in self.elements), 2.0)

    def score(self, batch: MolBatch) -> Array:
        census = batch.cached("atoms", lambda: _atom_census(batch.mols))
        parts = [g(np.array([counts[z] for counts, _ in census], dtype=float)) for z, g in self._terms]
        parts.append(self._total(np.array([total for _, total in census], dtype=float)))
        stacked = np.vstack(parts)
        if self.mean == "geometric":
            result: Array = np.prod(stacked, axis=0) ** (1.0 / len(parts))
        else:
            result = np.sum(stacked, axis=0) / len(parts)
        return result

    def spec(self) -> dict[str, Any]:
        return {"type": "isomer", "formula": self.formula, "mean": self.mean}


@functools.lru_cache(maxsize=256)
def _smarts_pattern(smarts: str) -> Any:
    with quiet_rdkit():
        pattern = Chem.MolFromSmarts(smarts)
    if pattern is None:
        raise ObjectiveError(f"SMARTS {smarts!r} is not valid")
    return pattern


class SmartsScorer(Scorer):
    """1.0 when the molecule contains the SMARTS pattern, else 0.0 (the reverse when ``inverse``)."""

    def __init__(self, smarts: str, inverse: bool = False) -> None:
        _smarts_pattern(smarts)  # fail early on a bad pattern
        self.smarts = smarts
        self.inverse = bool(inverse)

    def score(self, batch: MolBatch) -> Array:
        pattern = _smarts_pattern(self.smarts)
        found = np.array([mol.HasSubstructMatch(pattern) for mol in batch.mols], dtype=bool)
        return (found != self.inverse).astype(float)

    def spec(self) -> dict[str, Any]:
        return {"type": "smarts", "smarts": self.smarts, "inverse": self.inverse}


class ArithmeticMean(Scorer):
    """Weighted arithmetic mean of several scorers (equal weights by default)."""

    def __init__(self, scorers: Sequence[Scorer], weights: Sequence[float] | None = None) -> None:
        if not scorers:
            raise ObjectiveError("an arithmetic mean needs at least one scorer")
        self.scorers = list(scorers)
        self.weights = [1.0] * len(self.scorers) if weights is None else [float(w) for w in weights]
        if len(self.weights) != len(self.scorers):
            raise ObjectiveError(f"{len(self.weights)} weights for {len(self.scorers)} scorers")

    def score(self, batch: MolBatch) -> Array:
        parts = np.vstack([w * s.score(batch) for s, w in zip(self.scorers, self.weights, strict=True)])
        result: Array = parts.sum(axis=0) / np.sum(self.weights)
        return result

    def spec(self) -> dict[str, Any]:
        return {"type": "arithmetic_mean", "weights": self.weights, "terms": [s.spec() for s in self.scorers]}


class GeometricMean(Scorer):
    """Unweighted geometric mean of several scorers: any term at 0 makes the whole 0."""

    def __init__(self, scorers: Sequence[Scorer]) -> None:
        if not scorers:
            raise ObjectiveError("a geometric mean needs at least one scorer")
        self.scorers = list(scorers)

    def score(self, batch: MolBatch) -> Array:
        parts = np.vstack([s.score(batch) for s in self.scorers])
        result: Array = np.prod(parts, axis=0) ** (1.0 / len(self.scorers))
        return result

    def spec(self) -> dict[str, Any]:
        return {"type": "geometric_mean", "terms": [s.spec() for s in self.scorers]}


# --------------------------------------------------------------------------
# The objective
# --------------------------------------------------------------------------


class GuacamolObjective(Objective):
    """A GuacaMol scoring function as an llmga objective (to maximise, scores in [0, 1]).

    Each SMILES is parsed once; invalid or empty ones score NaN, and so does
    a molecule on which some term cannot be computed.
    """

    direction = "maximize"

    def __init__(self, name: str, scorer: Scorer, description: str, *, source: str = "GuacaMol v2") -> None:
        self.name = name
        self.scorer = scorer
        self.description = description
        self.source = source

    @property
    def params(self) -> dict[str, Any]:
        return {"source": self.source, "score": self.scorer.spec()}

    def prompt_card(self, hide_names: bool = False) -> str:
        """Rendered from the exact scoring specification (drug names withheld with ``hide_names``)."""
        return render_spec(self.scorer.spec(), None if hide_names else TARGET_NAMES)

    def __call__(self, smiles: Sequence[str]) -> np.ndarray:
        out = np.full(len(smiles), np.nan)
        mols: list[Chem.Mol] = []
        where: list[int] = []
        for i, smi in enumerate(smiles):
            mol = to_mol(smi) if isinstance(smi, str) else None
            if mol is not None and mol.GetNumAtoms() > 0:
                mols.append(mol)
                where.append(i)
        if mols:
            with quiet_rdkit():
                out[where] = self.scorer.score(MolBatch(mols))
        out[~np.isfinite(out)] = np.nan
        return out


# --------------------------------------------------------------------------
# The 19 tasks
# --------------------------------------------------------------------------

CELECOXIB = "CC1=CC=C(C=C1)C1=CC(=NN1C1=CC=C(C=C1)S(N)(=O)=O)C(F)(F)F"
TROGLITAZONE = "Cc1c(C)c2OC(C)(COc3ccc(CC4SC(=O)NC4=O)cc3)CCc2c(C)c1O"
THIOTHIXENE = "CN(C)S(=O)(=O)c1ccc2Sc3ccccc3C(=CCCN4CCN(C)CC4)c2c1"
ALBUTEROL = "CC(C)(C)NCC(O)c1ccc(O)c(CO)c1"
MESTRANOL = "COc1ccc2[C@H]3CC[C@@]4(C)[C@@H](CC[C@@]4(O)C#C)[C@@H]3CCc2c1"
CAMPHOR = "CC1(C)C2CCC1(C)C(=O)C2"
MENTHOL = "CC(C)C1CCC(C)CC1O"
TADALAFIL = "O=C1N(CC(N2C1CC3=C(C2C4=CC5=C(OCO5)C=C4)NC6=C3C=CC=C6)=O)C"
SILDENAFIL = "CCCC1=NN(C2=C1N=C(NC2=O)C3=C(C=CC(=C3)S(=O)(=O)N4CCN(CC4)C)OCC)C"
OSIMERTINIB = "COc1cc(N(C)CCN(C)C)c(NC(=O)C=C)cc1Nc2nccc(n2)c3cn(C)c4ccccc34"
FEXOFENADINE = "CC(C)(C(=O)O)c1ccc(cc1)C(O)CCCN2CCC(CC2)C(O)(c3ccccc3)c4ccccc4"
RANOLAZINE = "COc1ccccc1OCC(O)CN2CCN(CC(=O)Nc3c(C)cccc3C)CC2"
PERINDOPRIL = "O=C(OCC)C(NC(C(=O)N1C(C(=O)O)CC2CCCCC12)C)CCC"
AMLODIPINE = r"Clc1ccccc1C2C(=C(/N/C(=C2/C(=O)OCC)COCCN)C)\C(=O)OC"
SITAGLIPTIN = "Fc1cc(c(F)cc1F)CC(N)CC(=O)N3Cc2nnc(n2CC3)C(F)(F)F"
ZALEPLON = "O=C(C)N(CC)C1=CC=CC(C2=CC=NC3=C(C=NN23)C#N)=C1"
HOP_START = "CCCOc1cc2ncnc(Nc3ccc4ncsc4c3)c2cc1S(=O)(=O)C(C)(C)C"
VALSARTAN_SMARTS = "CN(C=O)Cc1ccc(c2ccccc2)cc1"
QUINAZOLINE_SCAFFOLD = "[#7]-c1n[c;h1]nc2[c;h1]c(-[#8])[c;h0][c;h1]c12"
#: Target SMILES -> drug name, for prompt cards (withheld with --hide-objective-name).
TARGET_NAMES = {
    CELECOXIB: "celecoxib",
    TROGLITAZONE: "troglitazone",
    THIOTHIXENE: "thiothixene",
    ALBUTEROL: "albuterol",
    MESTRANOL: "mestranol",
    CAMPHOR: "camphor",
    MENTHOL: "menthol",
    TADALAFIL: "tadalafil",
    SILDENAFIL: "sildenafil",
    OSIMERTINIB: "osimertinib",
    FEXOFENADINE: "fexofenadine",
    RANOLAZINE: "ranolazine",
    PERINDOPRIL: "perindopril",
    AMLODIPINE: "amlodipine",
    SITAGLIPTIN: "sitagliptin",
    ZALEPLON: "zaleplon",
}
HOP_DECORATION = "[#6]-[#6]-[#6]-[#8]-[#6]~[#6]~[#6]~[#6]~[#6]-[#7]-c1ccc2ncsc2c1"


def _descriptor_of(smiles: str, descriptor: str) -> float:
    mol = to_mol(smiles)
    assert mol is not None
    return float(DESCRIPTOR_FUNCTIONS[descriptor](mol))


def _rediscovery(target: str) -> Scorer:
    return TanimotoScorer(target, "ECFP4", Clipped(upper_x=1.0))


def _similar(target: str, fingerprint: str) -> Scorer:
    return TanimotoScorer(target, fingerprint, Clipped(upper_x=0.75))


def _median(first: str, second: str, fingerprint: str) -> Scorer:
    # GuacaMol lists the second molecule first in median 1; the geometric mean does not care.
    return GeometricMean([TanimotoScorer(first, fingerprint), TanimotoScorer(second, fingerprint)])


def _osimertinib() -> Scorer:
    return GeometricMean(
        [
            TanimotoScorer(OSIMERTINIB, "FCFP4", Clipped(upper_x=0.8)),
            TanimotoScorer(OSIMERTINIB, "ECFP6", MinGaussian(mu=0.85, sigma=0.1)),
            DescriptorScorer("tpsa", MaxGaussian(mu=100, sigma=10)),
            DescriptorScorer("logp", MinGaussian(mu=1, sigma=1)),
        ]
    )


def _fexofenadine() -> Scorer:
    return GeometricMean(
        [
            TanimotoScorer(FEXOFENADINE, "AP", Clipped(upper_x=0.8)),
            DescriptorScorer("tpsa", MaxGaussian(mu=90, sigma=10)),
            DescriptorScorer("logp", MinGaussian(mu=4, sigma=1)),
        ]
    )


def _ranolazine() -> Scorer:
    return GeometricMean(
        [
            TanimotoScorer(RANOLAZINE, "AP", Clipped(upper_x=0.7)),
            DescriptorScorer("logp", MaxGaussian(mu=7, sigma=1)),
            AtomCountScorer("F", Gaussian(mu=1, sigma=1.0)),
            DescriptorScorer("tpsa", MaxGaussian(mu=95, sigma=20)),
        ]
    )


def _perindopril() -> Scorer:
    return GeometricMean(
        [TanimotoScorer(PERINDOPRIL, "ECFP4"), DescriptorScorer("num_aromatic_rings", Gaussian(mu=2, sigma=0.5))]
    )


def _amlodipine() -> Scorer:
    return GeometricMean(
        [TanimotoScorer(AMLODIPINE, "ECFP4"), DescriptorScorer("num_rings", Gaussian(mu=3, sigma=0.5))]
    )


def _sitagliptin() -> Scorer:
    return GeometricMean(
        [
            TanimotoScorer(SITAGLIPTIN, "ECFP4", Gaussian(mu=0, sigma=0.1)),
            DescriptorScorer("logp", Gaussian(mu=_descriptor_of(SITAGLIPTIN, "logp"), sigma=0.2)),
            DescriptorScorer("tpsa", Gaussian(mu=_descriptor_of(SITAGLIPTIN, "tpsa"), sigma=5)),
            IsomerScorer("C16H15F6N5O"),
        ]
    )


def _zaleplon() -> Scorer:
    return GeometricMean([TanimotoScorer(ZALEPLON, "ECFP4"), IsomerScorer("C19H17N3O2")])


def _valsartan() -> Scorer:
    # GuacaMol writes sitagliptin differently here than in its sitagliptin task; same molecule.
    other = "NC(CC(=O)N1CCn2c(nnc2C(F)(F)F)C1)Cc1cc(F)c(F)cc1F"
    return GeometricMean(
        [
            SmartsScorer(VALSARTAN_SMARTS),
            DescriptorScorer("logp", Gaussian(mu=_descriptor_of(other, "logp"), sigma=0.2)),
            DescriptorScorer("tpsa", Gaussian(mu=_descriptor_of(other, "tpsa"), sigma=5)),
            DescriptorScorer("bertz", Gaussian(mu=_descriptor_of(other, "bertz"), sigma=30)),
        ]
    )


def _deco_hop() -> Scorer:
    return ArithmeticMean(
        [
            TanimotoScorer(HOP_START, "PHCO", Clipped(upper_x=0.85)),
            SmartsScorer("CS([#6])(=O)=O", inverse=True),
            SmartsScorer("[#7]-c1ccc2ncsc2c1", inverse=True),
            SmartsScorer(QUINAZOLINE_SCAFFOLD),
        ]
    )


def _scaffold_hop() -> Scorer:
    return ArithmeticMean(
        [
            TanimotoScorer(HOP_START, "PHCO", Clipped(upper_x=0.75)),
            SmartsScorer(HOP_DECORATION),
            SmartsScorer(QUINAZOLINE_SCAFFOLD, inverse=True),
        ]
    )


_TASKS: dict[str, tuple[Callable[[], Scorer], str]] = {
    "albuterol_similarity": (
        lambda: _similar(ALBUTEROL, "FCFP4"),
        "Be similar to albuterol (CC(C)(C)NCC(O)c1ccc(O)c(CO)c1): Tanimoto similarity on FCFP4 count "
        "fingerprints, divided by 0.75 and capped at 1.0",
    ),
    "amlodipine_mpo": (
        _amlodipine,
        "Stay similar to amlodipine (CCOC(=O)C1=C(COCCN)NC(C)=C(C(=O)OC)C1c1ccccc1Cl) but have exactly 3 rings: "
        "geometric mean of ECFP4 Tanimoto similarity to amlodipine and a Gaussian (mu 3, sigma 0.5) on the ring "
        "count",
    ),
    "celecoxib_rediscovery": (
        lambda: _rediscovery(CELECOXIB),
        "Rediscover celecoxib (Cc1ccc(-c2cc(C(F)(F)F)nn2-c2ccc(S(N)(=O)=O)cc2)cc1): Tanimoto similarity (ECFP4 "
        "counts) to celecoxib, 1.0 only for celecoxib itself",
    ),
    "deco_hop": (
        _deco_hop,
        "Decoration hop from CCCOc1cc2ncnc(Nc3ccc4ncsc4c3)c2cc1S(=O)(=O)C(C)(C)C: keep its scaffold "
        "[#7]-c1n[c;h1]nc2[c;h1]c(-[#8])[c;h0][c;h1]c12 but lose the sulfone CS([#6])(=O)=O and the benzothiazol-"
        "amine [#7]-c1ccc2ncsc2c1, staying pharmacophorically similar; mean of Gobbi 2D-pharmacophore Tanimoto "
        "(divided by 0.85, capped at 1) and the three SMARTS tests (1/0)",
    ),
    "fexofenadine_mpo": (
        _fexofenadine,
        "Make fexofenadine (CC(C)(C(=O)O)c1ccc(C(O)CCCN2CCC(C(O)(c3ccccc3)c3ccccc3)CC2)cc1) less greasy: "
        "geometric mean of atom-pair Tanimoto similarity to it (divided by 0.8, capped at 1), TPSA of at least 90"
        " (half-Gaussian, sigma 10) and logP of at most 4 (half-Gaussian, sigma 1)",
    ),
    "isomers_c7h8n2o2": (
        lambda: IsomerScorer("C7H8N2O2"),
        "Be an isomer of C7H8N2O2 (7 C, 8 H, 2 N, 2 O): geometric mean of Gaussians on each element count (sigma "
        "1) and on the total atom count with hydrogens (sigma 2); 1.0 for every exact isomer",
    ),
    "isomers_c9h10n2o2pf2cl": (
        lambda: IsomerScorer("C9H10N2O2PF2Cl"),
        "Be an isomer of C9H10N2O2PF2Cl (9 C, 10 H, 2 N, 2 O, 1 P, 2 F, 1 Cl): geometric mean of Gaussians on "
        "each element count (sigma 1) and on the total atom count with hydrogens (sigma 2); 1.0 for every exact "
        "isomer",
    ),
    "median1": (
        lambda: _median(CAMPHOR, MENTHOL, "ECFP4"),
        "Be equally similar to camphor (CC12CCC(CC1=O)C2(C)C) and menthol (CC1CCC(C(C)C)C(O)C1): geometric mean "
        "of the ECFP4 Tanimoto similarities (counts) to both",
    ),
    "median2": (
        lambda: _median(TADALAFIL, SILDENAFIL, "ECFP6"),
        "Be equally similar to tadalafil (CN1CC(=O)N2C(Cc3c([nH]c4ccccc34)C2c2ccc3c(c2)OCO3)C1=O) and sildenafil "
        "(CCCc1nn(C)c2c(=O)[nH]c(-c3cc(S(=O)(=O)N4CCN(C)CC4)ccc3OCC)nc12): geometric mean of the ECFP6 Tanimoto "
        "similarities (counts) to both",
    ),
    "mestranol_similarity": (
        lambda: _similar(MESTRANOL, "AP"),
        "Be similar to mestranol (C#C[C@]1(O)CC[C@H]2[C@@H]3CCc4cc(OC)ccc4[C@H]3CC[C@@]21C): Tanimoto similarity "
        "on atom-pair count fingerprints, divided by 0.75 and capped at 1.0",
    ),
    "osimertinib_mpo": (
        _osimertinib,
        "Vary osimertinib (C=CC(=O)Nc1cc(Nc2nccc(-c3cn(C)c4ccccc34)n2)c(OC)cc1N(C)CCN(C)C): geometric mean of "
        "FCFP4 similarity to it (divided by 0.8, capped at 1), ECFP6 similarity of at most 0.85 (half-Gaussian, "
        "sigma 0.1), TPSA of at least 100 (half-Gaussian, sigma 10) and logP of at most 1 (half-Gaussian, sigma "
        "1)",
    ),
    "perindopril_mpo": (
        _perindopril,
        "Stay similar to perindopril (CCCC(NC(C)C(=O)N1C(C(=O)O)CC2CCCCC21)C(=O)OCC) but have 2 aromatic rings: "
        "geometric mean of ECFP4 Tanimoto similarity to perindopril and a Gaussian (mu 2, sigma 0.5) on the "
        "aromatic ring count",
    ),
    "ranolazine_mpo": (
        _ranolazine,
        "Modify ranolazine (COc1ccccc1OCC(O)CN1CCN(CC(=O)Nc2c(C)cccc2C)CC1) to add one fluorine and polarity: "
        "geometric mean of atom-pair similarity to it (divided by 0.7, capped at 1), logP of at least 7 (half-"
        "Gaussian, sigma 1), TPSA of at least 95 (half-Gaussian, sigma 20) and exactly one F (Gaussian, sigma 1)",
    ),
    "scaffold_hop": (
        _scaffold_hop,
        "Scaffold hop from CCCOc1cc2ncnc(Nc3ccc4ncsc4c3)c2cc1S(=O)(=O)C(C)(C)C: keep its decoration "
        "[#6]-[#6]-[#6]-[#8]-[#6]~[#6]~[#6]~[#6]~[#6]-[#7]-c1ccc2ncsc2c1 but lose its scaffold "
        "[#7]-c1n[c;h1]nc2[c;h1]c(-[#8])[c;h0][c;h1]c12, staying pharmacophorically similar; mean of Gobbi "
        "2D-pharmacophore Tanimoto (divided by 0.75, capped at 1) and the two SMARTS tests (1/0)",
    ),
    "sitagliptin_mpo": (
        _sitagliptin,
        "Be unlike sitagliptin (NC(CC(=O)N1CCn2c(nnc2C(F)(F)F)C1)Cc1cc(F)c(F)cc1F) yet share its formula "
        "C16H15F6N5O, logP 2.02 and TPSA 77.0: geometric mean of Gaussians on ECFP4 similarity to it (mu 0, sigma"
        " 0.1), logP (sigma 0.2), TPSA (sigma 5) and the C16H15F6N5O isomer score",
    ),
    "thiothixene_rediscovery": (
        lambda: _rediscovery(THIOTHIXENE),
        "Rediscover thiothixene (CN1CCN(CCC=C2c3ccccc3Sc3ccc(S(=O)(=O)N(C)C)cc32)CC1): Tanimoto similarity (ECFP4"
        " counts) to thiothixene, 1.0 only for thiothixene itself",
    ),
    "troglitazone_rediscovery": (
        lambda: _rediscovery(TROGLITAZONE),
        "Rediscover troglitazone (Cc1c(C)c2c(c(C)c1O)CCC(C)(COc1ccc(CC3SC(=O)NC3=O)cc1)O2): Tanimoto similarity "
        "(ECFP4 counts) to troglitazone, 1.0 only for troglitazone itself",
    ),
    "valsartan_smarts": (
        _valsartan,
        "Contain valsartan's substructure CN(C=O)Cc1ccc(c2ccccc2)cc1 with sitagliptin's logP 2.02, TPSA 77.0 and "
        "Bertz complexity 896: geometric mean of the SMARTS test (1/0) and Gaussians on logP (sigma 0.2), TPSA "
        "(sigma 5) and BertzCT (sigma 30)",
    ),
    "zaleplon_mpo": (
        _zaleplon,
        "Stay similar to zaleplon (CCN(C(C)=O)c1cccc(-c2ccnc3c(C#N)cnn23)c1) but have the formula C19H17N3O2: "
        "geometric mean of ECFP4 Tanimoto similarity to zaleplon and the C19H17N3O2 isomer score",
    ),
}


def make_task(name: str) -> GuacamolObjective:
    """The GuacaMol task ``name`` (a key of :data:`GUACAMOL_TASKS`) as a new objective."""
    try:
        build, description = _TASKS[name]
    except KeyError:
        raise ObjectiveError(f"unknown GuacaMol task {name!r}; use one of {', '.join(_TASKS)}") from None
    return GuacamolObjective(name, build(), description)


#: Task name -> (zero-argument factory of the objective, one-line description).
GUACAMOL_TASKS: dict[str, tuple[Callable[[], Objective], str]] = {
    name: (functools.partial(make_task, name), description) for name, (_, description) in _TASKS.items()
}
