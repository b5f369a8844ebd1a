"""Write tests/data/guacamol_reference.csv: GuacaMol's own scores for 19 PMO tasks.

Development script, not part of llmga. It scores a fixed set of molecules with
the real ``guacamol`` package so that ``tests/objectives/pmo/test_guacamol.py``
can check our re-implementation (``llmga/objectives/pmo/_guacamol.py``)
against it without guacamol being installed.

The reference file in the repository was produced with guacamol 0.5.5
(PyPI), RDKit 2026.09.1, NumPy 2.4.6 and SciPy 1.17.1 on Python 3.11.

How to run it (guacamol goes into a throw-away virtual environment outside
the repository; it is not a dependency of llmga)::

    python3 -m venv /tmp/guacvenv
    /tmp/guacvenv/bin/pip install rdkit numpy scipy joblib tqdm
    /tmp/guacvenv/bin/pip install --no-deps guacamol==0.5.5
    /tmp/guacvenv/bin/python scripts/make_guacamol_reference.py

Run it from the repository root; it writes ``tests/data/guacamol_reference.csv``
(``--out`` to write elsewhere). Use the same RDKit version as llmga's
environment: fingerprints and descriptors follow RDKit, not guacamol.

Two shims make guacamol 0.5.5 importable on current libraries, applied here
only: ``scipy.histogram`` (removed from SciPy) is pointed at
``numpy.histogram``, and an empty ``fcd`` module stands in for the
Fréchet ChemNet Distance package, which only guacamol's distribution-learning
benchmark uses.

Molecules: a seeded sample of 300 SMILES from llmga/data/zinc250k.smi.gz, the
task targets themselves (so that the 1.0 values are covered), a few edge
cases (salts, isotopes, charges, tiny molecules, unusual elements) and two
invalid SMILES. Where guacamol returns its "corrupt" score (-1.0) for a
molecule it cannot score, the CSV holds an empty cell (NaN); llmga returns
NaN there.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import importlib.metadata
import math
import random
import sys
import types
from pathlib import Path

import numpy
import scipy

ROOT = Path(__file__).resolve().parents[1]
ZINC = ROOT / "llmga" / "data" / "zinc250k.smi.gz"
OUT = ROOT / "tests" / "data" / "guacamol_reference.csv"
SEED = 20220527
N_ZINC = 300

# PMO task name -> name of the benchmark in GuacaMol's v2 (or trivial) suite.
TASKS = {
    "albuterol_similarity": "Albuterol similarity",
    "amlodipine_mpo": "Amlodipine MPO",
    "celecoxib_rediscovery": "Celecoxib rediscovery",
    "deco_hop": "Deco Hop",
    "fexofenadine_mpo": "Fexofenadine MPO",
    "isomers_c7h8n2o2": "C7H8N2O2",
    "isomers_c9h10n2o2pf2cl": "C9H10N2O2PF2Cl",
    "median1": "Median molecules 1",
    "median2": "Median molecules 2",
    "mestranol_similarity": "Mestranol similarity",
    "osimertinib_mpo": "Osimertinib MPO",
    "perindopril_mpo": "Perindopril MPO",
    "ranolazine_mpo": "Ranolazine MPO",
    "scaffold_hop": "Scaffold Hop",
    "sitagliptin_mpo": "Sitagliptin MPO",
    "thiothixene_rediscovery": "Thiothixene rediscovery",
    "troglitazone_rediscovery": "Troglitazone rediscovery",
    "valsartan_smarts": "Valsartan SMARTS",
    "zaleplon_mpo": "Zaleplon MPO",
}

# Targets of the tasks (as GuacaMol writes them) and a few molecules that hit
# the SMARTS patterns, so that maximal scores appear in the reference.
TARGETS = [
    "CC1=CC=C(C=C1)C1=CC(=NN1C1=CC=C(C=C1)S(N)(=O)=O)C(F)(F)F",  # celecoxib
    "Cc1c(C)c2OC(C)(COc3ccc(CC4SC(=O)NC4=O)cc3)CCc2c(C)c1O",  # troglitazone
    "CN(C)S(=O)(=O)c1ccc2Sc3ccccc3C(=CCCN4CCN(C)CC4)c2c1",  # thiothixene
    "CC(C)(C)NCC(O)c1ccc(O)c(CO)c1",  # albuterol
    "COc1ccc2[C@H]3CC[C@@]4(C)[C@@H](CC[C@@]4(O)C#C)[C@@H]3CCc2c1",  # mestranol
    "NNC(=O)c1ccccc1O",  # C7H8N2O2 (salicylhydrazide)
    "Cc1ccc([N+](=O)[O-])cc1N",  # C7H8N2O2
    "CC(Cl)c1ccc(NC(=O)NP(=O)(F)F)cc1",  # C9H10N2O2PF2Cl
    "CC1(C)C2CCC1(C)C(=O)C2",  # camphor
    "CC(C)C1CCC(C)CC1O",  # menthol
    "O=C1N(CC(N2C1CC3=C(C2C4=CC5=C(OCO5)C=C4)NC6=C3C=CC=C6)=O)C",  # tadalafil
    "CCCC1=NN(C2=C1N=C(NC2=O)C3=C(C=CC(=C3)S(=O)(=O)N4CCN(CC4)C)OCC)C",  # sildenafil
    "COc1cc(N(C)CCN(C)C)c(NC(=O)C=C)cc1Nc2nccc(n2)c3cn(C)c4ccccc34",  # osimertinib
    "CC(C)(C(=O)O)c1ccc(cc1)C(O)CCCN2CCC(CC2)C(O)(c3ccccc3)c4ccccc4",  # fexofenadine
    "COc1ccccc1OCC(O)CN2CCN(CC(=O)Nc3c(C)cccc3C)CC2",  # ranolazine
    "O=C(OCC)C(NC(C(=O)N1C(C(=O)O)CC2CCCCC12)C)CCC",  # perindopril
    r"Clc1ccccc1C2C(=C(/N/C(=C2/C(=O)OCC)COCCN)C)\C(=O)OC",  # amlodipine
    "Fc1cc(c(F)cc1F)CC(N)CC(=O)N3Cc2nnc(n2CC3)C(F)(F)F",  # sitagliptin
    "O=C(C)N(CC)C1=CC=CC(C2=CC=NC3=C(C=NN23)C#N)=C1",  # zaleplon
    "CCCCC(=O)N(Cc1ccc(-c2ccccc2-c2nn[nH]n2)cc1)C(C(=O)O)C(C)C",  # valsartan
    "CN(C=O)Cc1ccc(-c2ccccc2)cc1",  # the valsartan SMARTS as a molecule
    "CN(C(=O)CC(N)Cc1nnc[nH]1)Cc1ccc(-c2cc(F)c(F)cc2F)cc1",  # valsartan SMARTS, sitagliptin-like
    "NC(=O)CN(C=O)Cc1ccc(-c2cc(F)c(F)cc2F)cc1",  # valsartan SMARTS, sitagliptin-like
    "CCCOc1cc2ncnc(Nc3ccc4ncsc4c3)c2cc1S(=O)(=O)C(C)(C)C",  # deco/scaffold hop start
    "CCCOc1cc2ncnc(Nc3ccc(C)cc3)c2cc1OC",  # keeps the scaffold, new decorations
    "CCCOc1ccc(Nc2ccc3ncsc3c2)cc1",  # keeps the decoration, no quinazoline
    "Clc4cccc(N3CCN(CCCCOc2ccc1c(NC(=O)CC1)c2)CC3)c4Cl",  # aripiprazole
]

# Molecules at the edges of what the scorers handle.
EDGE_CASES = [
    "C",
    "O",
    "[Na+].[Cl-]",
    "c1ccccc1",
    "CC(=O)[O-].[NH4+]",
    "OC(=O)c1ccccc1.OC(=O)c1ccccc1",
    "[2H]C([2H])([2H])Oc1ccc(CCN)cc1",
    "[H]N([H])c1ccccc1",
    "C[N+](C)(C)CCO",
    "B(O)c1ccccc1O",
    "C[Si](C)(C)OC1CCCCC1",
    "CC[Se]CC",
    "OP(=O)(O)OC[C@H]1O[C@@H](n2cnc3c(N)ncnc32)[C@H](O)[C@@H]1O",
    "C1CCCCCCCCCCCCCCCCC1",
    "FC(F)(F)C(F)(F)C(F)(F)Cl",
    "CC(C)C[C@H](NC(=O)[C@@H](Cc1ccccc1)NC(=O)c1cnccn1)B(O)O",
]

INVALID = ["C1CC(", "CC(C)(C)(C)(C)C"]


def _import_guacamol() -> types.ModuleType:
    """Import guacamol's benchmark suites with the two shims described above."""
    scipy.histogram = numpy.histogram  # type: ignore[attr-defined]
    sys.modules.setdefault("fcd", types.ModuleType("fcd"))
    import guacamol.benchmark_suites as suites

    return suites


