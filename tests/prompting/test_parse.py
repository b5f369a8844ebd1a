from __future__ import annotations

import subprocess
import sys

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


def test_markdown_emphasis_bullets_and_numbering_are_stripped_and_dummy_atoms_rejected():
    reply = (
        "Here are three candidates:\n"
        "1. **CCOc1ccccc1C(=O)N**\n"
        "2) `CC(=O)Nc1ccc(O)cc1`\n"
        "- __c1ccncc1__ (pyridine)\n"
        "* *CCN(CC)CC*\n"
        "• CCOC(=O)C\n"
    )
    parsed = parse_reply(reply)
    assert parsed.smiles == ["CCOc1ccccc1C(N)=O", "CC(=O)Nc1ccc(O)cc1", "c1ccncc1", "CCN(CC)CC", "CCOC(C)=O"]
    assert parsed.invalid == 0
    # A real dummy atom is no molecule to score, wherever it appears.
    assert parse_reply("<smiles>*CCO</smiles>").smiles == []
    assert parse_reply("<smiles>[1*]c1ccccc1</smiles>").invalid == 1


@pytest.mark.parametrize(
    "reply",
    [
        '{"molecules": ["CCO", "c1ccccc1", "CC(=O)Nc1ccc(O)cc1"]}',
        '{"molecules": [{"smiles": "CCO", "reason": "small"}, {"smiles": "c1ccccc1"}, '
        '{"SMILES": "CC(=O)Nc1ccc(O)cc1"}], "note": "three ideas"}',
        '["CCO", "c1ccccc1", "CC(=O)Nc1ccc(O)cc1"]',
        'Sure! Here they are:\n```json\n{"molecules": ["CCO", "c1ccccc1", "CC(=O)Nc1ccc(O)cc1"]}\n```\nEnjoy [1].',
    ],
)
def test_json_replies_are_read(reply):
    parsed = parse_reply(reply)
    assert parsed.smiles == ["CCO", "c1ccccc1", "CC(=O)Nc1ccc(O)cc1"]
    assert parsed.invalid == 0


def test_json_replies_are_only_data():
    # json.loads, never eval; nesting beyond what any reply needs is simply not JSON molecules.
    assert parse_reply('{"molecules": ["__import__(\'os\').system(\'echo hacked\')"]}').smiles == []
    deep = "[" * 15_000 + '"CCO"' + "]" * 15_000
    assert parse_reply(deep).smiles == []


def test_salts_in_replies_are_standardised():
    parsed = parse_reply("<smiles>CC(=O)Nc1ccc(O)cc1.Cl</smiles><smiles>[Na+].CC(=O)[O-]</smiles>")
    assert parsed.smiles == ["CC(=O)Nc1ccc(O)cc1", "CC(=O)[O-]"]
    assert parsed.standardized == 2
    assert parse_reply("<smiles>[Na+].CC(=O)[O-]</smiles>", neutralize=True).smiles == ["CC(=O)O"]


def test_a_10_mb_reply_of_one_token_returns_quickly_without_molecules(tmp_path):
    # RDKit segfaults writing a ~20,000-atom chain: run in a child so a crash fails this test, not pytest.
    code = (
        "from llmga.prompting import parse_reply\n"
        "for reply in ('C' * 10_000_000, '**' + 'C' * 10_000_000 + '**', 'C(' * 5_000_000):\n"
        "    parsed = parse_reply(reply)\n"
        "    assert parsed.smiles == [] and parsed.truncated, parsed\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"exit {done.returncode}: {done.stderr[-2000:]}"
    assert done.stdout.strip() == "ok"
