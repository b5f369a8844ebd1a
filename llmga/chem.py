"""Small functional helpers over RDKit, used everywhere molecules are touched.

Every function takes SMILES or an RDKit ``Mol`` and never raises on a bad
molecule: it returns ``None`` instead, so callers decide what a failure means.
RDKit's own error log is silenced only inside :func:`quiet_rdkit` blocks.

Untrusted text reaches RDKit only through :func:`to_mol`, which refuses a
string longer than :data:`MAX_SMILES_CHARS` before RDKit sees it (RDKit
writes SMILES recursively: a chain of ~19,000 atoms overflows an 8 MiB stack
and kills the process). Molecules entering llmga from outside (init files,
``llmga score``, campaign ``tell``, language-model replies) pass through
:func:`standardize` once; the shipped ZINC population does not.
"""

from __future__ import annotations

import contextlib
import functools
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from rdkit import Chem, DataStructs, rdBase
from rdkit.Chem import rdFingerprintGenerator
from rdkit.Chem.MolStandardize import rdMolStandardize

__all__ = [
    "MAX_SMILES_CHARS",
    "StandardizationReport",
    "StandardizationWarning",
    "Standardized",
    "canonical",
    "flat",
    "has_dummy_atoms",
    "morgan",
    "morgan_generator",
    "quiet_rdkit",
    "shorten",
    "standardize",
    "standardize_all",
    "to_mol",
    "to_smiles",
]

#: The longest SMILES string llmga hands to RDKit; a longer one is invalid. RDKit 2026.09 segfaults
#: writing a ~19,000-atom chain with an 8 MiB stack (and near 1,200 atoms on a 512 KiB thread stack);
#: 2,000 characters is ten times below the first and far above any drug-like molecule (ZINC's longest
#: SMILES has about 100 characters), and RDKit reads and writes it in well under 0.1 s.
MAX_SMILES_CHARS = 2000


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
    """Parse ``smiles`` into a sanitised ``Mol``; ``None`` if it is not a valid molecule.

    A string longer than :data:`MAX_SMILES_CHARS` (after stripping whitespace)
    is not a valid molecule: it is refused before RDKit sees it.
    """
    if smiles is None:
        return None
    if isinstance(smiles, Chem.Mol):
        return smiles
    if not isinstance(smiles, str):
        return None
    text = smiles.strip()
    if not text or len(text) > MAX_SMILES_CHARS:
        return None
    with quiet_rdkit():
        return Chem.MolFromSmiles(text)


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


def shorten(text: str) -> str:
    """``text`` as shown in messages and reports: whole up to 80 characters, else its first 60 and its length."""
    return text if len(text) <= 80 else f"{text[:60]}... ({len(text)} characters)"


def has_dummy_atoms(mol: Chem.Mol) -> bool:
    """Whether ``mol`` has an atom of atomic number 0 (``*``, ``[1*]``: a placeholder, not an element)."""
    return any(atom.GetAtomicNum() == 0 for atom in mol.GetAtoms())


def canonical(smiles: str | Chem.Mol | None) -> str | None:
    """Canonical SMILES of a SMILES string or ``Mol``; ``None`` if invalid, empty or with a dummy atom.

    This is the check for anything that may reach an objective: a dummy atom
    (``*``, e.g. Markdown ``**CCO**`` read as SMILES) is no molecule to score.
    """
    mol = to_mol(smiles)
    if mol is None or has_dummy_atoms(mol):
        return None
    return to_smiles(mol)


# ------------------------------------------------------------ standardisation

_FRAGMENT = "kept the largest organic fragment"
_NORMALIZED = "normalized"
_REIONIZED = "reionized"
_NEUTRALIZED = "neutralized"
_INVALID = "invalid SMILES"
_DUMMY = "dummy atom (*)"
_EMPTY = "empty"
_TOO_LONG = f"longer than {MAX_SMILES_CHARS} characters"


