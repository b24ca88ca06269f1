"""A faithful ServiceNow instance stand-in: a real HTTPS server on loopback speaking the Table API, the
Aggregate API's count and ``/oauth_token.do``, backed by generated ITSM data in SQLite. Tests, demos, benches.

Entry points: ``instance.Instance`` (data, clock, auth, rate limit, faults, page hooks), ``server.ServiceNowServer``
(in-process HTTPS, port 0 = free), ``control.ServiceNowControl`` (control-API client), ``compare`` (record-for-record
verdicts against the warehouse) and ``python -m lumina_sandbox.servicenow start|stop|status|serve|bench``
(port ``LUMINA_SERVICENOW_PORT``, default 9557; state in ``LUMINA_STATE_DIR``/servicenow).

What it does as the instance does:

- ``GET /api/now[/v1|/v2]/table/{table}``: ``sysparm_query`` (encoded queries: ``^``, ``^OR``, ``^NQ``, ``=``,
  ``!=``, ``>``, ``>=``, ``<``, ``<=``, ``IN``, ``NOT IN``, ``LIKE``, ``STARTSWITH``, ``ENDSWITH``, ``ISEMPTY``,
  ``ISNOTEMPTY``, ``BETWEEN``, ``SAMEAS``, ``ORDERBY``/``ORDERBYDESC``; a condition on an unknown field is ignored),
  ``sysparm_fields``, ``sysparm_limit`` (default 10,000), ``sysparm_offset`` (applied per request, so rows skip or
  repeat when data changes between pages), ``sysparm_display_value`` (false/true/all),
  ``sysparm_exclude_reference_link``, ``sysparm_no_count``, ``sysparm_suppress_pagination_header``; ``Link``
  (first/prev/next/last) and ``X-Total-Count``; every value a string; references ``{"link", "value"}``.
  Single records, POST/PUT/PATCH/DELETE; ``GET /api/now/stats/{table}?sysparm_count=true``.
- ``sys_updated_on`` in UTC ``YYYY-MM-DD HH:MM:SS`` (whole seconds: writes in one second tie; the generator makes
  ties common). Tables ``sys_db_object`` (``super_class``: ``task`` -> ``incident``, ``sc_req_item``,
  ``change_request``), ``sys_dictionary`` (``internal_type``, ``max_length``, ``reference``, ``choice``; a
  ``collection`` row per table with its ``audit`` flag), ``sys_choice``, ``sys_glide_object``; a query on
  ``task`` returns every extension's records with task's fields. ``sys_audit_delete`` rows (``tablename``,
  ``documentkey``, ``display_value``, ``payload``) only for audited tables (the task tables; not ``sys_user``
  or ``core_company``).
- Basic auth; OAuth 2.0 ``password`` / ``refresh_token`` / ``client_credentials`` grants (form-encoded), tokens
  expiring on the instance clock, 401 ``{"error": {"message": "User Not Authenticated", ...}, "status":
  "failure"}``; mutual TLS on request (``require_client_cert``); a rate limit rule (429 with ``Retry-After``,
  ``X-RateLimit-Limit`` / ``-Reset`` / ``-Rule``); the instance clock moves under control.

Knowingly simpler than a real instance:

- No scripts, business rules, ACLs or domain separation: ``javascript:`` in a query is refused with 400 (the
  real instance evaluates it), and every authenticated caller reads every table and field.
- Encoded queries have no dot-walking (``caller_id.name=...``, also not in ``sysparm_fields``: treated as an
  unknown field), no date macros (``ONToday``, ``RELATIVE...``, ``DATEPART``), no ``DYNAMIC``/``VALCHANGES``;
  ``sysparm_query`` datetimes are compared as given, in UTC.
- Without ``ORDERBY`` the order is insertion order, and ties within an ``ORDERBY`` are broken by insertion
  order (the real order of ties is whatever the database returns, and may differ between requests).
- Display values: datetimes stay UTC in the stored format (the real instance uses the user's time zone and
  format); no translations; choice labels come from the queried table's list.
- The metadata tables carry the columns listed above, not every real column; no ``sys_dictionary_override``,
  ``sys_documentation``, ``sys_audit`` field history or record restore; the ``sys_audit_delete`` payload is a
  flat XML of the record's stored values.
- OAuth: no authorization-code or JWT grants, no scopes; every refused grant answers the same 401 body, and an
  unsupported grant type answers 400 ``unsupported_grant_type`` (assumed shape). Refresh tokens are not
  rotated unless ``rotate_refresh_tokens`` is set.
- Mutual TLS is checked in the handshake only: the client certificate does not itself log a user in (real
  certificate-based authentication can map it to a user); basic or OAuth credentials are still needed.
- Rate limiting: one rule for all users, in clock-hour windows of the instance clock (real rules are per user,
  role or resource, and their counts lag up to 30 s across nodes).
- ``sysparm_limit`` is capped at ``max_limit`` (100,000 by default; the real instance has no hard cap).
- Table API writes check nothing (mandatory fields, choices, references) and run no business rules;
  ``sysparm_input_display_value`` is not supported. No Import Set, Attachment, journal (comments/work notes)
  or Aggregate API beyond the count.
- One integration user; ``sys_created_by``/``sys_updated_by`` are user names.

Modules: ``glide`` (value text), ``schema`` (tables, fields, inheritance), ``tables`` (out-of-box tables and
choices), ``store`` (SQLite), ``ids``, ``records`` (write path, audited deletes), ``metadata`` (sys_* rows),
``generator``, ``query`` (encoded queries to SQL), ``render`` (display values, links), ``tableapi`` (reads),
``auth``, ``ratelimit``, ``faults``, ``errors``, ``instance``, ``app`` (edge middleware),
``routes_*``, ``server``, ``runner``, ``control``, ``connection``, ``compare``, ``bench``.
"""
