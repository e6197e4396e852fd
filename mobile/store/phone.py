"""``Store``: the phone's local database with everything the UI and the sync engine call.

Put together from one class per concern, each on ``StoreCore`` (transactions, meta, the
outbox, pulled pages): uploads, the actions, photos and signatures, labour with its
timers, the session (who is logged in), the screens' lists, the "needs attention" list,
the claim pool.
"""

from __future__ import annotations

from mobile.store.attention import Attention
from mobile.store.claims import Claims
from mobile.store.labour import Labour
from mobile.store.media import Media
from mobile.store.session import Session
from mobile.store.views import Views


class Store(Labour, Media, Views, Attention, Session, Claims):
    """The phone's local database and the actions the UI calls."""
