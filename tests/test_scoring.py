from __future__ import annotations

import math

import pandas as pd
import pytest

from llmga.chem import canonical
from llmga.cli import main
from llmga.data import zinc250k
from llmga.errors import InitPopulationError, ObjectiveError
from llmga.scoring import score_file, score_smiles
from tests.conftest import ASPIRIN, CAFFEINE


def test_score_smiles_keeps_order_and_explains_missing_scores():
    frame = score_smiles("qed", [ASPIRIN, "nope", CAFFEINE, "OC(=O)c1ccccc1OC(C)=O"], workers=1)
    assert list(frame.columns) == ["smiles", "score", "reason"]
    assert frame["smiles"].tolist()[1] == "nope"
    assert frame["score"][0] == pytest.approx(0.5501, abs=1e-4)
    assert frame["score"][3] == frame["score"][0]  # the same molecule spelled differently
    assert math.isnan(frame["score"][1]) and frame["reason"][1] == "invalid SMILES"
    assert frame["reason"][0] == ""


def test_nan_from_the_objective_has_its_own_reason():
    frame = score_smiles(lambda s: None if "N" in s else 1.0, ["CCO", "CCN"], workers=1)
    assert frame["reason"].tolist() == ["", "<lambda> cannot score this molecule (NaN)"]


def test_score_file_round_trip_with_csv_column(tmp_path):
    src = tmp_path / "lib.csv"
    src.write_text(f"id,structure\n1,{ASPIRIN}\n2,xx\n3,{CAFFEINE}\n")
    out = tmp_path / "scores.csv"
    frame = score_file("logp", src, smiles_col="structure", out=out, workers=1)
    back = pd.read_csv(out)
    assert back["smiles"].tolist() == [ASPIRIN, "xx", CAFFEINE]
    assert back["score"][0] == pytest.approx(1.3101, abs=1e-4)
    assert math.isnan(back["score"][1])
    assert back["reason"].fillna("").tolist() == ["", "invalid SMILES", ""]
    assert frame["score"].tolist()[2] == pytest.approx(back["score"][2])
    assert "NaN" in out.read_text()


def test_missing_column_names_the_columns_found(tmp_path):
    src = tmp_path / "lib.csv"
    src.write_text("id,structure\n1,CCO\n")
    with pytest.raises(InitPopulationError, match=r"has no column 'smiles_x'; its columns are: id, structure"):
        score_file("qed", src, smiles_col="smiles_x")


def test_objective_failure_keeps_partial_results(tmp_path):
    src = tmp_path / "lib.smi"
    molecules = zinc250k()[:2499]  # more than one chunk of 2000
    src.write_text("\n".join(molecules) + "\n")
    poison = canonical(molecules[2300])

    def fragile(smiles: str) -> float:
        if smiles == poison:
            raise RuntimeError("license expired")
        return float(len(smiles))

    out = tmp_path / "scores.csv"
    with pytest.raises(ObjectiveError, match="license expired"):
        score_file(fragile, src, out=out, workers=1)
    back = pd.read_csv(out)
    assert back["score"].notna().sum() == 2000  # the first chunk was scored and kept
    assert back["reason"].fillna("").str.startswith("not scored").sum() == 499


def test_cli_score_to_stdout_and_file(tmp_path, capsys):
    src = tmp_path / "lib.smi"
    src.write_text(f"{ASPIRIN}\nbad\n")
    assert main(["score", "--objective", "qed", str(src), "--workers", "1"]) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines()[0] == "smiles,score,reason"
    assert captured.out.splitlines()[2] == "bad,NaN,invalid SMILES"
    assert "scored 1 of 2 molecules (1 invalid SMILES" in captured.err
    assert (
        main(["score", "--objective", "objectives/druglike.py:score", str(src), "--out", str(tmp_path / "o.csv")]) == 0
    )
    assert len(pd.read_csv(tmp_path / "o.csv")) == 2


def test_cli_score_bad_input(tmp_path, capsys):
    assert main(["score", "--objective", "qed", str(tmp_path / "none.smi")]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert main(["score", "--objective", "qedd", str(tmp_path / "none.smi")]) == 1


def test_salts_are_scored_as_their_parent_and_the_output_says_so(tmp_path, capsys):
    src = tmp_path / "salts.smi"
    src.write_text("CC(=O)Nc1ccc(O)cc1.Cl\nCC(=O)Nc1ccc(O)cc1\n**CCOc1ccccc1C(=O)N**\n" + "C" * 5000 + "\n")
    with pytest.warns(UserWarning, match=r"4 molecules: 1 changed .*2 dropped"):
        frame = score_file("qed", src, workers=1)
    assert frame["score"][0] == frame["score"][1] == pytest.approx(0.5950, abs=1e-4)
    assert frame["reason"].tolist()[2:] == [
        "invalid SMILES: dummy atom (*)",
        "invalid SMILES: longer than 2000 characters",
    ]
    assert main(["score", "--objective", "qed", str(src), "--workers", "1"]) == 0
    err = capsys.readouterr().err
    assert "scored 2 of 4 molecules (2 invalid SMILES, 0 unscorable, 1 changed by standardisation)" in err
    assert "kept the largest organic fragment: 1" in err