class StandardizationWarning(UserWarning):
    """Standardisation changed or dropped some of the molecules given (the message has the counts)."""


class Standardized(NamedTuple):
    """What :func:`standardize` made of one input.

    ``smiles`` is the standardised canonical SMILES, or ``None`` when the
    input was dropped; ``changed`` is True when it is another molecule than
    the input's own canonical SMILES; ``reason`` says why it was dropped, or
    what changed (steps joined by ``", "``), else ``None``.
    """

    smiles: str | None
    changed: bool = False
    reason: str | None = None


# RDKit's Normalizer writes sulfoxides charge-separated (C[S+](C)[O-]); ZINC, PubChem and the data
# objectives were fitted on write S=O, and QED and SA score the two spellings differently (SA 3.17 vs
# 3.65 for one ZINC sulfoxide). So sulfoxides are written back as S=O after RDKit's transforms.
_SULFOXIDE_S_O = (
    "//\tName\tSMIRKS\nSulfoxide to S=O\t[!O:1][S+1;X3:2]([O-:3])[!O:4]>>[*:1][S+0:2](=[O+0:3])[*:4]\n"
)


@functools.cache
def _standardizers() -> tuple[Any, Any, Any, Any, Any]:
    """RDKit's standardiser objects, built once per process (they do not pickle; workers build their own)."""
    return (
        rdMolStandardize.LargestFragmentChooser(preferOrganic=True),
        rdMolStandardize.Normalizer(),
        rdMolStandardize.NormalizerFromData(_SULFOXIDE_S_O, rdMolStandardize.CleanupParameters()),
        rdMolStandardize.Reionizer(),
        rdMolStandardize.Uncharger(),
    )


def _charged(mol: Chem.Mol) -> bool:
    return any(atom.GetFormalCharge() for atom in mol.GetAtoms())


def standardize(smiles: str | Chem.Mol | None, *, neutralize: bool = False) -> Standardized:
    """The one standardisation step for molecules entering llmga from outside.

    With RDKit's ``rdMolStandardize``: keep the largest organic fragment (a
    salt's parent, a mixture's main component), normalise functional groups
    (RDKit's Normalizer: nitro groups and N-oxides charge-separated ...; but
    sulfoxides stay ``S=O``, as ZINC writes them), reionise (the strongest acid
    is the ionised one) and, with ``neutralize``, neutralise charges where a
    hydrogen can be added or removed. A molecule already standard (all ZINC
    molecules but a few) comes out as its own canonical SMILES, unchanged.

    Never raises: a string longer than :data:`MAX_SMILES_CHARS`, an invalid
    SMILES or a molecule with a dummy atom gives ``smiles=None`` and the
    reason. About 0.4 ms per drug-like molecule (canonicalising alone: 0.13 ms).
    """
    if isinstance(smiles, str):
        text = smiles.strip()
        if not text:
            return Standardized(None, reason=_EMPTY)
        if len(text) > MAX_SMILES_CHARS:
            return Standardized(None, reason=_TOO_LONG)
    elif smiles is None:
        return Standardized(None, reason=_EMPTY)
    mol = to_mol(smiles)
    if mol is None:
        return Standardized(None, reason=_INVALID)
    if has_dummy_atoms(mol):
        return Standardized(None, reason=_DUMMY)
    original = to_smiles(mol)
    if original is None:
        return Standardized(None, reason=_INVALID)
    chooser, normalizer, sulfoxides, reionizer, uncharger = _standardizers()
    steps: list[tuple[str, Chem.Mol]] = []
    try:
        with quiet_rdkit():
            if len(Chem.GetMolFrags(mol)) > 1:
                mol = chooser.choose(mol)
                steps.append((_FRAGMENT, mol))
            mol = normalizer.normalize(mol)
            charged = _charged(mol)
            if charged:
                mol = sulfoxides.normalize(mol)
            steps.append((_NORMALIZED, mol))
            # The reioniser only moves existing charges (and charges lone metal or halogen atoms):
            # a molecule of several atoms without a charge is left as it is, so skip the work.
            if charged or mol.GetNumAtoms() == 1:
                mol = reionizer.reionize(mol)
                steps.append((_REIONIZED, mol))
            if neutralize:
                mol = uncharger.uncharge(mol)
                steps.append((_NEUTRALIZED, mol))
    except (RuntimeError, ValueError) as exc:
        return Standardized(None, reason=f"standardization failed ({exc})")
    out = to_smiles(mol)
    if out is None:
        return Standardized(None, reason=_INVALID)
    if out == original:
        return Standardized(out)
    # Something changed (rare): name the steps that did, comparing each with the one before.
    changed: list[str] = []
    before: str | None = original
    for name, step in steps:
        now = out if step is mol else to_smiles(step)
        if now != before:
            changed.append(name)
        before = now
    return Standardized(out, changed=True, reason=", ".join(changed) or _NORMALIZED)


