"""The PostgreSQL of the tests: ``DISPATCH_TEST_POSTGRES`` names it, each test gets a new schema.

``DISPATCH_TEST_POSTGRES`` is a ``postgresql://`` URL (``.ci/run`` sets
``postgresql://postgres@127.0.0.1:5432/test``). A test that asks for the fixture
``postgres_dsn`` gets that URL with a ``search_path`` of its own, a schema ``t_<uuid>`` created
empty for it and dropped (with everything in it) after it. Without the variable such tests are
skipped, except in CI (``CI=true``), where they fail: CI must test the PostgreSQL store, not
skip it silently.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import pytest

__all__ = ["ENV", "base_dsn", "fresh_schema", "postgres_dsn_fixture"]

ENV = "DISPATCH_TEST_POSTGRES"


def base_dsn() -> str:
    """The DSN of ``DISPATCH_TEST_POSTGRES``; skips the test without it (fails it in CI)."""
    dsn = os.environ.get(ENV, "").strip()
    if dsn:
        return dsn
    if os.environ.get("CI") == "true":
        pytest.fail(
            f"{ENV} is not set: in CI the PostgreSQL tests must run, not be skipped; set it to a"
            " database they may create schemas in, e.g."
            f" {ENV}=postgresql://postgres@127.0.0.1:5432/test (.ci/run does)",
            pytrace=False,
        )
    pytest.skip(f"{ENV} is not set (e.g. postgresql://postgres@127.0.0.1:5432/test)")


@contextmanager
def fresh_schema(dsn: str) -> Iterator[str]:
    """Create an empty schema in the database of ``dsn`` (a ``postgresql://`` URL); yield the
    URL with ``options=-c search_path=<schema>``; drop the schema and all in it after."""
    import psycopg
    from psycopg import sql

    url = urlsplit(dsn)
    if url.scheme not in ("postgresql", "postgres"):
        pytest.fail(f"{ENV} must be a postgresql:// URL (what --db takes)", pytrace=False)
    name = f"t_{uuid.uuid4().hex}"
    with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as admin:
        admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
    query = dict(parse_qsl(url.query))
    query["options"] = f"{query.get('options', '')} -c search_path={name}".strip()
    try:
        yield urlunsplit(url._replace(query=urlencode(query, quote_via=quote)))
    finally:
        with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as admin:
            admin.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(name)))


@pytest.fixture(name="postgres_dsn")
def postgres_dsn_fixture() -> Iterator[str]:
    """``postgres_dsn``: a DSN of an empty schema of its own (see the module docstring). Import
    it into a test module to use it there."""
    with fresh_schema(base_dsn()) as dsn:
        yield dsn
