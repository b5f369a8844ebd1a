from __future__ import annotations

from llmga.backends import Backend, GenerationParams, Prompt, ReplayBackend


def test_replay_answers_every_prompt_with_n_texts_and_records_batches():
    backend = ReplayBackend(["<smiles>CCO</smiles>", "<smiles>CCN</smiles>"])
    prompts = [Prompt.chat("mutate CCC", system="You are a chemist."), Prompt.chat("mutate CCCC")]
    out = backend.generate(prompts, GenerationParams(n=3))
    assert isinstance(backend, Backend)
    assert [c.texts for c in out] == [
        ["<smiles>CCO</smiles>", "<smiles>CCN</smiles>", "<smiles>CCO</smiles>"],
        ["<smiles>CCN</smiles>", "<smiles>CCO</smiles>", "<smiles>CCN</smiles>"],
    ]
    assert backend.batches == [prompts]  # one call for the whole batch
    assert out[0].tokens_in == len(["You", "are", "a", "chemist.", "mutate", "CCC"])
    assert out[0].tokens_out == 3
    assert prompts[0].text() == "You are a chemist.\n\nmutate CCC"


def test_replay_failures_become_completion_errors():
    backend = ReplayBackend(["ok", TimeoutError("read timed out")])
    (completion,) = backend.generate([Prompt.chat("x")], GenerationParams(n=2))
    assert completion.texts == ["ok"]
    assert completion.error == "TimeoutError: read timed out"


def test_replay_with_a_function():
    backend = ReplayBackend(lambda prompt, i: f"{i}:{prompt.messages[-1].content}")
    out = backend.generate([Prompt.chat("a"), Prompt.chat("b")], GenerationParams(n=1))
    assert [c.texts for c in out] == [["0:a"], ["1:b"]]
    assert backend.card() == {"backend": "replay", "model": "replay"}
