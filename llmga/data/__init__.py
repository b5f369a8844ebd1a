"""Data shipped with llmga, and readers for users' molecule files."""

from __future__ import annotations

import csv
import functools
import gzip
import io
import warnings
from pathlib import Path

from llmga.chem import canonical
from llmga.errors import InitPopulationError

__all__ = ["ZINC250K_PATH", "InitFileWarning", "read_smiles_file", "read_smiles_table", "zinc250k"]

ZINC250K_PATH = Path(__file__).with_name("zinc250k.smi.gz")
_SUFFIXES = (".smi", ".txt", ".csv", ".smiles")
_SMILES_NAMES = ("smiles", "smi", "canonical_smiles", "mol")


class InitFileWarning(UserWarning):
    """Some lines of an initial-population file were skipped."""


@functools.cache
def _zinc() -> tuple[str, ...]:
    with gzip.open(ZINC250K_PATH, "rt") as fh:
        return tuple(line.strip() for line in fh if line.strip())


def zinc250k() -> list[str]:
    """The 249,455 ZINC molecules PMO and MolLEO draw initial populations from (as shipped)."""
    return list(_zinc())


def _open_text(path: Path, what: str) -> str:
    raw = path.read_bytes()
    if path.suffix == ".gz":
        try:
            raw = gzip.decompress(raw)
        except OSError as exc:
            raise InitPopulationError(f"{what} {str(path)!r} ends in .gz but is not gzip data ({exc})") from exc
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InitPopulationError(
            f"{what} {str(path)!r} is not UTF-8 text (byte {exc.start}); save it as a plain-text "
            ".smi/.txt/.csv file with one SMILES per line"
        ) from exc


def _csv_rows(path: Path, text: str, smiles_col: str | None, what: str) -> list[tuple[int, str]]:
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None:
        return []
    names = [h.strip() for h in header]
    lowered = [n.lower() for n in names]
    if smiles_col is not None:
        if smiles_col not in names:
            raise InitPopulationError(
                f"{what} {str(path)!r} has no column {smiles_col!r}; its columns are: {', '.join(names)}"
            )
        col = names.index(smiles_col)
    elif any(n in lowered for n in _SMILES_NAMES):
        col = lowered.index(next(n for n in _SMILES_NAMES if n in lowered))
    elif canonical(header[0]) is not None:
        # No header at all: the first column holds SMILES, first line included.
        col = 0
        reader = csv.reader(io.StringIO(text))
    else:
        raise InitPopulationError(
            f"{what} {str(path)!r} is a CSV without a 'smiles' column (columns: {', '.join(names)}); "
            "name the SMILES column 'smiles' or pass --smiles-col"
        )
    return [(reader.line_num, row[col].strip()) for row in reader if len(row) > col and row[col].strip()]


def _line_rows(text: str) -> list[tuple[int, str]]:
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        fields = line.split()
        if fields and not fields[0].startswith("#"):
            rows.append((number, fields[0]))
    if rows and rows[0][1].lower() in ("smiles", "smi") and canonical(rows[0][1]) is None:
        rows = rows[1:]  # header line
    return rows


def read_smiles_table(path: str | Path, smiles_col: str | None = None, *, what: str = "file") -> list[tuple[int, str]]:
    """Every SMILES row of a .smi/.txt/.csv file (optionally gzipped) as (line number, text).

    Rows keep their order and invalid SMILES are returned as they are. In a
    CSV the SMILES column is ``smiles_col``, else one named like ``smiles``,
    else the first column of a header-less file. Raises
    :class:`~llmga.errors.InitPopulationError` naming the problem when the
    file is missing, has an unknown extension or lacks the SMILES column.
    """
    p = Path(path).expanduser()
    if not p.exists():
        raise InitPopulationError(f"{what} {str(path)!r} does not exist; check the path")
    if p.is_dir():
        raise InitPopulationError(f"{what} {str(path)!r} is a folder; give a .smi/.txt/.csv file")
    stem = p.name[:-3] if p.name.endswith(".gz") else p.name
    if not stem.endswith(_SUFFIXES):
        raise InitPopulationError(
            f"{what} {str(path)!r} has an unknown extension; use .smi, .txt or .csv (optionally .gz)"
        )
    text = _open_text(p, what)
    if stem.endswith(".csv"):
        return _csv_rows(p, text, smiles_col, what)
    if smiles_col is not None:
        raise InitPopulationError(f"--smiles-col applies to .csv files; {what} {str(path)!r} holds one SMILES per line")
    return _line_rows(text)


def read_smiles_file(path: str | Path) -> list[str]:
    """Read and validate the SMILES of an initial-population file (.smi/.txt/.csv, optionally .gz).

    Invalid lines are skipped with an :class:`InitFileWarning` listing their
    line numbers; an :class:`~llmga.errors.InitPopulationError` is raised when
    the file is missing, empty, or holds no valid molecule. Returns the valid
    input SMILES in file order.
    """
    try:
        rows = read_smiles_table(path, what="init file")
    except InitPopulationError as exc:
        if "does not exist" in str(exc):
            raise InitPopulationError(f"{exc} or leave --init out to use ZINC 250k") from exc
        raise
    if not rows:
        raise InitPopulationError(f"init file {str(path)!r} is empty; put one SMILES per line")
    valid: list[str] = []
    bad: list[int] = []
    for number, smiles in rows:
        if canonical(smiles) is None:
            bad.append(number)
        else:
            valid.append(smiles)
    if not valid:
        raise InitPopulationError(
            f"init file {str(path)!r} has no valid SMILES ({len(rows)} lines checked, e.g. line "
            f"{bad[0]}: {rows[0][1]!r}); give one valid SMILES per line"
        )
    if bad:
        shown = ", ".join(str(n) for n in bad[:20]) + (" ..." if len(bad) > 20 else "")
        warnings.warn(
            f"init file {str(path)!r}: skipped {len(bad)} invalid SMILES on line(s) {shown}",
            InitFileWarning,
            stacklevel=2,
        )
    return valid
