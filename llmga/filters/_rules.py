"""The built-in filters: structural alerts, rules of thumb, property windows and substructures."""

from __future__ import annotations

import functools
import math
import re
from typing import Any

from rdkit import Chem
from rdkit.Chem import rdMolDescriptors
from rdkit.Chem.FilterCatalog import FilterCatalog, FilterCatalogParams

from llmga.errors import ConfigError
from llmga.filters._base import Filter
from llmga.objectives.rdkit import DESCRIPTORS, crippen_logp, molecular_weight

__all__ = ["ALERT_CATALOGS", "RULES", "AlertFilter", "PropertyWindow", "RuleFilter", "SubstructureFilter"]

# Structural-alert catalogues shipped with RDKit, by the name a user gives.
ALERT_CATALOGS: dict[str, tuple[str, str]] = {
    "pains": ("PAINS", "PAINS: pan-assay interference compounds, families A-C (Baell & Holloway 2010)"),
    "pains_a": ("PAINS_A", "PAINS family A"),
    "pains_b": ("PAINS_B", "PAINS family B"),
    "pains_c": ("PAINS_C", "PAINS family C"),
    "brenk": ("BRENK", "Brenk: unwanted groups for screening libraries (Brenk et al. 2008)"),
    "nih": ("NIH", "NIH MLSMR: reactive and undesirable functional groups (Jadhav et al. 2010)"),
    "zinc": ("ZINC", "ZINC's drug-likeness and reactivity filters (Irwin & Shoichet 2005)"),
}


@functools.cache
def _catalog(kind: str) -> FilterCatalog:
    params = FilterCatalogParams()
    params.AddCatalog(getattr(FilterCatalogParams.FilterCatalogs, kind))
    return FilterCatalog(params)


class AlertFilter(Filter):
    """Rejects molecules that match any entry of an RDKit structural-alert catalogue."""

    def __init__(self, name: str) -> None:
        if name not in ALERT_CATALOGS:
            raise ConfigError(f"unknown alert catalogue {name!r}; choose from {', '.join(ALERT_CATALOGS)}")
        self.name = name
        self.kind, self.description = ALERT_CATALOGS[name]

    def passes(self, mol: Chem.Mol) -> bool:
        return not _catalog(self.kind).HasMatch(mol)

    def matches(self, mol: Chem.Mol) -> list[str]:
        """The descriptions of the alerts ``mol`` matches (to explain a rejection)."""
        return [m.GetDescription() for m in _catalog(self.kind).GetMatches(mol)]

    def card(self) -> dict[str, Any]:
        return super().card() | {"catalogue": self.kind, "description": self.description}


def _lipinski(mol: Chem.Mol) -> bool:
    """Lipinski's rule of five, as he stated it: poor absorption is likely when two or more rules fail."""
    failures = (
        molecular_weight(mol) > 500,
        crippen_logp(mol) > 5,
        rdMolDescriptors.CalcNumLipinskiHBD(mol) > 5,  # Lipinski's counts: NH and OH donors, N and O acceptors
        rdMolDescriptors.CalcNumLipinskiHBA(mol) > 10,
    )
    return sum(failures) <= 1


def _veber(mol: Chem.Mol) -> bool:
    """Veber's oral-bioavailability rule: at most 10 rotatable bonds and TPSA at most 140."""
    return rdMolDescriptors.CalcNumRotatableBonds(mol) <= 10 and rdMolDescriptors.CalcTPSA(mol) <= 140


RULES = {
    "lipinski": (_lipinski, "Lipinski rule of five: MW <= 500, logP <= 5, HBD <= 5, HBA <= 10, one miss allowed"),
    "veber": (_veber, "Veber: rotatable bonds <= 10 and TPSA <= 140"),
}


class RuleFilter(Filter):
    """A named rule of thumb (``lipinski``, ``veber``)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.rule, self.description = RULES[name]

    def passes(self, mol: Chem.Mol) -> bool:
        return bool(self.rule(mol))

    def card(self) -> dict[str, Any]:
        return super().card() | {"description": self.description}


class PropertyWindow(Filter):
    """Keeps molecules whose descriptor (a built-in objective such as ``sa`` or ``mw``) lies in a window."""

    def __init__(self, descriptor: str, low: float = -math.inf, high: float = math.inf) -> None:
        if descriptor not in DESCRIPTORS:
            raise ConfigError(
                f"filter on {descriptor!r}: not a descriptor; use one of {', '.join(DESCRIPTORS)} (e.g. sa<=4.5)"
            )
        if not low <= high:
            raise ConfigError(f"filter {descriptor}={low}..{high} is an empty window; give low..high with low <= high")
        self.descriptor, self.low, self.high = descriptor, low, high
        self.fn = DESCRIPTORS[descriptor][0]
        self.name = _window_name(descriptor, low, high)

    def passes(self, mol: Chem.Mol) -> bool:
        value = float(self.fn(mol))
        return self.low <= value <= self.high

    def card(self) -> dict[str, Any]:
        return super().card() | {"descriptor": self.descriptor, "low": self.low, "high": self.high}


def _window_name(descriptor: str, low: float, high: float) -> str:
    if math.isinf(low):
        return f"{descriptor}<={high:g}"
    if math.isinf(high):
        return f"{descriptor}>={low:g}"
    return f"{descriptor}={low:g}..{high:g}"


class SubstructureFilter(Filter):
    """A SMARTS pattern a molecule must contain (``keep``, e.g. a scaffold) or must not (``avoid``)."""

    def __init__(self, smarts: str, *, keep: bool) -> None:
        pattern = Chem.MolFromSmarts(smarts)
        if pattern is None:
            flag = "--keep-smarts" if keep else "--avoid-smarts"
            raise ConfigError(f"{flag} {smarts!r} is not valid SMARTS; check brackets and atom symbols")
        self.smarts, self.keep, self.pattern = smarts, keep, pattern
        self.name = f"{'keep' if keep else 'avoid'}:{smarts}"

    def passes(self, mol: Chem.Mol) -> bool:
        return bool(mol.HasSubstructMatch(self.pattern)) == self.keep

    def card(self) -> dict[str, Any]:
        return super().card() | {"smarts": self.smarts, "keep": self.keep}


_WINDOW = re.compile(r"^([a-z_]\w*)\s*(<=|>=|=)\s*(\S+)$")


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def parse_filter(text: str) -> Filter:
    """One filter from its name (``pains``, ``lipinski``) or a window (``sa<=4.5``, ``mw=200..500``)."""
    name = text.strip().lower()
    if name in ALERT_CATALOGS:
        return AlertFilter(name)
    if name in RULES:
        return RuleFilter(name)
    match = _WINDOW.match(name)
    if match:
        descriptor, op, bound = match.groups()
        low, _, high = bound.partition("..")
        a, b = _number(low), _number(high)
        if op == "<=" and a is not None and not high:
            return PropertyWindow(descriptor, high=a)
        if op == ">=" and a is not None and not high:
            return PropertyWindow(descriptor, low=a)
        if op == "=" and a is not None and b is not None:
            return PropertyWindow(descriptor, low=a, high=b)
    known = ", ".join([*ALERT_CATALOGS, *RULES])
    raise ConfigError(
        f"filter {text!r} is not understood; use {known}, or a property window such as sa<=4.5, qed>=0.5 or mw=200..500"
    )
