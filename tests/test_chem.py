from __future__ import annotations

import subprocess
import sys

import pytest
from rdkit import DataStructs

from llmga.chem import canonical, morgan


def test_morgan_fingerprints_compare_molecules_and_refuse_invalid_ones():
    ethanol, same, phenol = morgan("CCO"), morgan("OCC"), morgan("c1ccccc1O")
    assert ethanol is not None and same is not None and phenol is not None
    assert ethanol.GetNumBits() == 2048
    assert DataStructs.TanimotoSimilarity(ethanol, same) == 1.0
    assert DataStructs.TanimotoSimilarity(ethanol, phenol) < 0.3
    assert morgan("not a molecule") is None and morgan(None) is None


def test_canonical_rejects_dummy_atoms():
    from rdkit import Chem

    assert canonical("**CCOc1ccccc1C(=O)N**") is None  # Markdown bold read as SMILES
    assert canonical("[1*]c1ccccc1") is None
    assert canonical(Chem.MolFromSmiles("*CC")) is None
    assert canonical("OCC") == "CCO"


@pytest.mark.parametrize(
    ("given", "neutralize", "smiles", "reason"),
    [
        ("CC(=O)Nc1ccc(O)cc1.Cl", False, "CC(=O)Nc1ccc(O)cc1", "kept the largest organic fragment"),
        ("[Na+].CC(=O)[O-]", False, "CC(=O)[O-]", "kept the largest organic fragment"),
        ("[Na+].CC(=O)[O-]", True, "CC(=O)O", "kept the largest organic fragment, neutralized"),
        ("Cl.Cl.Clc1ccc(CN2CCNCC2)cc1", False, "Clc1ccc(CN2CCNCC2)cc1", "kept the largest organic fragment"),
        ("C[NH+](C)CCc1ccccc1", True, "CN(C)CCc1ccccc1", "neutralized"),
        ("C[S+](C)[O-]", False, "CS(C)=O", "normalized"),  # sulfoxides are written S=O, as in ZINC
    ],
)
def test_standardize_keeps_the_parent_molecule(given, neutralize, smiles, reason):
    from llmga.chem import standardize

    assert standardize(given, neutralize=neutralize) == (smiles, True, reason)


def test_standard_molecules_are_left_as_they_are_and_bad_ones_say_why():
    from llmga.chem import MAX_SMILES_CHARS, standardize
    from llmga.data import zinc250k

    for smiles in ["CC(=O)Nc1ccc(O)cc1", "C[C@@H](c1ccc([S@](C)=O)cc1)N(C)C(=O)C1CC1", "CC[NH+](CC)CC(=O)[O-]"]:
        out = standardize(smiles)
        assert out.changed is False and out.reason is None and out.smiles == canonical(smiles)
    assert sum(standardize(s).changed for s in zinc250k()[:300]) == 0
    assert standardize("C" * (MAX_SMILES_CHARS + 1)) == (None, False, f"longer than {MAX_SMILES_CHARS} characters")
    assert standardize("*CCO").reason == "dummy atom (*)"
    assert standardize("C1CC").reason == "invalid SMILES"
    assert standardize("  ").reason == "empty"


def test_standardize_all_reports_counts_by_reason():
    from llmga.chem import standardize_all

    kept, report = standardize_all(["CCO", "CCO.O", "[Na+].[O-]C(=O)c1ccccc1", "xx", "*C", "OCC"], neutralize=True)
    assert kept == ["CCO", "CCO", "O=C(O)c1ccccc1", "CCO"]
    assert (report.total, report.kept, report.changed, report.n_dropped) == (6, 4, 2, 2)
    assert report.changes == {"kept the largest organic fragment": 2, "neutralized": 1}
    assert report.dropped == {"invalid SMILES": 1, "dummy atom (*)": 1}
    assert str(report).startswith("6 molecules: 2 changed (kept the largest organic fragment: 2, neutralized: 1)")
    assert report.as_dict()["dropped_by_reason"] == {"invalid SMILES": 1, "dummy atom (*)": 1}


def test_strings_rdkit_cannot_survive_never_reach_it():
    # RDKit segfaults writing a chain of ~19,000 atoms (main thread, 8 MiB stack): run in a child
    # process so a crash fails this test instead of killing pytest. The limit keeps a wide margin:
    # the longest accepted strings are read and written even on a 1 MiB thread stack.
    code = (
        "import threading\n"
        "from llmga.chem import MAX_SMILES_CHARS as N, canonical, standardize, to_mol\n"
        "assert canonical('C' * 20_000) is None and to_mol('C(' * 20_000) is None\n"
        "assert standardize('C' * 10_000_000).reason == f'longer than {N} characters'\n"
        "at_limit = ['C' * N, 'C(' * (N // 3) + 'C' + ')' * (N // 3), 'c1ccc(cc1)' * (N // 10),\n"
        "            'C' + ''.join(f'C%{i % 90 + 10}' for i in range(N // 9)) * 2]\n"
        "done = []\n"
        "def work():\n"
        "    done.extend(len(s) <= N and canonical(s) is not None for s in at_limit)\n"
        "threading.stack_size(1 << 20)\n"
        "t = threading.Thread(target=work); t.start(); t.join()\n"
        "assert done == [True] * 4, done\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"exit {done.returncode}: {done.stderr[-2000:]}"
    assert done.stdout.strip() == "ok"
