"""The phone's local database (SQLite): copies of server rows, the outbox, pending uploads.

No Kivy here: the UI reads and writes only through ``Store``; the sync engine
(``mobile.sync``) moves the outbox to the server and the server's changes back.
"""

from mobile.store.actions import ActionRefused, Store
from mobile.store.core import OutboxEntry, PendingUpload
from mobile.store.rows import Effect

__all__ = ["ActionRefused", "Effect", "OutboxEntry", "PendingUpload", "Store"]
