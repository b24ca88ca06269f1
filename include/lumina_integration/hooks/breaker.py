"""The circuit breaker's old home: it lives in :mod:`lumina_integration.hooks.governance` now.

Kept so that existing imports (tests, plugins, operators' notebooks) keep working; new code imports
from :mod:`~lumina_integration.hooks.governance`.
"""

from __future__ import annotations

from lumina_integration.hooks.governance import (
    VARIABLE_PREFIX,
    BreakerStore,
    CircuitBreaker,
    CircuitOpen,
    VariableStore,
)

__all__ = ["VARIABLE_PREFIX", "BreakerStore", "CircuitBreaker", "CircuitOpen", "VariableStore"]
