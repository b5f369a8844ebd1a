"""The store's flat SQL views: typed columns of the JSON records, for pandas.read_sql."""

from __future__ import annotations

import json
import sqlite3

import pandas as pd
import pytest
from pandas.api.types import is_float_dtype, is_integer_dtype, is_string_dtype

import llmga
from llmga.store import LLM_CALL_COLUMNS, STORE_FILE, RunStore

pytest.importorskip("openai")

from tests.backends.fake_openai_server import FakeServer


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A small real run whose LLM operator asks a local OpenAI-compatible server."""
    out = tmp_path_factory.mktemp("views") / "run"
    with pytest.MonkeyPatch.context() as mp, FakeServer() as server:
        mp.setenv("OPENAI_API_KEY", "sk-test-views")
        llmga.optimize(
            "qed", budget=150, population=20, offspring=20, seed=3, llm="openai:ok", base_url=server.url,
            workers=1, out=str(out),
        )  # fmt: skip
    return out


def _read(path, query):
    with sqlite3.connect(path) as conn:
        return pd.read_sql(query, conn)


def test_generations_view_has_typed_columns_equal_to_the_json_records(run):
    view = _read(run / STORE_FILE, "SELECT * FROM generations_view")
    records = [json.loads(r) for (r,) in sqlite3.connect(run / STORE_FILE).execute("SELECT record FROM generations")]
    assert len(view) == len(records) >= 3
    for column in ("gen", "calls", "new", "proposed", "valid", "dup", "rejected", "prescreened"):
        assert is_integer_dtype(view[column]), column
        assert view[column].tolist() == [r[column] for r in records]
    for column in ("best", "top10", "top100", "elapsed_s", "mean", "std", "min", "max"):
        assert is_float_dtype(view[column]), column
        assert view[column].tolist() == pytest.approx([r[column] for r in records], nan_ok=True)
    assert view["calls"].iloc[-1] == 150 and view["gen"].tolist() == list(range(len(records)))


def test_llm_calls_view_has_typed_columns_equal_to_the_json_records(run):
    view = _read(run / STORE_FILE, "SELECT * FROM llm_calls_view")
    records = [json.loads(r) for (r,) in sqlite3.connect(run / STORE_FILE).execute("SELECT record FROM llm_calls")]
    assert len(view) == len(records) > 0
    assert set(LLM_CALL_COLUMNS) <= set(view.columns)  # every column of llm_calls.csv
    for column in ("generation", "tokens_in", "tokens_out", "asked", "parsed", "valid", "new"):
        assert is_integer_dtype(view[column]), column
        assert view[column].tolist() == [r[column] for r in records]
    for column in ("time", "latency_s"):
        assert is_float_dtype(view[column]), column
        assert view[column].tolist() == pytest.approx([r[column] for r in records])
    for column in ("operator", "backend", "model", "template", "prompt", "reply", "parents", "error"):
        assert is_string_dtype(view[column]), column
        assert view[column].tolist() == [r[column] for r in records]
    assert view["tokens_in"].gt(0).all() and set(view["model"]) == {"ok"}
    assert view["reply"].str.contains("<smiles>").all()


def test_a_store_without_views_is_read_as_before_and_gains_them_when_opened_for_writing(run, tmp_path):
    import shutil

    old = tmp_path / "old"
    shutil.copytree(run, old)
    with sqlite3.connect(old / STORE_FILE) as conn:  # as a store written before the views existed
        conn.execute("DROP VIEW generations_view")
        conn.execute("DROP VIEW llm_calls_view")
    result = llmga.load(old)
    assert len(result.evaluations) == 150 and len(result.llm_calls) > 0
    with pytest.raises(Exception, match="no such table: llm_calls_view"):
        _read(old / STORE_FILE, "SELECT * FROM llm_calls_view")
    RunStore.open(old, write=True).close()
    assert len(_read(old / STORE_FILE, "SELECT * FROM llm_calls_view")) == len(result.llm_calls)
    assert len(_read(old / STORE_FILE, "SELECT * FROM generations_view")) == len(result.history)
