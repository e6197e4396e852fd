"""A real HTTP receiver on 127.0.0.1 for the webhook tests, in a thread: it records every
request and answers as the test scripts it (fail, sleep, redirect, then succeed), and
de-duplicates by ``webhook-id`` as the specification tells receivers to."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Seen:
    headers: dict[str, str]
    body: str
    path: str


@dataclass
class Receiver:
    url: str
    requests: list[Seen] = field(default_factory=list)
    processed: list[str] = field(default_factory=list)  # webhook-ids handled once each
    # (status, extra headers) for the n-th request (0-based), after ``before`` ran.
    answer: Callable[[int], tuple[int, dict[str, str]]] = lambda n: (200, {})
    before: Callable[[int], None] = lambda n: None
    arrived: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server_names: list[str | None] = field(default_factory=list)

    @property
    def ids(self) -> list[str]:
        return [r.headers["webhook-id"] for r in self.requests]


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0"))).decode()
            seen = Seen({k.lower(): v for k, v in self.headers.items()}, body, self.path)
            with receiver.lock:
                n = len(receiver.requests)
                receiver.requests.append(seen)
            receiver.arrived.set()
            receiver.before(n)
            status, extra = receiver.answer(n)
            if 200 <= status < 300:
                with receiver.lock:
                    if seen.headers["webhook-id"] not in receiver.processed:
                        receiver.processed.append(seen.headers["webhook-id"])
            self.send_response(status)
            for name, value in extra.items():
                self.send_header(name, value)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@contextmanager
def running(tls: ssl.SSLContext | None = None) -> Iterator[Receiver]:
    """A receiver on 127.0.0.1 (over TLS with ``tls``: its ``server_names`` record the SNI)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(Receiver("")))
    scheme = "https" if tls else "http"
    receiver = Receiver(f"{scheme}://127.0.0.1:{server.server_address[1]}/hook")
    if tls is not None:

        def remember(sock: ssl.SSLObject, name: str | None, context: ssl.SSLContext) -> None:
            receiver.server_names.append(name)

        tls.sni_callback = remember
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    server.RequestHandlerClass = _handler(receiver)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
