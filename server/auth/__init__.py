"""Users, roles, tokens, API keys and the Actor every service call takes."""

from server.auth import service
from server.auth.actor import SCOPES, Actor
from server.auth.models import Duty, Role, User
from server.auth.service import Tenants, engineer_of_user, tenants

__all__ = [
    "SCOPES",
    "Actor",
    "Duty",
    "Role",
    "Tenants",
    "User",
    "engineer_of_user",
    "service",
    "tenants",
]
