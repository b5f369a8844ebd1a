"""The record of an external model's completions (RecordedBackend): what is kept, and that it replays the same."""

from __future__ import annotations

from llmga.backends import GenerationParams, Prompt, ReplayBackend
from llmga.backends._recorded import RecordedBackend
from llmga.prompting import MAX_REPLY_CHARS, parse_reply

KID = "CC(C)(C)c1ccc2occ(CC(=O)Nc3ccccc3Cl)c2c1"
OTHER = "CCOC(=O)c1ccc(NC(=O)c2ccccc2)cc1"


def _record(replies, n=1):
    rows = []
    backend = RecordedBackend(ReplayBackend(replies), rows.extend)
    prompts = [Prompt.chat(f"prompt {i}") for i in range(len(replies) // n)]
    live = backend.generate(prompts, GenerationParams(n=n))
    return prompts, live, rows


def test_huge_replies_are_stored_as_the_parser_reads_them_and_replay_to_the_same_children():
    huge = f"<smiles>{KID}</smiles>\n" + "filler " * 300_000  # 2.1 MB
    thinking = "<think>" + "hmm " * 10_000 + f"</think><smiles>{OTHER}</smiles>"  # the answer after 40,000 characters
    short = f"<think>ok</think><smiles>{KID}</smiles>"
    prompts, live, rows = _record([huge, thinking, short])
    stored = [saved for _, saved in rows]
    assert len(stored[0]["texts"][0]) == MAX_REPLY_CHARS and stored[0]["text_chars"] == [len(huge)]
    assert stored[1]["texts"] == [f"<smiles>{OTHER}</smiles>"] and stored[1]["text_chars"] == [len(thinking)]
    assert stored[2]["texts"] == [short] and stored[2]["text_chars"] == []  # short replies are kept whole
    assert sum(len(t) for s in stored for t in s["texts"]) < 2 * MAX_REPLY_CHARS
    resumed = RecordedBackend(ReplayBackend(["never asked"]), [].extend, replay=rows)
    again = resumed.generate(prompts, GenerationParams())
    assert resumed.inner.batches == []  # every prompt was answered from the record
    from llmga.backends import strip_thinking

    for before, after in zip(live, again, strict=True):
        parsed = [parse_reply(strip_thinking(t)).smiles for t in before.texts]
        assert [parse_reply(strip_thinking(t)).smiles for t in after.texts] == parsed and parsed[0]
    assert again[0].text_chars == [len(huge)] and again[1].sent_at == live[1].sent_at


def test_preflight_is_neither_recorded_nor_answered_from_canned_replies():
    rows = []
    inner = ReplayBackend(["first", "second"])
    backend = RecordedBackend(inner, rows.extend)
    backend.preflight(GenerationParams())
    (c,) = backend.generate([Prompt.chat("p")], GenerationParams())
    assert c.texts == ["first"] and len(rows) == 1


def test_records_of_older_versions_and_unknown_fields_replay():
    old = [("p", {"texts": ["x"], "tokens_in": 1, "tokens_out": 1, "latency_s": 0.1, "error": None})]
    newer = [("q", {"texts": ["y"], "some_future_field": 3})]
    backend = RecordedBackend(ReplayBackend(["z"]), [].extend, replay=old + newer)
    out = backend.generate([Prompt.chat("p"), Prompt.chat("q")], GenerationParams())
    assert [c.texts for c in out] == [["x"], ["y"]] and out[0].finish_reasons == [] and out[0].sent_at is None
