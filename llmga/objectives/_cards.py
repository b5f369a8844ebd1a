"""Prompt cards: what an objective rewards, in words a chemist (or a language model) can act on.

Cards of the GuacaMol-derived PMO tasks are rendered from the exact scoring
specification the objective evaluates (targets, fingerprints, modifiers,
formulas, SMARTS, how terms are combined), so a card cannot drift from the
code. ``names`` maps target SMILES to drug names; leave it out to withhold
them (``--hide-objective-name``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["render_spec"]

_FINGERPRINTS = {
    "ECFP4": "ECFP4 count fingerprints (Morgan radius 2)",
    "ECFP6": "ECFP6 count fingerprints (Morgan radius 3)",
    "FCFP4": "FCFP4 count fingerprints (feature Morgan radius 2)",
    "FCFP6": "FCFP6 count fingerprints (feature Morgan radius 3)",
    "AP": "atom-pair count fingerprints",
    "PHCO": "2D pharmacophore fingerprints (Gobbi-Poppinger)",
}
_DESCRIPTORS = {
    "logp": "Crippen logP",
    "tpsa": "topological polar surface area (TPSA, square angstroms)",
    "bertz": "Bertz molecular complexity (BertzCT)",
    "mol_weight": "molecular weight",
    "num_h_donors": "number of H-bond donors",
    "num_h_acceptors": "number of H-bond acceptors",
    "num_rotatable_bonds": "number of rotatable bonds",
    "num_rings": "number of rings",
    "num_aromatic_rings": "number of aromatic rings",
    "qed": "QED drug-likeness",
}


def _num(x: float) -> str:
    return f"{x:.4g}"


def _modifier(spec: Mapping[str, Any]) -> str:
    kind = spec.get("type", "identity")
    if kind == "identity":
        return "used as it is"
    if kind == "clipped":
        return (
            f"scored {_num(spec['low_score'])} at {_num(spec['lower_x'])} rising linearly to "
            f"{_num(spec['high_score'])} at {_num(spec['upper_x'])} and beyond"
        )
    if kind == "thresholded":
        return f"scored linearly up to {_num(spec['threshold'])}, full score at or above it"
    if kind == "gaussian":
        return f"best at exactly {_num(spec['mu'])} (Gaussian, width {_num(spec['sigma'])})"
    if kind == "min_gaussian":
        return f"full score at {_num(spec['mu'])} or below, falling off above (width {_num(spec['sigma'])})"
    if kind == "max_gaussian":
        return f"full score at {_num(spec['mu'])} or above, falling off below (width {_num(spec['sigma'])})"
    return str(dict(spec))


def _target(smiles: str, names: Mapping[str, str] | None) -> str:
    name = (names or {}).get(smiles)
    return f"{name} ({smiles})" if name else f"the target molecule {smiles}"


def _lines(spec: Mapping[str, Any], names: Mapping[str, str] | None, depth: int) -> list[str]:
    pad = "  " * depth + "- "
    kind = spec.get("type")
    if kind == "tanimoto":
        fp = _FINGERPRINTS.get(spec["fingerprint"], spec["fingerprint"])
        return [f"{pad}Tanimoto similarity to {_target(spec['target'], names)} on {fp}, {_modifier(spec['modifier'])}"]
    if kind == "descriptor":
        what = _DESCRIPTORS.get(spec["descriptor"], spec["descriptor"])
        return [f"{pad}{what}: {_modifier(spec['modifier'])}"]
    if kind == "atom_count":
        return [f"{pad}number of {spec.get('element')} atoms: {_modifier(spec.get('modifier', {}))}"]
    if kind == "isomer":
        return [
            f"{pad}be an isomer of {spec['formula']}: the count of each element and the total atom count "
            f"(hydrogens included) are each scored by a Gaussian around the formula's counts, combined by "
            f"{spec.get('mean', 'geometric')} mean; only exact isomers score 1"
        ]
    if kind == "smarts":
        if spec.get("inverse"):
            return [f"{pad}must NOT contain the substructure (SMARTS) {spec['smarts']}: 1 if absent, 0 if present"]
        return [f"{pad}must contain the substructure (SMARTS) {spec['smarts']}: 1 if present, 0 if absent"]
    if kind in ("geometric_mean", "arithmetic_mean"):
        weights = spec.get("weights")
        how = "geometric mean" if kind == "geometric_mean" else "mean"
        if weights and len(set(weights)) > 1:
            how = f"weighted mean (weights {', '.join(_num(w) for w in weights)})"
        head = f"{pad}the {how} of:" if depth else f"The score (0 to 1) is the {how} of:"
        body = [line for term in spec["terms"] for line in _lines(term, names, depth + 1)]
        return [head, *body]
    return [f"{pad}{dict(spec)}"]


def render_spec(spec: Mapping[str, Any], names: Mapping[str, str] | None = None) -> str:
    """A multi-line plain-English card for a scoring specification."""
    lines = _lines(spec, names, 0)
    if spec.get("type") not in ("geometric_mean", "arithmetic_mean"):
        lines = ["The score (0 to 1) rewards:", *(("  " + line) for line in lines)]
    return "\n".join(lines)
