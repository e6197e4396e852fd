"""What the engineer's screens do, without Kivy: the session (log-in, the sync loop), the
lists and the job as the screens show them, and each action of the day.

The screens (``mobile.ui``) are thin: they read view objects built here and call
``Work`` for every tap. Everything here runs headless, so it is tested without a window.
"""

from mobile.core.job import ChecklistLine, JobView, job_view
from mobile.core.session import LoginFailed, Session, SyncBar
from mobile.core.today import TodayItem, today_items
from mobile.core.work import Work

__all__ = [
    "ChecklistLine",
    "JobView",
    "LoginFailed",
    "Session",
    "SyncBar",
    "TodayItem",
    "Work",
    "job_view",
    "today_items",
]
