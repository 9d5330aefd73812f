"""Store URLs: which store, and how they are shown (never with a password)."""

from __future__ import annotations

import pytest

from lockgate.store import SQLiteStore, open_store, parse_store_url, redact_url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://kong:pa55@db:5432/kong", "postgresql://kong:***@db:5432/kong"),
        (
            "postgres://kong:p%40ss@db/kong?sslmode=require",
            "postgres://kong:***@db/kong?sslmode=require",
        ),
        (
            "postgresql://kong@db/kong?password=pa55&x=1",
            "postgresql://kong@db/kong?password=***&x=1",
        ),
        ("postgresql://db/kong", "postgresql://db/kong"),
        ("sqlite:///var/lib/lockgate.db", "sqlite:///var/lib/lockgate.db"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_the_password_is_known_for_scrubbing_driver_messages() -> None:
    assert parse_store_url("postgresql://u:p%40ss@h/d").password == "p@ss"
    assert parse_store_url("postgresql://u@h/d?password=x1").password == "x1"
    assert parse_store_url("postgresql://u@h/d").password is None


def test_kong_fields_mask_the_password() -> None:
    fields = parse_store_url("postgresql://kong:pa55@db:6543/gw").kong_fields()
    assert fields == {
        "database": "postgres",
        "pg_host": "db",
        "pg_port": 6543,
        "pg_database": "gw",
        "pg_user": "kong",
        "pg_password": "******",
    }
    assert parse_store_url("sqlite:///x/y.db").kong_fields() == {"database": "sqlite"}


@pytest.mark.parametrize(
    "url", ["mysql://u:topsecret@h/d", "postgresql://u:topsecret@h:port/d", "sqlite://relative.db"]
)
def test_bad_urls_are_refused_without_their_password(url: str) -> None:
    with pytest.raises(ValueError) as raised:
        parse_store_url(url)
    assert "topsecret" not in str(raised.value)


async def test_sqlite_url_opens_the_embedded_store(tmp_path: object) -> None:
    store = open_store(f"sqlite://{tmp_path}/sub/lockgate.db")
    assert isinstance(store, SQLiteStore) and store.database == "sqlite"
    assert await store.watch(0, 0.01) == 0
    await store.close()
