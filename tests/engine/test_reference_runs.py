"""The engine reproduces recorded runs exactly: same seed, same evaluations, call for call.

The references in tests/data/engine_runs were recorded by scripts/record_engine_runs.py from the code
before the engine was restructured (commit ad58612); a change that alters what a seed does must say so and
record them again. The embedded-model cases run in float32 (embedded?dtype=float32); their samples depend on the
last bits of the model's arithmetic, so their JSON names the CPU they were recorded on (see the script's OLD_LM).
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
    recorded = json.loads((REFERENCES / f"{name}.json").read_text())
    expected = recorded["rows"]
    got = json.loads(json.dumps(run_case(name, tmp_path / name)))
    assert len(got) == len(expected)
    where = f" (recorded on {recorded['cpu']}, run on {recorder.cpu()})" if "cpu" in recorded else ""
    for i, (row, want) in enumerate(zip(got, expected, strict=True)):
        assert row == want, f"{name}: row {i} differs{where}: {row} != {want}"
