"""What every REST sandbox (Salesforce, ServiceNow, Jira) shares, so that each is its API and its quirks.

Modules:

- ``clock``: ``SandboxClock`` (real time plus a movable offset, at the system's resolution) and ``http_date``.
- ``tls``: a throwaway CA, a server certificate for 127.0.0.1 and a client certificate (mutual TLS).
- ``faults``: ``FaultRule``/``Faults``, injected faults matched per request category (status with
  ``Retry-After``, delay, dropped connection, token expiry); a system renders the error in its own shape.
- ``app``: ``sandbox_app`` (the FastAPI app with the system's state and routers) and ``render_errors``.
- ``edge``: ASGI helpers for a system's edge middleware (raw responses, header reading, a sender that
  stamps headers and can drop the connection mid-body).
- ``hooks``: ``PageHook``/``PageHooks``, writes applied when the n-th list request of a paged read arrives.
- ``routes_control``: the control API's building blocks (key check, JSON body, clock/fault/request-count
  routes) mounted by each system under its own prefix.
- ``control``: ``ControlClient``, the base of each system's Python client of its control API.
- ``server``: ``ThreadedServer``, an in-process HTTPS sandbox served by uvicorn in a thread.
- ``runner``: ``DetachedSandbox``, the detached (``start``/``stop``/``status``/``serve``) mode with its state,
  credentials and control key files under ``<LUMINA_STATE_DIR>/<system>/``.
- ``cli``: the ``python -m lumina_sandbox.<system> start|stop|status|serve`` argument helpers.
"""
