"""The phone's local database (SQLite): copies of server rows, the outbox, pending uploads.

No Kivy here: the UI reads and writes only through ``Store``; the sync engine
(``mobile.sync``) moves the outbox to the server and the server's changes back.
"""

from mobile.store.actions import ActionRefused
from mobile.store.core import OutboxEntry
from mobile.store.labour import TIMER_KINDS
from mobile.store.phone import Store
from mobile.store.rows import Effect
from mobile.store.schema import SchemaTooNew
from mobile.store.session import UserSwitchRefused
from mobile.store.uploads import PendingUpload

__all__ = [
    "TIMER_KINDS",
    "ActionRefused",
    "Effect",
    "OutboxEntry",
    "PendingUpload",
    "SchemaTooNew",
    "Store",
    "UserSwitchRefused",
]
