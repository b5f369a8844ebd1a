from __future__ import annotations

import json
import time

import pytest

pytest.importorskip("openai")

import llmga
from llmga.backends import BackendError, GenerationParams, Prompt
from llmga.backends.openai import OpenAIBackend
from llmga.cli import main
from llmga.store import RunStore
from tests.backends.fake_openai_server import REPLY, FakeServer


@pytest.fixture
def server():
    with FakeServer() as s:
        yield s


def backend(server, model, **kw):
    kw = {"max_retries": 2, "timeout": 10.0, **kw}
    return OpenAIBackend(model, base_url=server.url, **kw)


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

    def prompts_sent():  # the run's own prompts: every run (and resume) also sends one preflight request
        return [r for r in server.requests if "llmga preflight" not in json.dumps(r["messages"])]

    whole = llmga.optimize("qed", out=str(tmp_path / "whole"), **options)
    asked_whole = len(prompts_sent())
    generations = iter(range(100))
    stopped = llmga.optimize("qed", out=str(tmp_path / "part"), stop=lambda: next(generations) >= 2, **options)
    assert stopped.summary["status"] == "interrupted" and stopped.summary["calls"] < 300
    asked_before = len(prompts_sent()) - asked_whole
    resumed = llmga.resume(tmp_path / "part")
    asked_after = len(prompts_sent()) - asked_whole - asked_before
    assert asked_before > 0 and asked_before + asked_after == asked_whole  # no prompt was sent twice
    assert resumed.evaluations.values.tolist() == whole.evaluations.values.tolist()
    assert resumed.summary["llm_calls"] == whole.summary["llm_calls"]
    assert len(server.requests) - len(prompts_sent()) == 3  # one preflight per start, none recorded or replayed
    store = RunStore.open(tmp_path / "part")
    try:
        assert not any("llmga preflight" in prompt for prompt, _ in store.completions())
    finally:
        store.close()


