"""A faithful Jira site stand-in: a real HTTPS server on loopback speaking Jira's REST API (Cloud, or Data Center
with ``deployment="datacenter"``), backed by generated issues in SQLite. Tests, demos, benches; ``requests`` and
atlassian-python-api's ``Jira`` (the Airflow provider's ``JiraHook``) talk to it unchanged.

Entry points: ``instance.Instance`` (data, catalogue, clock, auth, rate limit, faults, page hooks, page tokens),
``server.JiraServer`` (in-process HTTPS, port 0 = free), ``control.JiraControl`` (control-API client),
``connection`` (the Airflow ``jira`` connection), ``compare`` (record-for-record verdicts against the warehouse)
and ``python -m lumina_sandbox.jira start|stop|status|serve|bench`` (port ``LUMINA_JIRA_PORT``, default 9558;
state in ``LUMINA_STATE_DIR``/jira).

What it does as Jira does:

- Cloud search: ``POST``/``GET /rest/api/3/search/jql`` (``jql``, ``fields``, ``expand``, ``maxResults``,
  ``nextPageToken``) answers ``issues``, ``nextPageToken`` while more follow and ``isLast``, no ``total``; by
  default only ``id``/``key``/``self``; an unbounded query is 400. ``/rest/api/{2,3}/search`` answer 410 with
  Atlassian's CHANGE-2046 message. Page tokens are signed keyset cursors that expire (7 days, or on control)
  with a 400 in Jira's shape. Data Center: ``/rest/api/2/search`` with ``startAt``/``maxResults``/``total``
  (offset paging), no v3, no ``/search/jql`` and no ``/issue/{id}/changelog`` (404 ``null for uri``; its
  ``expand=changelog`` shows every history). ``POST /search/approximate-count``
  (Cloud) answers ``{"count"}`` for a bounded JQL.
- JQL (``jql``): project, key/id, summary, status, issuetype, priority, resolution, users, labels, dates and
  custom fields (``cf[10010]``, ``customfield_10010``, or the name); ``AND``/``OR``/``NOT``/parentheses;
  quoted values with escapes; ``ORDER BY``; dates compared at the MINUTE (``updated > "2026-12-04 17:47"``
  leaves out all of 17:47) in the user's time zone; Jira's 400 wording for unknown fields and values.
- ``/field`` (system and custom fields with schema types; custom fields added mid-life), ``/serverInfo``
  (anonymous), ``/myself`` (with ``timeZone``), ``/issue/{idOrKey}`` (``fields``, ``expand=changelog``: Cloud
  shows the newest 100 histories with the real ``total``, so an issue with more needs the changelog endpoint),
  ``DELETE /issue/{idOrKey}`` (the issue vanishes: no deleted feed), ``/issue/{id}/changelog`` (oldest first,
  <= 100 a page, ``isLast``), ``/issue/{id}/comment`` and ``/issue/{id}/worklog`` (``startAt``/``total``),
  ``/worklog/updated`` and ``/worklog/deleted`` (``since`` ms, 1,000 a page, the last minute left out),
  ``POST /worklog/list``.
- Bodies are ADF in v3 (mentions, non-ASCII text); datetimes ``2026-12-04T17:47:41.123+0000`` in the user's zone;
  writes stamp milliseconds and the generator makes many issues share an ``updated`` minute.
- A tenth of the generated comments carry a role ``visibility``; the OAuth gateway path answers its own 401
  ``{"code": 401, "message": "Unauthorized"}``.
- Auth: basic (Cloud: e-mail + API token; Data Center: user + password), Data Center PATs, OAuth 2.0 bearer
  tokens (``POST /oauth/token``: ``client_credentials``/rotating ``refresh_token``; also served under
  ``/ex/jira/<cloud id>/``) expiring on the sandbox clock; 401 in Jira's shape. Rate limits: 429 with
  ``Retry-After`` and Cloud's ``X-RateLimit-*``/``RateLimit-Reason`` (and the points-based ``Beta-*``) or Data
  Center's token-bucket headers. Faults per category; page hooks change issues between two pages.

Knowingly simpler than real Jira:

- One site, three projects, one integration user who sees everything: no permissions, issue security, workflows
  (any status may follow any), screens, transitions, sub-task or epic links, sprints, attachments, watchers,
  votes, remote links, properties.
- JQL has no history operators (``WAS``, ``CHANGED``), functions other than ``currentUser()``/``now()``, ``~``
  is a substring match (``*`` as a wildcard) on text fields (the description's ADF JSON text), no ``text``
  pseudo-field; ``ORDER BY`` only on updated,
  created, key, id, project; without ``ORDER BY`` the order is key descending. Ties in the order are broken by
  id (Jira's tie order is unspecified). Searches see writes at once (Jira's index can lag).
- ``nextPageToken`` is a keyset cursor over the sort values; Atlassian does not document its semantics (nor
  the expired-token wording). ``maxResults`` caps at 100 with fields and 5,000 for ids/keys only; Jira may
  return fewer for large fields. ``expand`` supports ``changelog`` and ``names`` only.
- REST v2 and Data Center bodies are ADF flattened to plain text (real: wiki markup); no ``renderedFields``.
- ``/worklog/updated`` and ``/deleted`` take ``since`` inclusively (assumed: the next page repeats the
  boundary worklog) and ignore ``expand=properties``; the worklogs of a deleted issue vanish with it and are
  not listed by ``/worklog/deleted`` (assumed); a comment's ``visibility`` (role or group) is shown but
  not enforced (the one user sees every comment).
- OAuth scopes are not checked; the token endpoint lives on the site (real: auth.atlassian.com). The rate limit
  is one rule for every account in fixed windows of the sandbox clock (real limits are cost-based and adaptive).

Modules: ``times`` (datetime text, JQL date literals), ``adf``, ``reference`` (projects, statuses, users),
``catalog`` (fields), ``store`` (SQLite), ``records`` (write path, changelog), ``generator``, ``jql`` (JQL to
SQL), ``tokens`` (page tokens), ``render`` (JSON shapes), ``reads`` (searches and pages), ``auth``,
``ratelimit``, ``faults``, ``errors``, ``instance``, ``app`` (edge middleware), ``routes_*``, ``server``,
``runner``, ``control``, ``connection``, ``compare``, ``demo``, ``bench``.
"""
