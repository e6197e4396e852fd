"""What every outbound HTTP call Fixflow makes shares (webhooks, notification providers,
the routing service).

``tls_context()`` is the context httpx builds for ``verify=True`` (its trust store:
certifi's roots, or ``SSL_CERT_FILE`` / ``SSL_CERT_DIR``), built once per process. httpx
builds a fresh one for every client made with ``verify=True``, whatever the URL's scheme:
24 ms of CPU each, which was most of what the worker spent per webhook (docs/benchmarks.md
"notify"). A client per call is otherwise cheap (about 1.4 ms).
"""

from __future__ import annotations

import ssl
from functools import cache

import httpx


@cache
def tls_context() -> ssl.SSLContext:
    return httpx.create_ssl_context()
