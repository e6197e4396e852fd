"""A minimal HTTP/1.1 client for the benchmarks' load generators: keep-alive connections to
the API on loopback, requests written as bytes, responses read by Content-Length (or
chunked). ``load`` gives each simulated user a :class:`Connection`; ``ticket_create``
shares a :class:`Pool` of them between its concurrent requests.

On these two cores the load generator's CPU is taken from the server it measures: httpx
spends one to three milliseconds of CPU per request (about what the API spends creating a
work order), this a fraction of that (docs/benchmarks.md). Not a general client: no TLS,
no redirects, no compression, loopback only.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass


class ConnectionLost(Exception):
    """The connection closed before a whole response arrived."""


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes


class Connection:
    """One user's connection; reopened when the server closed it (uvicorn closes a
    keep-alive connection idle for 5 s, which is most phones between two syncs)."""

    def __init__(self, host: str, port: int, timeout: float = 30.0) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    def _usable(self) -> bool:
        return not (
            self._reader is None
            or self._writer is None
            or self._reader.at_eof()
            or self._writer.is_closing()
        )

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._reader = self._writer = None

    async def request(
        self, method: str, path: str, headers: dict[str, str], body: bytes = b""
    ) -> Response:
        """Send one request; retried once on a fresh connection when a reused one turns
        out to be closed before anything was read (every write here is idempotent or
        harmless to repeat: pushes by seq, edits by If-Match)."""
        reused = self._usable()
        try:
            return await asyncio.wait_for(self._send(method, path, headers, body), self.timeout)
        except (ConnectionLost, ConnectionError) as exc:
            await self.close()
            if not reused or getattr(exc, "partial", False):
                raise
            return await asyncio.wait_for(self._send(method, path, headers, body), self.timeout)
        except BaseException:
            await self.close()
            raise

    async def _send(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Response:
        if not self._usable():
            await self.close()
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        assert self._reader is not None and self._writer is not None
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        if body or method in ("POST", "PATCH", "PUT"):
            head += f"Content-Length: {len(body)}\r\n"
        self._writer.write(head.encode("latin-1") + b"\r\n" + body)
        return await self._read(self._reader)

    async def _read(self, reader: asyncio.StreamReader) -> Response:
        try:
            status_line = await reader.readuntil(b"\r\n")
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            raise ConnectionLost("closed before the status line") from exc
        try:
            status = int(status_line.split(b" ", 2)[1])
            raw = await reader.readuntil(b"\r\n\r\n")
            fields = {}
            for line in raw.decode("latin-1").split("\r\n"):
                if line:
                    name, _, value = line.partition(":")
                    fields[name.strip().lower()] = value.strip()
            if "content-length" in fields:
                data = await reader.readexactly(int(fields["content-length"]))
            elif fields.get("transfer-encoding", "").lower() == "chunked":
                data = await _chunked(reader)
            else:
                data = await reader.read()
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            lost = ConnectionLost("closed in the middle of a response")
            lost.partial = True  # type: ignore[attr-defined]
            raise lost from exc
        if fields.get("connection", "").lower() == "close":
            await self.close()
        return Response(status, fields, data)


async def _chunked(reader: asyncio.StreamReader) -> bytes:
    parts = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        if size == 0:
            await reader.readuntil(b"\r\n")
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)


class Pool:
    """``size`` keep-alive connections shared by concurrent requests: a request waits for
    an idle one."""

    def __init__(self, host: str, port: int, size: int, *, timeout: float = 60) -> None:
        self._idle: asyncio.Queue[Connection] = asyncio.Queue()
        for _ in range(size):
            self._idle.put_nowait(Connection(host, port, timeout))

    async def __aenter__(self) -> Pool:
        return self

    async def __aexit__(self, *exc: object) -> None:
        while not self._idle.empty():
            await self._idle.get_nowait().close()

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        connection = await self._idle.get()
        try:
            answer = await connection.request("POST", path, headers, body)
        finally:
            self._idle.put_nowait(connection)
        return answer.status, answer.body
