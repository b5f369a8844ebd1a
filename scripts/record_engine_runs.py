"""Record reference runs that the engine must reproduce exactly (tests/engine/test_reference_runs.py).

Run it with the llmga whose behaviour is the reference, before a change to the engine:

    python scripts/record_engine_runs.py tests/data/engine_runs [CASE ...]

(only the named cases when some are given).
Each case is a small seeded run; its evaluations (SMILES, score, operator, parents, generation) are written
as JSON. The test reruns every case with the current code and compares evaluation for evaluation.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

import llmga
from llmga.config import PRESETS
from llmga.objectives import get_objective

# The cases were recorded when PMO's Graph GA rules were the defaults: they name them (the preset
# pmo-graph-ga less its llm), so that changing the defaults leaves the references valid.
PMO_RULES = {k: v for k, v in PRESETS["pmo-graph-ga"].items() if k != "llm"}
# and the embedded model as it then ran: edits only, fine-tuned when the run stalls, no per-generation learning;
# in float32 whatever the CPU (auto would pick bfloat16 on CPUs with bfloat16 instructions). The model's samples
# depend on the last bits of its arithmetic, which CPUs of other instruction sets round differently: these two
# cases were recorded again (after commit ffd996d, on the CPU their JSON names) when CI's CPU changed, and agree
# with the ad58612 recordings, made on another CPU, for their first 234 and 259 rows.
OLD_LM = {
    "llm": "embedded?dtype=float32",
    "lm_learn": False,
    "lm_finetune": True,
    "llm_operators": "crossover,mutation",
    "share_floor": 0.1,
}

# name -> llmga.optimize options (a Campaign case is handled apart)
CASES: dict[str, dict[str, Any]] = {
    "qed_graph_ga": {**PMO_RULES, "objective": "qed", "llm": "none", "budget": 400, "seed": 0},
    "logp_quantile_filters": {
        **PMO_RULES,
        "objective": "logp",
        "llm": "none",
        "budget": 300,
        "seed": 3,
        "selection": "quantile",
        "filters": "pains,mw=150..450",
        "population": 50,
        "offspring": 30,
    },
    "pareto_qed_sa": {**PMO_RULES, "objectives": "qed,sa", "pareto": True, "llm": "none", "budget": 300, "seed": 1},
    "qed_embedded": {**PMO_RULES, **OLD_LM, "objective": "qed", "budget": 300, "seed": 2},
    # fine-tuned whenever the best score stalls for a generation
    "qed_embedded_finetunes": {
        **PMO_RULES,
        **OLD_LM,
        "objective": "qed",
        "budget": 700,
        "seed": 4,
        "lm_finetune_patience": 1,
        "lm_finetune_steps": 2,
    },
}


def _rows(evaluations: pd.DataFrame) -> list[list[Any]]:
    columns = ["call", "smiles", "score", "generation", "operator", "parents"]
    rows = evaluations[columns].values.tolist()
    return [[int(c), s, None if v != v else round(float(v), 10), int(g), o, str(p)] for c, s, v, g, o, p in rows]


def run_case(name: str, out: Path) -> list[list[Any]]:
    """The evaluations of case ``name`` run into folder ``out``."""
    if name == "campaign_three_asks":
        return campaign_asks(out)
    result = llmga.optimize(**CASES[name], out=str(out), workers=1)
    return _rows(result.evaluations)


def campaign_asks(out: Path) -> list[list[Any]]:
    """Three asks of a campaign, each batch told QED scores before the next."""
    qed = get_objective("qed")
    campaign = llmga.Campaign.create(
        out, objective_name="y", llm="none", seed=5, workers=1, **(PMO_RULES | {"population": 20})
    )
    rows: list[list[Any]] = []
    for _ in range(3):
        batch = campaign.ask(12)
        scores = qed(batch["smiles"].tolist())
        campaign.tell(pd.DataFrame({"smiles": batch["smiles"], "y": scores}))
        rows.extend([s, o, str(p), int(b)] for s, o, p, b in batch[["smiles", "operator", "parents", "batch"]].values)
    return rows


def cpu() -> str:
    """The machine and the instruction sets that decide the model's float32 kernels, e.g. ``x86_64 avx512``."""
    import platform

    import torch

    found = torch.cpu.get_capabilities() if hasattr(torch.cpu, "get_capabilities") else {}
    sets = [k for k in ("avx512_f", "avx2", "avx512_bf16", "amx_bf16") if found.get(k)]
    return " ".join([platform.machine(), *sets])


def main(folder: str, names: list[str]) -> None:
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    known = [*CASES, "campaign_three_asks"]
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise SystemExit(f"no case {', '.join(unknown)}; the cases: {', '.join(known)}")
    for name in names or known:
        with tempfile.TemporaryDirectory() as tmp:
            rows = run_case(name, Path(tmp) / name)
        (target / f"{name}.json").write_text(json.dumps({"cpu": cpu(), "rows": rows}))
        print(f"{name}: {len(rows)} rows")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/data/engine_runs", sys.argv[2:])
