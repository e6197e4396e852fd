"""What the engineer's screens do, without Kivy: the session (log-in, the sync loop), the
lists and the job as the screens show them, and each action of the day.

The screens (``mobile.ui``) are thin: they read view objects built here and call
``Work`` for every tap. Everything here runs headless, so it is tested without a window.
"""

from mobile.core.job import ChecklistLine, JobView, job_view
from mobile.core.pool import ClaimAnswer, PoolItem, claim_job, pool_item, pool_items
from mobile.core.session import LoginFailed, Session, SyncBar
from mobile.core.today import TodayItem, today_items
from mobile.core.work import Work

__all__ = [
    "ChecklistLine",
    "ClaimAnswer",
    "JobView",
    "LoginFailed",
    "PoolItem",
    "Session",
    "SyncBar",
    "TodayItem",
    "Work",
    "claim_job",
    "job_view",
    "pool_item",
    "pool_items",
    "today_items",
]
