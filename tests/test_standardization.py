"""Molecules entering llmga are standardised once; the shipped ZINC population never is."""

from __future__ import annotations

import hashlib
import json

import pytest

import llmga
from llmga.data import InitFileWarning

# The first generation of this run, as llmga drew it before standardisation existed (PMO's draw).
ZINC_INIT_SHA256 = "25de5d06bf680c07321ecbdb07a0d0dd9cc247b790ea119d73fbd837ae569660"
ZINC_INIT_FIRST = "CC(C)[C@@H]1C(=O)N2CCC[C@H]2C(=O)N1Cc1cccs1"


@pytest.mark.parametrize("neutralize", [False, True])
def test_the_shipped_zinc_population_is_drawn_exactly_as_before(tmp_path, neutralize):
    run = llmga.optimize(
        "qed", llm="none", budget=60, population=60, seed=7, executor="serial", workers=1, max_generations=1,
        neutralize=neutralize, out=str(tmp_path / "r"),
    )  # fmt: skip
    frame = run.evaluations
    init = frame[frame["generation"] == 0]["smiles"].tolist()
    assert init[0] == ZINC_INIT_FIRST
    assert any("+]" in s for s in init)  # ZINC's protonated amines stay as they are, even with neutralize
    assert hashlib.sha256("\n".join(init).encode()).hexdigest() == ZINC_INIT_SHA256
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["standardization"] == {"neutralize": neutralize, "init": "zinc250k as shipped (not standardised)"}


def test_a_run_from_salts_standardises_them_reports_it_and_finishes(tmp_path):
    init = tmp_path / "salts.smi"
    init.write_text(
        "CC(=O)Nc1ccc(O)cc1.Cl\n[Na+].CC(=O)[O-]\nCl.Cl.Clc1ccc(CN2CCNCC2)cc1\nCCOc1ccc(CC(=O)N2CCCC2)cc1\n"
        "Cc1ccc(S(=O)(=O)Nc2ccccc2)cc1\n*CCO\n" + "C" * 3000 + "\n"
    )
    with pytest.warns(InitFileWarning) as caught:
        run = llmga.optimize(
            "qed", llm="none", budget=40, population=5, offspring=10, seed=1, executor="serial", workers=1,
            init=str(init), neutralize=True, out=str(tmp_path / "r"),
        )  # fmt: skip
    messages = [str(w.message) for w in caught]
    assert any("skipped 1 SMILES (longer than 2000 characters) on line(s) 7" in m for m in messages)
    assert any("skipped 1 SMILES (dummy atom (*)) on line(s) 6" in m for m in messages)
    assert any("standardised 3 of 5 molecules" in m for m in messages)
    frame = run.evaluations
    assert not frame["smiles"].str.contains(".", regex=False).any()  # no molecule of several fragments scored
    assert "CC(=O)O" in set(frame[frame["generation"] == 0]["smiles"])  # neutralised acetate
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["status"] == "finished" and summary["calls"] > 5
    report = summary["standardization"]["init"]
    assert report["total"] == 7 and report["kept"] == 5 and report["changed"] == 3
    assert report["changes"] == {"kept the largest organic fragment": 3, "neutralized": 1}
    assert report["dropped_by_reason"] == {"dummy atom (*)": 1, "longer than 2000 characters": 1}
