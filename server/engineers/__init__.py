"""Field engineers' profiles; ``created`` announces a new engineer to higher domains."""

from server.engineers import service
from server.engineers.models import Engineer
from server.engineers.service import created

__all__ = [
    "Engineer",
    "created",
    "service",
]
