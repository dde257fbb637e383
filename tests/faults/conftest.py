"""A PostgreSQL server of the fault tests' own, one per test module (tests/faults/servers.py)."""

from __future__ import annotations

import pytest

from tests.faults.servers import PrivatePostgres


@pytest.fixture(scope="module")
def server():
    pg = PrivatePostgres()
    pg.start()
    yield pg
    pg.close()
