"""A minimal OpenAI-compatible HTTP server for failure cases a real model will not produce on demand
(e.g. a model that always answers with invalid JSON). Runs the real HTTP client path."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@contextmanager
def stub_openai_server(
    reply: str,
    model: str = "stub",
    *,
    models_delay_s: float = 0.0,
    reply_delay_s: float = 0.0,
    responder: Callable[[dict], str] | None = None,
) -> Iterator[str]:
    """`models_delay_s` slows only /v1/models, like a one-slot server busy with another reply.

    `reply_delay_s` is a fixed model latency per chat completion (requests are served concurrently, like a
    multi-slot server); `responder`, given the parsed request body, returns the reply text instead of `reply`.
    """

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _send(self, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            time.sleep(models_delay_s)
            self._send({"object": "list", "data": [{"id": model, "object": "model"}]})

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            content = responder(body) if responder else reply
            time.sleep(reply_delay_s)
            self._send(
                {
                    "id": "x",
                    "object": "chat.completion",
                    "created": 0,
                    "model": model,
                    "choices": [
                        {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}
                    ],
                    "usage": {"prompt_tokens": 5, "completion_tokens": 5, "total_tokens": 10},
                }
            )

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()
