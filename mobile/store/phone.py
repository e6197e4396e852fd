"""``Store``: the phone's local database with everything the UI and the sync engine call.

Put together from one class per concern, each on ``StoreCore`` (transactions, meta, the
outbox, pulled pages): uploads, the actions and labour with its timers, the session (who
is logged in), the screens' lists, the "needs attention" list.
"""

from __future__ import annotations

from mobile.store.attention import Attention
from mobile.store.labour import Labour
from mobile.store.session import Session
from mobile.store.views import Views


class Store(Labour, Views, Attention, Session):
    """The phone's local database and the actions the UI calls."""
