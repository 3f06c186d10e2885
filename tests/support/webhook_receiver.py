"""A real HTTP receiver on 127.0.0.1 that checks webhook signatures the way a customer would."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from webapp.webhooks.signing import SignatureError, verify_signature


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    signature_ok: bool
    signature_error: str


@dataclass
class Receiver:
    """Answers each POST with the next status in ``statuses`` (the last one repeats). The first ``hang``
    POSTs get no answer until ``release`` is set (the sender stays mid-request, as with a stalled receiver)."""

    statuses: list[int] = field(default_factory=lambda: [200])
    secret: str = ""
    received: list[Received] = field(default_factory=list)
    url: str = ""
    hang: int = 0
    release: threading.Event = field(default_factory=threading.Event)

    def respond(self) -> int:
        return self.statuses[min(len(self.received) - 1, len(self.statuses) - 1)]


def start_receiver() -> tuple[Receiver, ThreadingHTTPServer]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            try:
                verify_signature(state.secret, self.headers.get("Forensics-Signature", ""), body)
                ok, error = True, ""
            except SignatureError as exc:
                ok, error = False, str(exc)
            state.received.append(Received(dict(self.headers.items()), body, ok, error))
            if len(state.received) <= state.hang:
                state.release.wait(timeout=300)
                return  # the connection closes without an answer
            status = state.respond() if ok else 401
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/forensics"
    return state, server


@contextmanager
def running_receiver() -> Iterator[Receiver]:
    state, server = start_receiver()
    try:
        yield state
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()
