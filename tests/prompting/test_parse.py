from __future__ import annotations

import pytest

from llmga.prompting import MAX_REPLY_CHARS, extract_candidates, parse_reply
from tests.conftest import ASPIRIN, CAFFEINE


def test_tagged_children_are_preferred_and_canonicalised():
    reply = (
        "Here are my ideas.\n<smiles>OC(=O)c1ccccc1OC(C)=O</smiles>\n"
        "Reasoning mentions CCO but it is not tagged.\n<SMILES> Cn1c(=O)c2c(ncn2C)n(C)c1=O </SMILES>"
    )
    parsed = parse_reply(reply)
    assert parsed.smiles == [ASPIRIN, CAFFEINE]
    assert parsed.candidates == 2 and parsed.invalid == 0


def test_molleo_box_and_code_fences_and_numbered_lists():
    assert extract_candidates(r"The answer is \box{CCOc1ccccc1}.") == ["CCOc1ccccc1"]
    fenced = "```smiles\n1. CCN(CC)CC\n2) c1ccncc1\n```"
    assert extract_candidates(fenced) == ["CCN(CC)CC", "c1ccncc1"]


def test_bare_tokens_as_a_last_resort_and_invalid_ones_counted():
    parsed = parse_reply("Try CC(=O)Nc1ccc(O)cc1, or maybe C1CC((, and c1ccccc1!")
    assert parsed.smiles == ["CC(=O)Nc1ccc(O)cc1", "c1ccccc1"]
    assert parsed.invalid >= 1
    assert "C1CC((" in parsed.invalid_examples


def test_duplicates_within_a_reply_are_counted_once():
    parsed = parse_reply("<smiles>OCC</smiles><smiles>CCO</smiles><smiles>C(O)C</smiles>")
    assert parsed.smiles == ["CCO"] and parsed.duplicates == 2


def test_garbage_empty_and_huge_replies_never_raise():
    assert parse_reply("").smiles == []
    assert parse_reply("\x00\x01 ☃ lorem ipsum <smiles></smiles>").smiles == []
    huge = "<smiles>CCO</smiles>" + "x" * (10 * 1024 * 1024)
    parsed = parse_reply(huge)
    assert parsed.truncated and parsed.smiles == ["CCO"]
    assert len(huge) > MAX_REPLY_CHARS


def test_nothing_in_a_reply_is_executed():
    parsed = parse_reply("<smiles>__import__('os').system('echo hacked')</smiles>")
    assert parsed.smiles == [] and parsed.invalid == 1


def test_selfies_replies_are_decoded():
    pytest.importorskip("selfies")
    parsed = parse_reply("[C][C][O] [C][=C][C][=C][C][=C][Ring1][=Branch1]", selfies=True)
    assert parsed.smiles == ["CCO", "c1ccccc1"]
