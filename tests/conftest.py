from __future__ import annotations

import numpy as np
import pytest

ASPIRIN = "CC(=O)Oc1ccccc1C(=O)O"
CAFFEINE = "Cn1c(=O)c2c(ncn2C)n(C)c1=O"
IBUPROFEN = "CC(C)Cc1ccc(cc1)[C@@H](C)C(=O)O"
PARACETAMOL = "CC(=O)Nc1ccc(O)cc1"

# A `file.py:score` objective for crash tests: QED, and its process SIGKILLs itself at the KILL_AT-th call.
KILLING_QED = '''
import os, signal
from rdkit import Chem
from rdkit.Chem import QED

_count = 0

def score(smiles):
    global _count
    _count += 1
    if _count == int(os.environ.get("KILL_AT", "0")):
        os.kill(os.getpid(), signal.SIGKILL)
    return QED.qed(Chem.MolFromSmiles(smiles))
'''


@pytest.fixture
def drugs() -> list[str]:
    return [ASPIRIN, CAFFEINE, IBUPROFEN, PARACETAMOL]


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture
def init_file(tmp_path):
    """A small initial population of real ZINC molecules."""
    path = tmp_path / "init.smi"
    path.write_text(
        "\n".join(
            [
                "CC(C)(C)c1ccc2occ(CC(=O)Nc3ccccc3F)c2c1",
                "C[C@@H]1CC(Nc2cncc(-c3nncn3C)c2)C[C@@H](C)C1",
                "N#Cc1ccc(-c2ccc(O[C@@H](C(=O)N3CCCC3)c3ccccc3)cc2)cc1",
                "CCOC(=O)[C@@H]1CCCN(C(=O)c2nc(-c3ccc(C)cc3)n3c2CCCCC3)C1",
                ASPIRIN,
                CAFFEINE,
                IBUPROFEN,
                PARACETAMOL,
            ]
        )
        + "\n"
    )
    return path


@pytest.fixture(scope="session")
def tiny_lm_dir(tmp_path_factory):
    """A tiny embedded-model folder trained by ``train_lm`` for a few seconds (built once per session)."""
    from llmga.testing import save_tiny_lm

    return save_tiny_lm(tmp_path_factory.mktemp("lm") / "tiny")
