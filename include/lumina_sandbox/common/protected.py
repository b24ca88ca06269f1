"""Compare through the PII policy: the one helper every record-for-record comparison uses.

Under the deployment's policy the warehouse does not hold the source's clear value of a protected column.
The expected value of such a column is the source value protected the same way (tokens and masks are
deterministic; a dropped column is null); an encrypted column is decrypted before comparing (a ciphertext
has a fresh nonce each time, so only the clear text can compare).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lumina_integration.protection.keys import PiiKeys
    from lumina_integration.protection.policy import EntityPolicy


@dataclass(frozen=True)
class Protection:
    """How the warehouse holds the columns of ``entity`` (the canonical table of that name)."""

    entity: str

    @cached_property
    def policy(self) -> EntityPolicy:
        from lumina_integration.canonical.registry import load_entity
        from lumina_integration.protection.policy import entity_policy

        return entity_policy(load_entity(self.entity))

    @cached_property
    def keys(self) -> PiiKeys | None:
        from lumina_integration.protection.keys import load_keys

        return load_keys() if self.policy.needs_keys else None

    def stored(self, column: str, value: Any) -> Any:
        """A warehouse value as it compares: encrypted values decrypted, others as stored."""
        if isinstance(value, str) and self.policy.action(column) == "encrypt":
            from lumina_integration.protection.crypto import decrypt_text

            assert self.keys is not None
            return decrypt_text(self.keys, self.entity, column, value)
        return value

    def expected(self, column: str, value: Any) -> Any:
        """The value the warehouse must hold for a source (mapped) ``value``: protected like the transform does."""
        from lumina_integration.protection import crypto

        action = self.policy.action(column)
        if value is None or action in ("keep", "encrypt"):
            return value
        if action == "drop":
            return None
        text = value if isinstance(value, str) else str(value)
        if action == "mask":
            return crypto.mask_text(text)
        assert self.keys is not None
        return crypto.tokenize_text(self.keys.tokenize_key, text)

    def stored_values(self, values: dict[str, Any]) -> dict[str, Any]:
        return {column: self.stored(column, value) for column, value in values.items()}

    def expected_values(self, values: dict[str, Any]) -> dict[str, Any]:
        return {column: self.expected(column, value) for column, value in values.items()}
