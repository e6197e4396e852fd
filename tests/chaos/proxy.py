"""A fault-injecting HTTP/1.1 TCP proxy for the chaos test: the phone's bad network.

It sits on loopback between the phones and the real server and reads each request and
each response whole (Content-Length or chunked), so it can fail them at the moments that
matter:

- ``reset``: the connection is reset (RST) before the request is forwarded: the server
  never sees it;
- ``cut``: half of the request reaches the server, then both sides are reset;
- ``lost``: the server answered (and so committed: the app commits before it responds),
  the answer is thrown away and the phone's connection reset;
- ``delay``: the request waits 10-400 ms before it is forwarded.

``on_answer(method, path, body)`` is asked before an answer is passed on; returning True
drops it (the chaos test kills the phone there: its request is committed, its answer
never processed). A server that is down is a refused connection (``refused``). Counters
say what happened, by kind and by path.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import socket
import struct
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

Answer = Callable[[str, str, bytes], Awaitable[bool]]
HEAD_LIMIT = 64 * 1024


@dataclass
class Odds:
    reset: float = 0.04
    cut: float = 0.02
    lost: float = 0.05
    delay: float = 0.10


@dataclass
class ChaosProxy:
    upstream_port: int
    rng: random.Random
    odds: Odds = field(default_factory=Odds)
    on_answer: Answer | None = None
    faults: Counter[str] = field(default_factory=Counter)
    requests: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)  # 5xx answers by their detail
    port: int = 0
    _server: asyncio.Server | None = None
    _open: set[asyncio.StreamWriter] = field(default_factory=set)

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self.port

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            _reset(*self._open)  # connections kept alive by the phones
            await self._server.wait_closed()

    def calm(self) -> None:
        """No more faults (the end of the test: let everything through)."""
        self.odds = Odds(0, 0, 0, 0)
        self.on_answer = None

    def _fault(self) -> str | None:
        roll, odds = self.rng.random(), self.odds
        for name, p in (("reset", odds.reset), ("cut", odds.cut), ("lost", odds.lost)):
            if roll < p:
                return name
            roll -= p
        return "delay" if roll < odds.delay else None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self._open.add(writer)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                    body = await _read_body(reader, head, request=True)
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                    return  # the phone closed its connection (or was killed)
                method, path = head.split(b" ", 2)[:2]
                kind = _kind(path.decode())
                self.requests[kind] += 1
                fault = self._fault()
                if fault == "reset":
                    self.faults["reset"] += 1
                    _reset(writer)
                    return
                if fault == "delay":
                    self.faults["delay"] += 1
                    await asyncio.sleep(self.rng.uniform(0.01, 0.4))
                if upstream is None:
                    try:
                        upstream = await asyncio.open_connection("127.0.0.1", self.upstream_port)
                    except OSError:
                        self.faults["refused"] += 1  # the server is down (restarting)
                        _reset(writer)
                        return
                up_reader, up_writer = upstream
                if fault == "cut":
                    self.faults["cut"] += 1
                    up_writer.write(head + body[: len(body) // 2])
                    await up_writer.drain()
                    _reset(up_writer, writer)
                    return
                up_writer.write(head + body)
                try:
                    await up_writer.drain()
                    answer = await up_reader.readuntil(b"\r\n\r\n")
                    answer += await _read_body(up_reader, answer, head_only=method == b"HEAD")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                    self.faults["server_gone"] += 1  # killed mid-request
                    _reset(writer)
                    return
                status = answer.split(b" ", 2)[1].decode()
                self.statuses[f"{kind} {status}"] += 1
                if status.startswith("5"):
                    self.errors[f"{kind} {status}: {_detail(answer)}"] += 1
                hook = self.on_answer
                if hook is not None and await hook(method.decode(), path.decode(), body):
                    _reset(up_writer, writer)
                    return
                if fault == "lost":
                    self.faults["lost"] += 1
                    _reset(up_writer, writer)
                    return
                writer.write(answer)
                await writer.drain()
                if (_header(answer, b"connection") or b"").lower() == b"close":
                    return
        except ConnectionError:
            return
        finally:
            self._open.discard(writer)
            for w in (writer, *(upstream[1:] if upstream else ())):
                if not w.is_closing():
                    w.close()


def _kind(path: str) -> str:
    """``push``, ``pull``, ``upload``, ``auth``, ... for the counters."""
    path = path.split("?", 1)[0]
    for part, name in (("/sync/", None), ("/uploads", "upload"), ("/blobs", "upload")):
        if part in path:
            return name or path.rsplit("/", 1)[-1]
    return "auth" if "/auth/" in path else "other"


def _detail(answer: bytes) -> str:
    body = answer.partition(b"\r\n\r\n")[2]
    try:
        return str(json.loads(body).get("detail"))[:160]
    except (ValueError, AttributeError):
        return body[:160].decode(errors="replace")


def _header(head: bytes, name: bytes) -> bytes | None:
    for line in head.split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == name:
            return value.strip()
    return None


async def _read_body(
    reader: asyncio.StreamReader, head: bytes, *, request: bool = False, head_only: bool = False
) -> bytes:
    if len(head) > HEAD_LIMIT:
        raise ConnectionError("header too large")
    if not request:
        status = int(head.split(b" ", 2)[1])
        if head_only or status in (204, 304) or status < 200:
            return b""
    length = _header(head, b"content-length")
    if length is not None:
        return await reader.readexactly(int(length))
    if (_header(head, b"transfer-encoding") or b"").lower() == b"chunked":
        out = b""
        while True:
            line = await reader.readuntil(b"\r\n")
            out += line
            size = int(line.split(b";")[0], 16)
            if size == 0:
                while (trailer := await reader.readuntil(b"\r\n")) != b"\r\n":
                    out += trailer
                return out + b"\r\n"
            out += await reader.readexactly(size + 2)
    if request:
        return b""
    return await reader.read()  # an answer delimited by closing the connection


def _reset(*writers: asyncio.StreamWriter) -> None:
    """Close with RST, not FIN: what a dropped mobile connection looks like."""
    for writer in writers:
        sock = writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()
