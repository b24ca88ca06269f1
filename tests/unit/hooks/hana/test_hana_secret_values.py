"""Which HANA connection values the log masker gets: the user store key and a sandbox URL's password too."""

from __future__ import annotations

from lumina_integration.hooks.hana.settings import HanaSettings


def test_the_user_store_key_is_masked_like_a_password() -> None:
    settings = HanaSettings(conn_id="sap", mode="hdbcli", host="h", user_key="LUMINAKEY7F3A9C")
    assert settings.secrets() == ["LUMINAKEY7F3A9C"]


def test_the_password_inside_a_sandbox_url_is_masked() -> None:
    url = "postgresql+psycopg://reader:s3cret-Pass-77@127.0.0.1:5432/test"
    assert HanaSettings(conn_id="sap", mode="sqlalchemy", sqlalchemy_url=url).secrets() == ["s3cret-Pass-77"]
    assert HanaSettings(conn_id="sap", mode="sqlalchemy", sqlalchemy_url="sqlite:///sap.db").secrets() == []
