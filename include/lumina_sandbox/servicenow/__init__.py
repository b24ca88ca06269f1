"""ServiceNow sandbox (docstring pending)."""
