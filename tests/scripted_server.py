"""An HTTP server that answers each request with exactly the bytes a test scripts: hostile and broken servers.

Each POST takes the next `Reply` (the last one repeats): its status, headers, and body pieces written one by one,
with pauses between them where the script puts a number of seconds. GET /models answers 404 (the probe then
leaves the model to the first request), or the listing a test gives.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SSE = "text/event-stream"


@dataclass(frozen=True)
class Reply:
    """One response. `body` holds bytes to write and pauses (seconds, as numbers) between them. Chunked transfer
    encoding unless `length` (then a Content-Length of the body's bytes is sent first)."""

    body: tuple[bytes | float, ...] = ()
    status: int = 200
    content_type: str | None = SSE
    length: bool = False
    close_early: bool = False  # end the connection after the body without the terminating chunk


def sse(*events: dict | str, done: bool = True) -> tuple[bytes, ...]:
    """Events as `data:` lines (dicts as JSON, strings as they are), then `data: [DONE]`."""
    pieces = [f"data: {e if isinstance(e, str) else json.dumps(e, ensure_ascii=False)}\n\n".encode() for e in events]
    if done:
        pieces.append(b"data: [DONE]\n\n")
    return tuple(pieces)


def chunk(index: int = 0, content: object = None, finish: object = None, **extra: object) -> dict:
    """One chat completion chunk for choice `index`."""
    delta = {} if content is None else {"content": content}
    return {"object": "chat.completion.chunk", "model": "m", "choices": [
        {"index": index, "delta": delta, "finish_reason": finish, **extra}]}  # fmt: skip


@dataclass
class Script:
    replies: Sequence[Reply]
    models: list[str] | None = None
    requests: int = 0
    bodies: list[dict] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    script: Script

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        if self.script.models is None:
            data = b'{"error": {"message": "not found"}}'
            self.send_response(404)
        else:
            listing = {"object": "list", "data": [{"id": m, "object": "model"} for m in self.script.models]}
            data = json.dumps(listing).encode()
            self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        script = self.script
        payload = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        with script.lock:
            reply = script.replies[min(script.requests, len(script.replies) - 1)]
            script.requests += 1
            script.bodies.append(payload)
        self.send_response(reply.status)
        if reply.content_type is not None:
            self.send_header("Content-Type", reply.content_type)
        if reply.length:
            size = sum(len(piece) for piece in reply.body if isinstance(piece, bytes))
            self.send_header("Content-Length", str(size))
        else:
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        with contextlib.suppress(OSError):
            for piece in reply.body:
                if not isinstance(piece, bytes):
                    time.sleep(piece)
                elif reply.length:
                    self.wfile.write(piece)
                elif piece:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                self.wfile.flush()
            if reply.close_early:
                self.close_connection = True
                self.connection.shutdown(2)
            elif not reply.length:
                self.wfile.write(b"0\r\n\r\n")


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that gave up on a request is not a server fault


@contextlib.contextmanager
def serve(script: Script) -> Iterator[str]:
    """Run the server on a thread; yields its base URL (ending in /v1)."""
    server = _Server(("127.0.0.1", 0), type("Handler", (_Handler,), {"script": script}))
    # Polled often, so the many short-lived servers of a table of cases stop at once (the default waits 0.5 s).
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()
