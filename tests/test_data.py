from __future__ import annotations

import gzip

import pytest

from llmga.data import InitFileWarning, read_smiles_file, zinc250k
from llmga.errors import InitPopulationError


def test_shipped_zinc_is_complete():
    zinc = zinc250k()
    assert len(zinc) == 249_455
    assert zinc[0] == "CC(C)(C)c1ccc2occ(CC(=O)Nc3ccccc3F)c2c1"


def test_smi_file_with_names_header_and_comments(tmp_path):
    path = tmp_path / "mols.smi"
    path.write_text("SMILES name\n# a comment\nCCO ethanol\n\nc1ccccc1 benzene\n")
    assert read_smiles_file(path) == ["CCO", "c1ccccc1"]


def test_invalid_lines_are_skipped_with_line_numbers(tmp_path):
    path = tmp_path / "mols.txt"
    path.write_text("CCO\nC1CC\nc1ccccc1\nXyz\n")
    with pytest.warns(InitFileWarning, match=r"skipped 2 invalid SMILES on line\(s\) 2, 4"):
        assert read_smiles_file(path) == ["CCO", "c1ccccc1"]


def test_csv_with_smiles_column_and_gzip(tmp_path):
    path = tmp_path / "mols.csv"
    path.write_text('id,SMILES,pIC50\n1,CCO,5.0\n2,"CC(=O)O",6.1\n3,bad,7\n')
    with pytest.warns(InitFileWarning, match=r"line\(s\) 4"):
        assert read_smiles_file(path) == ["CCO", "CC(=O)O"]
    gz = tmp_path / "mols.smi.gz"
    gz.write_bytes(gzip.compress(b"CCN\nCCC\n"))
    assert read_smiles_file(gz) == ["CCN", "CCC"]


def test_csv_without_smiles_column_is_explained(tmp_path):
    path = tmp_path / "mols.csv"
    path.write_text("id,value\n1,2\n")
    with pytest.raises(InitPopulationError, match=r"without a 'smiles' column \(columns: id, value\)"):
        read_smiles_file(path)


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (None, "missing.smi", r"does not exist"),
        ("", "empty.smi", r"is empty; put one SMILES per line"),
        ("xx\nyy\n", "bad.smi", r"has no valid SMILES \(2 lines checked, e.g. line 1: 'xx'\)"),
        ("CCO\n", "mols.sdf", r"unknown extension; use .smi, .txt or .csv"),
    ],
)
def test_unusable_files(tmp_path, content, name, message):
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    with pytest.raises(InitPopulationError, match=message):
        read_smiles_file(path)


def test_init_files_are_standardised_and_overlong_lines_dropped_with_the_reason(tmp_path):
    from llmga.data import read_init_file

    path = tmp_path / "salts.smi"
    path.write_text("CC(=O)Nc1ccc(O)cc1.Cl\n[Na+].CC(=O)[O-]\n" + "C" * 100_000 + "\nCCO\n")
    with pytest.warns(InitFileWarning) as caught:
        molecules, report = read_init_file(path, neutralize=True)
    assert molecules == ["CC(=O)Nc1ccc(O)cc1", "CC(=O)O", "CCO"]
    assert (report.changed, dict(report.dropped)) == (2, {"longer than 2000 characters": 1})
    messages = [str(w.message) for w in caught]
    assert any("skipped 1 SMILES (longer than 2000 characters) on line(s) 3" in m for m in messages)
    changed = "standardised 2 of 3 molecules (kept the largest organic fragment: 2, neutralized: 1)"
    assert any(changed in m for m in messages)


def test_a_csv_field_too_long_for_csv_is_a_clear_error(tmp_path):
    path = tmp_path / "mols.csv"
    path.write_text("smiles,score\nCCO,1\n" + "C" * 200_000 + ",2\n")
    with pytest.raises(InitPopulationError, match=r"line 3 cannot be read as CSV .*fix or remove that line"):
        read_smiles_file(path)


def test_the_shipped_zinc_pool_is_not_standardised():
    from llmga.data import initial_pool

    pool, report = initial_pool(None, neutralize=True)
    assert report is None and pool == zinc250k()
