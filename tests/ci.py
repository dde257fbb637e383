"""What a test does when something every machine of this project has is missing here."""

from __future__ import annotations

import os
from collections.abc import Mapping

import pytest


def missing(message: str, *, on_ci: str, env: Mapping[str, str] | None = None):
    """Skip the test naming `message`, but fail it where `CI` is "true": CI must have the thing
    (`on_ci` says why, e.g. "where .ci/run installs them")."""
    env = os.environ if env is None else env
    if env.get("CI") == "true":
        pytest.fail(f"{message}; CI=true, {on_ci}", pytrace=False)
    pytest.skip(message)
