from __future__ import annotations

import math
import subprocess
import sys

import pandas as pd
import pytest

import llmga
from llmga.errors import ConfigError, LLMGAError

SEEDS = ["CCOc1ccc(CC(=O)N2CCCC2)cc1", "Cc1ccc(S(=O)(=O)Nc2ccccc2)cc1", "O=C(O)c1ccccc1O", "CCN(CC)CCOC(=O)c1ccc(N)cc1"]


def _length(smiles):
    return float(len(smiles))


def test_ask_tell_round_trip_through_the_api(tmp_path):
    init = tmp_path / "seeds.smi"
    init.write_text("\n".join(SEEDS) + "\n")
    campaign = llmga.Campaign.create(
        tmp_path / "c", objective_name="assay", direction="minimize", init=init, llm="none", population=10
    )
    first = campaign.ask(3)
    assert len(first) == 3 and set(first["operator"]) == {"init"} and set(first["batch"]) == {1}
    assert set(first["smiles"]) <= {llmga.chem.canonical(s) for s in SEEDS}
    results = pd.DataFrame({"smiles": first["smiles"], "assay": [1.5, None, 3.0]})  # one could not be measured
    report = campaign.tell(results)
    assert len(report.recorded) == 3 and not report.unknown and not report.already_told
    told = campaign.told
    assert told["score"].tolist()[0] == 1.5 and math.isnan(told["score"].tolist()[1])
    assert campaign.pending.empty

    second = campaign.ask(6)
    assert len(second) == 6 and set(second["batch"]) == {2}
    assert not set(second["smiles"]) & set(first["smiles"])  # never proposes a told molecule again
    assert set(second["operator"]) <= {"graph_crossover", "graph_crossover+graph_mutation", "graph_mutation"}
    calls = set(told["call"])
    assert all(int(p) in calls for ps in second["parents"] for p in ps.split())  # parents are told molecules
    assert len(campaign.pending) == 6

    third = campaign.ask(4)  # before the second batch is told: the pending ones are not proposed again
    assert not set(third["smiles"]) & set(second["smiles"])

    back = pd.DataFrame({"smiles": [second["smiles"][0], first["smiles"][0], "CCO", "not-a-smiles"], "score": 1})
    report = campaign.tell(back)
    assert report.recorded == [second["smiles"][0]]
    assert report.already_told == [first["smiles"][0]]
    assert report.unknown == ["CCO"] and report.invalid == ["not-a-smiles"]
    assert "1 never asked" in str(report) and "1 not valid SMILES: not-a-smiles" in str(report)
    assert campaign.tell(pd.DataFrame({"smiles": ["CCO"], "score": [2]}), accept_unknown=True).recorded == ["CCO"]
    assert campaign.best(1)["score"].iloc[0] == 1.0
    assert len(llmga.load(tmp_path / "c").evaluations) == 5  # an ordinary run folder too


def test_the_same_seed_and_the_same_tells_give_the_same_batches(tmp_path):
    batches = []
    for name in ("a", "b"):
        campaign = llmga.Campaign.create(tmp_path / name, objective_name="y", llm="none", seed=7)
        out = []
        for _ in range(3):
            batch = campaign.ask(5)
            campaign.tell(pd.DataFrame({"smiles": batch["smiles"], "score": [_length(s) for s in batch["smiles"]]}))
            out.append(batch["smiles"].tolist())
        batches.append(out)
    assert batches[0] == batches[1]


def test_measured_molecules_in_the_init_file_are_recorded_at_creation(tmp_path):
    init = tmp_path / "known.csv"
    pd.DataFrame({"smiles": SEEDS[:3], "pIC50": [6.1, 7.4, 5.0]}).to_csv(init, index=False)
    campaign = llmga.Campaign.create(tmp_path / "c", objective_name="pIC50", init=init, llm="none")
    assert campaign.told["score"].tolist() == [6.1, 7.4, 5.0]
    batch = campaign.ask(4)  # the GA starts at once from the measured molecules
    assert "init" not in set(batch["operator"])


def test_bad_tells_and_asks_name_the_fix(tmp_path):
    campaign = llmga.Campaign.create(tmp_path / "c", objective_name="y", llm="none")
    batch = campaign.ask(2)
    with pytest.raises(ConfigError, match=r"no score column.*name it 'score' or 'y'"):
        campaign.tell(pd.DataFrame({"smiles": batch["smiles"], "value": 1}))
    with pytest.raises(ConfigError, match=r"score 'high' for .+ is not a number"):
        campaign.tell(pd.DataFrame({"smiles": batch["smiles"], "score": ["high", "1"]}))
    assert campaign.told.empty and len(campaign.pending) == 2  # nothing half-recorded
    with pytest.raises(ConfigError, match="ask for at least one molecule"):
        campaign.ask(0)
    with pytest.raises(ConfigError, match="already holds files"):
        llmga.Campaign.create(tmp_path / "c", objective_name="y")
    with pytest.raises(LLMGAError, match="is an ask/tell campaign, not a run"):
        llmga.resume(tmp_path / "c")
    run = llmga.optimize("qed", budget=20, population=10, offspring=5, llm="none", out=str(tmp_path / "r"))
    with pytest.raises(LLMGAError, match="is a run folder, not a campaign"):
        llmga.Campaign(run.path)


