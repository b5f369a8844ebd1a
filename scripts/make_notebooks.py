"""Write the example notebooks (examples/*.ipynb) from the cells below: python scripts/make_notebooks.py.

Kept as code so the notebooks are reviewed as text; the test suite runs the written notebooks top to bottom.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

QUICKSTART = [
    (
        "md",
        """# llmga quick start

Optimise a molecular objective from Python with the default operators (graph GA plus the embedded
chemical language model, adaptive operator shares, online fine-tuning), look at the results as
DataFrames and pictures, and plug in your own scoring function. Everything runs offline on a laptop CPU.""",
    ),
    (
        "code",
        """import llmga

result = llmga.optimize("qed", budget=400, seed=0, out="runs/notebook-qed")
result  # the result shows itself: summary, optimisation curve, best molecules""",
    ),
    ("md", "Every oracle call is a row of `evaluations` (in call order), every generation a row of `history`:"),
    ("code", """result.evaluations.head()"""),
    ("code", """result.history[["gen", "calls", "best", "top10", "top100"]].tail()"""),
    (
        "code",
        """print(result.summary["top10_auc"], result.summary["stop_reason"])
result.best(5)""",
    ),
    ("md", "Which operators made the molecules that were scored:"),
    ("code", """result.evaluations.query("generation > 0")["operator"].value_counts()"""),
    ("md", "Draw the best molecules with RDKit:"),
    (
        "code",
        """from rdkit import Chem
from rdkit.Chem import Draw

top = result.best(8)
Draw.MolsToGridImage([Chem.MolFromSmiles(s) for s in top["smiles"]], molsPerRow=4,
                     legends=[f"{v:.3f}" for v in top["score"]])""",
    ),
    (
        "md",
        """## Your own objective

Any function `f(smiles) -> float` works (return NaN for molecules it cannot score). Here: a drug-likeness
score that penalises molecules heavier than 400 Da.""",
    ),
    (
        "code",
        """from rdkit.Chem import QED, Descriptors

def qed_under_400(smiles: str) -> float:
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        return float("nan")
    return QED.qed(mol) - max(0.0, Descriptors.MolWt(mol) - 400) / 100

mine = llmga.optimize(qed_under_400, budget=300, seed=1, out="runs/notebook-custom")
mine.best(3)""",
    ),
    ("md", "A full report (PNG figures and one self-contained HTML page) for any run folder:"),
    (
        "code",
        """from llmga.report import report

page = report(mine.path)
print(page)""",
    ),
]

CAMPAIGN = [
    (
        "md",
        """# An ask/tell campaign with a trained property model

A design-make-test campaign: the GA proposes batches, the "lab" measures them days later, and a property
model trained on earlier assay data pre-screens the GA's ideas so the lab only makes the most promising
ones. Here the lab is simulated by a hidden function of the molecule.""",
    ),
    (
        "code",
        """import numpy as np
import pandas as pd
from rdkit import Chem
from rdkit.Chem import Crippen, QED

import llmga
from llmga.data import zinc250k

def lab(smiles):
    \"\"\"The 'assay' (hidden from the GA): drug-like and moderately lipophilic is good.\"\"\"
    mol = Chem.MolFromSmiles(smiles)
    return QED.qed(mol) - 0.3 * abs(Crippen.MolLogP(mol) - 2.5)""",
    ),
    ("md", "Earlier assay data (300 ZINC molecules) trains a random-forest model of the assay:"),
    (
        "code",
        """from llmga.objectives.models import TrainModelSettings, train_model

rng = np.random.default_rng(0)
pool = zinc250k()
history = [pool[i] for i in rng.choice(len(pool), 300, replace=False)]
pd.DataFrame({"smiles": history, "target": [lab(s) for s in history]}).to_csv("assay_history.csv", index=False)
model = train_model(TrainModelSettings(data="assay_history.csv", out="runs/assay-model", trees=100, folds=3))
model.metrics""",
    ),
    (
        "md",
        """The campaign: the GA's proposals are ranked by the model (`prescreen`) and only the best 30% are asked
for. The earlier data seed the campaign.""",
    ),
    (
        "code",
        """pd.DataFrame({"smiles": history, "score": [lab(s) for s in history]}).to_csv("seeds.csv", index=False)
campaign = llmga.Campaign.create(
    "runs/notebook-campaign", objective_name="assay", direction="maximize", init="seeds.csv",
    prescreen="model:runs/assay-model", prescreen_keep=0.3, population=60, seed=0,
)
len(campaign.told)""",
    ),
    ("md", "Three design-make-test cycles of 24 molecules:"),
    (
        "code",
        """for cycle in range(3):
    batch = campaign.ask(24)                                    # what to make next
    measured = pd.DataFrame({"smiles": batch["smiles"], "assay": [lab(s) for s in batch["smiles"]]})
    report = campaign.tell(measured)                            # days later: the results
    best = campaign.best(1)["score"].iloc[0]
    print(f"cycle {cycle + 1}: {report}; best so far {best:.3f}")""",
    ),
    ("code", """campaign.best(5)"""),
    ("md", "Batches, operators and shares per batch are in the campaign folder like any run:"),
    ("code", """llmga.load("runs/notebook-campaign").history.filter(like="share:")"""),
]


def build(cells: list[tuple[str, str]]) -> nbformat.NotebookNode:
    nb = new_notebook()
    nb.cells = [new_markdown_cell(text) if kind == "md" else new_code_cell(text) for kind, text in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def main() -> None:
    root = Path(__file__).resolve().parent.parent / "examples"
    for name, cells in (("quickstart", QUICKSTART), ("campaign", CAMPAIGN)):
        nbformat.write(build(cells), root / f"{name}.ipynb")


if __name__ == "__main__":
    main()
