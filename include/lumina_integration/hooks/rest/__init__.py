"""What every REST source shares: sessions, auth, a governed retrying client, paging, JSON-to-Arrow typing.

An adapter on this base is its settings (endpoints, field catalogue, auth modes) and its quirks; the
rest lives here, once (the dlt verified sources' source / helpers / settings split):

- :mod:`.session`: the ``requests`` session of a connection (TLS, CA bundle, mutual TLS, timeouts);
- :mod:`.auth`: :class:`BasicAuth`, :class:`BearerTokenAuth`, :class:`OAuth2TokenAuth`;
- :mod:`.retry`: :class:`RetryPolicy` and ``Retry-After``;
- :mod:`.client`: :class:`RestClient`, every call under the breaker and the governor
  (:mod:`lumina_integration.hooks.governance`);
- :mod:`.paging`: :func:`token_pages`, :func:`offset_pages`, :func:`keyset_pages`;
- :mod:`.arrow`: :class:`FieldSpec` and :func:`records_to_batches`.

Modules are imported where used (``from lumina_integration.hooks.rest.client import RestClient``); this
package's ``__init__`` stays empty of imports so a DAG file that names a hook pays for none of them.
"""
