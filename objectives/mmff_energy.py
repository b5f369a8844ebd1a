"""An external-program objective: conformational strain from RDKit conformers and the MMFF94 force field.

This script is a separate program, run by llmga once per batch (see
``llmga.objectives.external``): it reads CSV ``id,smiles`` on standard
input and writes CSV ``id,score`` on standard output. For each molecule it
embeds ``--conformers`` conformers (ETKDG v3, seeded), minimises each with
MMFF94 and scores the strain of the first embedded conformer: its energy
after minimisation minus the lowest energy found, in kcal/mol (0 for rigid
molecules; high values flag molecules whose ring systems or crowded groups
fight the force field). Minimise it:

    llmga optimize --objective \
        "exec(command='.venv/bin/python objectives/mmff_energy.py', direction=minimize, workers=2)"

A molecule that cannot be embedded or has no MMFF parameters gets an empty
score (llmga records NaN and the reason). Copy this file as the skeleton for
a docking objective: replace ``strain`` by a call to your docking program
(AutoDock Vina: write a PDBQT of the ligand with Meeko, run ``vina --receptor
... --ligand ... --out ...`` and read the best affinity; Gnina the same with
``gnina``), and keep the CSV in, CSV out contract.
"""

from __future__ import annotations

import argparse
import csv
import sys

from rdkit import Chem, RDLogger
from rdkit.Chem import AllChem


def strain(smiles: str, conformers: int, seed: int) -> float | None:
    """Energy of the first conformer after MMFF94 minimisation minus the lowest of ``conformers`` (kcal/mol)."""
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        return None
    mol = Chem.AddHs(mol)
    params = AllChem.ETKDGv3()
    params.randomSeed = seed
    ids = list(AllChem.EmbedMultipleConfs(mol, numConfs=conformers, params=params))
    if not ids or not AllChem.MMFFHasAllMoleculeParams(mol):
        return None
    results = AllChem.MMFFOptimizeMoleculeConfs(mol, maxIters=2000)
    energies = [energy for not_converged, energy in results]
    return energies[0] - min(energies)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conformers", type=int, default=8, help="conformers embedded per molecule")
    parser.add_argument("--seed", type=int, default=42, help="embedding seed (the same molecule, the same score)")
    args = parser.parse_args()
    RDLogger.DisableLog("rdApp.*")  # a separate program: its own log choices
    reader = csv.DictReader(sys.stdin)
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(["id", "score"])
    for row in reader:
        value = strain(row["smiles"], args.conformers, args.seed)
        writer.writerow([row["id"], "" if value is None else f"{value:.4f}"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
