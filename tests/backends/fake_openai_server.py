"""A small OpenAI-compatible HTTP server for tests: behaviour chosen by the model name.

Models: ``ok`` (answers n choices), ``ignore-n`` (always one choice, like
``transformers serve``), ``flaky`` (429 then 500 then fine, per prompt),
``down`` (always 500), ``garbage`` (200 with a non-JSON body), ``slow``
(answers after 3 s), ``locked`` (401), and the failure modes of real servers:

- ``o3-mini``: OpenAI's reasoning models: 400 for ``max_tokens`` ("Use
  'max_completion_tokens' instead"), reports 64 reasoning tokens, and a
  reply cut by the limit (``finish_reason`` ``length``, empty content) when
  ``max_completion_tokens`` leaves no room after them.
- ``classic``: a local server that does not know ``max_completion_tokens`` (400).
- ``one-choice``: llama.cpp's server: n > 1 is an error 500 "Only one completion choice is allowed".
- ``no-system``: a chat template that rejects the system role (Gemma): 400.
- ``temperature-1``: 400 for any temperature but 1 (OpenAI's o-series).
- ``tiny-context``: 400 context-length overflow for every request.
- ``busy`` (503), ``forbidden`` (403), ``unprocessable`` (422, FastAPI's ``detail`` body).
- ``no-quota``: OpenAI's 429 ``insufficient_quota`` (no credit left: waiting does not help).
- ``huge``: the normal reply followed by ``huge_chars`` characters of filler.
- ``delay``: answers after ``delay`` seconds.
- ``thinker``: ``<think>…</think>`` before the answer, reasoning tokens in its usage.

``force`` (a ``(status, message)`` pair) makes every completion request fail so,
whatever the model: a model withdrawn or a key revoked in the middle of a run.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODELS = (
    "ok", "ignore-n", "flaky", "down", "garbage", "slow", "locked", "o3-mini", "classic", "one-choice", "no-system",
    "temperature-1", "tiny-context", "busy", "forbidden", "unprocessable", "huge", "delay", "thinker", "no-quota",
)  # fmt: skip
REPLY = "<smiles>CC(C)(C)c1ccc2occ(CC(=O)Nc3ccccc3Cl)c2c1</smiles>\n<smiles>CCOC(=O)c1ccc(NC(=O)c2ccccc2)cc1</smiles>"
THINKING = "<think>The tert-butyl benzofuran keeps the core; an ortho chlorine should help.</think>\n"
O3_REASONING_TOKENS = 64


def _error(message: str, **extra: object) -> str:
    return json.dumps({"error": {"message": message, "type": "invalid_request_error", **extra}})


class FakeServer:
    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.headers: list[dict] = []
        self.received: list[float] = []  # time.time() when each completion request arrived
        self.attempts: Counter[str] = Counter()
        self.delay = 0.3
        self.huge_chars = 2_000_000
        self.force: tuple[int, str] | None = None
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _send(self, status: int, body: str, content_type: str = "application/json") -> None:
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if self.path.endswith("/models"):
                    data = [{"id": m, "object": "model", "created": 0, "owned_by": "test"} for m in MODELS]
                    self._send(200, json.dumps({"object": "list", "data": data}))
                else:
                    self._send(404, json.dumps({"error": {"message": "not found"}}))

            def do_POST(self) -> None:  # one branch per emulated server
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.received.append(time.time())
                server.requests.append(body)
                server.headers.append(dict(self.headers))
                model = body.get("model")
                key = json.dumps(body.get("messages"), sort_keys=True)
                server.attempts[key] += 1
                attempt = server.attempts[key]
                n = int(body.get("n", 1))
                if server.force is not None:
                    return self._send(server.force[0], _error(server.force[1]))
                if model == "locked":
                    return self._send(401, json.dumps({"error": {"message": "bad key", "type": "auth"}}))
                if model == "down" or (model == "flaky" and attempt == 2):
                    return self._send(500, json.dumps({"error": {"message": "boom"}}))
                if model == "flaky" and attempt == 1:
                    return self._send(429, json.dumps({"error": {"message": "slow down"}}))
                if model == "no-quota":
                    message = "You exceeded your current quota, please check your plan and billing details."
                    return self._send(429, _error(message, code="insufficient_quota"))
                if model == "busy":
                    return self._send(503, _error("The server is overloaded, try again later"))
                if model == "forbidden":
                    return self._send(403, _error("Project does not have access to model forbidden"))
                if model == "unprocessable":
                    return self._send(422, json.dumps({"detail": [{"loc": ["body", "top_k"], "msg": "bad field"}]}))
                if model == "tiny-context":
                    return self._send(
                        400,
                        _error(
                            "This model's maximum context length is 16 tokens. However, your messages resulted "
                            "in 40 tokens. Please reduce the length of the messages.",
                            code="context_length_exceeded",
                        ),
                    )
                if model == "o3-mini" and "max_tokens" in body:
                    return self._send(
                        400,
                        _error(
                            "Unsupported parameter: 'max_tokens' is not supported with this model. "
                            "Use 'max_completion_tokens' instead.",
                            param="max_tokens",
                            code="unsupported_parameter",
                        ),
                    )
                if model == "classic" and "max_completion_tokens" in body:
                    return self._send(400, _error("Unrecognized request argument supplied: max_completion_tokens"))
                if model == "one-choice" and n > 1:
                    refusal = {"code": 500, "message": "Only one completion choice is allowed", "type": "server_error"}
                    return self._send(500, json.dumps({"error": refusal}))
                if model == "no-system" and any(m.get("role") == "system" for m in body.get("messages") or []):
                    return self._send(400, _error("jinja2.exceptions.TemplateError: System role not supported"))
                if model == "temperature-1" and body.get("temperature", 1) != 1:
                    return self._send(
                        400,
                        _error(
                            f"Unsupported value: 'temperature' does not support {body['temperature']} with this "
                            "model. Only the default (1) value is supported.",
                            param="temperature",
                        ),
                    )
                if model == "garbage":
                    return self._send(200, "<html>this is not json", "text/html")
                if model == "slow":
                    time.sleep(3)
                if model == "delay":
                    time.sleep(server.delay)
                if model == "ignore-n":
                    n = 1
                content, finish, reasoning = REPLY, "stop", 0
                if model == "o3-mini":
                    limit = int(body["max_completion_tokens"])
                    reasoning = min(limit, O3_REASONING_TOKENS)
                    if limit <= O3_REASONING_TOKENS:
                        content, finish = "", "length"
                if model == "huge":
                    content = REPLY + "\n" + "filler " * (server.huge_chars // 7)
                if model == "thinker":
                    content, reasoning = THINKING + REPLY, 30
                choices = [
                    {"index": i, "message": {"role": "assistant", "content": content}, "finish_reason": finish}
                    for i in range(n)
                ]
                usage: dict[str, object] = {
                    "prompt_tokens": 11,
                    "completion_tokens": (7 + reasoning) * n,
                    "total_tokens": 11 + (7 + reasoning) * n,
                }
                if reasoning:
                    usage["completion_tokens_details"] = {"reasoning_tokens": reasoning * n}
                payload = {"id": "x", "object": "chat.completion", "created": 0, "model": model, "choices": choices}
                self._send(200, json.dumps({**payload, "usage": usage}))

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.handle_error = lambda request, address: None  # type: ignore[method-assign]  # client hung up (timeout tests)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> FakeServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