@pytest.mark.slow  # run by .ci/run after the default suite (pytest -m slow): the default suite keeps under 10 minutes
def test_ask_tell_across_processes_with_the_embedded_model(tmp_path):
    run = tmp_path / "c"

    def cli(*args):
        proc = subprocess.run([sys.executable, "-m", "llmga", *args], capture_output=True, text=True, check=False)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    cli("campaign", "new", str(run), "--objective-name", "assay_ic50", "--direction", "minimize", "--seed", "3")
    told: list[str] = []
    for round_ in range(3):
        batch_file, results = tmp_path / f"batch{round_}.csv", tmp_path / f"results{round_}.csv"
        cli("ask", str(run), "--n", "16", "--out", str(batch_file))
        batch = pd.read_csv(batch_file)
        assert len(batch) == 16 and not set(batch["smiles"]) & set(told)
        batch["assay_ic50"] = [_length(s) for s in batch["smiles"]]
        batch[["smiles", "assay_ic50"]].to_csv(results, index=False)
        assert "16 recorded" in cli("tell", str(run), str(results))
        told += batch["smiles"].tolist()
    operators = set(pd.read_csv(tmp_path / "batch2.csv")["operator"])
    assert "lm_mutation" in operators  # the embedded model proposes too
    again = cli("tell", str(run), str(tmp_path / "results0.csv"))
    assert "0 recorded; 16 already told" in again
    evaluations = llmga.load(run).evaluations
    assert evaluations["smiles"].tolist() == told and evaluations["call"].tolist() == list(range(1, 49))


def test_recipe_shares_follow_the_recipe_whose_children_do_well(tmp_path):
    """Adaptive selection in a campaign: children of the embedded model always measure best, so its share grows."""
    campaign = llmga.Campaign.create(tmp_path / "c", objective_name="y", population=20, seed=2, lm_learn=False)
    for _ in range(7):
        batch = campaign.ask(20)
        model = batch["operator"].str.startswith("lm_")
        scores = [100.0 + i if m else float(i % 5) for i, m in enumerate(model)]  # model children: best by far
        campaign.tell(pd.DataFrame({"smiles": batch["smiles"], "score": scores}))
    history = llmga.load(tmp_path / "c").history
    lm_share = history[[c for c in history.columns if c.startswith("share:lm_")]].dropna().sum(axis=1).tolist()
    assert len(lm_share) == 6 and lm_share[-1] > lm_share[0] + 0.2  # the model's recipes together
    graph = [c for c in history.columns if c.startswith("share:graph")]
    assert history[graph[0]].dropna().iloc[-1] < history[graph[0]].dropna().iloc[0]


def test_salts_are_standardised_where_molecules_enter_a_campaign(tmp_path):
    init = tmp_path / "salts.smi"
    init.write_text("CC(=O)Nc1ccc(O)cc1.Cl\n[Na+].CC(=O)[O-]\nCl.Cl.Clc1ccc(CN2CCNCC2)cc1\n")
    with pytest.warns(llmga.data.InitFileWarning, match=r"standardised 3 of 3 molecules"):
        campaign = llmga.Campaign.create(tmp_path / "c", objective_name="y", init=init, llm="none")
    first = campaign.ask(3)
    assert sorted(first["smiles"]) == ["CC(=O)Nc1ccc(O)cc1", "CC(=O)[O-]", "Clc1ccc(CN2CCNCC2)cc1"]
    told = pd.DataFrame({"smiles": ["CC(=O)Nc1ccc(O)cc1.OS(=O)(=O)O", "C" * 5000, "CC(=O)[O-]"], "score": 1.0})
    report = campaign.tell(told)
    assert report.recorded == ["CC(=O)Nc1ccc(O)cc1", "CC(=O)[O-]"]  # the sulfate salt of an asked molecule
    assert report.standardization.changed == 1
    assert dict(report.standardization.dropped) == {"longer than 2000 characters": 1}
    assert "longer than 2000 characters: 1" in str(report) and "C" * 100 not in str(report)


def test_told_molecules_match_the_asked_spelling_before_standardisation(tmp_path):
    # ZINC is used as shipped (charged amines); with --neutralize a told molecule that is exactly
    # an asked one is still that molecule, not its neutral form.
    campaign = llmga.Campaign.create(tmp_path / "c", objective_name="y", llm="none", neutralize=True, seed=3)
    batch = campaign.ask(12)
    charged = [s for s in batch["smiles"] if "+]" in s]
    assert charged, "ZINC's molecules as PMO draws them include protonated amines"
    report = campaign.tell(pd.DataFrame({"smiles": batch["smiles"], "score": 1.0}))
    assert report.recorded == batch["smiles"].tolist() and not report.unknown
