"""The phone's side of the sync protocol (``shared.sync``): register, push the outbox with
backoff, pull pages atomically with their cursor, resumable uploads. httpx, no Kivy.

Typical use from the app (one asyncio loop shared with the UI)::

    store = Store(data_dir / "fixflow.sqlite3")
    engine = SyncEngine(store, base_url="https://fixflow.example", device="Pixel 8",
                        on_change=refresh_screens)  # "pushed" | "pulled" | "uploaded" | "status"
    await engine.login(email, password)          # once; tokens are kept in the store
    # (OrganisationRequired: the account is in several organisations; ask which, then
    #  engine.login(email, password, organisation=slug);
    #  mobile.store.UserSwitchRefused: another user's work is still queued on this phone,
    #  decided before anything is sent)
    stop = asyncio.Event()
    task = asyncio.create_task(engine.run(stop))  # syncs on its own timer from now on
    store.check_in(work_order_id, gps)            # the UI writes only to the store...
    engine.wake()                                 # ...and may ask for a sync sooner
    await engine.claim(work_order_id)             # a job of the pool: answered now, or
                                                  # Transient (nothing queued)
    stop.set(); await task; await engine.aclose()

``engine.status`` says when the phone last reached the server and why not since
(``auth_required`` means: show the login screen; the outbox waits meanwhile), whether the
last attempt got an answer (``online``) and the photo upload's progress (``uploading``).
"""

from mobile.sync.backoff import Backoff
from mobile.sync.claim import Claimed
from mobile.sync.engine import SyncEngine, SyncStatus
from mobile.sync.errors import AuthRequired, OrganisationRequired, Refused, SyncError, Transient

__all__ = [
    "AuthRequired",
    "Backoff",
    "Claimed",
    "OrganisationRequired",
    "Refused",
    "SyncEngine",
    "SyncError",
    "SyncStatus",
    "Transient",
]
