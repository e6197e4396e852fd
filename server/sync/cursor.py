"""The pull cursor: opaque to the phone, signed, bound to one installation.

It is ``base64url(JSON) "." base64url(HMAC-SHA256(secret, client_id | JSON))[:16 bytes]``.
Two shapes:

- feed (``m: "f"``): the last feed row served, ``(t, i)`` = (txid, id); ``w``, the txid
  below which every transaction was finished at the last pull (van stock is compared
  against it); ``o``, the edge of the recent-work window at the last pull (epoch seconds);
  ``p``, the claim pool the phone was sent (server/sync/claimables.py: base64url of 20
  bytes per work order, its id and a digest of its row; absent: nothing sent yet);
- snapshot (``m: "s"``): a full snapshot in progress: stage ``s``, the last key ``k`` sent
  in it, the feed position ``x`` it started at, and ``o``.

A cursor that does not verify (edited, truncated, another installation's) is a 400.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from typing import Any

from server.errors import BadRequest

MAX_ID = 2**63 - 1
MALFORMED = "cursor is malformed or belongs to another installation; pull without a cursor"


@dataclass(frozen=True)
class Feed:
    t: int
    i: int
    w: int
    o: float
    p: str = ""


@dataclass(frozen=True)
class Snapshot:
    stage: int
    key: str | None
    x: int
    o: float


State = Feed | Snapshot


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: str, client_id: uuid.UUID, payload: bytes) -> bytes:
    message = client_id.bytes + payload
    return hmac.new(secret.encode(), message, hashlib.sha256).digest()[:16]


def encode(state: State, *, secret: str, client_id: uuid.UUID) -> str:
    body: dict[str, Any]
    if isinstance(state, Feed):
        body = {"m": "f", "t": state.t, "i": state.i, "w": state.w, "o": state.o}
        if state.p:
            body["p"] = state.p
    else:
        body = {"m": "s", "s": state.stage, "k": state.key, "x": state.x, "o": state.o}
    payload = json.dumps(body, separators=(",", ":")).encode()
    return f"{_b64(payload)}.{_b64(_mac(secret, client_id, payload))}"


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_ID:
        raise BadRequest(MALFORMED)
    return value


def _float(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1e11:
        raise BadRequest(MALFORMED)
    return float(value)


# The claim pool a cursor may carry: at most this many bytes (server/sync/claimables.py
# sends at most 50 work orders, 20 bytes each).
MAX_POOL_TEXT = 2_000


def _pool(value: Any) -> str:
    if not isinstance(value, str) or len(value) > MAX_POOL_TEXT:
        raise BadRequest(MALFORMED)
    return value


def decode(cursor: str, *, secret: str, client_id: uuid.UUID) -> State:
    try:
        encoded, signature = cursor.split(".")
        payload, mac = _unb64(encoded), _unb64(signature)
    except (ValueError, binascii.Error) as exc:
        raise BadRequest(MALFORMED) from exc
    if not hmac.compare_digest(mac, _mac(secret, client_id, payload)):
        raise BadRequest(MALFORMED)
    try:
        body = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(MALFORMED) from exc
    if not isinstance(body, dict):
        raise BadRequest(MALFORMED)
    if body.get("m") == "f":
        return Feed(
            t=_int(body.get("t")),
            i=_int(body.get("i")),
            w=_int(body.get("w")),
            o=_float(body.get("o")),
            p=_pool(body.get("p", "")),
        )
    if body.get("m") == "s":
        key = body.get("k")
        if key is not None and (not isinstance(key, str) or len(key) > 200):
            raise BadRequest(MALFORMED)
        return Snapshot(
            stage=_int(body.get("s")), key=key, x=_int(body.get("x")), o=_float(body.get("o"))
        )
    raise BadRequest(MALFORMED)
