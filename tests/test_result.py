"""Reading a run back: typed tables whatever they hold."""

from __future__ import annotations

import pandas as pd

import llmga
from llmga.config import Config
from llmga.store import STORE_FILE, RunFolder


def _folder_with_failed_calls(path) -> None:
    """A run folder whose every LLM call failed: no reply, no parse, an error each."""
    folder = RunFolder(path)
    folder.create(Config(objective="qed", llm="openai:m").to_dict(), {"objective": {"direction": "maximize"}})
    for i in range(3):
        folder.on_llm_call(
            {
                "time": 1000.0 + i,
                "generation": 1,
                "operator": "llm_mutation",
                "backend": "openai",
                "model": "m",
                "template": "mutation",
                "prompt": "Propose a molecule",
                "reply": "",
                "tokens_in": 0,
                "tokens_out": 0,
                "latency_s": 0.5,
                "asked": 4,
                "parsed": 0,
                "valid": 0,
                "new": 0,
                "parents": "3",
                "error": "InternalServerError: boom",
            }
        )
    folder.close()  # exports llm_calls.csv


def _check(calls: pd.DataFrame) -> None:
    assert len(calls) == 3
    assert calls["reply"].tolist() == ["", "", ""] and pd.api.types.is_string_dtype(calls["reply"])
    assert calls["parents"].tolist() == ["3", "3", "3"]
    assert pd.api.types.is_float_dtype(calls["time"]) and calls["time"].tolist() == [1000.0, 1001.0, 1002.0]
    assert pd.api.types.is_numeric_dtype(calls["tokens_in"]) and calls["asked"].tolist() == [4, 4, 4]


def test_an_all_empty_reply_column_stays_text_from_the_store_and_from_the_csv(tmp_path):
    _folder_with_failed_calls(tmp_path / "r")
    _check(llmga.load(tmp_path / "r").llm_calls)
    (tmp_path / "r" / STORE_FILE).unlink()  # a folder of CSV exports only
    _check(llmga.load(tmp_path / "r").llm_calls)


def test_a_run_whose_store_appeared_before_its_json_files_loads_from_the_store(tmp_path):
    # A reader polling a run that is just starting can find run.sqlite before config.json is written.
    _folder_with_failed_calls(tmp_path / "r")
    for name in ("config.json", "run.json"):
        (tmp_path / "r" / name).unlink()
    result = llmga.load(tmp_path / "r")
    assert result.config == Config(objective="qed", llm="openai:m")
    assert result.direction == "maximize" and len(result.llm_calls) == 3
