"""The openai backend against a real OpenAI-compatible server: `transformers serve` on 127.0.0.1."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("openai")
pytest.importorskip("fastapi")  # transformers[serving]

import llmga
from llmga.backends import GenerationParams, Prompt
from llmga.backends.openai import OpenAIBackend
from llmga.testing import save_tiny_gpt2


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def served_model(tmp_path_factory):
    model_dir = save_tiny_gpt2(tmp_path_factory.mktemp("served") / "tiny-gpt2")
    exe = shutil.which("transformers") or str(Path(sys.executable).with_name("transformers"))
    port = _free_port()
    log = tmp_path_factory.mktemp("serve-log") / "serve.log"
    with open(log, "w") as fh:
        proc = subprocess.Popen(
            [exe, "serve", str(model_dir), "--device", "cpu", "--host", "127.0.0.1", "--port", str(port)],
            stdout=fh,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=1):
                    break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    pytest.fail(f"transformers serve did not start:\n{log.read_text()[-2000:]}")
                time.sleep(0.5)
        yield f"{url}/v1", str(model_dir)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_server_ignores_n_and_the_backend_tops_up(served_model):
    url, model = served_model
    backend = OpenAIBackend(model, base_url=url, chat=False, timeout=60)
    out = backend.generate([Prompt.chat("CCO>>"), Prompt.chat("c1ccccc1>>")], GenerationParams(n=3, max_new_tokens=8))
    assert all(len(c.texts) == 3 and c.error is None for c in out)
    assert backend.n_ignored  # transformers serve returns one choice whatever n is
    assert out[0].tokens_in > 0 and out[0].tokens_out > 0


def test_end_to_end_optimize_against_transformers_serve(served_model, tmp_path):
    url, model = served_model
    result = llmga.optimize(
        "qed",
        budget=150,
        llm=f"openai:{model}",
        base_url=url,
        prompt_style="plain",
        children_per_call=2,
        max_new_tokens=16,
        out=str(tmp_path / "run"),
        workers=1,
    )
    s = result.summary
    assert s["status"] == "finished" and s["calls"] == 150
    assert s["llm_calls"] > 0 and s["llm_errors"] == 0 and s["llm_tokens_out"] > 0
    assert (tmp_path / "run" / "llm_calls.csv").exists()
