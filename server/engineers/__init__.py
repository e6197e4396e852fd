"""Field engineers' profiles; ``created`` announces a new engineer to higher domains."""

from server.engineers import service, shifts
from server.engineers.models import Engineer, TimeOff
from server.engineers.service import created

__all__ = [
    "Engineer",
    "TimeOff",
    "created",
    "service",
    "shifts",
]
