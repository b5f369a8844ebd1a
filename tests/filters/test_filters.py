from __future__ import annotations

import json

import pytest

from llmga.chem import to_mol
from llmga.config import Config
from llmga.errors import ConfigError
from llmga.filters import AlertFilter, FilterSet, PropertyWindow, filters_from_config, parse_filter
from tests.conftest import ASPIRIN, CAFFEINE, IBUPROFEN

# Known PAINS: a 5-arylidene rhodanine (ene_rhod_A) and a catechol (catechol_A).
RHODANINE = "O=C1/C(=C/c2ccccc2)SC(=S)N1"
CATECHOL = "Oc1ccccc1O"


def test_pains_rejects_known_pains_and_passes_ordinary_drugs():
    pains = AlertFilter("pains")
    assert not pains.passes(to_mol(RHODANINE)) and not pains.passes(to_mol(CATECHOL))
    assert any("rhod" in m for m in pains.matches(to_mol(RHODANINE)))
    for drug in (ASPIRIN, CAFFEINE, IBUPROFEN):
        assert pains.passes(to_mol(drug))


def test_rules_and_windows_give_real_verdicts():
    big = "CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC(=O)NCCCCCCCCCCCCCCCCCCCCCCCCCCCCC"  # MW > 500, logP > 5
    assert parse_filter("lipinski").passes(to_mol(IBUPROFEN)) and not parse_filter("lipinski").passes(to_mol(big))
    assert not parse_filter("veber").passes(to_mol(big))  # dozens of rotatable bonds
    window = parse_filter("mw=150..200")
    assert isinstance(window, PropertyWindow) and window.name == "mw=150..200"
    assert window.passes(to_mol(ASPIRIN)) and not window.passes(to_mol(IBUPROFEN))  # 180.2 and 206.3 g/mol
    assert parse_filter("sa<=3").passes(to_mol(ASPIRIN))
    assert not parse_filter("qed>=0.9").passes(to_mol(CAFFEINE))  # QED 0.54


def test_a_filter_set_counts_each_rejected_molecule_once_against_its_first_failing_filter():
    fs = filters_from_config("pains,mw<=300", keep_smarts="c1ccccc1", avoid_smarts="[N+](=O)[O-] C(=O)Cl")
    assert [f.name for f in fs.filters] == ["pains", "mw<=300", "keep:c1ccccc1", "avoid:[N+](=O)[O-]", "avoid:C(=O)Cl"]
    verdicts = [fs.first_failure(s) for s in (CATECHOL, ASPIRIN, CAFFEINE, "O=[N+]([O-])c1ccccc1", CATECHOL, "C1CC1")]
    assert verdicts == ["pains", None, "keep:c1ccccc1", "avoid:[N+](=O)[O-]", "pains", "keep:c1ccccc1"]
    assert dict(fs.rejected) == {"pains": 1, "keep:c1ccccc1": 2, "avoid:[N+](=O)[O-]": 1}
    assert fs.is_rejected(CATECHOL) and not fs.is_rejected(ASPIRIN) and not fs.is_rejected("CCO")
    assert not FilterSet()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"filters": "pians"}, r"filter 'pians' is not understood; use pains, .*sa<=4\.5"),
        ({"filters": "weight<=500"}, r"filter on 'weight': not a descriptor; use one of logp, qed"),
        ({"filters": "mw=500..200"}, "is an empty window"),
        ({"keep_smarts": "c1ccc"}, r"--keep-smarts 'c1ccc' is not valid SMARTS"),
        ({"avoid_smarts": "CC("}, r"--avoid-smarts 'CC\(' is not valid SMARTS"),
    ],
)
def test_a_bad_filter_is_refused_when_the_config_is_made(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        Config(**kwargs)


def test_rejected_molecules_never_reach_the_oracle_and_are_counted_in_the_run(tmp_path):
    import llmga

    calls: list[str] = []

    def logp(smiles: str) -> float:
        calls.append(smiles)
        from rdkit.Chem import Crippen

        return float(Crippen.MolLogP(to_mol(smiles)))

    out = tmp_path / "run"
    result = llmga.optimize(
        logp,
        budget=300,
        seed=0,
        llm="none",
        workers=1,
        filters="pains,brenk,mw<=400",
        avoid_smarts="[Cl,Br,I]",
        out=str(out),
    )
    fs = filters_from_config("pains,brenk,mw<=400", avoid_smarts="[Cl,Br,I]")
    assert calls and all(fs.passes(s) for s in calls)  # nothing scored fails a filter
    summary = json.loads((out / "summary.json").read_text())
    rejected = summary["rejected_by_filter"]
    assert sum(rejected.values()) > 0 and set(rejected) <= {"pains", "brenk", "mw<=400", "avoid:[Cl,Br,I]"}
    assert [f["name"] for f in summary["filters"]] == ["pains", "brenk", "mw<=400", "avoid:[Cl,Br,I]"]
    # Per generation: children dropped (a molecule proposed again counts again); the summary: molecules.
    assert result.history["rejected"].sum() >= sum(rejected.values())
    assert summary["calls"] == 300