def _zinc_sample() -> list[str]:
    with gzip.open(ZINC, "rt") as fh:
        smiles = [line.split()[0] for line in fh if line.strip()]
    return random.Random(SEED).sample(smiles, N_ZINC)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()

    suites = _import_guacamol()
    benchmarks = {b.name: b for b in suites.goal_directed_suite_v2()}
    benchmarks.update({b.name: b for b in suites.goal_directed_suite_trivial()})

    molecules = list(dict.fromkeys(_zinc_sample() + TARGETS + EDGE_CASES + INVALID))
    columns: dict[str, list[float]] = {}
    for task, bench_name in TASKS.items():
        scores = benchmarks[bench_name].objective.score_list(molecules)
        for smi, s in zip(molecules, scores, strict=True):
            if s < 0 and s != -1.0:
                print(f"warning: {task} gave {s} for {smi} (partly unscorable)", file=sys.stderr)
        columns[task] = [math.nan if s < 0 else float(s) for s in scores]
        print(f"{task:26s} max {max(s for s in columns[task] if s == s):.4f}", file=sys.stderr)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["smiles", *TASKS])
        for i, smi in enumerate(molecules):
            row = [smi] + ["" if math.isnan(columns[t][i]) else repr(columns[t][i]) for t in TASKS]
            writer.writerow(row)
    version = importlib.metadata.version("guacamol")
    print(f"wrote {len(molecules)} molecules x {len(TASKS)} tasks to {args.out} (guacamol {version})", file=sys.stderr)


if __name__ == "__main__":
    main()
