"""The minimum TLS version of every client this project builds, in one place.

TLS 1.0 and 1.1 are deprecated (RFC 8996); every system we talk to (Salesforce, ServiceNow, Jira Cloud,
AWS, managed Postgres) has refused them for years, so a client that still offers them only helps an
attacker who can downgrade the handshake. The floor is TLS 1.2 everywhere:

- ``requests`` sessions (the shared REST session, the token endpoints, Salesforce's sessions):
  :class:`MinimumTlsAdapter`, mounted by :func:`mount_minimum_tls`. It hands urllib3 the
  ``ssl_minimum_version`` pool setting rather than one shared :class:`ssl.SSLContext`: urllib3 loads a
  connection's CA bundle *into* the context it is given, so one context shared by pools with different
  CAs would end up trusting all of them. urllib3 builds each pool's context with this floor instead.
- The Postgres warehouse: libpq's ``ssl_min_protocol_version`` (:data:`LIBPQ_MINIMUM_TLS`), set by
  :mod:`lumina_integration.warehouse.connection` unless the connection asks for more.
- boto3 (the lake): botocore's ``Config`` has no TLS-version setting and builds its own context
  (``botocore.httpsession.create_urllib3_context``) without a floor; AWS's endpoints have refused
  anything below TLS 1.2 since 2024, so the server side enforces it. docs/protection/secure-defaults.md
  says so.
"""

from __future__ import annotations

import ssl
from typing import Any

import requests
from requests.adapters import HTTPAdapter

MINIMUM_TLS = ssl.TLSVersion.TLSv1_2
# libpq's spelling of the same floor (the ``ssl_min_protocol_version`` connection parameter, libpq 12+).
LIBPQ_MINIMUM_TLS = "TLSv1.2"
_LIBPQ_ORDER = ("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")


class MinimumTlsAdapter(HTTPAdapter):
    """An :class:`HTTPAdapter` whose connections (direct and through a proxy) refuse TLS below 1.2."""

    minimum_version = MINIMUM_TLS

    def init_poolmanager(self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any) -> None:
        pool_kwargs["ssl_minimum_version"] = self.minimum_version
        super().init_poolmanager(connections, maxsize, block=block, **pool_kwargs)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        proxy_kwargs["ssl_minimum_version"] = self.minimum_version
        return super().proxy_manager_for(proxy, **proxy_kwargs)


def mount_minimum_tls(session: requests.Session, **adapter_kwargs: Any) -> MinimumTlsAdapter:
    """Mount one :class:`MinimumTlsAdapter` (``adapter_kwargs``: retries, pool sizes) for https and http.

    http is mounted too so that the session has a single adapter to configure; plain http carries no TLS.
    """
    adapter = MinimumTlsAdapter(**adapter_kwargs)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return adapter


def minimum_tls_session(**adapter_kwargs: Any) -> requests.Session:
    """A plain :class:`requests.Session` with the TLS floor (for a client that needs no more than that)."""
    session = requests.Session()
    mount_minimum_tls(session, **adapter_kwargs)
    return session


def libpq_minimum(requested: str | None) -> str:
    """The ``ssl_min_protocol_version`` to give libpq: the connection's own when it is higher, else TLS 1.2.

    A connection may raise the floor (``TLSv1.3``) but not lower it.
    """
    if requested is None or str(requested) not in _LIBPQ_ORDER:
        if requested is not None:
            raise ValueError(f"ssl_min_protocol_version {requested!r} is not one of {', '.join(_LIBPQ_ORDER)}")
        return LIBPQ_MINIMUM_TLS
    if _LIBPQ_ORDER.index(str(requested)) < _LIBPQ_ORDER.index(LIBPQ_MINIMUM_TLS):
        raise ValueError(f"ssl_min_protocol_version {requested!r} is below the project's floor {LIBPQ_MINIMUM_TLS}")
    return str(requested)
