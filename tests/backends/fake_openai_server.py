"""A small OpenAI-compatible HTTP server for tests: behaviour chosen by the model name.

Models: ``ok`` (answers n choices), ``ignore-n`` (always one choice, like
``transformers serve``), ``flaky`` (429 then 500 then fine, per prompt),
``down`` (always 500), ``garbage`` (200 with a non-JSON body), ``slow``
(answers after 3 s), ``locked`` (401).
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODELS = ("ok", "ignore-n", "flaky", "down", "garbage", "slow", "locked")
REPLY = "<smiles>CC(C)(C)c1ccc2occ(CC(=O)Nc3ccccc3Cl)c2c1</smiles>\n<smiles>CCOC(=O)c1ccc(NC(=O)c2ccccc2)cc1</smiles>"


class FakeServer:
    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.headers: list[dict] = []
        self.attempts: Counter[str] = Counter()
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

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append(body)
                server.headers.append(dict(self.headers))
                model = body.get("model")
                key = json.dumps(body.get("messages"), sort_keys=True)
                server.attempts[key] += 1
                attempt = server.attempts[key]
                if model == "locked":
                    return self._send(401, json.dumps({"error": {"message": "bad key", "type": "auth"}}))
                if model == "down" or (model == "flaky" and attempt == 2):
                    return self._send(500, json.dumps({"error": {"message": "boom"}}))
                if model == "flaky" and attempt == 1:
                    return self._send(429, json.dumps({"error": {"message": "slow down"}}))
                if model == "garbage":
                    return self._send(200, "<html>this is not json", "text/html")
                if model == "slow":
                    time.sleep(3)
                n = 1 if model == "ignore-n" else int(body.get("n", 1))
                choices = [
                    {"index": i, "message": {"role": "assistant", "content": REPLY}, "finish_reason": "stop"}
                    for i in range(n)
                ]
                usage = {"prompt_tokens": 11, "completion_tokens": 7 * n, "total_tokens": 11 + 7 * n}
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
