"""Field engineers' profiles and availability; ``created`` announces a new engineer to higher
domains, ``service_site_check`` asks a higher one whether a service site may be a start."""

from server.engineers import availability, service, shifts
from server.engineers.models import Engineer, TimeOff
from server.engineers.service import created, service_site_check

__all__ = [
    "Engineer",
    "TimeOff",
    "availability",
    "created",
    "service",
    "service_site_check",
    "shifts",
]
