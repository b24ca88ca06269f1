"""The ServiceNow adapter (``source.type: servicenow``), on the shared REST base (:mod:`lumina_integration.hooks.rest`).

- :mod:`.settings`: the ``servicenow`` connection (instance URL, auth modes, TLS), endpoints and defaults;
- :mod:`.options`: ``source.options`` of a spec;
- :mod:`.query`: encoded queries from catalogue names only, values escaped;
- :mod:`.catalogue`: ``sys_db_object`` / ``sys_dictionary`` / ``sys_choice`` -> typed columns (inheritance);
- :mod:`.reader`: Table API keyset pages (never ``sysparm_offset``);
- :mod:`.deletes`: ``sys_audit_delete`` -> tombstones;
- :mod:`.hook`: :class:`~.hook.ServiceNowHook`, the adapter.

Modules are imported where used; this ``__init__`` stays empty of imports so DAG parsing pays for none.
"""
