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
