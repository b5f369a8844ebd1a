"""Filters: rules a molecule must pass before it is scored (they cost no oracle calls).

Structural alerts (PAINS, Brenk, NIH, ZINC; RDKit's FilterCatalog), rules
of thumb (Lipinski, Veber), property windows over the built-in descriptors
(``sa<=4.5``, ``mw=200..500``, ``qed>=0.5``) and substructures a molecule must
keep (a scaffold) or avoid. A rejected molecule never reaches the oracle and
is counted against the first filter it fails; the counts are in each
generation's row and the run summary. Write your own by subclassing
:class:`Filter`.
"""

from __future__ import annotations

from llmga.filters._base import Filter, FilterSet
from llmga.filters._rules import (
    ALERT_CATALOGS,
    RULES,
    AlertFilter,
    PropertyWindow,
    RuleFilter,
    SubstructureFilter,
    parse_filter,
)

__all__ = [
    "ALERT_CATALOGS",
    "RULES",
    "AlertFilter",
    "Filter",
    "FilterSet",
    "PropertyWindow",
    "RuleFilter",
    "SubstructureFilter",
    "filters_from_config",
    "parse_filter",
]


def filters_from_config(
    filters: str = "", keep_smarts: str | None = None, avoid_smarts: str | None = None
) -> FilterSet:
    """The :class:`FilterSet` of the ``--filters``, ``--keep-smarts`` and ``--avoid-smarts`` options.

    ``filters`` is comma-separated; each SMARTS option holds one or more
    patterns separated by spaces (SMARTS never contains a space).
    """
    made: list[Filter] = [parse_filter(part) for part in filters.split(",") if part.strip()]
    made += [SubstructureFilter(s, keep=True) for s in (keep_smarts or "").split()]
    made += [SubstructureFilter(s, keep=False) for s in (avoid_smarts or "").split()]
    return FilterSet(made)