@dataclass
class StandardizationReport:
    """Counts of what :func:`standardize` did to a batch of molecules.

    ``changed`` counts the molecules standardisation changed and ``changes``
    the steps that changed them (a molecule may count under several steps);
    ``dropped`` counts the inputs left out, by reason. ``changed_examples``
    and ``dropped_examples`` keep up to five ``(input, what happened)`` pairs.
    """

    total: int = 0
    kept: int = 0
    changed: int = 0
    changes: Counter[str] = field(default_factory=Counter)
    dropped: Counter[str] = field(default_factory=Counter)
    changed_examples: list[tuple[str, str]] = field(default_factory=list)
    dropped_examples: list[tuple[str, str]] = field(default_factory=list)

    @property
    def n_dropped(self) -> int:
        """How many inputs were dropped, whatever the reason."""
        return sum(self.dropped.values())

    def add(self, given: str, result: Standardized) -> None:
        """Count one input and what :func:`standardize` made of it."""
        self.total += 1
        shown = shorten(given)
        if result.smiles is None:
            reason = result.reason or _INVALID
            self.dropped[reason] += 1
            if len(self.dropped_examples) < 5:
                self.dropped_examples.append((shown, reason))
            return
        self.kept += 1
        if result.changed:
            self.changed += 1
            self.changes.update((result.reason or _NORMALIZED).split(", "))
            if len(self.changed_examples) < 5:
                self.changed_examples.append((shown, f"{result.smiles} ({result.reason})"))

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready counts (for ``summary.json``)."""
        return {
            "total": self.total,
            "kept": self.kept,
            "changed": self.changed,
            "changes": dict(self.changes),
            "dropped": self.n_dropped,
            "dropped_by_reason": dict(self.dropped),
            "changed_examples": [list(pair) for pair in self.changed_examples],
            "dropped_examples": [list(pair) for pair in self.dropped_examples],
        }

    def __str__(self) -> str:
        """One line: ``10 molecules: 2 changed (kept the largest organic fragment: 2); 1 dropped (empty: 1)``."""
        text = f"{self.total} molecules: {self.changed} changed"
        if self.changes:
            text += " (" + ", ".join(f"{k}: {v}" for k, v in self.changes.most_common()) + ")"
        text += f"; {self.n_dropped} dropped"
        if self.dropped:
            text += " (" + ", ".join(f"{k}: {v}" for k, v in self.dropped.most_common()) + ")"
        return text


def standardize_all(
    smiles: Iterable[str], *, neutralize: bool = False
) -> tuple[list[str], StandardizationReport]:
    """Standardise every input: the kept molecules (in input order, repeats kept) and the report."""
    report = StandardizationReport()
    kept: list[str] = []
    for given in smiles:
        result = standardize(given, neutralize=neutralize)
        report.add(given, result)
        if result.smiles is not None:
            kept.append(result.smiles)
    return kept, report


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
