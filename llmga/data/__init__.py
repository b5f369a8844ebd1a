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

__all__ = ["ZINC250K_PATH", "InitFileWarning", "read_smiles_file", "zinc250k"]

ZINC250K_PATH = Path(__file__).with_name("zinc250k.smi.gz")
_SUFFIXES = (".smi", ".txt", ".csv", ".smiles")


class InitFileWarning(UserWarning):
    """Some lines of an initial-population file were skipped."""


@functools.cache
def _zinc() -> tuple[str, ...]:
    with gzip.open(ZINC250K_PATH, "rt") as fh:
        return tuple(line.strip() for line in fh if line.strip())


def zinc250k() -> list[str]:
    """The 249,455 ZINC molecules PMO and MolLEO draw initial populations from (as shipped)."""
    return list(_zinc())


def _open_text(path: Path) -> str:
    raw = path.read_bytes()
    if path.suffix == ".gz":
        try:
            raw = gzip.decompress(raw)
        except OSError as exc:
            raise InitPopulationError(f"init file {str(path)!r} ends in .gz but is not gzip data ({exc})") from exc
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InitPopulationError(
            f"init file {str(path)!r} is not UTF-8 text (byte {exc.start}); save it as a plain-text "
            ".smi/.txt/.csv file with one SMILES per line"
        ) from exc


def _rows(path: Path, text: str) -> list[tuple[int, str]]:
    """(line number, SMILES text) for every data row of a .smi/.txt or .csv file."""
    stem = path.name[:-3] if path.name.endswith(".gz") else path.name
    if stem.endswith(".csv"):
        reader = csv.reader(io.StringIO(text))
        header = next(reader, None)
        if header is None:
            return []
        lowered = [h.strip().lower() for h in header]
        names = [n for n in ("smiles", "smi", "canonical_smiles", "mol") if n in lowered]
        if names:
            col = lowered.index(names[0])
        else:
            # No header naming a SMILES column: the first column holds SMILES, header included.
            col = 0
            if canonical(header[0]) is None:
                raise InitPopulationError(
                    f"init file {str(path)!r} is a CSV without a 'smiles' column (header: "
                    f"{', '.join(header)}); name the SMILES column 'smiles'"
                )
            reader = csv.reader(io.StringIO(text))
        return [(reader.line_num, row[col].strip()) for row in reader if len(row) > col and row[col].strip()]
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        token = line.split()[0] if line.split() else ""
        if token and not token.startswith("#"):
            rows.append((number, token))
    if rows and rows[0][1].lower() in ("smiles", "smi") and canonical(rows[0][1]) is None:
        rows = rows[1:]  # header line
    return rows


def read_smiles_file(path: str | Path) -> list[str]:
    """Read and validate the SMILES of a .smi/.txt/.csv file (optionally gzipped).

    Invalid lines are skipped with an :class:`InitFileWarning` listing their
    line numbers; an :class:`~llmga.errors.InitPopulationError` is raised when
    the file is missing, empty, or holds no valid molecule. Returns the valid
    input SMILES in file order.
    """
    p = Path(path).expanduser()
    if not p.exists():
        raise InitPopulationError(
            f"init file {str(path)!r} does not exist; check the path or leave --init out to use ZINC 250k"
        )
    if p.is_dir():
        raise InitPopulationError(f"init file {str(path)!r} is a folder; give a .smi/.txt/.csv file")
    stem = p.name[:-3] if p.name.endswith(".gz") else p.name
    if not stem.endswith(_SUFFIXES):
        raise InitPopulationError(
            f"init file {str(path)!r} has an unknown extension; use .smi, .txt or .csv (optionally .gz)"
        )
    rows = _rows(p, _open_text(p))
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
