"""Claiming a job from the pool: ``POST /api/v1/tickets/{id}/claim``, answered now.

Not an outbox mutation: a claim is a race with colleagues, so it needs the server's answer
before the phone shows anything (offline it is refused, never queued). It is sent with an
``Idempotency-Key`` kept in the store until an answer settles it, so sending it again
after a lost answer is the same request: the server answers it as it did the first time.

- 2xx: the job is yours (assigned, accepted, pinned): it leaves the pool; the next pull
  brings it as your work.
- 409 ``already_claimed``: a colleague was first: it leaves the pool at once.
- 409 ``not_open_for_claim``, 404: the office closed it (or it is gone): it leaves the pool.
- no answer (``Transient``): nothing changes on the phone; the job stays in the pool until
  a pull says otherwise, and the key is kept for the retry.
- any other refusal (``Refused``): the key is spent, the job stays in the pool.
"""

from __future__ import annotations

from enum import StrEnum

from mobile.store import Store
from mobile.sync.api import Api, problem
from mobile.sync.errors import Refused

CLAIM_PATH = "/api/v1/tickets/{id}/claim"


class Claimed(StrEnum):
    YOURS = "yours"
    TAKEN = "taken"  # another engineer was first (never who)
    CLOSED = "closed"  # no longer open for claim, or gone


async def claim(api: Api, store: Store, work_order_id: str) -> Claimed:
    key = store.claim_key(work_order_id)
    response = await api.request(
        "POST", CLAIM_PATH.format(id=work_order_id), headers={"Idempotency-Key": key}
    )
    status = response.status_code
    code = problem(response).get("code") if status >= 400 else None
    if 200 <= status < 300:
        outcome = Claimed.YOURS
    elif status == 409 and code == "already_claimed":
        outcome = Claimed.TAKEN
    elif status == 404 or (status == 409 and code == "not_open_for_claim"):
        outcome = Claimed.CLOSED
    else:
        store.claim_answered(work_order_id, leaves_pool=False)
        raise Refused(status, problem(response))
    store.claim_answered(work_order_id, leaves_pool=True, yours=outcome is Claimed.YOURS)
    return outcome
