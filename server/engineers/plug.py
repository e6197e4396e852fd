"""How the engineers domain plugs in (server/domains.py): an engineer user's Actor carries
the engineer's profile id."""

from __future__ import annotations

from server import auth
from server.engineers.service import user_profile


def install() -> None:
    auth.engineer_of_user.fill(user_profile)
