"""A faithful Salesforce sandbox: a real HTTPS server on loopback speaking Salesforce's REST, Bulk 2.0, OAuth
and SOAP-login shapes, backed by a generated org in SQLite. Tests, demos and benchmarks only.

Entry points: ``org.Org`` (the data, clock, limits, faults), ``server.SandboxServer`` (in-process HTTPS),
``control.SandboxControl`` (control-API client) and ``python -m lumina_sandbox.salesforce start|stop|status``.

Modules: ``clock`` (sandbox time, datetime text), ``ids`` (18-character ids), ``schema`` (field/object model),
``catalog`` (the org's objects), ``generator`` (deterministic data), ``store`` (SQLite tables),
``records`` (the write path), ``soql`` (parser), ``sql`` (SOQL to SQL, JSON/CSV projections), ``cursors``
(REST query locators), ``bulk`` (Bulk 2.0 jobs), ``describe``, ``limits``, ``faults``, ``auth`` (logins and
sessions), ``app`` (ASGI app and edge middleware), ``routes_*`` (HTTP routes), ``tls``, ``server``, ``runner``
(detached mode), ``control``, ``bench``.
"""
