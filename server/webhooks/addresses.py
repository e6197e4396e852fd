"""Where a webhook may be sent: the SSRF rules of ``server.addresses`` (docs/webhooks.md
"Addresses") with the webhooks' settings: the scheme's default port or one of
``FIXFLOW_WEBHOOKS_ALLOWED_PORTS``, public addresses only unless
``FIXFLOW_WEBHOOKS_ALLOW_PRIVATE`` (tests and development). The check runs at registration
and again before every attempt, and the sender connects to the address it checked
(``Target``)."""

from __future__ import annotations

from server import addresses as rules
from server.addresses import IP, Resolver, Target, numeric_host, os_resolver, refusal
from server.config import get_settings
from server.errors import Unprocessable

__all__ = ["IP", "Target", "UnsafeUrl", "check", "numeric_host", "refusal", "resolver"]


class UnsafeUrl(Unprocessable):
    code = "webhook_url_refused"


resolver: Resolver = os_resolver  # tests put a controlled resolver here


async def check(url: str) -> Target:
    """The target ``url`` names, its host resolved and every address checked; ``UnsafeUrl``
    (422, saying why) when any address is refused or the name does not resolve."""
    settings = get_settings()
    try:
        return await rules.check(
            url,
            resolver=resolver,
            allowed_ports=settings.WEBHOOKS_ALLOWED_PORTS,
            allow_private=settings.WEBHOOKS_ALLOW_PRIVATE,
        )
    except rules.Refused as refused:
        raise UnsafeUrl(refused.detail, field="url") from None
