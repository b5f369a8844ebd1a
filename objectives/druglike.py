"""Example plug-in objectives: copy this file and edit it for your project.

Run one with:

    llmga optimize --objective objectives/druglike.py:score
    llmga optimize --objective objectives/druglike.py:small_and_polar

A plug-in is either

* a plain function ``f(smiles: str) -> float`` scoring one molecule
  (return ``None`` or ``float("nan")`` when it cannot be scored), or
* an ``llmga.Objective`` — the ``@objective`` decorator makes one from a
  function and lets you set the direction, a one-line description (shown in
  ``llmga`` output and, later, in language-model prompts), and ``batched=True``
  when your function scores a whole list at once (e.g. a trained model).

Larger scores are better unless you say ``direction="minimize"``.
"""

from __future__ import annotations

import numpy as np
from rdkit import Chem
from rdkit.Chem import QED, Crippen, rdMolDescriptors

from llmga import objective


def score(smiles: str) -> float | None:
    """Drug-likeness (QED) with a penalty outside the logP window 1..4."""
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        return None  # the engine records NaN: this molecule cannot be scored
    logp = Crippen.MolLogP(mol)
    # Zero inside the window, growing by 0.2 per logP unit outside it.
    penalty = 0.2 * max(0.0, 1.0 - logp, logp - 4.0)
    return float(QED.qed(mol) - penalty)


@objective(batched=True, direction="minimize", description="Heavy atoms minus TPSA/10: smaller, more polar molecules")
def small_and_polar(smiles: list[str]) -> np.ndarray:
    """A batched objective: one call scores the whole list and returns one number per SMILES."""
    out = np.full(len(smiles), np.nan)
    for i, smi in enumerate(smiles):
        mol = Chem.MolFromSmiles(smi)
        if mol is not None:
            out[i] = mol.GetNumHeavyAtoms() - rdMolDescriptors.CalcTPSA(mol) / 10.0
    return out
