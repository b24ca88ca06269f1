"""Local stand-ins for the systems we integrate with; tests and demos only, never imported by runtime code."""
