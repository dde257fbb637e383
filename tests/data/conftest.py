"""Fixtures of the sqzdse.data tests."""

import pytest

from sqzdse.data import clear_cache


@pytest.fixture(autouse=True)
def fresh_cache():
    clear_cache()  # files are rewritten under new tmp paths, but keep tests independent anyway
    yield
    clear_cache()
