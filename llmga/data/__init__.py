"""Data shipped with llmga, and readers for users' molecule files."""

from __future__ import annotations

import csv
import functools
import gzip
import io
import warnings
from pathlib import Path
from typing import Any

from llmga.chem import StandardizationReport, canonical, standardize
from llmga.errors import InitPopulationError

__all__ = [
    "ZINC250K_PATH",
    "InitFileWarning",
    "initial_pool",
    "read_init_file",
    "read_smiles_file",
    "read_smiles_table",
    "zinc250k",
]

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
    try:
        return _csv_column(path, reader, text, smiles_col, what)
    except csv.Error as exc:  # e.g. a field over csv's 131,072-character limit
        raise InitPopulationError(
            f"{what} {str(path)!r}: line {reader.line_num} cannot be read as CSV ({exc}); no SMILES is that "
            "long: fix or remove that line"
        ) from exc


def _csv_column(
    path: Path, reader: Any, text: str, smiles_col: str | None, what: str
) -> list[tuple[int, str]]:
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


def _shown(text: str) -> str:
    return repr(text) if len(text) <= 80 else f"{text[:60]!r}... ({len(text)} characters)"


def read_init_file(path: str | Path, *, neutralize: bool = False) -> tuple[list[str], StandardizationReport]:
    """Read an initial-population file and standardise its molecules: the molecules and the report.

    Every SMILES goes through :func:`llmga.chem.standardize` (a salt gives its
    parent, a mixture its largest organic component; ``neutralize`` also
    neutralises charges). Lines that give no molecule (invalid SMILES, a dummy
    atom, longer than :data:`llmga.chem.MAX_SMILES_CHARS` characters) are
    skipped with an :class:`InitFileWarning` naming the reason and the line
    numbers; changed molecules are counted in one :class:`InitFileWarning`.
    An :class:`~llmga.errors.InitPopulationError` is raised when the file is
    missing, empty, or holds no valid molecule. Returns the standardised
    canonical SMILES in file order (repeats kept).
    """
    try:
        rows = read_smiles_table(path, what="init file")
    except InitPopulationError as exc:
        if "does not exist" in str(exc):
            raise InitPopulationError(f"{exc} or leave --init out to use ZINC 250k") from exc
        raise
    if not rows:
        raise InitPopulationError(f"init file {str(path)!r} is empty; put one SMILES per line")
    report = StandardizationReport()
    valid: list[str] = []
    bad: dict[str, list[int]] = {}
    for number, smiles in rows:
        result = standardize(smiles, neutralize=neutralize)
        report.add(smiles, result)
        if result.smiles is None:
            bad.setdefault(result.reason or "invalid SMILES", []).append(number)
        else:
            valid.append(result.smiles)
    if not valid:
        raise InitPopulationError(
            f"init file {str(path)!r} has no valid SMILES ({len(rows)} lines checked, e.g. line "
            f"{rows[0][0]}: {_shown(rows[0][1])}); give one valid SMILES per line"
        )
    for reason, numbers in bad.items():
        what = "invalid SMILES" if reason == "invalid SMILES" else f"SMILES ({reason})"
        shown = ", ".join(str(n) for n in numbers[:20]) + (" ..." if len(numbers) > 20 else "")
        warnings.warn(
            f"init file {str(path)!r}: skipped {len(numbers)} {what} on line(s) {shown}",
            InitFileWarning,
            stacklevel=2,
        )
    if report.changed:
        given, became = report.changed_examples[0]
        warnings.warn(
            f"init file {str(path)!r}: standardised {report.changed} of {report.kept} molecules ("
            + ", ".join(f"{step}: {n}" for step, n in report.changes.most_common())
            + f"), e.g. {_shown(given)} -> {became}",
            InitFileWarning,
            stacklevel=2,
        )
    return valid, report


def read_smiles_file(path: str | Path, *, neutralize: bool = False) -> list[str]:
    """The standardised molecules of an initial-population file (.smi/.txt/.csv, optionally .gz).

    As :func:`read_init_file`, without the report.
    """
    return read_init_file(path, neutralize=neutralize)[0]


def initial_pool(
    init: str | Path | None, *, neutralize: bool = False
) -> tuple[list[str], StandardizationReport | None]:
    """The pool a run draws its initial population from, and the standardisation report.

    With ``init`` its molecules, standardised (:func:`read_init_file`). Without,
    ZINC 250k exactly as shipped and ``None``: PMO draws its populations from
    these very strings, so they are not standardised (benchmarks stay comparable).
    """
    if init is None:
        return zinc250k(), None
    return read_init_file(init, neutralize=neutralize)
