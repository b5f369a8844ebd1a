"""The filter seam: a rule a molecule must pass before it may reach the oracle."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Sequence
from typing import Any

from rdkit import Chem

from llmga.chem import to_mol

__all__ = ["Filter", "FilterSet"]


class Filter(ABC):
    """A structural or property rule checked before scoring.

    Contract: :meth:`passes` takes a sanitised RDKit ``Mol`` and returns
    True when the molecule is allowed; it must be deterministic, must not
    raise on an ordinary molecule, and costs no oracle call. ``name`` labels
    the filter in rejection counts; :meth:`card` describes it for the run
    folder.
    """

    name: str = "filter"

    @abstractmethod
    def passes(self, mol: Chem.Mol) -> bool: ...

    def card(self) -> dict[str, Any]:
        return {"name": self.name, "type": type(self).__name__}


class FilterSet:
    """Filters checked in order; each rejected molecule is counted against the first filter it fails."""

    def __init__(self, filters: Sequence[Filter] = ()) -> None:
        self.filters = list(filters)
        self.rejected: Counter[str] = Counter()  # molecules rejected per filter (each molecule once)
        self._verdicts: dict[str, str | None] = {}

    def __bool__(self) -> bool:
        return bool(self.filters)

    def first_failure(self, smiles: str) -> str | None:
        """The name of the first filter ``smiles`` fails (``"invalid"`` if it does not parse), or None."""
        if smiles in self._verdicts:
            return self._verdicts[smiles]
        mol = to_mol(smiles)
        verdict: str | None = "invalid" if mol is None else None
        if mol is not None:
            for f in self.filters:
                if not f.passes(mol):
                    verdict = f.name
                    break
        self._verdicts[smiles] = verdict
        if verdict is not None:
            self.rejected[verdict] += 1
        return verdict

    def passes(self, smiles: str) -> bool:
        return self.first_failure(smiles) is None

    def is_rejected(self, smiles: str) -> bool:
        """Whether ``smiles`` was checked and rejected (operators treat it like a molecule already seen)."""
        return self._verdicts.get(smiles) is not None

    def card(self) -> list[dict[str, Any]]:
        return [f.card() for f in self.filters]
