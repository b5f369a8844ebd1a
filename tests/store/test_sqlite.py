from __future__ import annotations

import math

import pandas as pd
import pytest

from llmga.engine import Evaluation
from llmga.store import STORE_FILE, RunStore, StoreLockedError, export

EVALS = [
    Evaluation(1, "CCO", 0.25, 0, "init", ()),
    Evaluation(2, "c1ccccc1", math.nan, 0, "init", ()),
    Evaluation(3, "CC(=O)O", -1.5, 1, "graph_crossover", (1, 2)),
]


def _store(tmp_path):
    return RunStore.create(tmp_path / "run", {"config": {"seed": 3}, "components": []})


def test_evaluations_round_trip_exactly_with_nan_scores_and_parents(tmp_path):
    store = _store(tmp_path)
    store.add_evaluations(EVALS[:2])
    store.add_evaluations(EVALS[2:])
    got = store.evaluations()
    assert [(e.call, e.smiles, e.generation, e.operator, e.parents) for e in got] == [
        (1, "CCO", 0, "init", ()),
        (2, "c1ccccc1", 0, "init", ()),
        (3, "CC(=O)O", 1, "graph_crossover", (1, 2)),
    ]
    assert got[0].score == 0.25 and math.isnan(got[1].score) and got[2].score == -1.5
    assert store.meta("config") == {"seed": 3}
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    store.close()


def test_a_second_writer_is_refused_while_readers_may_look(tmp_path):
    store = _store(tmp_path)
    store.add_evaluations(EVALS[:1])
    with pytest.raises(StoreLockedError, match=r"in use by another llmga process \(pid \d+\).*then try again"):
        RunStore.open(tmp_path / "run", write=True)
    reader = RunStore.open(tmp_path / "run")
    assert [e.smiles for e in reader.evaluations()] == ["CCO"]
    reader.close()
    store.close()
    again = RunStore.open(tmp_path / "run", write=True)  # the lock went with the first writer
    again.add_evaluations(EVALS[1:2])
    assert again.count("evaluations") == 2
    again.close()


def test_a_failed_write_leaves_nothing_half_done(tmp_path):
    store = _store(tmp_path)
    store.add_evaluations(EVALS[:1])
    with pytest.raises(Exception, match="UNIQUE"):  # the same call twice: the whole batch is refused
        store.add_evaluations([EVALS[1], EVALS[0]])
    assert [e.call for e in store.evaluations()] == [1]
    store.close()


def test_opening_a_folder_without_a_store_names_it(tmp_path):
    with pytest.raises(Exception, match=rf"has no run store \({STORE_FILE}\)"):
        RunStore.open(tmp_path)


def test_export_writes_the_tables_from_the_store(tmp_path):
    store = _store(tmp_path)
    store.add_evaluations(EVALS)
    store.add_generation(0, {"gen": 0, "calls": 2, "best": 0.25}, {"state": 1}, [1])
    store.add_prescreen([(1, "CC(=O)O", 0.5, True), (1, "CCCC", math.nan, False)])
    written = export(tmp_path / "run", store)
    assert sorted(p.name for p in written) == ["evaluations.csv", "generations.csv", "prescreen.csv"]
    evals = pd.read_csv(tmp_path / "run" / "evaluations.csv")
    assert evals["smiles"].tolist() == ["CCO", "c1ccccc1", "CC(=O)O"]
    assert evals["score"].isna().tolist() == [False, True, False]
    generations = pd.read_csv(tmp_path / "run" / "generations.csv")
    assert generations.to_dict("records") == [{"gen": 0, "calls": 2, "best": 0.25}]
    assert pd.read_csv(tmp_path / "run" / "prescreen.csv")["scored"].tolist() == [1, 0]
    store.close()


def test_export_as_parquet_holds_the_same_tables(tmp_path):
    store = _store(tmp_path)
    store.add_evaluations(EVALS)
    store.add_generation(0, {"gen": 0, "calls": 3, "best": 0.25}, None, [1])
    written = export(tmp_path / "run", store, fmt="parquet")
    store.close()
    assert sorted(p.name for p in written) == ["evaluations.parquet", "generations.parquet"]
    evals = pd.read_parquet(tmp_path / "run" / "evaluations.parquet")
    assert evals["smiles"].tolist() == ["CCO", "c1ccccc1", "CC(=O)O"] and evals["score"].isna().tolist()[1]
    assert pd.read_parquet(tmp_path / "run" / "generations.parquet")["calls"].tolist() == [3]


def test_llmga_export_rewrites_the_tables_of_a_killed_run(tmp_path):
    from llmga.cli import main

    store = _store(tmp_path)
    store.add_evaluations(EVALS)
    store.close()  # as after kill -9: a store, no CSV
    assert main(["export", str(tmp_path / "run")]) == 0
    assert pd.read_csv(tmp_path / "run" / "evaluations.csv")["call"].tolist() == [1, 2, 3]
    assert main(["export", str(tmp_path / "run"), "--format", "parquet"]) == 0
    assert len(pd.read_parquet(tmp_path / "run" / "evaluations.parquet")) == 3
    assert main(["export", str(tmp_path)]) == 1  # not a run folder: named in the error
