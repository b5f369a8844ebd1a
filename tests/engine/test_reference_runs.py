"""The engine reproduces recorded runs exactly: same seed, same evaluations, call for call.

The references in tests/data/engine_runs were recorded by scripts/record_engine_runs.py from the code
before the engine was restructured (commit ad58612); a change that alters what a seed does must say so and
record them again.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REFERENCES = ROOT / "tests" / "data" / "engine_runs"
_spec = importlib.util.spec_from_file_location("record_engine_runs", ROOT / "scripts" / "record_engine_runs.py")
assert _spec is not None and _spec.loader is not None
recorder = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(recorder)  # the cases live with the script that records them
CASES, run_case = recorder.CASES, recorder.run_case


@pytest.mark.parametrize("name", [*CASES, "campaign_three_asks"])
def test_a_recorded_run_is_reproduced_exactly(name, tmp_path):
    expected = json.loads((REFERENCES / f"{name}.json").read_text())["rows"]
    got = json.loads(json.dumps(run_case(name, tmp_path / name)))
    assert len(got) == len(expected)
    for i, (row, want) in enumerate(zip(got, expected, strict=True)):
        assert row == want, f"{name}: row {i} differs: {row} != {want}"
