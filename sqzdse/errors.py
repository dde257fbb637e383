"""Errors that reach users. The CLI prints their message and exits non-zero, without a traceback."""

from __future__ import annotations


class SqzdseError(Exception):
    """Base class of every error that is the user's to fix; its message says what and how."""

    exit_code = 2


class ArchError(SqzdseError, ValueError):
    """An architecture configuration that does not describe a valid network."""


class SpaceError(SqzdseError, ValueError):
    """A search-space file that is missing, malformed or inconsistent."""


class DataError(SqzdseError):
    """A data set that is missing or not in the expected layout."""


class StorageError(SqzdseError):
    """A study storage that cannot be opened, or a study that cannot be used as asked."""


class TrainingError(SqzdseError):
    """A proxy training run that could not be carried out (bad device, bad settings)."""


class SearchError(SqzdseError):
    """A search that stopped because its trials keep failing."""

    exit_code = 1
