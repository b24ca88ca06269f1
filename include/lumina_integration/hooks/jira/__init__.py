"""The Jira adapter (``source.type: jira``): settings, options, field catalogue, JQL, reader, ADF, hook."""
