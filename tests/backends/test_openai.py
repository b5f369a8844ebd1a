from __future__ import annotations

import pytest

pytest.importorskip("openai")

import llmga
from llmga.backends import BackendError, GenerationParams, Prompt
from llmga.backends.openai import OpenAIBackend
from llmga.cli import main
from tests.backends.fake_openai_server import REPLY, FakeServer


@pytest.fixture
def server():
    with FakeServer() as s:
        yield s


def backend(server, model, **kw):
    return OpenAIBackend(model, base_url=server.url, max_retries=2, timeout=kw.pop("timeout", 10.0), **kw)


def test_batch_of_prompts_with_n_completions(server):
    b = backend(server, "ok")
    out = b.generate([Prompt.chat("a", system="s"), Prompt.chat("b")], GenerationParams(n=3, max_new_tokens=50))
    assert [len(c.texts) for c in out] == [3, 3] and out[0].texts[0] == REPLY
    assert out[0].tokens_in == 11 and out[0].tokens_out == 21 and out[0].error is None
    assert all(r["n"] == 3 and r["max_tokens"] == 50 for r in server.requests)
    firsts = sorted(r["messages"][0]["content"] for r in server.requests)  # requests run concurrently
    assert firsts == ["b", "s"]


def test_server_that_ignores_n_is_topped_up(server):
    b = backend(server, "ignore-n")
    (c,) = b.generate([Prompt.chat("a")], GenerationParams(n=4))
    assert len(c.texts) == 4 and b.n_ignored
    assert len(server.requests) == 4  # 1 with n=4 answered once, then 3 single requests


def test_rate_limits_and_server_errors_are_retried(server):
    (c,) = backend(server, "flaky").generate([Prompt.chat("a")], GenerationParams(n=1))
    assert c.texts == [REPLY] and c.error is None
    assert len(server.requests) == 3  # 429, 500, then success


def test_persistent_errors_garbage_and_timeouts_become_completion_errors(server):
    (down,) = backend(server, "down").generate([Prompt.chat("a")], GenerationParams())
    assert down.texts == [] and "InternalServerError" in down.error
    (garbage,) = backend(server, "garbage").generate([Prompt.chat("a")], GenerationParams())
    assert garbage.texts == [] and garbage.error
    slow = OpenAIBackend("slow", base_url=server.url, max_retries=0, timeout=0.5)
    (late,) = slow.generate([Prompt.chat("a")], GenerationParams())
    assert late.texts == [] and "Timeout" in late.error


def test_rejected_key_unreachable_server_and_unknown_model_are_clear_errors(server):
    with pytest.raises(BackendError, match="rejected the API key"):
        backend(server, "locked").generate([Prompt.chat("a")], GenerationParams())
    with pytest.raises(BackendError, match=r"cannot reach http://127\.0\.0\.1:9/v1"):
        OpenAIBackend("ok", base_url="http://127.0.0.1:9/v1", max_retries=0, timeout=2.0)
    with pytest.raises(BackendError, match=r"does not serve model 'gpt-9'; it serves: ok, ignore-n"):
        backend(server, "gpt-9")


def test_no_key_for_the_official_api(monkeypatch):
    monkeypatch.delenv("MY_KEY", raising=False)
    with pytest.raises(BackendError, match="set MY_KEY"):
        OpenAIBackend("gpt-4o-mini", api_key_env="MY_KEY")


def test_end_to_end_run_and_the_key_never_reaches_the_run_folder(server, tmp_path, monkeypatch):
    secret = "sk-test-0123456789-secret"
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    out = tmp_path / "run"
    args = ["optimize", "--objective", "qed", "--budget", "200", "--llm", "openai:ok", "--base-url", server.url]
    assert main([*args, "--workers", "1", "--quiet", "--out", str(out)]) == 0
    result = llmga.load(out)
    assert result.summary["llm_calls"] > 0 and result.summary["llm_tokens_in"] > 0
    assert (out / "llm_calls.csv").exists()
    headers = {k.lower(): v for k, v in server.headers[0].items()}
    assert headers["authorization"] == f"Bearer {secret}"  # the key was used ...
    for path in out.iterdir():  # ... and written nowhere
        assert secret not in path.read_text(errors="ignore")


def test_a_resumed_run_replays_recorded_replies_instead_of_asking_the_server_again(server, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-resume")
    options = {"budget": 300, "seed": 3, "llm": "openai:ok", "base_url": server.url, "workers": 1, "population": 40}
    whole = llmga.optimize("qed", out=str(tmp_path / "whole"), **options)
    asked_whole = len(server.requests)
    generations = iter(range(100))
    stopped = llmga.optimize("qed", out=str(tmp_path / "part"), stop=lambda: next(generations) >= 2, **options)
    assert stopped.summary["status"] == "interrupted" and stopped.summary["calls"] < 300
    asked_before = len(server.requests) - asked_whole
    resumed = llmga.resume(tmp_path / "part")
    asked_after = len(server.requests) - asked_whole - asked_before
    assert asked_before > 0 and asked_before + asked_after == asked_whole  # no prompt was sent twice
    assert resumed.evaluations.values.tolist() == whole.evaluations.values.tolist()
    assert resumed.summary["llm_calls"] == whole.summary["llm_calls"]
