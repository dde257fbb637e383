"""Helpers for tests and benchmarks: studies written as `sqzdse search` writes them.

study = create_study(sqlite_url(tmp_path / "s.db"))
add_trial(study, top1=0.8, top5=0.95)
"""

from sqzdse.testing._factory import (
    DEFAULT_OBJECTIVES,
    add_trial,
    create_study,
    fast_sqlite_storage,
    small_arch,
    sqlite_url,
)

__all__ = [
    "DEFAULT_OBJECTIVES",
    "add_trial",
    "create_study",
    "fast_sqlite_storage",
    "small_arch",
    "sqlite_url",
]
