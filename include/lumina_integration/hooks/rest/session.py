"""The ``requests`` session every REST source starts from: TLS as the connection says, and timeouts always.

- ``ca_bundle``: the CA file to verify the server against (a private CA, a local sandbox). It wins over
  ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE``, which requests otherwise lets override ``Session.verify``.
- ``client_cert``/``client_key``: mutual TLS (ServiceNow instances behind a certificate-checking proxy,
  Jira Data Center behind one).
- TLS 1.2 at least (:class:`~lumina_integration.tls.MinimumTlsAdapter`, the one adapter every session we
  build mounts).
- Every request gets a timeout (requests' own default is to wait forever on a silent server).
- No retries here: :class:`~lumina_integration.hooks.rest.client.RestClient` retries, so it can count
  every attempt against the API budget and honour ``Retry-After``. A library that takes a session
  (atlassian-python-api, pysnow) can be handed this one and still gets TLS and timeouts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests

from lumina_integration.tls import mount_minimum_tls

DEFAULT_USER_AGENT = "lumina-integration"


@dataclass(frozen=True)
class Timeouts:
    """Seconds to wait for a connection, and for each read from the socket (not the whole response)."""

    connect: float = 10.0
    read: float = 120.0

    def as_requests(self) -> tuple[float, float]:
        return (self.connect, self.read)


@dataclass(frozen=True)
class TlsSettings:
    """How to verify the server and, for mutual TLS, who we are.

    Args:
        ca_bundle: a PEM file of CAs to trust instead of the system's (None: the system's).
        client_cert: a PEM client certificate (mutual TLS); may hold the key too.
        client_key: its private key, when it is a separate PEM file.
        verify: False only for a throwaway test server; never for a real system.
    """

    ca_bundle: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    verify: bool = True

    def __post_init__(self) -> None:
        if self.client_key and not self.client_cert:
            raise ValueError("a client key without a client certificate: set client_cert too")


class RestSession(requests.Session):
    """A session with a default timeout whose CA bundle, from the connection, wins over the environment.

    requests lets ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` override ``Session.verify``; a connection that
    names its own CA must be verified against that CA whatever the environment says.
    """

    def __init__(self, timeouts: Timeouts | None = None, *, pin_verify: bool = False) -> None:
        super().__init__()
        self.timeouts = timeouts or Timeouts()
        self._pin_verify = pin_verify

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeouts.as_requests()
        return super().request(method, url, *args, **kwargs)  # type: ignore[arg-type]

    def merge_environment_settings(self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any) -> Any:
        settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
        if self._pin_verify and (verify is None or verify is True):
            settings["verify"] = self.verify
        return settings


def rest_session(
    tls: TlsSettings | None = None,
    *,
    timeouts: Timeouts | None = None,
    user_agent: str = DEFAULT_USER_AGENT,
    proxies: dict[str, str] | None = None,
    pool_size: int = 4,
) -> RestSession:
    """A session for one source connection (see the module docstring)."""
    tls = tls or TlsSettings()
    session = RestSession(timeouts, pin_verify=bool(tls.ca_bundle))
    # No urllib3 retries: the client retries (and counts) every attempt itself.
    mount_minimum_tls(session, max_retries=0, pool_connections=pool_size, pool_maxsize=pool_size)
    if not tls.verify:
        session.verify = False
    elif tls.ca_bundle:
        session.verify = tls.ca_bundle
    if tls.client_cert:
        session.cert = (tls.client_cert, tls.client_key) if tls.client_key else tls.client_cert
    session.headers["User-Agent"] = user_agent
    session.headers["Accept"] = "application/json"
    session.proxies.update(proxies or {})
    return session