# --------------------------------------------------------------------------- what real servers do (issue 16)
def test_the_token_limit_parameter_follows_the_server(server, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    assert OpenAIBackend("gpt-4o-mini", check=False).token_param == "max_completion_tokens"  # OpenAI's own API
    assert backend(server, "ok").token_param == "max_tokens"  # local servers
    # A server that rejects max_tokens (OpenAI's reasoning models): switch once, retry, remember.
    o3 = backend(server, "o3-mini", reasoning_tokens=0)
    (c,) = o3.generate([Prompt.chat("a")], GenerationParams(max_new_tokens=100))
    assert c.texts == [REPLY] and c.error is None and o3.token_param == "max_completion_tokens"
    assert ["max_tokens" in r for r in server.requests] == [True, False]
    o3.generate([Prompt.chat("b")], GenerationParams(max_new_tokens=100))
    assert server.requests[-1]["max_completion_tokens"] == 100 and len(server.requests) == 3
    # ... and the other way round: a server that does not know max_completion_tokens.
    old = backend(server, "classic")
    old.token_param = "max_completion_tokens"
    (c,) = old.generate([Prompt.chat("c")], GenerationParams(max_new_tokens=50))
    assert c.texts == [REPLY] and old.token_param == "max_tokens" and server.requests[-1]["max_tokens"] == 50


def test_reasoning_models_get_a_thinking_budget_effort_and_finish_reasons(server):
    o3 = backend(server, "o3-mini", reasoning_effort="low")
    (c,) = o3.generate([Prompt.chat("a")], GenerationParams(max_new_tokens=100))
    sent = server.requests[-1]
    assert sent["reasoning_effort"] == "low" and sent["max_completion_tokens"] == 100 + 4096
    assert c.texts == [REPLY] and c.finish_reasons == ["stop"]
    # Without the budget the model spends the limit thinking: the reply is cut, and says so.
    starved = backend(server, "o3-mini", reasoning_tokens=0)
    (cut,) = starved.generate([Prompt.chat("b")], GenerationParams(max_new_tokens=50))
    assert cut.texts == [""] and cut.finish_reasons == ["length"]
    # A model whose name does not say it learns it from the reasoning tokens the server reports.
    thinker = backend(server, "thinker")
    assert thinker.reasoning_tokens == 0
    thinker.generate([Prompt.chat("c")], GenerationParams(max_new_tokens=60))
    assert server.requests[-1]["max_tokens"] == 60 and thinker.reasoning_tokens == 4096
    thinker.generate([Prompt.chat("d")], GenerationParams(max_new_tokens=60))
    assert server.requests[-1]["max_tokens"] == 60 + 4096
    assert "reasoning_effort" not in server.requests[-1]  # sent only when set


def test_a_server_that_refuses_n_above_one_is_asked_one_completion_at_a_time(server):
    b = backend(server, "one-choice")
    (c,) = b.generate([Prompt.chat("a")], GenerationParams(n=3))
    assert len(c.texts) == 3 and c.error is None and b.n_refused
    assert [r["n"] for r in server.requests] == [3, 1, 1, 1]  # refused once (not retried as a 500), then singles
    b.generate([Prompt.chat("b")], GenerationParams(n=2))
    assert [r["n"] for r in server.requests[4:]] == [1, 1]


def test_a_template_that_rejects_the_system_role_gets_it_folded_into_the_user_turn(server):
    b = backend(server, "no-system")
    (c,) = b.generate([Prompt.chat("make two children", system="You are a chemist.")], GenerationParams())
    assert c.texts == [REPLY] and b.fold_system
    assert server.requests[-1]["messages"] == [{"role": "user", "content": "You are a chemist.\n\nmake two children"}]
    b.generate([Prompt.chat("again", system="You are a chemist.")], GenerationParams())
    assert len(server.requests) == 3  # remembered: no second refusal


def test_preflight_stops_on_errors_that_can_never_succeed_and_names_the_fix(server):
    with pytest.raises(BackendError, match=r"Only the default \(1\) value is supported.*--temperature 1"):
        backend(server, "temperature-1").preflight(GenerationParams(temperature=0.7))
    backend(server, "temperature-1").preflight(GenerationParams(temperature=1.0))  # fine
    with pytest.raises(BackendError, match=r"HTTP 403.*does not have access"):
        backend(server, "forbidden").preflight(GenerationParams())
    with pytest.raises(BackendError, match=r"HTTP 422.*bad field"):
        backend(server, "unprocessable").preflight(GenerationParams())
    with pytest.raises(BackendError, match=r"maximum context length is 16 tokens.*longer context"):
        backend(server, "tiny-context").preflight(GenerationParams())
    asked = len(server.requests)
    backend(server, "o3-mini").preflight(GenerationParams(max_new_tokens=256))  # adapts, and is tiny
    assert [r["max_completion_tokens"] for r in server.requests[asked + 1 :]] == [8]
    with pytest.warns(RuntimeWarning, match=r"preflight.*503.*graph GA"):
        backend(server, "busy", max_retries=0).preflight(GenerationParams())  # transient: the run goes on


def test_errors_are_classified_and_only_transient_ones_retried(server):
    kinds = {}
    for model in ("down", "busy", "garbage", "tiny-context"):
        b = backend(server, model, max_retries=1, retry_delay=0.01)
        (c,) = b.generate([Prompt.chat(model)], GenerationParams())
        kinds[model] = c.error_kind
        assert c.texts == [] and c.error
    assert kinds == {
        "down": "server_error", "busy": "server_error", "garbage": "bad_reply", "tiny-context": "context_length"
    }  # fmt: skip
    asked = [r["messages"][0]["content"] for r in server.requests]
    assert asked == ["down", "down", "busy", "busy", "garbage", "tiny-context"]  # only 5xx were retried
    slow = OpenAIBackend("slow", base_url=server.url, max_retries=0, timeout=0.3)
    (late,) = slow.generate([Prompt.chat("a")], GenerationParams())
    assert late.error_kind == "timeout"
    with pytest.raises(BackendError, match=r"exceeded your current quota.*add credit"):  # a 429 that waiting won't fix
        backend(server, "no-quota").generate([Prompt.chat("q")], GenerationParams())
    server.force = (404, "The model `ok` does not exist")  # withdrawn in the middle of a run: stop it
    with pytest.raises(BackendError, match="does not exist"):
        backend(server, "ok").generate([Prompt.chat("a")], GenerationParams())


def test_timeout_retries_and_a_deadline_bound_the_time_spent(server):
    server.delay = 0.4
    b = backend(server, "delay", timeout=0.15, max_retries=2, retry_delay=0.01)
    began = time.monotonic()
    (c,) = b.generate([Prompt.chat("a")], GenerationParams())
    assert c.error_kind == "timeout" and len(server.requests) == 3 and time.monotonic() - began < 1.2
    server.delay = 0.25
    b = backend(server, "delay", concurrency=1, timeout=5.0)
    deadline = time.monotonic() + 0.4
    began = time.monotonic()
    out = b.generate([Prompt.chat(str(i)) for i in range(5)], GenerationParams(deadline=deadline))
    assert time.monotonic() - began < 0.8  # not 5 x 0.25 s
    assert out[0].texts == [REPLY] and [c.error_kind for c in out[2:]] == ["deadline"] * 3
    assert all("deadline" in c.error for c in out[2:]) and out[4].sent_at is None
    assert len(server.requests) == 3 + 2  # the second prompt's request was cut at the deadline, the rest never sent


def test_each_completion_says_when_its_request_was_sent(server):
    server.delay = 0.2
    b = backend(server, "delay", concurrency=1)
    before = time.time()
    out = b.generate([Prompt.chat("a"), Prompt.chat("b"), Prompt.chat("c")], GenerationParams())
    sent = [c.sent_at for c in out]
    assert before <= sent[0] < sent[1] < sent[2] and sent[2] - sent[0] >= 0.4
    assert sent == pytest.approx(server.received, abs=0.05)
